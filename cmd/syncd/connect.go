package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/plural"
	"github.com/syncd/syncd/internal/probe"
	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/termsafe"
)

// connectTeams probes the token (probe.Teams) and prints what it found.
func connectTeams(ctx context.Context, cfg *config.Config, probeWrite bool, w io.Writer) error {
	conn, err := newTeamsClient(cfg.Teams, nil)
	if err != nil {
		return fmt.Errorf("teams: %w", err)
	}
	tok, err := probe.Teams(ctx, conn.Client, cfg, probeWrite)
	printToken(w, cfg.Teams.ShownURL(), tok)
	return err
}

// printToken shows what the token probe found; names come from Teams and
// are printed with terminal controls escaped.
func printToken(w io.Writer, url string, tok *probe.Token) {
	if tok.Me != nil {
		termsafe.Fprintf(w, "teams: %s: token of %s (id %d, role %s)\n", url, tok.Me.Name, tok.Me.ID, tok.Me.Role)
	}
	switch e := tok.Emails; {
	case e == nil:
	case e.Visible:
		fmt.Fprintf(w, "teams: e-mails visible: yes, admin token (%s): people are matched by e-mail directly\n", e.How)
	default:
		fmt.Fprintf(w, "teams: e-mails visible: no, not an admin token (%s): matching people needs more calls, and people whose Teams account has another address stay pending\n", e.How)
	}
	if tok.Write != nil {
		printWrite(w, tok.Write)
	}
}

func printWrite(w io.Writer, wr *probe.Write) {
	switch wr.Result {
	case probe.WriteNotAsked:
		fmt.Fprintln(w, "teams: write access: not checked (API v3 cannot tell without a write; --probe-write makes one empty add to a managed group, which changes nothing, or the first sync --apply reports a read-only token)")
	case probe.WriteNoGroup:
		fmt.Fprintln(w, "teams: write access: not checked (none of the configured Teams groups exists yet; a read-only token is reported by the first sync --apply)")
	case probe.WriteAllowed:
		termsafe.Fprintf(w, "teams: write access: yes (an empty add to group \"%s\", which changes nothing, was accepted)\n", wr.Group)
	case probe.WriteUnknown:
		termsafe.Fprintf(w, "teams: write access: not checked (the site refused an empty add to group \"%s\": %v)\n", wr.Group, wr.Err)
	}
}

// connectSources reads every source once (probe.Source) and prints what
// it found, source by source; the returned error joins every failure.
func connectSources(ctx context.Context, cfg *config.Config, logger *zap.Logger, w io.Writer) error {
	open := func(src config.Source) (probe.Reader, error) {
		s, err := buildSource(src, cfg.Sync.StateDir, logger)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	var errs []error
	for _, src := range cfg.Sources {
		if src.Kind() == config.KindSCIMReceiver {
			fmt.Fprintf(w, "source %s: scim_receiver: the identity provider pushes to /scim/%s/v2 while syncd run runs; reading what it stored\n", src.Name, src.Name)
		}
		r, err := probe.Source(ctx, src, cfg.Sync.StateDir, open)
		printSourceRead(w, r)
		if err != nil {
			errs = append(errs, fmt.Errorf("source %s: %w", src.Name, err))
		}
		if cfg.Sync.Watch && src.LDAP != nil {
			if err := checkFeed(ctx, src, logger, w); err != nil {
				errs = append(errs, fmt.Errorf("source %s: %w", src.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// checkFeed says which change feed sync.watch would follow on an LDAP
// source, or why the one configured cannot work.
func checkFeed(ctx context.Context, src config.Source, logger *zap.Logger, w io.Writer) error {
	f, err := ldap.NewFeed(src.Name, *src.LDAP, ldap.FeedOptions{}, logger)
	if err != nil {
		return err
	}
	kind, err := f.Check(ctx)
	if err == nil {
		fmt.Fprintf(w, "source %s: change feed: %s\n", src.Name, kind)
	}
	return err
}

// printSourceRead shows what reading one source found. Before an identity
// provider's first push there is nothing to read: the normal state of a
// new setup, not a failure.
func printSourceRead(w io.Writer, r *probe.SourceRead) {
	if r.NoPush {
		fmt.Fprintf(w, "source %s: no push received yet: the identity provider has not provisioned anything; "+
			"until it does, syncd sync finds none of this source's groups (unknown, no removals)\n", r.Name)
	}
	if !r.LastPush.IsZero() {
		fmt.Fprintf(w, "source %s: last push stored %s\n", r.Name, r.LastPush.Format(time.RFC3339))
	}
	if r.Dir == nil {
		return
	}
	unknown := r.Unknown()
	fmt.Fprintf(w, "source %s: %s, %s (%d unknown)\n", r.Name, plural.Count(len(r.Dir.Users), "user"),
		plural.Count(len(r.Dir.Groups), "group"), len(unknown))
	for _, g := range unknown {
		termsafe.Fprintf(w, "source %s: group %s unknown: %v\n", r.Name, g.Name, g.Err)
	}
}
