// Package history answers "who changed what, when, and why" from the audit
// log (`syncd history`): the writes syncd sent, newest first, each with its
// run and why it was made (a plain change of that run, or a held change an
// operator approved, and who did), and the approvals themselves.
package history

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/termsafe"
)

// Query filters the audit log; empty fields match everything.
type Query struct {
	Since time.Time
	Email string // a person the line names (case-insensitive)
	Group string // a user group the line writes to or names as an SME group, or a tag
}

// Entry is one audit line with why it happened.
type Entry struct {
	state.AuditLine
	// Why says why the write was made, or what the approval line records.
	Why string `json:"why"`
	// Approved is, for a write of an approved held change, the approval
	// that let it through (from its own audit line).
	Approved *Approved `json:"approved,omitempty"`
}

// Approved is who approved a held change, when, and why it was held.
type Approved struct {
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// Read returns the entries of the audit log in dir that match q, newest
// first.
func Read(dir string, q Query) ([]Entry, error) {
	entries, _, err := ReadCounting(dir, q)
	return entries, err
}

// ReadCounting is Read that also says how many lines of the log could not
// be read (torn by a crash, or edited by hand): the history then may lack
// writes, and must say so.
func ReadCounting(dir string, q Query) ([]Entry, int, error) {
	// Approvals are looked up further back than q.Since: a write inside the
	// window may apply a change approved before it.
	approvals := map[string][]state.AuditLine{}
	lines, unreadable, err := state.ReadAuditCounting(dir, q.Since.Add(-maxApprovalAge), func(l *state.AuditLine) bool {
		if l.Kind == state.AuditApprove {
			approvals[l.Approval] = append(approvals[l.Approval], *l)
		}
		return !l.Time.Before(q.Since) && q.matches(l)
	})
	if err != nil {
		return nil, 0, err
	}
	out := make([]Entry, 0, len(lines))
	for _, l := range lines {
		out = append(out, entry(l, approvals))
	}
	return out, unreadable, nil
}

// maxApprovalAge bounds how long before a write its approval was made.
const maxApprovalAge = 8 * 24 * time.Hour

func (q Query) matches(l *state.AuditLine) bool {
	if q.Email != "" && !slices.ContainsFunc(l.Users, func(u state.AuditUser) bool { return strings.EqualFold(u.Email, q.Email) }) {
		return false
	}
	if q.Group != "" && !strings.EqualFold(l.Group, q.Group) && !strings.EqualFold(l.Tag, q.Group) &&
		!slices.ContainsFunc(l.Groups, func(g string) bool { return strings.EqualFold(g, q.Group) }) {
		return false
	}
	return true
}

// approvalOf is the latest approval of held change id made by the time
// of the write at, if any.
func approvalOf(approvals map[string][]state.AuditLine, id string, at time.Time) (state.AuditLine, bool) {
	var best state.AuditLine
	found := false
	for _, a := range approvals[id] {
		if !a.Time.After(at) && (!found || a.Time.After(best.Time)) {
			best, found = a, true
		}
	}
	return best, found
}

func entry(l state.AuditLine, approvals map[string][]state.AuditLine) Entry {
	e := Entry{AuditLine: l}
	switch l.Kind {
	case state.AuditApprove:
		e.Why = fmt.Sprintf("%s approved held change %s, valid until %s", who(l.By), l.Approval, stamp(l.Expires))
		if l.Reason != "" {
			e.Why += "; it was held because " + l.Reason
		}
	case state.AuditApprovalExpired:
		e.Why = fmt.Sprintf("the approval of held change %s by %s expired unused", l.Approval, who(l.By))
	default:
		e.Why = "a change of run " + l.RunID + " that no safety rule held: the directory and the configuration called for it"
		if l.Approval != "" {
			e.Why = "held change " + l.Approval + ", approved"
			if a, ok := approvalOf(approvals, l.Approval, l.Time); ok {
				e.Approved = &Approved{By: a.By, At: a.Time, Reason: a.Reason}
				e.Why += fmt.Sprintf(" by %s at %s", who(a.By), stamp(&a.Time))
				if a.Reason != "" {
					e.Why += "; it had been held because " + a.Reason
				}
			}
		}
	}
	return e
}

func who(by string) string {
	if by == "" {
		return "an operator"
	}
	return by
}

func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// Headline is the entry's first line without its time: what happened.
func (e Entry) Headline() string {
	switch e.Kind {
	case state.AuditApprove:
		return "Approved: " + report.Describe(e.change())
	case state.AuditApprovalExpired:
		return "Approval expired: " + report.Describe(e.change())
	}
	c := e.change()
	switch e.Result {
	case state.ResultApplied:
		return report.Described(c)
	case state.ResultFailed:
		return "Failed to " + report.Describe(c)
	case state.ResultUnknown:
		return "Sent, outcome unknown: " + report.Describe(c)
	}
	return e.Result + ": " + report.Describe(c)
}

func (e Entry) change() report.Change {
	c := report.Change{Kind: e.Kind, Group: e.Group, Tag: e.Tag, Groups: e.Groups}
	if c.Kind == state.AuditApprove || c.Kind == state.AuditApprovalExpired {
		c.Kind = report.KindRemoveMembers
		if e.Tag != "" {
			c.Kind = report.KindRemoveSMEUsers
			if len(e.Users) == 0 {
				c.Kind = report.KindRemoveSMEGroups
			}
		}
	}
	for _, u := range e.Users {
		c.Users = append(c.Users, report.User{ID: u.ID, Email: u.Email})
	}
	return c
}

// WriteText prints entries as text, newest first, values escaped for a
// terminal (they come from the directory and Teams).
func WriteText(w io.Writer, entries []Entry) error {
	if len(entries) == 0 {
		_, err := fmt.Fprintln(w, "No matching entries in the audit log.")
		return err
	}
	for _, e := range entries {
		termsafe.Fprintf(w, "%s  %s\n", stamp(&e.Time), e.Headline())
		where := "run " + e.RunID
		if e.RunID == "" {
			where = "no run"
		}
		if e.Call != "" {
			where += " · " + e.Call
		}
		termsafe.Fprintf(w, "    %s\n", where)
		if e.Error != "" {
			termsafe.Fprintf(w, "    error: %s\n", e.Error)
		}
		if _, err := termsafe.Fprintf(w, "    why: %s\n", e.Why); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON prints entries as a JSON array, newest first.
func WriteJSON(w io.Writer, entries []Entry) error {
	for i := range entries {
		if entries[i].Users == nil {
			entries[i].Users = []state.AuditUser{}
		}
		if entries[i].Groups == nil {
			entries[i].Groups = []string{}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(entries)
}
