package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/idset"
	"github.com/syncd/syncd/internal/plan"
	"github.com/syncd/syncd/internal/teams"
)

// The Teams side of a change set: each touched group or tag read afresh,
// then planned and applied as a run plans and applies.

// groupLister lists the user groups at most once per run, when a touched
// group's id is not known (a group created since the last listing).
type groupLister struct {
	e      *Engine
	listed bool
	groups map[string][]teams.Roster
	err    error
}

func (l *groupLister) find(ctx context.Context, name string) ([]teams.Roster, error) {
	if !l.listed {
		l.listed = true
		all, err := l.e.api.ListRosters(ctx)
		l.err = err
		if err == nil {
			l.groups = map[string][]teams.Roster{}
			var cur []plan.CurrentGroup
			for _, g := range all {
				l.groups[strings.ToLower(g.Name)] = append(l.groups[strings.ToLower(g.Name)], g)
				cur = append(cur, plan.CurrentGroup{ID: g.ID, Name: g.Name})
			}
			l.e.watch.ids = groupIDsByName(cur)
		}
	}
	return l.groups[strings.ToLower(name)], l.err
}

// readGroup reads a touched group's Teams side afresh into v: one GET by
// its id, or the run's one listing when the id is not known. It returns
// false when the group is not planned this time, saying why in c or p.
func (e *Engine) readGroup(ctx context.Context, t *target, v *teamsView, l *groupLister, c *changes, p *Prepared) bool {
	k := strings.ToLower(t.name)
	id, known := e.watch.ids[k]
	var g *plan.CurrentGroup
	var err error
	switch {
	case id == ambiguousID:
		p.Errors = append(p.Errors, fmt.Errorf("%s: several Teams groups carry this name; left to the scheduled run, which names them", t.label()))
		c.skipped = append(c.skipped, t)
		return false
	case known:
		var ug *teams.UserGroup
		ug, err = e.api.GetUserGroup(ctx, id)
		if errors.Is(err, teams.ErrNotFound) || (err == nil && !strings.EqualFold(ug.Name, t.name)) {
			delete(e.watch.ids, k) // renamed or gone since the listing: look again
			return e.readGroup(ctx, t, v, l, c, p)
		}
		if err == nil {
			g = &plan.CurrentGroup{ID: ug.ID, Name: ug.Name, Description: ug.Description, Members: v.memberIDs(ug.Users)}
		}
	default:
		var found []teams.Roster
		found, err = l.find(ctx, t.name)
		switch {
		case err == nil && len(found) == 0:
			c.needFull = append(c.needFull, fmt.Sprintf("Teams has no group %q yet", t.name))
			c.skip(t)
			return false
		case err == nil && len(found) > 1:
			return e.readGroup(ctx, t, v, l, c, p) // now marked ambiguous
		case err == nil:
			r := found[0]
			g = &plan.CurrentGroup{ID: r.ID, Name: r.Name, Description: r.Description, Members: idset.Sort(slices.Clone(r.UserIDs))}
		}
	}
	if err != nil {
		p.Errors = append(p.Errors, fmt.Errorf("%s: read the Teams group: %w%s", t.label(), err, onItsEvidence(err)))
		c.skip(t)
		return false
	}
	v.cur.Groups = append(v.cur.Groups, *g)
	return true
}

// skip leaves a touched target for the next change set (or the full run).
func (c *changes) skip(t *target) {
	c.skipped = append(c.skipped, t)
	c.dirty[targetKey(t)] = true
}

// readTagOf reads a touched tag's SMEs afresh (one GET when its id is
// cached) and gives the plan the ids of its SME groups. A tag whose SME
// group Teams does not have yet waits for the full run that creates it.
func (e *Engine) readTagOf(ctx context.Context, t *target, v *teamsView, l *groupLister, c *changes, p *Prepared) bool {
	for _, name := range t.smeGroups {
		if slices.ContainsFunc(v.cur.Groups, func(g plan.CurrentGroup) bool { return strings.EqualFold(g.Name, name) }) {
			continue
		}
		id, ok := e.watch.ids[strings.ToLower(name)]
		if !ok {
			found, err := l.find(ctx, name)
			switch {
			case err != nil:
				// Left for the next change set, as a group whose read
				// failed is; the listing says nothing of the group.
				p.Errors = append(p.Errors, fmt.Errorf("%s: look up its SME group %q: %w%s", t.label(), name, err, onItsEvidence(err)))
				c.skip(t)
				return false
			case len(found) == 0:
				c.needFull = append(c.needFull, fmt.Sprintf("SME group %q of tag %q is not known in Teams", name, t.name))
				c.skip(t)
				return false
			}
			id = e.watch.ids[strings.ToLower(name)]
		}
		if id == ambiguousID {
			p.Errors = append(p.Errors, fmt.Errorf("%s: several Teams groups are named %q; left to the scheduled run, which names them", t.label(), name))
			c.skipped = append(c.skipped, t)
			return false
		}
		v.cur.Groups = append(v.cur.Groups, plan.CurrentGroup{ID: id, Name: name})
	}
	k := strings.ToLower(t.name)
	if v.cur.Tags[k] == nil {
		v.cur.Tags[k] = e.readTag(ctx, t.name, e.store.TagID(k), v)
	}
	if v.cur.Tags[k].Err != nil {
		c.dirty[targetKey(t)] = true
	}
	return true
}

// planTargets plans the targets read, as Prepare plans every target:
// the same desired state, policies and check of pending people.
func (e *Engine) planTargets(ctx context.Context, p *Prepared, c *changes, v *teamsView, ids *identities, dirUsers int) {
	owned := adopted(e.store.Ledger(), e.store.Adoptions(), v.cur.Groups)
	var pending pendingSet
	// The sizes only: a change set reads the groups it touches, not the
	// listing a renamed group would show in; it creates none anyway.
	mem := remembered{sizes: e.store.Sizes()}
	p.Plan, pending = e.planChecked(ctx, ids, c.groups, c.tags, mem, v.cur, e.policies(owned, p.approvals), dirUsers)
	dropCreates(&p.Plan, c)
	nameGroupRefs(&p.Plan, v.cur.Groups)
	for _, list := range [][]*target{c.groups, c.tags} {
		for _, t := range list {
			if t.lookupFailed != nil {
				c.dirty[targetKey(t)] = true // the people not looked up may be removable next time
			}
		}
	}
	p.Errors = append(p.Errors, p.Plan.Errors...)
	p.Errors = append(p.Errors, ids.matchErrors()...)
	p.Errors = append(p.Errors, unknownErrors(c.groups, c.tags)...)
	p.Users = e.userInfo(&p.Plan, ids, v)
	p.Pending = pendingList(pending)
	p.Matched = len(ids.byPerson)
	p.Sizes = groupSizes(c.groups, c.tags)
}

// dropCreates keeps creates out of an incremental plan. Every group
// planned was read from Teams, so there is none; should one appear all
// the same, it is left to a full run rather than sent without the fresh
// listing rule 7 asks for.
func dropCreates(pl *plan.Plan, c *changes) {
	kept := pl.Groups[:0]
	for _, g := range pl.Groups {
		if g.Create {
			c.needFull = append(c.needFull, fmt.Sprintf("Teams has no group %q yet", g.Name))
			c.dirty["group:"+strings.ToLower(g.Name)] = true
			continue
		}
		kept = append(kept, g)
	}
	pl.Groups = kept
}

// executeChanges applies the plan at the one apply point (or logs it in
// a dry run) and logs the change set's one summary line.
func (e *Engine) executeChanges(ctx context.Context, p *Prepared, c *changes, cs ChangeSet) *ChangeResult {
	r := e.newReport(p)
	steps := buildChanges(&p.Plan, r, p.Users, approvalInfo{target: e.target(), approvals: p.approvals})
	res := &ChangeResult{Report: r, Sources: p.Sources, Touched: c.labels(), NeedFull: strings.Join(c.needFull, "; ")}
	if e.apply && len(steps) > 0 {
		res.Refused = refusal(e.applySteps(ctx, p, steps, r))
	} else {
		e.logPlanned(r)
	}
	e.logHeld(r)
	e.finishChanges(p, res, cs)
	return res
}

// finishChanges fills the summary and exit code, remembers the sizes of
// the directory groups planned (rule 2) and logs the summary line.
func (e *Engine) finishChanges(p *Prepared, res *ChangeResult, cs ChangeSet) {
	r := res.Report
	e.summarize(p, r)
	s := &r.Summary
	res.ExitCode = exitCode(r)
	if s.ChangesHeld > 0 {
		// A change set's report is kept nowhere: a full run holds the
		// same changes (with the same ids) where the operator looks, the
		// report, the console, syncd approve --list and the held message.
		res.needFull("a safety rule held changes back: a full run reports them for approval")
	}
	if len(p.Sizes) > 0 {
		if err := e.store.PutSizes(p.Sizes); err != nil {
			e.log.Warn("cannot record group sizes", errField(err))
		}
	}
	fields := []zap.Field{zap.String("mode", r.Mode), zap.Strings("sources", cs.Sources), zap.Strings("touched", res.Touched),
		zap.Int("planned", s.ChangesPlanned), zap.Int("applied", s.ChangesApplied), zap.Int("failed", s.ChangesFailed),
		zap.Int("held", s.ChangesHeld), zap.Int("errors", len(r.Errors)), zap.Int("api_calls", s.APICalls),
		zap.Duration("duration", r.FinishedAt.Sub(r.StartedAt))}
	if !cs.Seen.IsZero() {
		fields = append(fields, zap.Duration("since_change", r.FinishedAt.Sub(cs.Seen)))
	}
	if res.NeedFull != "" {
		fields = append(fields, zap.String("full_run_needed", res.NeedFull))
	}
	switch {
	case len(res.Touched) == 0 && res.NeedFull == "" && len(r.Errors) == 0:
		// A modification of nothing syncd plans on (an attribute it
		// reads, set to the value it had): not worth an info line.
		e.log.Debug("change set applied", fields...)
	case s.ChangesFailed > 0 || len(r.Errors) > 0:
		e.log.Warn("change set not applied in full", append(fields, zap.String("next", "planned again after a backoff"))...)
	case s.ChangesHeld > 0:
		// Each held change had its warning; this line says what
		// becomes of them.
		e.log.Info("change set held changes back", append(fields, zap.String("next", "a full run holds them for approval"))...)
	default:
		e.log.Info("change set applied", fields...)
	}
}
