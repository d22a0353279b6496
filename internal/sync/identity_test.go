package sync

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/emulator"
)

// lookupsFail is the Teams client with every way of looking people up
// failing as a server in trouble would, after the client's retries.
type lookupsFail struct {
	teamsAPI
	byEmail int // by-email calls made
}

func (l *lookupsFail) ListAccounts(context.Context) ([]teams.Account, error) {
	return nil, &teams.Error{Method: "GET", Route: "/users", Status: 503, Kind: teams.ErrServer}
}

func (l *lookupsFail) UserByEmail(context.Context, string) (*teams.User, error) {
	l.byEmail++
	return nil, &teams.Error{Method: "GET", Route: "/users/by-email/{email}", Status: 503, Kind: teams.ErrServer}
}

// identityRig: Platform is fed by ann (cached) and bob and cat (not
// cached); Teams' Platform holds ann and zed, who left the directory. SRE
// is fed by dan (cached) only.
func identityRig(t *testing.T) (*rig, *lookupsFail) {
	seed := &emulator.Seed{
		Users:      seedUsers("ann", "bob", "cat", "dan", "zed"),
		UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10, 14}}, {ID: 101, Name: "SRE"}},
	}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann", "bob", "cat"}, "sre": {"dan"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}, {Source: "corp", From: "sre", To: "SRE"}}
	_ = r.store.PutUsers(map[string]state.User{"ann@example.com": {ID: 10}, "dan@example.com": {ID: 13}})
	fail := &lookupsFail{teamsAPI: r.client}
	r.api = fail
	return r, fail
}

// TestLookupFailureMakesPeopleUnknown: people whose Teams account could
// not be looked up are unknown, not pending (DESIGN.md §8 rule 6): the
// group they feed gets no removal, the run exits 1 and says why, and the
// other groups are still kept in step.
func TestLookupFailureMakesPeopleUnknown(t *testing.T) {
	for _, path := range []struct {
		name       string
		teamsUsers int
	}{{"listing", 5}, {"by-email", 10000}} {
		t.Run(path.name, func(t *testing.T) {
			r, fail := identityRig(t)
			_ = r.store.PutMeta(metaTeamsUsers, path.teamsUsers)
			res := r.run(true)
			if res.ExitCode != exitcode.Failure {
				t.Errorf("exit %d, want 1; errors %v", res.ExitCode, res.Report.Errors)
			}
			if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10, 14}) {
				t.Errorf("Platform: %v; want zed kept: removals are off while bob and cat are unknown", got)
			}
			if got := members(t, r.emu, "SRE"); !slices.Equal(got, []int{13}) {
				t.Errorf("SRE: %v; want dan added", got)
			}
			errs := strings.Join(res.Report.Errors, "\n")
			if !strings.Contains(errs, "Platform: 2 members could not be looked up in Teams") {
				t.Errorf("errors do not say why:\n%s", errs)
			}
			if len(res.Report.Pending) != 0 {
				t.Errorf("unknown people reported pending: %v", res.Report.Pending)
			}
			if fail.byEmail > 1 {
				t.Errorf("%d by-email calls: after one fails (after the client's retries), the others are not asked", fail.byEmail)
			}
			if p := r.store.Pending([]string{"bob@example.com", "cat@example.com"}, r.now); len(p) != 0 {
				t.Errorf("unknown people remembered as having no account: %v", p)
			}
		})
	}
}
