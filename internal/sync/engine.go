package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/idset"
	"github.com/syncd/syncd/internal/plan"
	"github.com/syncd/syncd/internal/plural"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
)

// Options are the engine's dependencies, all passed in.
type Options struct {
	Config  *config.Config
	Sources []Source
	Reader  Reader       // *teams.Client
	Writer  Writer       // *teams.Client, or nil: a dry run, no write call at all
	Store   *state.Store // nil: no memory between runs
	Logger  *zap.Logger
	// Progress is where a long apply says how far it is (progress.go);
	// default Logger.
	Progress *zap.Logger
	Now      func() time.Time
	// WriteGrace is how long a write already sent may go on after the run
	// is cancelled (a stop signal), so that it is not cut off mid-flight;
	// default 3s, below the daemon's shutdown grace.
	WriteGrace time.Duration
	// Watch keeps, between runs, what incremental runs (RunChanges) plan
	// against: the directories and Teams groups of the last run that
	// planned. For `syncd run` with sync.watch.
	Watch bool
}

// DefaultWriteGrace is Options.WriteGrace when none is given.
const DefaultWriteGrace = 3 * time.Second

// Engine runs syncs. It is safe for one run at a time.
type Engine struct {
	cfg     *config.Config
	sources []Source
	api     Reader
	write   Writer // nil: dry run
	store   *state.Store
	log     *zap.Logger
	prog    *zap.Logger // Options.Progress
	now     func() time.Time
	apply   bool
	grace   time.Duration
	watch   *watchState // nil unless Options.Watch
	// applying is the Progress of the apply under way, nil when none is;
	// read by another goroutine (the daemon's console).
	applying atomic.Pointer[Progress]
}

// New checks the options and returns an engine.
func New(o Options) (*Engine, error) {
	switch {
	case o.Config == nil:
		return nil, errors.New("sync: Config is required")
	case o.Reader == nil:
		return nil, errors.New("sync: a Teams Reader is required")
	case o.Logger == nil:
		return nil, errors.New("sync: Logger is required")
	case o.Writer != nil && o.Store.ReadOnly():
		// Every write is recorded before the next (DESIGN.md §8 rule 8).
		return nil, errors.New("sync: a run that applies needs a state dir it can write")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.WriteGrace <= 0 {
		o.WriteGrace = DefaultWriteGrace
	}
	if o.Progress == nil {
		o.Progress = o.Logger
	}
	e := &Engine{cfg: o.Config, sources: o.Sources, api: o.Reader, write: o.Writer, store: o.Store,
		log: o.Logger, prog: o.Progress, now: o.Now, apply: o.Writer != nil, grace: o.WriteGrace}
	if o.Watch {
		e.watch = newWatchState()
	}
	return e, nil
}

// SourceStat is what one source gave this run.
type SourceStat struct {
	Name     string
	Users    int
	Groups   int
	Unknown  int // groups that could not be read completely
	Duration time.Duration
	Err      error
}

// Result is one run.
type Result struct {
	Report   *report.Report
	Sources  []SourceStat
	ExitCode int // 0, 1 or 4; the command turns 0 into 3 for --check when Pending
	// Pending is true when the plan had changes to make (dry run) or made
	// some (apply).
	Pending bool
	// Refused is the write the Teams API refused for the token's sake
	// (teams.ErrUnauthorized, teams.ErrForbidden), after which no other
	// write was sent: a credential problem no retry will fix.
	Refused error
}

// RunOnce reads the sources and Teams, plans, and applies the plan when the
// engine was made with Apply. The Result is never nil; err is set when the
// run failed as a whole (Teams unreadable, context cancelled).
func (e *Engine) RunOnce(ctx context.Context) (*Result, error) {
	p, err := e.Prepare(ctx)
	if err != nil {
		return e.Fail(p, err), err
	}
	return e.Execute(ctx, p), nil
}

// Prepared is a planned run, not yet executed.
type Prepared struct {
	StartedAt   time.Time
	Plan        plan.Plan
	Sources     []SourceStat
	Users       map[int]report.User // who the ids of the plan are
	Pending     []report.Pending
	Errors      []error // what the run could not read or plan
	Matched     int
	Calls0      int // client call count at the start
	Sizes       map[string]int
	Fingerprint map[string]string
	ConfigPrint map[string]string // what the config manages, for a saved plan
	// RunID names the run in the report, the run history and the audit
	// log; set when the report is made, if not before.
	RunID     string
	approvals map[string]state.Approval // unexpired approvals of held changes, by id
	explain   *explainData
}

// Prepare reads everything and plans, writing nothing to Teams.
//
// An applying run first settles the writes an interrupted run left
// unrecorded (the caller holds the writer lock): the plan then rests on
// what they may have done.
func (e *Engine) Prepare(ctx context.Context) (*Prepared, error) {
	p := &Prepared{StartedAt: e.now(), Calls0: e.api.Calls()}
	if e.apply {
		if err := e.recoverWrites(); err != nil {
			return p, err
		}
		e.tidyAudit(p.StartedAt)
	}
	p.approvals = e.approvals(p.StartedAt)
	dirs, failed := e.readSources(ctx, p)
	if err := ctx.Err(); err != nil {
		return p, err
	}
	groups, tags, errs := targets(e.cfg, dirs, failed)
	p.Errors = append(p.Errors, errs...)
	tagNames := make([]string, len(tags))
	for i, t := range tags {
		tagNames[i] = t.name
	}
	view, err := e.readCurrent(ctx, tagNames)
	if err != nil {
		return p, err
	}
	ppl := people(groups, tags)
	ids, err := e.resolve(ctx, ppl, countUsers(dirs))
	if err != nil {
		return p, fmt.Errorf("match directory people to Teams users: %w", err)
	}
	x := &explainData{groups: groups, tags: tags, ids: ids, view: view, ppl: ppl, dirs: dirs}
	pending := e.planAll(ctx, p, x, countUsers(dirs))
	e.describe(p, x, pending)
	e.log.Debug("identities resolved", zap.String("method", ids.method), zap.Int("matched", p.Matched),
		zap.Int("pending", len(p.Pending)), zap.Int("lookups", ids.lookups))
	e.watch.planned(dirs, view.cur.Groups)
	return p, nil
}

// planAll plans the run into p.Plan, and plans it again when a recheck of
// the people pending finds that someone signed in meanwhile. It returns
// the people still pending.
func (e *Engine) planAll(ctx context.Context, p *Prepared, x *explainData, dirUsers int) pendingSet {
	owned := adopted(e.store.Ledger(), e.store.Adoptions(), x.view.cur.Groups) // with creates whose answer was lost
	var pending pendingSet
	p.Plan, pending = e.planChecked(ctx, x.ids, x.groups, x.tags, e.memory(), x.view.cur, e.policies(owned, p.approvals), dirUsers)
	nameGroupRefs(&p.Plan, x.view.cur.Groups)
	return pending
}

// planChecked plans the targets, then finds out who the plan would remove
// without having matched them this run, and plans again when that
// changed who is who: the accounts it removes are checked not to be
// those of directory people (checkStrangers), and the people pending not
// to have signed in meanwhile (recheckPending).
func (e *Engine) planChecked(ctx context.Context, ids *identities, groups, tags []*target, mem remembered, cur plan.Current,
	pols []plan.Policy, dirUsers int) (plan.Plan, pendingSet) {
	p, pending := calculate(groups, tags, ids, mem, cur, pols)
	if e.checkStrangers(ctx, ids, &p, dirUsers, groups, tags) {
		p, pending = calculate(groups, tags, ids, mem, cur, pols)
	}
	if e.recheckPending(ctx, ids, &p, dirUsers, groups, tags) {
		p, pending = calculate(groups, tags, ids, mem, cur, pols)
	}
	return p, pending
}

// calculate plans the targets on the people matched so far, and returns
// the plan and the people pending. It may be called again after more
// lookups.
func calculate(groups, tags []*target, ids *identities, mem remembered, cur plan.Current, pols []plan.Policy) (plan.Plan, pendingSet) {
	markFailedLookups(ids, groups, tags)
	pending := pendingSet{}
	d := desiredFrom(groups, tags, ids.byPerson, ids.ambiguous, mem, pending)
	if len(ids.unsure) > 0 { // who they are is unknown: removed from nothing
		for i := range d.Groups {
			d.Groups[i].Keep = idset.Union(d.Groups[i].Keep, ids.unsure)
		}
		for i := range d.Tags {
			d.Tags[i].Keep = idset.Union(d.Tags[i].Keep, ids.unsure)
		}
	}
	p := plan.Calculate(d, cur, pols...)
	for k := range ids.failed {
		if len(k.Emails) > 0 {
			delete(pending, k.Emails[0]) // unknown, not pending (rule 6)
		}
	}
	return p, pending
}

// describe fills in what the report, the apply and explain need of the
// planned run.
func (e *Engine) describe(p *Prepared, x *explainData, pending pendingSet) {
	p.Errors = append(p.Errors, p.Plan.Errors...)
	p.Errors = append(p.Errors, x.ids.matchErrors()...)
	p.Errors = append(p.Errors, unknownErrors(x.groups, x.tags)...)
	p.Users = e.userInfo(&p.Plan, x.ids, x.view)
	p.Pending = pendingList(pending)
	if people := withoutEmail(x.groups, x.tags); len(people) > 0 {
		e.log.Warn("members of mapped directory groups have no e-mail address: they cannot be matched to a Teams account and are left out "+
			"(if the address is elsewhere, e.g. in proxyAddresses or userPrincipalName, set users.proxy_addresses or users.email_attribute)",
			zap.Int("people", len(people)), zap.Strings("first", people[:min(len(people), 5)]))
	}
	p.Matched = len(x.ids.byPerson)
	p.Sizes = groupSizes(x.groups, x.tags)
	p.Fingerprint = fingerprint(&p.Plan, x.view.cur)
	p.ConfigPrint = configPrint(e.cfg)
	p.explain = x
}

// policies are the membership modes and safety rules the plan goes
// through; owned is the ledger of managed mode, approved the approvals of
// held changes.
func (e *Engine) policies(owned map[string][]int, approved map[string]state.Approval) []plan.Policy {
	ids := make(map[string]bool, len(approved))
	for id := range approved {
		ids[id] = true
	}
	return plan.Safety(plan.Budgets{MaxRemovals: e.cfg.Sync.MaxRemovals, MaxRemovalPercent: e.cfg.Sync.MaxRemovalPercent,
		PercentFloor: e.cfg.Sync.MaxRemovalPercentFloor, Approved: plan.Approvals{Target: e.target(), IDs: ids}}, owned)
}

// readSources reads every source; a failed source leaves its groups unknown.
func (e *Engine) readSources(ctx context.Context, p *Prepared) (map[string]*directory.Directory, map[string]error) {
	dirs := map[string]*directory.Directory{}
	failed := map[string]error{}
	for _, s := range e.sources {
		start := e.now()
		d, err := s.Read(ctx)
		st := SourceStat{Name: s.Name(), Duration: e.now().Sub(start), Err: err}
		if err != nil {
			failed[s.Name()] = err
			p.Errors = append(p.Errors, fmt.Errorf("source %q: %w", s.Name(), err))
			e.log.Error("source read failed", zap.String("source", s.Name()), errField(err))
		} else {
			dirs[s.Name()] = d
			st.Users, st.Groups = len(d.Users), len(d.Groups)
			for _, g := range d.Groups {
				if g.Unknown() {
					st.Unknown++
				}
			}
		}
		p.Sources = append(p.Sources, st)
	}
	for _, src := range e.cfg.Sources {
		if _, ok := dirs[src.Name]; !ok && failed[src.Name] == nil {
			failed[src.Name] = errors.New("no reader for this source")
		}
	}
	return dirs, failed
}

func countUsers(dirs map[string]*directory.Directory) int {
	n := 0
	for _, d := range dirs {
		n += len(d.Users)
	}
	return n
}

// markFailedLookups makes targets with people whose lookup failed unknown:
// those people would otherwise look absent and be removed. It may be
// called again after more lookups; each call replaces the last verdict.
func markFailedLookups(ids *identities, lists ...[]*target) {
	for _, list := range lists {
		for _, t := range list {
			t.lookupFailed = nil
			n := 0
			var first error
			for _, f := range t.feeds {
				for _, u := range f.users {
					if err := ids.failed[u]; err != nil {
						n++
						first = err
					}
				}
			}
			if n > 0 {
				t.lookupFailed = fmt.Errorf("%s could not be looked up in Teams (%w): they are unknown, not pending",
					plural.Count(n, "member"), first)
			}
		}
	}
}

func unknownErrors(lists ...[]*target) []error {
	var out []error
	for _, list := range lists {
		for _, t := range list {
			for _, u := range t.reasons() {
				out = append(out, fmt.Errorf("%s: %w; no removals this run", t.label(), u))
			}
		}
	}
	return out
}

// userInfo names every Teams user the plan adds, removes or holds back
// (those the report, the log and the audit lines show): by the address
// they were matched by, their Teams name, else their directory name.
func (e *Engine) userInfo(p *plan.Plan, ids *identities, v *teamsView) map[int]report.User {
	out := map[int]report.User{}
	for _, l := range planUsers(p) {
		for _, id := range l {
			out[id] = report.User{ID: id, Email: ids.email[id]}
		}
	}
	if len(out) == 0 {
		return out
	}
	v.name(out)
	for id, u := range out {
		if person := ids.people[id]; u.Name == "" && person != nil {
			u.Name = person.Name
			out[id] = u
		}
	}
	for id, u := range out {
		if a := ids.seen[id]; u.Email == "" && a != "" { // read this run: a listing, a lookup
			u.Email = a
			out[id] = u
		}
	}
	if hasUnnamed(out) {
		// Members syncd did not match this run: the cache may know them.
		for email, c := range e.store.AllUsers() {
			if u, ok := out[c.ID]; ok && u.Email == "" {
				u.Email = email
				out[c.ID] = u
			}
		}
	}
	return out
}

// planUsers are the lists of user ids a plan changes or holds.
func planUsers(p *plan.Plan) [][]int {
	var out [][]int
	for i := range p.Groups {
		g := &p.Groups[i]
		out = append(out, g.Add, g.Remove, g.Held)
	}
	for i := range p.Tags {
		t := &p.Tags[i]
		out = append(out, t.AddUsers, t.RemoveUsers, t.HeldUsers)
	}
	return out
}

func hasUnnamed(users map[int]report.User) bool {
	for id, u := range users {
		if id > 1 && u.Email == "" {
			return true
		}
	}
	return false
}

func pendingList(p pendingSet) []report.Pending {
	out := make([]report.Pending, 0, len(p))
	for email, groups := range p {
		out = append(out, report.Pending{Email: email, Groups: groups})
	}
	sortPending(out)
	return out
}

// Fail records and returns the result of a run that could not plan (p
// may be nil or partly filled).
func (e *Engine) Fail(p *Prepared, err error) *Result {
	if p == nil {
		p = &Prepared{StartedAt: e.now()}
	}
	r := e.newReport(p)
	r.NothingCompared = true // no reader may take its empty change list for agreement
	// What else failed before the run gave up (a source that could not be
	// read) is as much the answer as the error that stopped it.
	r.Errors = append(r.Errors, errorTexts(p.Errors)...)
	r.Errors = append(r.Errors, err.Error())
	r.FinishedAt = e.now()
	r.Summary.APICalls = e.api.Calls() - p.Calls0
	// The run's one summary line, as "sync finished" is for a run that planned.
	e.log.Error("sync failed", zap.String("mode", r.Mode), zap.Int("planned", 0), zap.Int("applied", 0),
		zap.Int("failed", 0), zap.Int("held", 0), zap.Int("pending_users", r.Summary.PendingUsers),
		zap.Int("errors", len(r.Errors)), zap.Int("api_calls", r.Summary.APICalls),
		zap.Duration("duration", r.FinishedAt.Sub(r.StartedAt)), zap.Int("exit_code", exitcode.Failure), errField(err))
	res := &Result{Report: r, Sources: p.Sources, ExitCode: exitcode.Failure}
	e.record(p, res)
	return res
}

func (e *Engine) mode() string {
	if e.apply {
		return report.ModeApply
	}
	return report.ModeDryRun
}

// record keeps the run in the state store: history, report, and the sizes
// of the directory groups read completely this run (rule 2 compares with
// them). A group read incompletely, or a failed source, keeps its last
// size; an unrelated failure does not stop the others being remembered.
func (e *Engine) record(p *Prepared, res *Result) {
	r := res.Report
	run := state.Run{RunID: r.RunID, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Mode: r.Mode, ExitCode: res.ExitCode, Errors: len(r.Errors),
		Summary: map[string]int{"changes_planned": r.Summary.ChangesPlanned, "changes_applied": r.Summary.ChangesApplied,
			"changes_failed": r.Summary.ChangesFailed, "changes_held": r.Summary.ChangesHeld, "api_calls": r.Summary.APICalls}}
	if err := e.store.AddRun(run); err != nil {
		e.log.Warn("cannot record the run", errField(err))
	}
	if e.store.KeepsReports() { // else encoding it is waste
		if data, err := reportJSON(r); err == nil {
			if err := e.store.AddReport(r.StartedAt, data); err != nil {
				e.log.Warn("cannot keep the report", errField(err))
			}
		}
	}
	if len(p.Sizes) > 0 {
		if err := e.store.PutSizes(p.Sizes); err != nil {
			e.log.Warn("cannot record group sizes", errField(err))
		}
	}
	if ids := groupIDsOf(p.Plan.Groups); len(ids) > 0 {
		if err := e.store.PutGroupIDs(ids); err != nil {
			e.log.Warn("cannot record which Teams groups carry the names", errField(err))
		}
	}
	e.forgetUnmanaged(p)
}

// forgetUnmanaged tells, once, of each user group syncd kept in step that
// no mapping gives any more (a mapping taken out of the configuration, a
// directory group a match: no longer finds), and forgets it: no API
// deletes a group, so it stays in Teams as it is, and its old name may be
// given to a new group without being taken for a rename. Only an applying
// run whose sources all read decides it: a dry run may try another
// configuration, and a source that failed gives fewer names.
func (e *Engine) forgetUnmanaged(p *Prepared) {
	if !e.apply || p.explain == nil || slices.ContainsFunc(p.Sources, func(s SourceStat) bool { return s.Err != nil }) {
		return
	}
	want := make(map[string]bool, len(p.explain.groups))
	for _, t := range p.explain.groups {
		want[strings.ToLower(t.name)] = true
	}
	var gone []string
	for name, id := range e.store.GroupIDs() {
		if want[name] {
			continue
		}
		gone = append(gone, name)
		if g := p.explain.groupByID(id); g != nil {
			e.log.Info(fmt.Sprintf("user group %q is no longer kept in step: no mapping gives it now; syncd leaves it as it is (no API deletes a group)", g.Name),
				zap.Int("group_id", id))
		}
	}
	if err := e.store.ForgetGroupIDs(gone); err != nil {
		e.log.Warn("cannot forget the Teams groups no longer kept in step", errField(err))
	}
}

// groupIDsOf is, by lower-case name, the Teams group each of the plan's
// groups is (found by name in a complete listing, or created by the run),
// for the next runs to tell a group renamed in Teams from one never made.
func groupIDsOf(groups []plan.GroupPlan) map[string]int {
	ids := make(map[string]int, len(groups))
	for _, g := range groups {
		if g.ID != 0 {
			ids[strings.ToLower(g.Name)] = g.ID
		}
	}
	return ids
}

// nameGroupRefs fills the names of the SME groups the plan mentions by id.
func nameGroupRefs(p *plan.Plan, groups []plan.CurrentGroup) {
	names := make(map[int]string, len(groups))
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	for i := range p.Tags {
		t := &p.Tags[i]
		for _, refs := range [][]plan.GroupRef{t.AddGroups, t.RemoveGroups, t.HeldGroups} {
			for j := range refs {
				if refs[j].Name == "" {
					refs[j].Name = names[refs[j].ID]
				}
			}
		}
	}
}

// errorTexts is what the report shows of errors.
func errorTexts(errs []error) []string {
	out := make([]string, len(errs))
	for i, err := range errs {
		out[i] = err.Error()
	}
	return out
}
