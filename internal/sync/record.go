package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/idset"
	"github.com/syncd/syncd/internal/lock"
	"github.com/syncd/syncd/internal/plan"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams"
)

// Every write is recorded before the next one is sent (DESIGN.md §8 rule
// 8): the recorder wraps each API call of the applier in the state
// store's steps (internal/state/journal.go says what each makes durable
// and how a crash is recovered). For write n:
//
//  1. one transaction settles the ledger of write n-1, whose outcome is
//     already in the fsynced audit log, and records write n in the
//     journal, owning what it adds (BeginAfter);
//  2. write n is sent;
//  3. its outcome is appended to the audit log and fsynced (Log).
//
// So when write n+1 is sent, write n is recorded in full: its outcome in
// the audit log (3), its ledger in the transaction just committed (1 of
// n+1). The last write of a run is settled by flush, before the run is
// recorded. A write that cannot be recorded is not sent, and once a
// record fails no further write is sent this run: syncd never keeps
// writing what it could not remember.

// write is one API call as recorded: its audit lines and ledger changes.
type write struct {
	call   string
	lines  []state.AuditLine
	ledger []state.LedgerChange
	create *state.Create
}

// recorder records the writes of one run.
type recorder struct {
	store  *state.Store
	now    func() time.Time
	runID  string
	target string
	grace  time.Duration   // how long a write under way may outlive the run's context
	stop   error           // set once recording failed: nothing more is sent
	logged *state.Recorded // the last write, its outcome logged, its ledger not yet settled
	// turn waits until the API's throttle lets a write through (the
	// writer's WaitTurn); nil: no wait before recording.
	turn func(context.Context) error
}

// RecordError is a write that could not be recorded in the state dir; the
// run stops writing.
type RecordError struct{ Err error }

func (e *RecordError) Error() string {
	return fmt.Sprintf("cannot record writes in the state dir, so no further write is sent: %v", e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// send records w, runs do (the API call; it returns the id of a group it
// created), and records the outcome. The call's own error is returned; a
// failure to record the outcome stops later writes.
//
// A stop (SIGTERM, Ctrl-C) cancels ctx: no new write starts after it, but
// the write under way is given its own context, cancelled only the grace
// after ctx, so that a stop does not cut a write off mid-flight and leave
// its outcome unknown. A write slower than that is cut off and recorded as
// unknown (teams.OutcomeUnknown).
func (r *recorder) send(ctx context.Context, w write, do func(context.Context) (int, error)) error {
	if r.stop != nil {
		return r.stop
	}
	if err := ctx.Err(); err != nil {
		return err // nothing sent, nothing to record
	}
	if r.turn != nil {
		// The journal says "under way" only once the throttle lets the
		// write through: stopped while waiting, it was not sent.
		if err := r.turn(ctx); err != nil {
			return err
		}
	}
	rec, err := r.store.BeginAfter(r.logged, state.Write{RunID: r.runID, Target: r.target, Call: w.call, Lines: w.lines,
		Ledger: w.ledger, Create: w.create}, r.now())
	if err != nil {
		r.stop = &RecordError{Err: err}
		return r.stop
	}
	r.logged = nil
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(r.grace, cancel) })
	created, err := do(wctx)
	stop()
	cancel()
	o := state.Outcome{Result: outcomeOf(err), Err: err}
	if err == nil && created > 0 && w.create != nil {
		o.Created = &state.LedgerChange{Key: plan.LedgerKey(plan.LedgerGroup, created), Added: w.create.UserIDs}
	}
	if ferr := r.store.Log(rec, o, r.now()); ferr != nil {
		r.stop = &RecordError{Err: ferr}
	} else {
		r.logged = rec
	}
	return err
}

// flush settles the last write's ledger; the run's writes are then
// recorded in full. A failure is kept in the store's Err for the run,
// and the next run's Recover settles the write from the audit log.
func (r *recorder) flush() {
	if r.logged == nil {
		return
	}
	if err := r.store.Settle(r.logged); err != nil && r.stop == nil {
		r.stop = &RecordError{Err: err}
	}
	r.logged = nil
}

// outcomeOf tells what a write's error says about it: a 5xx, a reset or a
// timeout after the request left, or an answer that could not be read,
// may come after the write landed (teams.OutcomeUnknown); a refusal, a
// throttled request or one that never left did nothing.
func outcomeOf(err error) string {
	switch {
	case err == nil:
		return state.ResultApplied
	case teams.OutcomeUnknown(err):
		return state.ResultUnknown
	}
	return state.ResultFailed
}

// newRunID names a run in the audit log: its start and a random suffix.
func newRunID(start time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return start.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// target is the key of the Teams site this engine writes to.
func (e *Engine) target() string { return lock.Key(e.cfg.Teams.URL) }

// recoverWrites settles the writes to this engine's Teams site that a
// crash left recorded only in part: with the outcome the audit log has
// for them, else as audit lines "unknown" (ledger kept on the safe side).
func (e *Engine) recoverWrites() error {
	n, err := e.store.Recover(e.target(), e.now())
	if err != nil {
		return fmt.Errorf("read the state dir before writing: %w", err)
	}
	if n > 0 {
		e.log.Warn("an earlier run stopped before recording some writes in full; each takes its outcome from the audit log, or is in the audit log as unknown",
			zap.Int("writes", n))
	}
	if other, err := e.store.UnderWayElsewhere(e.target()); err == nil {
		for _, site := range slices.Sorted(maps.Keys(other)) {
			e.log.Warn("the state dir holds writes a stopped run left under way to another Teams site: only a run with that teams.url settles them in the audit log",
				zap.String("site", site), zap.Int("writes", other[site]))
		}
	}
	return nil
}

// adopted adds to owned the members of groups syncd created without
// learning their ids (the answer was lost), for the one Teams group that
// now has that name (case-insensitively).
func adopted(owned, pending map[string][]int, groups []plan.CurrentGroup) map[string][]int {
	if len(pending) == 0 {
		return owned
	}
	out := make(map[string][]int, len(owned)+len(pending))
	for k, v := range owned {
		out[k] = v
	}
	for name, id := range uniqueNames(groups) {
		if ids, ok := pending[name]; ok {
			key := plan.LedgerKey(plan.LedgerGroup, id)
			out[key] = idset.Sort(append(append([]int{}, out[key]...), ids...))
		}
	}
	return out
}

// adopt makes the adoptions of the plan's groups permanent, before the
// first write of an applying run.
func (a *applier) adopt(groups []plan.GroupPlan) error {
	pending := a.e.store.Adoptions()
	if len(pending) == 0 {
		return nil
	}
	found := map[string]string{}
	for _, g := range groups {
		if _, ok := pending[strings.ToLower(g.Name)]; ok && g.ID != 0 {
			found[strings.ToLower(g.Name)] = plan.LedgerKey(plan.LedgerGroup, g.ID)
		}
	}
	if err := a.e.store.Adopt(found); err != nil {
		return &RecordError{Err: err}
	}
	return nil
}

// uniqueNames maps lower-case names to the id of the one group so named.
func uniqueNames(groups []plan.CurrentGroup) map[string]int {
	ids := map[string]int{}
	count := map[string]int{}
	for _, g := range groups {
		k := strings.ToLower(g.Name)
		ids[k] = g.ID
		count[k]++
	}
	for k, n := range count {
		if n > 1 {
			delete(ids, k)
		}
	}
	return ids
}
