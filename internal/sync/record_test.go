package sync

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/lock"
	"github.com/syncd/syncd/internal/plan"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/emulator"
)

// spy is the Teams client with a hook run before every write is sent.
type spy struct {
	*teams.Client
	before func(call string)
}

func (s spy) CreateUserGroup(ctx context.Context, r teams.UserGroupRequest) (*teams.Created, error) {
	s.before("create")
	return s.Client.CreateUserGroup(ctx, r)
}

func (s spy) ReplaceUserGroup(ctx context.Context, id int, r teams.UserGroupRequest) (*teams.Roster, error) {
	s.before("replace")
	return s.Client.ReplaceUserGroup(ctx, id, r)
}

func (s spy) AddUserGroupMembers(ctx context.Context, id int, ids []int) (*teams.Roster, error) {
	s.before("add")
	return s.Client.AddUserGroupMembers(ctx, id, ids)
}

func (s spy) RemoveUserGroupMember(ctx context.Context, id, user int) error {
	s.before("remove")
	return s.Client.RemoveUserGroupMember(ctx, id, user)
}

func (s spy) ReplaceSMEs(ctx context.Context, id int, r teams.SMERequest) (*teams.SMEs, error) {
	s.before("replace smes")
	return s.Client.ReplaceSMEs(ctx, id, r)
}

func (s spy) AddSMEUsers(ctx context.Context, id int, ids []int) (*teams.SMEs, error) {
	s.before("add sme users")
	return s.Client.AddSMEUsers(ctx, id, ids)
}

func (s spy) AddSMEGroups(ctx context.Context, id int, ids []int) (*teams.SMEs, error) {
	s.before("add sme groups")
	return s.Client.AddSMEGroups(ctx, id, ids)
}

// fileRig is a rig on a real state dir, in managed mode: three groups to
// write (a create, additions, a removal) and a tag.
func fileRig(t *testing.T) (*rig, string) {
	t.Helper()
	seed := &emulator.Seed{SMEEnabled: true, Users: seedUsers("ann", "bob", "cat", "dan", "eve"),
		UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{12}}, {ID: 101, Name: "Ops", UserIDs: []int{13, 14}}},
		Tags:       []emulator.SeedTag{{ID: 5, Name: "go"}}}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann", "bob"}, "data": {"cat", "dan"}, "ops": {"dan"}, "k8s": {"eve"}}))
	dir := t.TempDir()
	store, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	r.store = store
	r.cfg.Sync.Membership = "managed"
	r.cfg.Groups = []config.Mapping{
		{Source: "corp", From: "platform", To: "Platform"},
		{Source: "corp", From: "data", To: "Data"},
		{Source: "corp", From: "ops", To: "Ops", Membership: "exact"},
	}
	r.cfg.SMEs = []config.SME{{Tag: "go", UsersFrom: []config.GroupRef{{Source: "corp", Group: "k8s"}}, Groups: []string{"Data"}}}
	return r, dir
}

// TestEveryWriteRecordedBeforeTheNext: when each write is sent, every
// earlier write of the run is in the audit log and settled, and the people
// the write adds are already owned in the ledger.
func TestEveryWriteRecordedBeforeTheNext(t *testing.T) {
	r, dir := fileRig(t)
	sent := 0
	r.api = spy{Client: r.client, before: func(call string) {
		lines, err := state.ReadAudit(dir, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		seqs := map[uint64]bool{}
		for _, l := range lines {
			seqs[l.Seq] = true
		}
		if len(seqs) != sent {
			t.Errorf("write %d (%s) sent with %d earlier writes in the audit log, want %d", sent+1, call, len(seqs), sent)
		}
		if call == "add" && !slices.Contains(r.store.Ledger()["group:100"], 10) {
			t.Errorf("adding ann to Platform, but the ledger does not own her yet: %v", r.store.Ledger())
		}
		if sent > 1 { // the create of Data (write 2) is settled: its members owned by its id
			data, _ := r.emu.GroupByName("Data")
			if got := r.store.Ledger()[plan.LedgerKey(plan.LedgerGroup, data.ID)]; !slices.Equal(got, []int{12, 13}) || len(r.store.Adoptions()) > 0 {
				t.Errorf("write %d (%s) sent before the create was settled: ledger %v, adoptions %v", sent+1, call, r.store.Ledger(), r.store.Adoptions())
			}
		}
		sent++
	}}
	res := r.run(true)
	// Platform's addition, Data's create, Ops's removal, go's SME user and
	// SME group (two POSTs: cheaper than a read and a PUT).
	if res.ExitCode != 0 || sent != 5 {
		t.Fatalf("exit %d, %d writes (want 5), errors %v", res.ExitCode, sent, res.Report.Errors)
	}
	lines, err := state.ReadAudit(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range slices.Backward(lines) {
		got = append(got, l.Kind+" "+l.Group+l.Tag+" "+l.Result)
		if l.RunID == "" || l.Time.IsZero() || l.Call == "" {
			t.Errorf("incomplete line: %+v", l)
		}
	}
	want := []string{"add_members Platform applied", "create_group Data applied", "remove_members Ops applied",
		"add_sme_users go applied", "add_sme_groups go applied"}
	if !slices.Equal(got, want) {
		t.Errorf("audit lines:\n got %q\nwant %q", got, want)
	}
	if len(lines) == 0 {
		t.Fatal("no audit lines")
	}
	if l := lines[len(lines)-1]; len(l.Users) == 0 || l.Users[0].Email != "ann@example.com" {
		t.Errorf("first line names %+v, want Ann's address", l.Users)
	}
	data, _ := r.emu.GroupByName("Data")
	if got := r.store.Ledger(); !slices.Equal(got["group:100"], []int{10, 11}) || !slices.Equal(got[plan.LedgerKey(plan.LedgerGroup, data.ID)], []int{12, 13}) {
		t.Errorf("ledger: %v", got)
	}
	// The last write was settled before the run ended: a next process
	// finds nothing to recover.
	again, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := again.Recover(lock.Key(r.cfg.Teams.URL), r.now); n != 0 || err != nil {
		t.Errorf("%d writes left under way after the run (%v)", n, err)
	}
}

// lostCreate creates the group, then loses the answer, as a proxy that
// resets the connection would.
type lostCreate struct{ *teams.Client }

func (l lostCreate) CreateUserGroup(ctx context.Context, r teams.UserGroupRequest) (*teams.Created, error) {
	if _, err := l.Client.CreateUserGroup(ctx, r); err != nil {
		return nil, err
	}
	// As the client says it when even its re-listing could not settle it.
	return nil, &teams.UnconfirmedError{Method: "POST", Route: "/user-groups", Status: 201, Reason: "read tcp: connection reset by peer"}
}

// TestLostCreateAnswer: the members of a group whose create answer was
// lost stay owned (by the group's name until a run finds its id), so they
// are removed once they leave the directory group.
func TestLostCreateAnswer(t *testing.T) {
	r, dir := fileRig(t)
	r.cfg.SMEs = nil
	r.api = lostCreate{r.client}
	first := r.run(true)
	if first.ExitCode != exitcode.Failure {
		t.Fatalf("a lost answer: exit %d", first.ExitCode)
	}
	lines, _ := state.ReadAudit(dir, 1<<20)
	if !slices.ContainsFunc(lines, func(l state.AuditLine) bool {
		return l.Kind == report.KindCreateGroup && l.Result == state.ResultUnknown
	}) {
		t.Errorf("the create is not in the audit log as unknown: %+v", lines)
	}
	r.api = r.client
	if res := r.run(true); res.ExitCode != 0 || r.emu.WriteCount() != 0 {
		t.Fatalf("second run: exit %d, %d writes, errors %v", res.ExitCode, r.emu.WriteCount(), res.Report.Errors)
	}
	r.src.dir = dirOf(map[string][]string{"platform": {"ann", "bob"}, "data": {"cat"}, "ops": {"dan"}})
	if res := r.run(true); res.ExitCode != 0 {
		t.Fatalf("third run: exit %d, errors %v", res.ExitCode, res.Report.Errors)
	}
	if got := members(t, r.emu, "Data"); !slices.Equal(got, []int{12}) {
		t.Errorf("Data = %v: dan, whom syncd added, left the directory group and must be removed", got)
	}
}

// vanishing removes the state file when the first write is answered, so
// that recording its outcome fails.
type vanishing struct {
	*teams.Client
	path string
}

func (v vanishing) AddUserGroupMembers(ctx context.Context, id int, ids []int) (*teams.Roster, error) {
	g, err := v.Client.AddUserGroupMembers(ctx, id, ids)
	os.Remove(v.path)
	return g, err
}

// TestRecordingFailureStopsWriting: once a write cannot be recorded, no
// further write is sent and the run fails.
func TestRecordingFailureStopsWriting(t *testing.T) {
	r, dir := fileRig(t)
	r.api = vanishing{Client: r.client, path: filepath.Join(dir, state.FileName)}
	res := r.run(true)
	if res.ExitCode != exitcode.Failure || r.emu.WriteCount() != 1 {
		t.Fatalf("exit %d after %d writes; want 1 and exactly the one write", res.ExitCode, r.emu.WriteCount())
	}
	if !slices.ContainsFunc(res.Report.Errors, func(e string) bool { return strings.Contains(e, "cannot record writes") }) {
		t.Errorf("errors: %v", res.Report.Errors)
	}
	for _, c := range res.Report.Changes[1:] {
		if c.Status != report.StatusFailed {
			t.Errorf("%s %s%s: %s after recording failed", c.Kind, c.Group, c.Tag, c.Status)
		}
	}
}

// TestNoWriteOnAFailedState: a state that could not be read during the
// run (its ledger, its sizes) sends nothing.
func TestNoWriteOnAFailedState(t *testing.T) {
	r, dir := fileRig(t)
	if err := os.Truncate(filepath.Join(dir, state.FileName), 0); err != nil {
		t.Fatal(err)
	}
	res := r.run(true)
	if res.ExitCode != exitcode.Failure || r.emu.WriteCount() != 0 {
		t.Fatalf("exit %d, %d writes; want 1 and none", res.ExitCode, r.emu.WriteCount())
	}
	if msg := strings.Join(res.Report.Errors, "\n"); !strings.Contains(msg, "--reset-state") {
		t.Errorf("errors do not say how to recover: %s", msg)
	}
}
