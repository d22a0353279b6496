// Package report holds the result of one sync run in the contract shape of
// DESIGN.md §6 and renders it as text, Markdown, JSON or HTML.
package report

import "time"

// Modes of a run.
const (
	ModeDryRun = "dry-run"
	ModeApply  = "apply"
)

// Change kinds.
const (
	KindCreateGroup     = "create_group"
	KindAddMembers      = "add_members"
	KindRemoveMembers   = "remove_members"
	KindUpdateGroup     = "update_group"
	KindAddSMEUsers     = "add_sme_users"
	KindRemoveSMEUsers  = "remove_sme_users"
	KindAddSMEGroups    = "add_sme_groups"
	KindRemoveSMEGroups = "remove_sme_groups"
)

// Change statuses.
const (
	StatusPlanned = "planned"
	StatusApplied = "applied"
	StatusFailed  = "failed"
	StatusHeld    = "held"
)

// Report is one run, exactly the JSON of the contract.
type Report struct {
	Mode       string    `json:"mode"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Summary    Summary   `json:"summary"`
	Changes    []Change  `json:"changes"`
	Pending    []Pending `json:"pending"`
	Errors     []string  `json:"errors"`
	// NothingCompared is set when the run stopped before it could plan
	// (Teams unreadable, the run cancelled): no change was looked for, so
	// its empty change list says nothing about whether Teams matches the
	// directory. An addition to the contract's fields, which hold as they are.
	NothingCompared bool `json:"nothing_compared"`
	// RunID names the run as the audit log and the run history do (an
	// addition to the contract's fields).
	RunID string `json:"run_id,omitempty"`
}

// Complete reports whether the run compared everything it manages: it
// planned, and nothing it had to read failed (each error leaves some group,
// tag or person unknown). Only a complete run may say that Teams matches.
func (r *Report) Complete() bool { return !r.NothingCompared && len(r.Errors) == 0 }

// Summary holds the run's counts.
type Summary struct {
	SourceGroups   int `json:"source_groups"`
	SourceUsers    int `json:"source_users"`
	MatchedUsers   int `json:"matched_users"`
	PendingUsers   int `json:"pending_users"`
	ChangesPlanned int `json:"changes_planned"`
	ChangesApplied int `json:"changes_applied"`
	ChangesFailed  int `json:"changes_failed"`
	ChangesHeld    int `json:"changes_held"`
	APICalls       int `json:"api_calls"`
}

// Change is one logical membership delta.
type Change struct {
	Kind   string   `json:"kind"`
	Group  string   `json:"group"`
	Tag    string   `json:"tag"`
	Users  []User   `json:"users"`
	Groups []string `json:"groups"`
	Status string   `json:"status"`
	Error  string   `json:"error"`
	// Reason says why a change is held (budget, empty group, unknown group).
	// Not part of the contract's fields but shown in every form.
	Reason string `json:"reason,omitempty"`
	// Description is the old and new text of an update_group change (not
	// part of the contract's fields either), so a reader sees what changes.
	Description *Description `json:"description,omitempty"`
	// ID is the id of a held change (DESIGN.md §9: `syncd approve ID`),
	// also on an approved held change the run applies. The same change
	// has the same id in every run.
	ID string `json:"id,omitempty"`
	// Approval is who let an approved held change through, and why it had
	// been held; nil for any other change.
	Approval *Approval `json:"approval,omitempty"`
}

// Approval is an operator's approval of a held change.
type Approval struct {
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Expires time.Time `json:"expires"`
	Reason  string    `json:"reason,omitempty"` // why it was held
}

// Description is a group description before and after an update.
type Description struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// User identifies a Teams user in a change.
type User struct {
	ID    int    `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// Pending is a directory member without a Teams account yet.
type Pending struct {
	Email  string   `json:"email"`
	Groups []string `json:"groups"`
}
