// Package approval lets an operator approve held changes (DESIGN.md §9):
// what `syncd approve`, POST /approve and the web console share. It finds
// held changes in the reports the state store keeps, checks that an id
// names one, and records the approval (state.Store.Approve) with what the
// change was, for the audit log. The next run applies an approved change
// only while it is exactly the same change (plan.Approved).
package approval

import (
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
)

// DefaultTTL is how long an approval stays valid unless told otherwise;
// MaxTTL caps it: an approval is for a change looked at now, not a
// standing exemption from the budgets.
const (
	DefaultTTL = 24 * time.Hour
	MaxTTL     = 7 * 24 * time.Hour
)

// Errors.
var (
	ErrNoRun       = errors.New("no run has been recorded in the state yet: run syncd sync (or wait for the daemon's first run)")
	ErrNothingHeld = errors.New("the latest run held no change back: there is nothing to approve")
)

// UnknownError lists ids that name no held change of the kept runs.
type UnknownError struct{ IDs []string }

func (e *UnknownError) Error() string {
	return fmt.Sprintf("no held change has id %s in the runs kept in the state (syncd approve --list shows those of the latest run); nothing approved",
		strings.Join(e.IDs, ", "))
}

// TTLError is a validity outside (0, MaxTTL].
type TTLError struct{ TTL time.Duration }

func (e *TTLError) Error() string {
	return fmt.Sprintf("an approval is valid for more than 0 and at most %s (got %s)", days(MaxTTL), e.TTL)
}

// Held is a held change of the latest run, with its approval, if any.
type Held struct {
	Change   report.Change
	Approval *state.Approval
}

// Latest returns the report of the latest run that compared anything
// (a run that failed before planning held nothing), or nil.
func Latest(store *state.Store) *report.Report {
	for r := range kept(store) {
		if !r.NothingCompared {
			return r
		}
	}
	return nil
}

// List returns the held changes of the latest run, with their approvals
// still valid at now.
func List(store *state.Store, now time.Time) (*report.Report, []Held) {
	r := Latest(store)
	if r == nil {
		return nil, nil
	}
	approved := store.Approvals(now)
	var out []Held
	for _, c := range r.Changes {
		if c.Status != report.StatusHeld || c.ID == "" {
			continue
		}
		h := Held{Change: c}
		if a, ok := approved[c.ID]; ok {
			h.Approval = &a
		}
		out = append(out, h)
	}
	return r, out
}

// Request asks to approve held changes: IDs, or All of the latest run's.
type Request struct {
	IDs    []string
	All    bool
	TTL    time.Duration // 0: DefaultTTL
	By     string        // who approves, as the audit log will say
	Target string        // the Teams site the changes are for (lock.Key)
}

// Approve records the approvals of req, valid from now for req.TTL, and
// returns them. Every id must name a held change of a kept run (the
// newest such report describes it); otherwise nothing is recorded.
func Approve(store *state.Store, req Request, now time.Time) ([]state.Approval, error) {
	ttl := req.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 || ttl > MaxTTL {
		return nil, &TTLError{TTL: ttl}
	}
	changes, err := chosen(store, req)
	if err != nil {
		return nil, err
	}
	list := make([]state.Approval, 0, len(changes))
	for _, h := range changes {
		list = append(list, approvalOf(h, req, now, ttl))
	}
	if err := store.Approve(list); err != nil {
		return nil, err
	}
	return list, nil
}

// heldIn is a held change and the run whose report held it.
type heldIn struct {
	change report.Change
	runID  string
}

// chosen finds the held changes req names. The kept reports are read
// newest first, one at a time, and no further than needed: the newest
// report that holds a change describes it.
func chosen(store *state.Store, req Request) ([]heldIn, error) {
	if !store.HasReports() {
		return nil, ErrNoRun
	}
	if req.All {
		return allHeld(Latest(store))
	}
	want := dedupe(req.IDs)
	if len(want) == 0 {
		return nil, errors.New("no id given")
	}
	byID := map[string]heldIn{}
	for r := range kept(store) {
		for _, c := range r.Changes {
			if _, found := byID[c.ID]; !found && c.Status == report.StatusHeld && slices.Contains(want, c.ID) {
				byID[c.ID] = heldIn{c, r.RunID}
			}
		}
		if len(byID) == len(want) {
			break
		}
	}
	var out []heldIn
	var unknown []string
	for _, id := range want {
		if h, ok := byID[id]; ok {
			out = append(out, h)
		} else {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return nil, &UnknownError{IDs: unknown}
	}
	return out, nil
}

// allHeld returns the held changes of r, the latest run that compared
// anything (nil: none did).
func allHeld(r *report.Report) ([]heldIn, error) {
	var out []heldIn
	if r != nil {
		for _, c := range r.Changes {
			if c.Status == report.StatusHeld && c.ID != "" {
				out = append(out, heldIn{c, r.RunID})
			}
		}
	}
	if len(out) == 0 {
		return nil, ErrNothingHeld
	}
	return out, nil
}

func approvalOf(h heldIn, req Request, now time.Time, ttl time.Duration) state.Approval {
	c := h.change
	a := state.Approval{ID: c.ID, Target: req.Target, Kind: c.Kind, Group: c.Group, Tag: c.Tag, Groups: c.Groups,
		Reason: c.Reason, RunID: h.runID, By: req.By, At: now.UTC(), Expires: now.Add(ttl).UTC()}
	for _, u := range c.Users {
		a.Users = append(a.Users, state.AuditUser{ID: u.ID, Email: u.Email})
	}
	return a
}

// kept yields the reports the store keeps, newest first, decoded one at
// a time; one that cannot be read is skipped.
func kept(store *state.Store) iter.Seq[*report.Report] {
	return func(yield func(*report.Report) bool) {
		for data := range store.ReportsNewestFirst() {
			var r report.Report
			if json.Unmarshal(data, &r) == nil && !yield(&r) {
				return
			}
		}
	}
}

func dedupe(ids []string) []string {
	var out []string
	for _, id := range ids {
		id = strings.ToLower(strings.TrimSpace(id))
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
