// Package probe finds out whether syncd can work with what it talks to,
// for `syncd validate --connect`, `syncd healthcheck` and the daemon's
// readiness: the Teams token (whose it is, whether it sees e-mails,
// whether it may write), each directory source, a running daemon's health
// endpoints, and which failures no retry will fix. It prints nothing: the
// command shows what it returns.
package probe

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/teams"
)

// TeamsAPI is what the token probe calls (a *teams.Client).
type TeamsAPI interface {
	Me(ctx context.Context) (*teams.User, error)
	ListUserGroups(ctx context.Context) ([]teams.UserGroup, error)
	GetUser(ctx context.Context, id int) (*teams.User, error)
	AddUserGroupMembers(ctx context.Context, id int, userIDs []int) (*teams.Roster, error)
}

// Token is what the probe of the Teams token found; a field is nil when
// the probe failed before finding it out.
type Token struct {
	Me     *teams.User // the token's user
	Emails *Emails
	Write  *Write
}

// Emails says whether the token sees other people's e-mails (admin tokens
// only), and how that was found out.
type Emails struct {
	Visible bool
	How     string // "checked on user 4", or "judged by the role"
}

// WriteResult is what the write probe found.
type WriteResult int

const (
	WriteNotAsked WriteResult = iota // the caller did not ask for the write probe
	WriteNoGroup                     // none of the configured Teams groups exists yet: nothing to probe on
	WriteAllowed                     // the empty add was accepted
	WriteUnknown                     // the site refused the empty add as a bad request: no answer either way
)

// Write is the outcome of the write probe.
type Write struct {
	Result WriteResult
	Group  string // the group the empty add was sent to
	Err    error  // for WriteUnknown, the site's answer
}

// Teams asks GET /users/me who the token is, finds out whether it
// sees e-mails, and with probeWrite whether it may write, by the one write
// that changes nothing (an empty add to a group the config manages).
// Without probeWrite it makes read calls only. Errors say what to check.
func Teams(ctx context.Context, api TeamsAPI, cfg *config.Config, probeWrite bool) (*Token, error) {
	tok := &Token{}
	me, err := api.Me(ctx)
	if err != nil {
		return tok, fmt.Errorf("teams: %s: %w", explainTeamsError(err, cfg.Teams.ShownURL()), err)
	}
	tok.Me = me
	groups, err := api.ListUserGroups(ctx)
	if err != nil {
		return tok, fmt.Errorf("teams: list user groups: %w", err)
	}
	if tok.Emails, err = emails(ctx, api, me, groups); err != nil {
		return tok, err
	}
	if !probeWrite {
		tok.Write = &Write{Result: WriteNotAsked}
		return tok, nil
	}
	tok.Write, err = checkWrite(ctx, cfg, api, groups)
	return tok, err
}

// emails finds out whether the token sees other people's e-mails
// (everyone sees their own, so /users/me cannot tell). It asks for one
// other user found in a group, else goes by the role.
func emails(ctx context.Context, api TeamsAPI, me *teams.User, groups []teams.UserGroup) (*Emails, error) {
	e := &Emails{Visible: strings.EqualFold(me.Role, "Admin"), How: "judged by the role"}
	if other := otherUser(me.ID, groups); other != 0 {
		u, err := api.GetUser(ctx, other)
		if err != nil {
			return nil, fmt.Errorf("teams: get user %d: %w", other, err)
		}
		e.Visible, e.How = u.Email != nil, fmt.Sprintf("checked on user %d", other)
	}
	return e, nil
}

// otherUser returns a member of some group who is not the token's user
// nor the Community user (id <= 1), or 0.
func otherUser(me int, groups []teams.UserGroup) int {
	for _, g := range groups {
		for _, u := range g.Users {
			if u.ID != me && u.ID > 1 {
				return u.ID
			}
		}
	}
	return 0
}

// explainTeamsError turns a failed probe into what the user should check.
func explainTeamsError(err error, url string) string {
	switch {
	case errors.Is(err, teams.ErrUnauthorized):
		return "the token was refused (401): it is invalid or expired, or it belongs to another team or site than " + url
	case errors.Is(err, teams.ErrForbidden):
		return "the token may not read users (403)"
	case errors.Is(err, teams.ErrNotFound):
		return "GET /users/me answered 404 at " + url + ": check the URL (its form and the team name) and that the token's user exists"
	case errors.Is(err, teams.ErrRateLimited):
		return "the API is throttling this token (429): try again later"
	case errors.Is(err, teams.ErrServer):
		return "the API at " + url + " answered with a server error: try again later"
	case errors.As(err, new(*teams.Error)):
		return "the API at " + url + " refused the probe"
	}
	return "the API at " + url + " could not be reached: check teams.url, the network and teams.ca_file"
}

// checkWrite finds out whether the token may write with the one write that
// changes nothing: adding no members to a Teams group the config manages.
// The API offers no other way to tell; groups the config does not name are
// never touched, so without one of them in Teams the check is skipped.
func checkWrite(ctx context.Context, cfg *config.Config, api TeamsAPI, groups []teams.UserGroup) (*Write, error) {
	target := managedGroup(cfg, groups)
	if target == nil {
		return &Write{Result: WriteNoGroup}, nil
	}
	_, err := api.AddUserGroupMembers(ctx, target.ID, nil)
	switch {
	case err == nil:
		return &Write{Result: WriteAllowed, Group: target.Name}, nil
	case errors.Is(err, teams.ErrBadRequest):
		return &Write{Result: WriteUnknown, Group: target.Name, Err: err}, nil
	case errors.Is(err, teams.ErrForbidden):
		return nil, fmt.Errorf("teams: the token may not write (403 on an empty add to group %q): syncd can plan but not apply; "+
			"the token's user must be an admin (user groups; SMEs also allow a moderator) and the token must have write access "+
			"(Business or Enterprise; Basic is read-only): %w", target.Name, err)
	}
	return nil, fmt.Errorf("teams: write check on group %q: %w", target.Name, err)
}

// managedGroup returns a Teams group the config names (a `to` of a from
// mapping, or an SME group), or nil.
func managedGroup(cfg *config.Config, groups []teams.UserGroup) *teams.UserGroup {
	var names []string
	for _, m := range cfg.Groups {
		if m.From != "" {
			names = append(names, m.To)
		}
	}
	for _, s := range cfg.SMEs {
		names = append(names, s.Groups...)
	}
	for _, name := range names {
		for i := range groups {
			if strings.EqualFold(groups[i].Name, name) {
				return &groups[i]
			}
		}
	}
	return nil
}
