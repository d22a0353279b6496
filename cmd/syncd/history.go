package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/history"
	"github.com/syncd/syncd/internal/plural"
)

type historyFlagSet struct {
	config, since, email, group, format *string
}

func newHistoryFlags() (*flag.FlagSet, *historyFlagSet) {
	fs := newFlagSet("history")
	f := &historyFlagSet{config: configFlag(fs),
		since:  fs.String("since", "", "only what happened in the last `7d` (any duration: 12h, 30d), or since a date (2026-01-31) (default: all the audit log keeps)"),
		email:  fs.String("email", "", "only writes and approvals naming the person with this e-mail address `E`"),
		group:  fs.String("group", "", "only those of user group (or tag) `G`"),
		format: fs.String("format", "text", "output format, `text|json`"),
	}
	return fs, f
}

// cmdHistory prints the audit log, newest first: every write syncd sent
// and every approval, with its run and why ("who removed alice from
// Platform, when, and why"). It reads the state dir only.
func cmdHistory(_ context.Context, e env, args []string) error {
	fs, f := newHistoryFlags()
	if err := parse(fs, args); err != nil {
		return err
	}
	if *f.format != "text" && *f.format != "json" {
		return usageErrorf("--format %q: want text or json", *f.format)
	}
	now := time.Now()
	since, err := parseSince(*f.since, now)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(e, *f.config)
	if err != nil {
		return err
	}
	store, err := approvalStore(e, cfg, readsState, "history")
	if err != nil {
		return err
	}
	defer store.Close()
	entries, unreadable, err := history.ReadCounting(store.Dir(), history.Query{Since: since, Email: *f.email, Group: *f.group})
	if err != nil {
		return err
	}
	if unreadable > 0 {
		fmt.Fprintf(e.stderr, "syncd history: warning: %s of the audit log in %s could not be read (torn by a crash, or edited); the history may lack their writes\n",
			plural.Count(unreadable, "line"), store.Dir())
	}
	if *f.format == "json" {
		return history.WriteJSON(e.stdout, entries)
	}
	return history.WriteText(e.stdout, entries)
}

// parseSince reads --since: a duration back from now (days allowed), a
// date (local midnight) or an RFC 3339 time; "" is the beginning.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := config.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, usageErrorf("--since %q: want a duration such as 7d or 12h, a date such as 2026-01-31, or an RFC 3339 time", s)
}
