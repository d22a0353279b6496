package probe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/teams"
)

// fakeTeams answers the token probe from memory and counts the writes.
type fakeTeams struct {
	me       teams.User
	groups   []teams.UserGroup
	emails   bool  // GetUser shows e-mails
	writeErr error // what the empty add answers
	writes   []int // groups the empty add was sent to
}

func (f *fakeTeams) Me(context.Context) (*teams.User, error) { return &f.me, nil }
func (f *fakeTeams) ListUserGroups(context.Context) ([]teams.UserGroup, error) {
	return f.groups, nil
}

func (f *fakeTeams) GetUser(_ context.Context, id int) (*teams.User, error) {
	u := &teams.User{UserSummary: teams.UserSummary{ID: id}}
	if f.emails {
		mail := fmt.Sprintf("u%d@example.com", id)
		u.Email = &mail
	}
	return u, nil
}

func (f *fakeTeams) AddUserGroupMembers(_ context.Context, id int, userIDs []int) (*teams.Roster, error) {
	if len(userIDs) > 0 {
		return nil, errors.New("the probe added members")
	}
	f.writes = append(f.writes, id)
	return nil, f.writeErr
}

func probeConfig() *config.Config {
	return &config.Config{Teams: config.Teams{URL: "https://api.example.com/v3/teams/acme"},
		Groups: []config.Mapping{{Source: "corp", From: "platform", To: "platform"}, {Source: "corp", Match: "team-*", To: "Web"}}}
}

func TestTeamsToken(t *testing.T) {
	groups := []teams.UserGroup{
		{ID: 7, Name: "Web", Users: []teams.UserSummary{{ID: 1}, {ID: 2}}}, // a match: target's name, not a group the config names
		{ID: 9, Name: "Platform", Users: []teams.UserSummary{{ID: 2}, {ID: 5}}},
	}
	me := teams.User{UserSummary: teams.UserSummary{ID: 2, Role: "Registered"}}
	for _, tc := range []struct {
		name     string
		fake     *fakeTeams
		write    bool
		want     Write
		emails   Emails
		errWant  string
		noWrites bool
	}{
		{name: "read calls only", fake: &fakeTeams{me: me, groups: groups, emails: true}, want: Write{Result: WriteNotAsked},
			emails: Emails{Visible: true, How: "checked on user 5"}, noWrites: true},
		{name: "allowed", fake: &fakeTeams{me: me, groups: groups}, write: true, want: Write{Result: WriteAllowed, Group: "Platform"},
			emails: Emails{Visible: false, How: "checked on user 5"}},
		{name: "bad request", fake: &fakeTeams{me: me, groups: groups, writeErr: fmt.Errorf("x: %w", teams.ErrBadRequest)}, write: true,
			want: Write{Result: WriteUnknown, Group: "Platform"}, emails: Emails{How: "checked on user 5"}},
		{name: "forbidden", fake: &fakeTeams{me: me, groups: groups, writeErr: fmt.Errorf("x: %w", teams.ErrForbidden)}, write: true,
			errWant: `the token may not write (403 on an empty add to group "Platform")`},
		{name: "no managed group", fake: &fakeTeams{me: teams.User{UserSummary: teams.UserSummary{ID: 2, Role: "Admin"}}, groups: groups[:1]},
			write: true, want: Write{Result: WriteNoGroup}, emails: Emails{Visible: true, How: "judged by the role"}, noWrites: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Teams(context.Background(), tc.fake, probeConfig(), tc.write)
			if tc.errWant != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errWant) || !errors.Is(err, teams.ErrForbidden) {
					t.Fatalf("error %v, want %q wrapping the API's", err, tc.errWant)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.Me == nil || tok.Emails == nil || *tok.Emails != tc.emails {
				t.Errorf("me %v, e-mails %+v; want %+v", tok.Me, tok.Emails, tc.emails)
			}
			if tok.Write == nil || tok.Write.Result != tc.want.Result || tok.Write.Group != tc.want.Group {
				t.Errorf("write %+v, want %+v", tok.Write, tc.want)
			}
			if tc.noWrites != (len(tc.fake.writes) == 0) {
				t.Errorf("writes sent to groups %v", tc.fake.writes)
			}
			if len(tc.fake.writes) > 0 && tc.fake.writes[0] != 9 {
				t.Errorf("the empty add went to group %d, want 9 (Platform, which the config names)", tc.fake.writes[0])
			}
		})
	}
}

// A refused token is explained by what the API answered.
func TestExplainTeamsError(t *testing.T) {
	url := "https://api.example.com/v3/teams/acme"
	for err, want := range map[error]string{
		fmt.Errorf("x: %w", teams.ErrUnauthorized): "the token was refused (401)",
		fmt.Errorf("x: %w", teams.ErrNotFound):     "check the URL",
		fmt.Errorf("x: %w", teams.ErrServer):       "server error",
		errors.New("dial tcp: connection refused"): "could not be reached",
	} {
		if got := explainTeamsError(err, url); !strings.Contains(got, want) {
			t.Errorf("explainTeamsError(%v) = %q, want %q", err, got, want)
		}
	}
}
