package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"strings"
	"time"

	"github.com/syncd/syncd/internal/approval"
	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/lock"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/termsafe"
)

type approveFlagSet struct {
	config    *string
	list, all *bool
	ttl       *string
}

func newApproveFlags() (*flag.FlagSet, *approveFlagSet) {
	fs := newFlagSet("approve")
	f := &approveFlagSet{config: configFlag(fs),
		list: fs.Bool("list", false, "list the held changes of the latest run with their ids (the default without IDs)"),
		all:  fs.Bool("all", false, "approve every held change of the latest run"),
		ttl:  fs.String("ttl", "24h", "how long the approval stays valid, e.g. `24h`, 2h, 3d (at most 7d)"),
	}
	return fs, f
}

// cmdApprove lists held changes, or approves some (DESIGN.md §9): the next
// run, scheduled or not, applies an approved change over the budgets only
// while it is exactly the same change. The approval is recorded in the
// state dir, which the daemon reads at each run, so this works whether it
// runs or not.
func cmdApprove(_ context.Context, e env, args []string) error {
	fs, f := newApproveFlags()
	ids, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	ttl, err := config.ParseDuration(*f.ttl)
	if err != nil || ttl <= 0 || ttl > approval.MaxTTL {
		return usageErrorf("--ttl %q: want a duration above 0 and up to 7d, e.g. 24h", *f.ttl)
	}
	if *f.all && len(ids) > 0 {
		return usageErrorf("give IDs or --all, not both")
	}
	if *f.list && (*f.all || len(ids) > 0) {
		return usageErrorf("--list only lists: leave out --all and the IDs")
	}
	cfg, err := loadConfig(e, *f.config)
	if err != nil {
		return err
	}
	listing := !*f.all && len(ids) == 0
	use := writesState
	if listing {
		use = readsState
	}
	store, err := approvalStore(e, cfg, use, "approve")
	if err != nil {
		return err
	}
	defer store.Close()
	now := time.Now()
	if listing {
		return listHeld(e.stdout, store, now)
	}
	req := approval.Request{IDs: ids, All: *f.all, TTL: ttl, By: operator(e) + " (syncd approve)", Target: lock.Key(cfg.Teams.URL)}
	list, err := approval.Approve(store, req, now)
	if err != nil {
		return err
	}
	for _, a := range list {
		termsafe.Fprintf(e.stdout, "approved %s until %s: %s\n", a.ID, a.Expires.Local().Format("2006-01-02 15:04:05 MST"), describeApproval(a))
	}
	fmt.Fprintln(e.stdout, "The next run that applies (sync --apply, or a daemon that applies; not a dry run) applies exactly these changes over the budgets; anything new or different stays held.")
	return nil
}

// approvalStore opens the state dir the approvals are kept in.
func approvalStore(e env, cfg *config.Config, use stateUse, cmd string) (*state.Store, error) {
	if cfg.Sync.StateDir == "" {
		return nil, &configError{err: errors.New("approvals and the audit log are kept in sync.state_dir, which " + cfg.Path +
			" does not set; a daemon running without it takes approvals over HTTP (POST /approve, or its web console)")}
	}
	return openState(cfg, use, false, e.stderr, cmd)
}

// parseWithArgs parses flags that may come before, between or after the
// positional arguments, and returns those.
func parseWithArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// listHeld prints the held changes of the latest run with their ids.
func listHeld(w io.Writer, store *state.Store, now time.Time) error {
	r, held := approval.List(store, now)
	if r == nil {
		return approval.ErrNoRun
	}
	run := r.RunID
	if run == "" {
		run = "without an id"
	}
	termsafe.Fprintf(w, "Latest run: %s, started %s (%s)\n", run, r.StartedAt.Local().Format("2006-01-02 15:04:05 MST"), r.Mode)
	if len(held) == 0 {
		fmt.Fprintln(w, "It held no change back.")
		return nil
	}
	for _, h := range held {
		termsafe.Fprintf(w, "\n%s  %s\n", h.Change.ID, report.Describe(h.Change))
		termsafe.Fprintf(w, "              held: %s\n", h.Change.Reason)
		if a := h.Approval; a != nil {
			termsafe.Fprintf(w, "              approved by %s, until %s\n", a.By, a.Expires.Local().Format("2006-01-02 15:04 MST"))
		}
	}
	fmt.Fprintln(w, "\nApprove after checking: syncd approve ID... (or --all) [--ttl 24h]")
	return nil
}

func describeApproval(a state.Approval) string {
	c := report.Change{Kind: a.Kind, Group: a.Group, Tag: a.Tag, Groups: a.Groups}
	for _, u := range a.Users {
		c.Users = append(c.Users, report.User{ID: u.ID, Email: u.Email})
	}
	return report.Describe(c)
}

// operator names who runs the command, for the audit log: the user who
// ran sudo, else the login name.
func operator(e env) string {
	for _, k := range []string{"SUDO_USER", "USER", "LOGNAME"} {
		if v := strings.TrimSpace(e.getenv(k)); v != "" {
			return v
		}
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown user"
}
