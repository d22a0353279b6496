package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/plan"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams"
)

// step is one Teams object (a user group or a tag) with the report
// changes its writes decide.
type step struct {
	group   *plan.GroupPlan
	tag     *plan.TagPlan
	changes []int // indexes into Report.Changes
}

// Execute applies a prepared plan (or, in a dry run, logs what it would
// do), then records the run and returns its result.
func (e *Engine) Execute(ctx context.Context, p *Prepared) *Result {
	r := e.newReport(p)
	steps := buildChanges(&p.Plan, r, p.Users, approvalInfo{target: e.target(), approvals: p.approvals})
	res := &Result{Report: r, Sources: p.Sources}
	if e.apply {
		res.Refused = refusal(e.applySteps(ctx, p, steps, r))
		e.useApprovals(r)
		e.watch.created(p.Plan.Groups)
	} else {
		e.logPlanned(r)
	}
	e.logHeld(r)
	e.finish(p, res)
	return res
}

// logPlanned logs what a dry run would do, a line per change.
func (e *Engine) logPlanned(r *report.Report) {
	for _, c := range r.Changes {
		if c.Status == report.StatusPlanned {
			e.logChange(zapcore.InfoLevel, "Would "+report.Describe(c), c)
		}
	}
}

// logHeld logs each change a safety rule held back, with the reason.
func (e *Engine) logHeld(r *report.Report) {
	for _, c := range r.Changes {
		if c.Status == report.StatusHeld {
			e.logChange(zapcore.WarnLevel, "Held "+report.Describe(c), c, zap.String("reason", c.Reason))
		}
	}
}

// refusal is the error of a write the API refused for the token's sake
// (invalid, expired, read-only, without the role), or nil.
func refusal(err error) error {
	if errors.Is(err, teams.ErrForbidden) || errors.Is(err, teams.ErrUnauthorized) {
		return err
	}
	return nil
}

// applySteps writes the plan, step by step, and returns the error after
// which no other write was attempted, if any.
func (e *Engine) applySteps(ctx context.Context, p *Prepared, steps []step, r *report.Report) error {
	rec := &recorder{store: e.store, now: e.now, runID: p.RunID, target: e.target(), grace: e.grace}
	if w, ok := e.write.(interface{ WaitTurn(context.Context) error }); ok {
		rec.turn = w.WaitTurn
	}
	a := &applier{e: e, users: p.Users, created: map[string]int{}, rec: rec}
	if err := e.store.Err(); err != nil {
		// The plan may rest on a state read that failed (sizes, ledger).
		rec.stop = &RecordError{Err: fmt.Errorf("the state failed during this run: %w", err)}
	} else if err := a.adopt(p.Plan.Groups); err != nil {
		rec.stop = err
	}
	var stop error // a failure no other write can get past
	skipped := 0
	prog := e.newProgress(len(steps))
	defer prog.end()
	for i, s := range steps {
		var err error
		skip := stop != nil
		if skip {
			err = fmt.Errorf("not attempted after an earlier failure: %w", stop)
		}
		switch {
		case skip:
			skipped++
		case s.group != nil:
			err = a.applyGroup(ctx, s.group)
		default:
			err = a.applyTag(ctx, s.tag)
		}
		if stop == nil && fatalForWrites(ctx, err) {
			stop = fatalCause(ctx, err)
		}
		if !skip && notSent(ctx, err) {
			// Cancelled before it was sent: not a failure of the API.
			skipped++
			err, skip = fmt.Errorf("not attempted: %w", err), true
		}
		a.renameUsers(r, s)
		e.markStep(r, s, err, skip)
		prog.done(i + 1)
	}
	rec.flush()
	if skipped > 0 {
		e.log.Error("stopped writing", zap.Int("steps_not_attempted", skipped), errField(stop))
	}
	if ctx.Err() != nil && skipped > 0 {
		// Say it where the report's reader looks: otherwise the steps
		// never tried read as failures of the API.
		r.Errors = append(r.Errors, fmt.Sprintf("the run was stopped (%v) with %d of its %d steps not attempted: their changes are not applied; the next run applies what is still to do",
			context.Cause(ctx), skipped, len(steps)))
	}
	if rec.stop != nil {
		r.Errors = append(r.Errors, rec.stop.Error())
		_ = e.store.TakeErr() // what stopped the writes; reported just above
	}
	return stop
}

// notSent tells an error of a write that never left because the run was
// stopped (waiting for the pacer, or before the request): unlike a write
// cut off in flight, it cannot have landed.
func notSent(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) && !teams.OutcomeUnknown(err)
}

// fatalForWrites tells whether a write error means every other write
// would fail the same way: a read-only or invalid token, a cancelled run.
func fatalForWrites(ctx context.Context, err error) bool {
	var rec *RecordError
	return err != nil && (ctx.Err() != nil || errors.Is(err, teams.ErrForbidden) || errors.Is(err, teams.ErrUnauthorized) || errors.As(err, &rec))
}

// fatalCause is the failure in err that stops every write. A step whose
// writes of some kinds failed returns them by kind (kindErrors); wrapped
// whole into the error of the steps skipped after it, that map would say
// their changes of other kinds had succeeded.
func fatalCause(ctx context.Context, err error) error {
	var k kindErrors
	if !errors.As(err, &k) {
		return err
	}
	for _, kind := range slices.Sorted(maps.Keys(k)) {
		if fatalForWrites(ctx, k[kind]) {
			return k[kind]
		}
	}
	return err
}

// markStep sets the outcome of a step's changes and logs each once.
func (e *Engine) markStep(r *report.Report, s step, err error, quiet bool) {
	for _, i := range s.changes {
		c := &r.Changes[i]
		switch err := changeError(err, c.Kind); {
		case err == nil:
			c.Status = report.StatusApplied
			e.logChange(zapcore.InfoLevel, report.Described(*c), *c)
		default:
			c.Status, c.Error = report.StatusFailed, failure(err)
			if !quiet {
				e.logChange(zapcore.ErrorLevel, failedHeadline(*c, err), *c, errField(err))
			}
		}
	}
}

// failedHeadline is the log's words for a change not applied, as the
// audit log's history says them: a write that may have landed is not
// called failed.
func failedHeadline(c report.Change, err error) string {
	if teams.OutcomeUnknown(err) {
		return "Sent, outcome unknown: " + report.Describe(c)
	}
	return "Failed to " + report.Describe(c)
}

// failure is the report's words for a failed change. A write that may
// have landed says so: it is in the audit log as "unknown", and the next
// run reads Teams afresh and does whatever is still to do.
func failure(err error) string {
	if teams.OutcomeUnknown(err) {
		return "outcome unknown (the write may have been applied; the next run reads Teams again and finishes it): " + err.Error()
	}
	return err.Error()
}

// summarize closes the report of a run or a change set: its errors (the
// state's among them), the counts of its changes, its API calls and end.
func (e *Engine) summarize(p *Prepared, r *report.Report) {
	for _, err := range p.Errors {
		// Each is why the run fails (an unknown group, a tag not found):
		// said where a terminal shows it, not only in the report.
		e.log.Warn("run error", zap.Error(err))
	}
	r.Errors = append(r.Errors, errorTexts(p.Errors)...)
	if err := e.store.TakeErr(); err != nil {
		r.Errors = append(r.Errors, "state: "+err.Error())
	}
	s := &r.Summary
	for _, c := range r.Changes {
		switch c.Status {
		case report.StatusPlanned:
			s.ChangesPlanned++
		case report.StatusApplied:
			s.ChangesPlanned++
			s.ChangesApplied++
		case report.StatusFailed:
			s.ChangesPlanned++
			s.ChangesFailed++
		case report.StatusHeld:
			s.ChangesHeld++
		}
	}
	s.APICalls = e.api.Calls() - p.Calls0
	r.FinishedAt = e.now()
}

// finish fills the summary and the exit code, records the run and logs
// the closing line. A state that failed during the run (a full disk, a
// damaged or read-only file) fails the run: its memory was not kept.
func (e *Engine) finish(p *Prepared, res *Result) {
	r := res.Report
	e.summarize(p, r)
	s := &r.Summary
	res.Pending = s.ChangesPlanned > 0
	res.ExitCode = exitCode(r)
	e.record(p, res)
	if err := e.store.TakeErr(); err != nil {
		r.Errors = append(r.Errors, "state: cannot record the run: "+err.Error())
		res.ExitCode = exitcode.Failure
	}
	e.log.Info("sync finished", zap.String("mode", r.Mode), zap.Int("planned", s.ChangesPlanned),
		zap.Int("applied", s.ChangesApplied), zap.Int("failed", s.ChangesFailed), zap.Int("held", s.ChangesHeld),
		zap.Int("pending_users", s.PendingUsers), zap.Int("errors", len(r.Errors)), zap.Int("api_calls", s.APICalls),
		zap.Duration("duration", r.FinishedAt.Sub(r.StartedAt)), zap.Int("exit_code", res.ExitCode))
}

func exitCode(r *report.Report) int {
	switch {
	case len(r.Errors) > 0 || r.Summary.ChangesFailed > 0:
		return exitcode.Failure
	case r.Summary.ChangesHeld > 0:
		return exitcode.Held
	}
	return exitcode.OK
}

func (e *Engine) newReport(p *Prepared) *report.Report {
	if p.RunID == "" {
		p.RunID = newRunID(p.StartedAt)
	}
	r := &report.Report{Mode: e.mode(), StartedAt: p.StartedAt, Changes: []report.Change{}, Pending: p.Pending, Errors: []string{},
		RunID: p.RunID}
	if r.Pending == nil {
		r.Pending = []report.Pending{}
	}
	for _, st := range p.Sources {
		r.Summary.SourceGroups += st.Groups
		r.Summary.SourceUsers += st.Users
	}
	r.Summary.MatchedUsers = p.Matched
	r.Summary.PendingUsers = len(p.Pending)
	return r
}

// buildChanges lists the plan's logical changes in the report, one step
// per group or tag that writes anything; held changes get their ids, and
// approved ones who approved them (ap).
func buildChanges(p *plan.Plan, r *report.Report, users map[int]report.User, ap approvalInfo) []step {
	b := changeBuilder{r: r, users: users, ap: ap}
	var steps []step
	for i := range p.Groups {
		if s := b.group(&p.Groups[i]); len(s.changes) > 0 {
			steps = append(steps, s)
		}
	}
	for i := range p.Tags {
		if s := b.tag(&p.Tags[i]); len(s.changes) > 0 {
			steps = append(steps, s)
		}
	}
	return steps
}

// changeBuilder adds a plan's changes to the report, one group or tag at
// a time.
type changeBuilder struct {
	r     *report.Report
	users map[int]report.User
	ap    approvalInfo
}

// add appends c to the report and returns its index there.
func (b changeBuilder) add(c report.Change) int {
	b.r.Changes = append(b.r.Changes, c)
	return len(b.r.Changes) - 1
}

// group reports a group's changes; the step holds those to apply.
func (b changeBuilder) group(g *plan.GroupPlan) step {
	s := step{group: g}
	ch := func(kind string, ids []int) report.Change {
		return report.Change{Kind: kind, Group: g.Name, Users: userList(ids, b.users), Groups: []string{}, Status: report.StatusPlanned}
	}
	if g.Create {
		s.changes = append(s.changes, b.add(ch(report.KindCreateGroup, g.Add)))
	} else {
		if g.UpdateDescription {
			c := ch(report.KindUpdateGroup, nil)
			c.Description = &report.Description{Old: g.OldDescription, New: g.Description}
			s.changes = append(s.changes, b.add(c))
		}
		if len(g.Add) > 0 {
			s.changes = append(s.changes, b.add(ch(report.KindAddMembers, g.Add)))
		}
		if len(g.Remove) > 0 {
			s.changes = append(s.changes, b.add(b.ap.approved(ch(report.KindRemoveMembers, g.Remove), g.Approved)))
		}
	}
	if len(g.Held) > 0 {
		c := ch(report.KindRemoveMembers, g.Held)
		c.Status, c.Reason, c.ID = report.StatusHeld, g.HeldReason, g.HeldID(b.ap.target)
		b.add(c)
	}
	return s
}

// tag reports a tag's SME changes; the step holds those to apply.
func (b changeBuilder) tag(t *plan.TagPlan) step {
	s := step{tag: t}
	ch := func(kind string, ids []int, groups []plan.GroupRef, status string) report.Change {
		return report.Change{Kind: kind, Tag: t.Tag, Users: userList(ids, b.users), Groups: refNames(groups), Status: status, Reason: reasonIf(status, t.HeldReason)}
	}
	heldUsers := ch(report.KindRemoveSMEUsers, t.HeldUsers, nil, report.StatusHeld)
	heldUsers.ID = t.HeldUsersID(b.ap.target)
	heldGroups := ch(report.KindRemoveSMEGroups, nil, t.HeldGroups, report.StatusHeld)
	heldGroups.ID = t.HeldGroupsID(b.ap.target)
	for _, c := range []report.Change{
		ch(report.KindAddSMEUsers, t.AddUsers, nil, report.StatusPlanned),
		b.ap.approved(ch(report.KindRemoveSMEUsers, t.RemoveUsers, nil, report.StatusPlanned), t.ApprovedUsers),
		ch(report.KindAddSMEGroups, nil, t.AddGroups, report.StatusPlanned),
		b.ap.approved(ch(report.KindRemoveSMEGroups, nil, t.RemoveGroups, report.StatusPlanned), t.ApprovedGroups),
		heldUsers,
		heldGroups,
	} {
		if len(c.Users)+len(c.Groups) == 0 {
			continue
		}
		i := b.add(c)
		if c.Status == report.StatusPlanned {
			s.changes = append(s.changes, i)
		}
	}
	return s
}

// approvalInfo is what buildChanges needs to label held and approved
// changes: the Teams site of their ids, and the approvals of the run.
type approvalInfo struct {
	target    string
	approvals map[string]state.Approval
}

// approved labels c as the approved held change id, if id is set.
func (ap approvalInfo) approved(c report.Change, id string) report.Change {
	if id == "" {
		return c
	}
	a := ap.approvals[id]
	c.ID = id
	c.Approval = &report.Approval{By: a.By, At: a.At, Expires: a.Expires, Reason: a.Reason}
	return c
}

// useApprovals forgets the approvals whose changes were applied; one that
// failed stays for the next run, until it expires.
func (e *Engine) useApprovals(r *report.Report) {
	var used []string
	for _, c := range r.Changes {
		if c.Approval != nil && c.Status == report.StatusApplied {
			used = append(used, c.ID)
		}
	}
	if len(used) == 0 {
		return
	}
	if err := e.store.UseApprovals(used); err != nil {
		e.log.Warn("cannot forget the approvals this run used; they expire by themselves", errField(err))
	}
}

func reasonIf(status, reason string) string {
	if status == report.StatusHeld {
		return reason
	}
	return ""
}

func userList(ids []int, users map[int]report.User) []report.User {
	out := make([]report.User, 0, len(ids))
	for _, id := range ids {
		u := users[id]
		u.ID = id
		out = append(out, u)
	}
	return out
}

func refNames(refs []plan.GroupRef) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		out = append(out, r.Name)
	}
	return out
}

// A log line of a change names at most loggedUsersPerLine people and
// about loggedBytesPerLine bytes of their names and addresses: journald
// splits lines longer than 48 KiB and Docker's log drivers lines longer
// than 16 KiB, and a log shipper then sees broken JSON. Mapping a
// company-wide group names tens of thousands.
const (
	loggedUsersPerLine = 100
	loggedBytesPerLine = 8 << 10
)

// logChange logs a change at lvl: one line, or for a change naming more
// people than a line holds, as many lines as they need, every line with
// the change's other fields and "part" and "parts", so that the log still
// names everyone (see changeFields).
func (e *Engine) logChange(lvl zapcore.Level, msg string, c report.Change, extra ...zap.Field) {
	parts := userLines(c.Users)
	for i, users := range parts {
		c.Users = users
		f := changeFields(c)
		if len(parts) > 1 {
			f = append(f, zap.Int("part", i+1), zap.Int("parts", len(parts)))
		}
		e.log.Log(lvl, msg, append(f, extra...)...)
	}
}

// userLines cuts people into the runs that one log line each names (one
// run, maybe empty, when they fit one line).
func userLines(users []report.User) [][]report.User {
	var out [][]report.User
	start, size := 0, 0
	for i, u := range users {
		n := len(u.Name) + len(u.Email) + 8 // the label, its quotes, brackets and comma
		if i > start && (i-start == loggedUsersPerLine || size+n > loggedBytesPerLine) {
			out = append(out, users[start:i])
			start, size = i, 0
		}
		size += n
	}
	return append(out, users[start:])
}

// changeFields are the structured fields of a change's log line: what
// was written where, and to whom (every user, so that the log is an audit
// trail one can search by address).
func changeFields(c report.Change) []zap.Field {
	f := []zap.Field{zap.String("kind", c.Kind)}
	if c.Group != "" {
		f = append(f, zap.String("group", c.Group))
	}
	if c.Tag != "" {
		f = append(f, zap.String("tag", c.Tag))
	}
	if len(c.Users) > 0 {
		f = append(f, zap.Array("users", userLabels(c.Users)))
	}
	if len(c.Groups) > 0 {
		f = append(f, zap.Strings("user_groups", c.Groups))
	}
	if c.ID != "" {
		f = append(f, zap.String("change_id", c.ID))
	}
	if c.Approval != nil {
		f = append(f, zap.String("approved_by", c.Approval.By))
	}
	return f
}

// userLabels logs people as report.UserLabel names them, each written
// into the log line from one reused buffer when the line is encoded: a
// cold run logs a million people, and a string for each was a million
// allocations.
type userLabels []report.User

func (us userLabels) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	var buf []byte
	for _, u := range us {
		buf = report.AppendUserLabel(buf[:0], u)
		enc.AppendByteString(buf)
	}
	return nil
}

// reportJSON is the report's contract JSON. Its own MarshalJSON, not
// json.Marshal: that would check and copy the result again, and a cold run
// of 10,000 groups has a report of 67 MB.
func reportJSON(r *report.Report) ([]byte, error) { return r.MarshalJSON() }

func sortPending(p []report.Pending) {
	slices.SortFunc(p, func(a, b report.Pending) int { return strings.Compare(a.Email, b.Email) })
}
