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
}

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
