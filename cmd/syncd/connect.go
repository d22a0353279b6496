package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/plural"
	"github.com/syncd/syncd/internal/scimserver"
	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/termsafe"
)

// connectTeams probes the token with GET /users/me and says who it is,
// whether it sees e-mails (admin) and, when asked to probe, whether it may
// write. Without probeWrite it makes read calls only.
func connectTeams(ctx context.Context, cfg *config.Config, probeWrite bool, w io.Writer) error {
	conn, err := newTeamsClient(cfg.Teams, nil)
	if err != nil {
		return fmt.Errorf("teams: %w", err)
	}
	me, err := conn.Client.Me(ctx)
	if err != nil {
		return fmt.Errorf("teams: %s: %w", explainTeamsError(err, cfg.Teams.URL), err)
	}
	termsafe.Fprintf(w, "teams: %s: token of %s (id %d, role %s)\n", cfg.Teams.URL, me.Name, me.ID, me.Role)
	groups, err := conn.Client.ListUserGroups(ctx)
	if err != nil {
		return fmt.Errorf("teams: list user groups: %w", err)
	}
	if err := reportEmails(ctx, conn.Client, me, groups, w); err != nil {
		return err
	}
	if !probeWrite {
		fmt.Fprintln(w, "teams: write access: not checked (API v3 cannot tell without a write; --probe-write makes one empty add to a managed group, which changes nothing, or the first sync --apply reports a read-only token)")
		return nil
	}
	return checkWrite(ctx, cfg, conn.Client, groups, w)
}

// reportEmails says whether the token sees other people's e-mails (admin
// tokens only; everyone sees their own, so /users/me cannot tell). It asks
// for one other user found in a group, else goes by the role.
func reportEmails(ctx context.Context, c *teams.Client, me *teams.User, groups []teams.UserGroup, w io.Writer) error {
	visible, how := strings.EqualFold(me.Role, "Admin"), "judged by the role"
	if other := otherUser(me.ID, groups); other != 0 {
		u, err := c.GetUser(ctx, other)
		if err != nil {
			return fmt.Errorf("teams: get user %d: %w", other, err)
		}
		visible, how = u.Email != nil, fmt.Sprintf("checked on user %d", other)
	}
	if visible {
		fmt.Fprintf(w, "teams: e-mails visible: yes, admin token (%s): people are matched by e-mail directly\n", how)
	} else {
		fmt.Fprintf(w, "teams: e-mails visible: no, not an admin token (%s): matching people needs more calls, and people whose Teams account has another address stay pending\n", how)
	}
	return nil
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
func checkWrite(ctx context.Context, cfg *config.Config, c *teams.Client, groups []teams.UserGroup, w io.Writer) error {
	target := managedGroup(cfg, groups)
	if target == nil {
		fmt.Fprintln(w, "teams: write access: not checked (none of the configured Teams groups exists yet; a read-only token is reported by the first sync --apply)")
		return nil
	}
	_, err := c.AddUserGroupMembers(ctx, target.ID, nil)
	switch {
	case err == nil:
		termsafe.Fprintf(w, "teams: write access: yes (an empty add to group \"%s\", which changes nothing, was accepted)\n", target.Name)
		return nil
	case errors.Is(err, teams.ErrBadRequest):
		termsafe.Fprintf(w, "teams: write access: not checked (the site refused an empty add to group \"%s\": %v)\n", target.Name, err)
		return nil
	case errors.Is(err, teams.ErrForbidden):
		return fmt.Errorf("teams: the token may not write (403 on an empty add to group %q): syncd can plan but not apply; "+
			"the token's user must be an admin (user groups; SMEs also allow a moderator) and the token must have write access "+
			"(Business or Enterprise; Basic is read-only): %w", target.Name, err)
	}
	return fmt.Errorf("teams: write check on group %q: %w", target.Name, err)
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

// connectSources reads every source once and reports what it found, or
// why it could not; the returned error joins every failure.
func connectSources(ctx context.Context, cfg *config.Config, logger *zap.Logger, w io.Writer) error {
	var errs []error
	for _, src := range cfg.Sources {
		if err := connectSource(ctx, src, cfg.Sync.StateDir, logger, w); err != nil {
			errs = append(errs, fmt.Errorf("source %s: %w", src.Name, err))
		}
	}
	return errors.Join(errs...)
}

func connectSource(ctx context.Context, src config.Source, stateDir string, logger *zap.Logger, w io.Writer) error {
	if src.Kind() == config.KindSCIMReceiver {
		fmt.Fprintf(w, "source %s: scim_receiver: the identity provider pushes to /scim/%s/v2 while syncd run runs; reading what it stored\n", src.Name, src.Name)
	}
	reader, err := buildSource(src, stateDir, logger)
	if err != nil {
		return err
	}
	if src.Kind() == config.KindSCIMReceiver {
		if received, err := receiverStatus(src.Name, stateDir, w); err != nil || !received {
			return err
		}
	}
	dir, err := reader.Read(ctx)
	if err != nil {
		return err
	}
	unknown := 0
	for _, g := range dir.Groups {
		if g.Unknown() {
			unknown++
		}
	}
	fmt.Fprintf(w, "source %s: %s, %s (%d unknown)\n", src.Name, plural.Count(len(dir.Users), "user"), plural.Count(len(dir.Groups), "group"), unknown)
	var errs []error
	for _, g := range dir.Groups {
		if g.Unknown() {
			termsafe.Fprintf(w, "source %s: group %s unknown: %v\n", src.Name, g.Name, g.Err)
			errs = append(errs, fmt.Errorf("group %s could not be read completely: %w", g.Name, g.Err))
		}
	}
	return errors.Join(errs...)
}

// receiverStatus says whether an identity provider ever pushed to the SCIM
// receiver, and when it last did. Before the first push there is nothing
// to read: the normal state of a new setup, not a failure.
func receiverStatus(name, stateDir string, w io.Writer) (bool, error) {
	sum, err := scimserver.Inspect(stateDir, name)
	switch {
	case errors.Is(err, scimserver.ErrNoData), err == nil && !sum.Received():
		fmt.Fprintf(w, "source %s: no push received yet: the identity provider has not provisioned anything; "+
			"until it does, syncd sync finds none of this source's groups (unknown, no removals)\n", name)
		return false, nil
	case err != nil:
		return false, err
	}
	if !sum.LastChange.IsZero() {
		fmt.Fprintf(w, "source %s: last push stored %s\n", name, sum.LastChange.Format(time.RFC3339))
	}
	return true, nil
}
