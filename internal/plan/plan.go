// Package plan is syncd's pure planner: what the configuration and the
// directory want (Desired), what Teams holds (Current), and the changes
// between them (Plan), computed by Calculate without I/O, clock or logger.
//
// Calculate first diffs desired against current, then hands the plan to
// policies, small functions that may only drop or hold removals: the
// membership modes and the safety rules of DESIGN.md §8 (Safety). The live
// run and `syncd apply --plan` plan with the same function and policies.
package plan

import "fmt"

// Mode is a membership mode (DESIGN.md §5).
type Mode string

// Membership modes.
const (
	ModeExact   Mode = "exact"    // the Teams group equals the directory group
	ModeAddOnly Mode = "add-only" // never remove anyone
	ModeManaged Mode = "managed"  // remove only members syncd itself added (ledger)
)

// Desired is what the config and the directory say Teams should look like,
// already expressed in Teams user ids (identity resolution happens before).
type Desired struct {
	Groups []DesiredGroup
	Tags   []DesiredTag
}

// DesiredGroup is one managed Teams user group.
type DesiredGroup struct {
	Name           string // Teams group name, matched case-insensitively
	Description    string
	SetDescription bool  // the config sets a description: keep it in step
	Mode           Mode  // exact | add-only | managed
	Members        []int // Teams user ids, sorted, unique
	// Keep are Teams user ids never removed, though not desired: the
	// accounts a directory member could not be told apart from (sorted).
	Keep []int
	// Unknown is why the members are not all known (a directory group
	// feeding this group could not be read completely, or people could not
	// be looked up): no removals (DESIGN.md §8 rules 1 and 6). nil: known.
	Unknown error
	// EmptyHold is non-empty when a feeding directory group had members at
	// the last successful run and has none now (rule 2): removals are held.
	EmptyHold string
	// KnownID is the Teams group that carried Name at an earlier run (0:
	// none known). When no group carries the name now but that one is
	// still there, it was renamed in Teams: a create would duplicate it.
	KnownID int
}

// DesiredTag is one tag whose SMEs syncd manages.
type DesiredTag struct {
	Tag       string
	Mode      Mode
	Users     []int    // Teams user ids, sorted, unique
	Keep      []int    // SME user ids never removed, as DesiredGroup.Keep
	Groups    []string // Teams user group names
	Unknown   error
	EmptyHold string
}

// Current is what Teams looks like now, as read at the start of the run.
type Current struct {
	Groups []CurrentGroup         // every user group of the site (one list call)
	Tags   map[string]*CurrentTag // by lower-case tag name; only configured tags
}

// CurrentGroup is one Teams user group as listed.
type CurrentGroup struct {
	ID          int
	Name        string
	Description string
	Members     []int // sorted
}

// CurrentTag is one tag with its SMEs; Err is why it could not be read.
type CurrentTag struct {
	ID     int
	Name   string
	Users  []int // sorted
	Groups []int // sorted user group ids
	Err    error
}

// Plan is the set of logical changes for one run.
type Plan struct {
	Groups []GroupPlan `json:"groups"`
	Tags   []TagPlan   `json:"tags"`
	// Errors are the mappings and rules that could not be planned
	// (AmbiguousError, MissingGroupError, TagError).
	Errors []error `json:"-"`
}

// GroupPlan holds the changes of one Teams user group.
type GroupPlan struct {
	Name              string `json:"name"`
	ID                int    `json:"id"` // 0 when Create
	Create            bool   `json:"create,omitempty"`
	Description       string `json:"description"` // what a create or PUT sends
	UpdateDescription bool   `json:"update_description,omitempty"`
	OldDescription    string `json:"old_description,omitempty"` // what an update replaces, for the report
	Current           []int  `json:"current"`                   // members as read; a PUT is computed from it
	Add               []int  `json:"add"`
	Remove            []int  `json:"remove"`
	Held              []int  `json:"held"` // removals held back by a safety rule
	HeldReason        string `json:"held_reason,omitempty"`
	// Approved is the id of the approved held change that Remove is
	// (policy Approved): the budgets did not hold it.
	Approved string `json:"approved,omitempty"`
}

// GroupRef names a Teams user group in an SME list; ID is 0 for a group
// this same plan creates.
type GroupRef struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// TagPlan holds the SME changes of one tag.
type TagPlan struct {
	Tag           string     `json:"tag"`
	ID            int        `json:"id"`
	CurrentUsers  []int      `json:"current_users"`
	CurrentGroups []int      `json:"current_groups"`
	AddUsers      []int      `json:"add_users"`
	RemoveUsers   []int      `json:"remove_users"`
	HeldUsers     []int      `json:"held_users"`
	AddGroups     []GroupRef `json:"add_groups"`
	RemoveGroups  []GroupRef `json:"remove_groups"`
	HeldGroups    []GroupRef `json:"held_groups"`
	HeldReason    string     `json:"held_reason,omitempty"`
	// ApprovedUsers and ApprovedGroups are the ids of the approved held
	// changes that RemoveUsers and RemoveGroups are (policy Approved).
	ApprovedUsers  string `json:"approved_users,omitempty"`
	ApprovedGroups string `json:"approved_groups,omitempty"`
}

// Empty reports whether the group plan changes nothing (held removals aside).
func (g *GroupPlan) Empty() bool {
	return !g.Create && !g.UpdateDescription && len(g.Add) == 0 && len(g.Remove) == 0
}

// Empty reports whether the tag plan changes nothing (held removals aside).
func (t *TagPlan) Empty() bool {
	return len(t.AddUsers)+len(t.RemoveUsers)+len(t.AddGroups)+len(t.RemoveGroups) == 0
}

// Pending reports whether the plan would write anything.
func (p *Plan) Pending() bool {
	for i := range p.Groups {
		if !p.Groups[i].Empty() {
			return true
		}
	}
	for i := range p.Tags {
		if !p.Tags[i].Empty() {
			return true
		}
	}
	return false
}

// Held reports whether a safety rule held removals back.
func (p *Plan) Held() bool {
	for i := range p.Groups {
		if len(p.Groups[i].Held) > 0 {
			return true
		}
	}
	for i := range p.Tags {
		if len(p.Tags[i].HeldUsers)+len(p.Tags[i].HeldGroups) > 0 {
			return true
		}
	}
	return false
}

// LedgerKey names a ledger entry: the members syncd added to a user group,
// or the SME users / SME groups it added to a tag.
func LedgerKey(kind string, id int) string { return fmt.Sprintf("%s:%d", kind, id) }

// Ledger kinds.
const (
	LedgerGroup     = "group"
	LedgerSMEUsers  = "tag-users"
	LedgerSMEGroups = "tag-groups"
)
