package state

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Approvals of held changes (DESIGN.md §9). `syncd approve`, POST /approve
// and the web console record them here, in the store's file, which every
// process opens per transaction: the command can approve while the daemon
// runs. A run reads the unexpired ones; a change is applied over the
// budgets only while its id is approved. Each approval and each expiry is
// a line of the audit log; a write that applies an approved change carries
// its id there (AuditLine.Approval).

var bucketApprovals = []byte("approvals") // change id -> Approval

// Audit line kinds and results of approvals.
const (
	AuditApprove         = "approve"
	AuditApprovalExpired = "approval_expired"
	ResultApproved       = "approved"
	ResultExpired        = "expired"
)

// Approval is an operator's approval of one held change, with what the
// change was when it was approved (for the audit log and the console).
type Approval struct {
	ID      string      `json:"id"`
	Target  string      `json:"target"` // the Teams site (a lock.Key)
	Kind    string      `json:"kind"`
	Group   string      `json:"group,omitempty"`
	Tag     string      `json:"tag,omitempty"`
	Users   []AuditUser `json:"users,omitempty"`
	Groups  []string    `json:"groups,omitempty"`
	Reason  string      `json:"reason,omitempty"` // why it was held
	RunID   string      `json:"run_id,omitempty"` // the run whose report held it
	By      string      `json:"by"`
	At      time.Time   `json:"at"`
	Expires time.Time   `json:"expires"`
}

// line is the approval's audit line of kind, result and time.
func (a Approval) line(kind, result string, at time.Time) AuditLine {
	exp := a.Expires.UTC()
	return AuditLine{Time: at.UTC(), RunID: a.RunID, Kind: kind, Group: a.Group, Tag: a.Tag, Users: a.Users, Groups: a.Groups,
		Result: result, Approval: a.ID, By: a.By, Reason: a.Reason, Expires: &exp}
}

// Approve records approvals (an approval of the same id replaces the
// earlier one) and appends their audit lines. An approval the audit log
// could not take is taken back: no approval works unrecorded.
func (s *Store) Approve(list []Approval) error {
	if len(list) == 0 {
		return nil
	}
	if s == nil {
		return fmt.Errorf("approvals need a state store")
	}
	err := s.update(func(t kv) error {
		for _, a := range list {
			if err := putJSON(t, bucketApprovals, a.ID, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record the approvals: %w", err)
	}
	lines := make([]AuditLine, len(list))
	for i, a := range list {
		lines[i] = a.line(AuditApprove, ResultApproved, a.At)
	}
	if err := appendAudit(s.dir, lines); err != nil {
		_ = s.deleteApprovals(list)
		return fmt.Errorf("record the approvals: %w", err)
	}
	return nil
}

// Approvals returns the approvals valid at now, by change id.
func (s *Store) Approvals(now time.Time) map[string]Approval {
	out := map[string]Approval{}
	_ = s.view(func(t kv) error {
		t.each(bucketApprovals, func(k string, v []byte) {
			var a Approval
			if json.Unmarshal(v, &a) == nil && now.Before(a.Expires) {
				out[k] = a
			}
		})
		return nil
	})
	return out
}

// ExpireApprovals deletes the approvals no longer valid at now and logs
// each as expired unused; it returns them.
func (s *Store) ExpireApprovals(now time.Time) ([]Approval, error) {
	if s.ReadOnly() {
		return nil, ErrReadOnly
	}
	var gone []Approval
	_ = s.view(func(t kv) error {
		t.each(bucketApprovals, func(_ string, v []byte) {
			var a Approval
			if json.Unmarshal(v, &a) == nil && !now.Before(a.Expires) {
				gone = append(gone, a)
			}
		})
		return nil
	})
	if len(gone) == 0 {
		return nil, nil
	}
	lines := make([]AuditLine, len(gone))
	for i, a := range gone {
		lines[i] = a.line(AuditApprovalExpired, ResultExpired, now)
	}
	if err := appendAudit(s.dir, lines); err != nil {
		return nil, fmt.Errorf("record expired approvals: %w", err)
	}
	return gone, s.deleteApprovals(gone)
}

// UseApprovals forgets approvals whose change was applied: the write's
// audit lines carry the id, and the same change coming back later (the
// people added again, then removed again) is held for a new look.
func (s *Store) UseApprovals(ids []string) error {
	list := make([]Approval, len(ids))
	for i, id := range ids {
		list[i].ID = id
	}
	return s.deleteApprovals(list)
}

func (s *Store) deleteApprovals(list []Approval) error {
	ids := map[string]bool{}
	for _, a := range list {
		ids[a.ID] = true
	}
	return s.update(func(t kv) error {
		for _, id := range slices.Sorted(maps.Keys(ids)) {
			if err := t.del(bucketApprovals, id); err != nil {
				return err
			}
		}
		return nil
	})
}
