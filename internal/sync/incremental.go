package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/plan"
	"github.com/syncd/syncd/internal/report"
)

// Incremental runs (watch mode, DESIGN.md §9).
//
// A change feed says when a source changed; what changed is decided on a
// complete read of that source, by the same reader as a full run, compared
// with the read the last run planned from. An incremental run therefore
// never plans on a partial picture of the directory: a feed that errors,
// resets or loses its cookie can only delay a change (to the next change
// set or the scheduled run), never make a removal rest on part of the
// directory. Only the Teams groups and SME lists whose directory side
// differs are planned, each on a fresh read of that one group or tag, with
// the planner, policies, applier, journal and audit log of a full run. No
// group is created: a mapping whose Teams group does not exist asks for a
// full run, whose fresh complete listing a create needs (rule 7).

// ChangeSet is what a run of RunChanges is asked to look at.
type ChangeSet struct {
	Sources []string  // the sources whose feeds saw changes
	Seen    time.Time // when the first of those changes was seen
}

// ChangeResult is one incremental run.
type ChangeResult struct {
	// Report holds the changes of the run (planned, applied, failed,
	// held); it is not kept as the latest report nor in the run history,
	// which are the scheduled runs'.
	Report  *report.Report
	Sources []SourceStat
	Touched []string // the groups and tags planned ("tag kubernetes" for a tag)
	// NeedFull says why part of the change set needs a full run (a group
	// to create, no earlier run to compare with); "" when none does.
	NeedFull string
	// Unfinished: a target is left for the next change set (a write
	// failed, or its Teams side could not be read); it is remembered in
	// memory only.
	Unfinished bool
	ExitCode   int
	Refused    error // as Result.Refused
}

// needFull adds why to the reasons the change set needs a full run.
func (res *ChangeResult) needFull(why string) {
	if res.NeedFull != "" {
		res.NeedFull += "; "
	}
	res.NeedFull += why
}

// watchState is what incremental runs compare with and plan against,
// kept between runs by one engine.
type watchState struct {
	mu gosync.Mutex
	// base holds, per source, the directory as last read by a run that
	// planned; nil until a full run has.
	base map[string]*directory.Directory
	// ids maps lower-case Teams group names to their ids, as last listed;
	// ambiguousID marks a name several groups carry.
	ids map[string]int
	// dirty holds the targets (targetKey) to plan at the next change set
	// whatever the directory says: their last plan failed or was cut short.
	dirty map[string]bool
}

const ambiguousID = -1

func newWatchState() *watchState {
	return &watchState{ids: map[string]int{}, dirty: map[string]bool{}}
}

// planned records the reads and the group listing a full run planned
// from: the next change set compares with them.
func (w *watchState) planned(dirs map[string]*directory.Directory, groups []plan.CurrentGroup) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.base == nil {
		w.base = map[string]*directory.Directory{}
	}
	for name, d := range dirs {
		w.base[name] = d
	}
	w.ids = groupIDsByName(groups)
	w.dirty = map[string]bool{} // the full run planned every target
}

// created adds the groups a full run created to the ids change sets look
// groups up by: the listing they were taken from predates them, and a
// change set would otherwise list every group again to find one.
func (w *watchState) created(groups []plan.GroupPlan) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, g := range groups {
		if k := strings.ToLower(g.Name); g.Create && g.ID > 0 && w.ids != nil {
			if _, seen := w.ids[k]; !seen {
				w.ids[k] = g.ID
			}
		}
	}
}

func groupIDsByName(groups []plan.CurrentGroup) map[string]int {
	ids := make(map[string]int, len(groups))
	for _, g := range groups {
		k := strings.ToLower(g.Name)
		if _, seen := ids[k]; seen {
			ids[k] = ambiguousID
			continue
		}
		ids[k] = g.ID
	}
	return ids
}

// ErrNoWatch is RunChanges on an engine built without Options.Watch.
var ErrNoWatch = errors.New("sync: the engine was built without Watch")

// RunChanges plans and applies what changed in the given sources since
// the last run that planned: each source is read again completely, and
// only the groups and tags whose directory side differs are planned, on a
// fresh read of each. A run that cannot read a source, or Teams, returns
// an error and changes nothing it would compare with, so that the same
// changes are planned at the next attempt.
func (e *Engine) RunChanges(ctx context.Context, cs ChangeSet) (*ChangeResult, error) {
	if e.watch == nil {
		return nil, ErrNoWatch
	}
	e.watch.mu.Lock()
	defer e.watch.mu.Unlock()
	p := &Prepared{StartedAt: e.now(), Calls0: e.api.Calls()}
	p.approvals = e.approvals(p.StartedAt) // an approved change goes through here as in a full run
	if e.watch.base == nil {
		return &ChangeResult{NeedFull: "no complete run has planned yet to compare the changes with"}, nil
	}
	if e.apply {
		if err := e.recoverWrites(); err != nil {
			return nil, err
		}
	}
	dirs := make(map[string]*directory.Directory, len(e.watch.base))
	for name, d := range e.watch.base {
		dirs[name] = d
	}
	if err := e.rereadSources(ctx, p, dirs, cs.Sources); err != nil {
		return &ChangeResult{Sources: p.Sources}, err
	}
	c, err := e.planChanges(ctx, p, dirs)
	if err != nil {
		return &ChangeResult{Sources: p.Sources, Touched: c.labels()}, err
	}
	res := e.executeChanges(ctx, p, c, cs)
	e.watch.after(dirs, c, res.Report)
	res.Unfinished = len(e.watch.dirty) > 0
	return res, nil
}

// rereadSources reads the named sources again into dirs, which holds
// the base read of the others. A source that cannot be read fails the run.
func (e *Engine) rereadSources(ctx context.Context, p *Prepared, dirs map[string]*directory.Directory, names []string) error {
	for _, s := range e.sources {
		if !slices.Contains(names, s.Name()) || slices.ContainsFunc(p.Sources, func(st SourceStat) bool { return st.Name == s.Name() }) {
			continue
		}
		start := e.now()
		d, err := s.Read(ctx)
		st := SourceStat{Name: s.Name(), Duration: e.now().Sub(start), Err: err}
		if err == nil {
			st.Users, st.Groups = len(d.Users), len(d.Groups)
			dirs[s.Name()] = d
		}
		p.Sources = append(p.Sources, st)
		if err != nil {
			return fmt.Errorf("source %q: %w", s.Name(), err)
		}
	}
	return ctx.Err()
}

// unread names the configured sources that no run has read completely:
// their mappings are unknown, as in a full run whose source failed.
func (e *Engine) unread(dirs map[string]*directory.Directory) map[string]error {
	failed := map[string]error{}
	for _, src := range e.cfg.Sources {
		if dirs[src.Name] == nil {
			failed[src.Name] = errors.New("not read completely since syncd started")
		}
	}
	return failed
}

// changes is the plan of one change set and how it came about.
type changes struct {
	groups, tags []*target // the targets planned
	skipped      []*target // touched, but not planned this time (see why)
	needFull     []string
	dirty        map[string]bool // targets to plan again at the next change set
}

func (c *changes) labels() []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, list := range [][]*target{c.groups, c.tags} {
		for _, t := range list {
			out = append(out, t.label())
		}
	}
	return out
}

// planChanges finds the targets the new reads change, reads their Teams
// side afresh and plans them.
func (e *Engine) planChanges(ctx context.Context, p *Prepared, dirs map[string]*directory.Directory) (*changes, error) {
	groups, tags, err := e.touchedFresh(ctx, p, dirs)
	if err != nil {
		return nil, err
	}
	c := &changes{dirty: map[string]bool{}}
	v := &teamsView{names: map[int]string{}, cur: plan.Current{Tags: map[string]*plan.CurrentTag{}}}
	lister := &groupLister{e: e}
	for _, t := range groups {
		if e.readGroup(ctx, t, v, lister, c, p) {
			c.groups = append(c.groups, t)
		}
	}
	for _, t := range tags {
		if e.readTagOf(ctx, t, v, lister, c, p) {
			c.tags = append(c.tags, t)
		}
	}
	if err := ctx.Err(); err != nil {
		return c, err
	}
	ppl := people(c.groups, c.tags)
	ids, err := e.resolve(ctx, ppl, countUsers(dirs))
	if err != nil {
		return c, fmt.Errorf("match directory people to Teams users: %w", err)
	}
	e.planTargets(ctx, p, c, v, ids, countUsers(dirs))
	return c, nil
}

// touchedFresh returns the targets the change set touches, with every
// source feeding them read in this run: a target touched through one
// source is not planned on an older read of another (one without a feed,
// say), which may touch more targets in turn.
func (e *Engine) touchedFresh(ctx context.Context, p *Prepared, dirs map[string]*directory.Directory) ([]*target, []*target, error) {
	tried := map[string]bool{}
	for _, st := range p.Sources {
		tried[st.Name] = true
	}
	for {
		groups, tags, errs := targets(e.cfg, dirs, e.unread(dirs))
		groups, tags = e.touched(groups, tags)
		var stale []string
		for _, list := range [][]*target{groups, tags} {
			for _, t := range list {
				for _, f := range t.feeds {
					if !tried[f.source] {
						tried[f.source] = true
						stale = append(stale, f.source)
					}
				}
			}
		}
		if len(stale) == 0 {
			p.Errors = append(p.Errors, errs...)
			return groups, tags, nil
		}
		if err := e.rereadSources(ctx, p, dirs, stale); err != nil {
			return nil, nil, err
		}
	}
}

// touched returns the targets whose directory side differs from the base
// read, and those left dirty by the last change set.
func (e *Engine) touched(groups, tags []*target) ([]*target, []*target) {
	oldGroups, oldTags, _ := targets(e.cfg, e.watch.base, e.unread(e.watch.base))
	before := map[string]string{}
	for _, list := range [][]*target{oldGroups, oldTags} {
		for _, t := range list {
			before[targetKey(t)] = signature(t)
		}
	}
	keep := func(list []*target) []*target {
		var out []*target
		for _, t := range list {
			k := targetKey(t)
			if sig, ok := before[k]; !ok || sig != signature(t) || e.watch.dirty[k] {
				out = append(out, t)
			}
		}
		return out
	}
	return keep(groups), keep(tags)
}

// targetKey names a target across runs.
func targetKey(t *target) string {
	if t.tag {
		return "tag:" + strings.ToLower(t.name)
	}
	return "group:" + strings.ToLower(t.name)
}

// signature sums up what a target's plan takes from the directory and the
// config: the directory groups feeding it, whether each was read
// completely, their members and the e-mail addresses people are matched
// by, and why removals are off. Two reads that give a target the same
// signature give it the same plan, as far as the directory goes.
func signature(t *target) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%v\x00%q\x00%q\n", t.mode, t.description, t.setDescription, t.smeGroups, errorTexts(t.unknown))
	for _, f := range t.feeds {
		fmt.Fprintf(h, "feed %s\x00%s\x00%v\x00%v\x00%d\n", f.source, f.group.DN, f.allowEmpty, f.group.Unknown(), len(f.group.Members))
		for _, id := range f.group.Members {
			if u := f.dir.Users[id]; u != nil {
				fmt.Fprintf(h, "%q\n", u.Emails)
			} else {
				fmt.Fprintf(h, "?%s\n", id)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// after keeps the new reads as the base of the next change set, and the
// targets to plan again: those not planned, and those whose changes
// failed.
func (w *watchState) after(dirs map[string]*directory.Directory, c *changes, r *report.Report) {
	w.base = dirs
	w.dirty = c.dirty
	for _, ch := range r.Changes {
		if ch.Status != report.StatusFailed {
			continue
		}
		if ch.Tag != "" {
			w.dirty["tag:"+strings.ToLower(ch.Tag)] = true
		} else {
			w.dirty["group:"+strings.ToLower(ch.Group)] = true
		}
	}
}
