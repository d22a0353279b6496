package sync

import (
	"fmt"
	"slices"
	"strings"
)

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
	// Unknown is non-empty when a directory group feeding this group could
	// not be read completely: no removals (DESIGN.md §8 rule 1).
	Unknown string
	// EmptyHold is non-empty when a feeding directory group had members at
	// the last successful run and has none now (rule 2): removals are held.
	EmptyHold string
}

// DesiredTag is one tag whose SMEs syncd manages.
type DesiredTag struct {
	Tag       string
	Mode      Mode
	Users     []int    // Teams user ids, sorted, unique
	Groups    []string // Teams user group names
	Unknown   string
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

// CurrentTag is one tag with its SMEs; Err set when it could not be read.
type CurrentTag struct {
	ID     int
	Name   string
	Users  []int // sorted
	Groups []int // sorted user group ids
	Err    string
}

// Policy is how far a plan may go.
type Policy struct {
	// Budgets as in the config: 0 allows no removal at all, a negative
	// value means no limit.
	MaxRemovals       int     // per run, all groups and SME lists
	MaxRemovalPercent float64 // per group or SME list
	// Owned is the ledger for managed mode: by LedgerKey, the ids syncd added.
	Owned map[string][]int
}

// Plan is the set of logical changes for one run.
type Plan struct {
	Groups []GroupPlan `json:"groups"`
	Tags   []TagPlan   `json:"tags"`
	Errors []string    `json:"errors"` // mappings that could not be planned
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

// Calculate compares desired with current and returns the plan with every
// policy applied. It does no I/O and keeps the order of desired.
func Calculate(d Desired, cur Current, pol Policy) Plan {
	var p Plan
	byName := indexGroups(cur.Groups)
	creating := map[string]bool{}
	for _, dg := range d.Groups {
		if dg.Unknown != "" && len(dg.Members) == 0 && len(byName[strings.ToLower(dg.Name)]) == 0 {
			continue // nothing known to create it with; the unknown read is reported
		}
		gp, err := planGroup(dg, byName, pol)
		if err != nil {
			p.Errors = append(p.Errors, err.Error())
			continue
		}
		if gp.Create {
			creating[strings.ToLower(gp.Name)] = true
		}
		p.Groups = append(p.Groups, gp)
	}
	for _, dt := range d.Tags {
		tp, errs := planTag(dt, cur, byName, creating, pol)
		p.Errors = append(p.Errors, errs...)
		if tp != nil {
			p.Tags = append(p.Tags, *tp)
		}
	}
	applyRunBudget(&p, pol.MaxRemovals)
	return p
}

func indexGroups(gs []CurrentGroup) map[string][]*CurrentGroup {
	m := make(map[string][]*CurrentGroup, len(gs))
	for i := range gs {
		k := strings.ToLower(gs[i].Name)
		m[k] = append(m[k], &gs[i])
	}
	return m
}

// planGroup plans one user group. A name matching two Teams groups is an
// error, never a guess.
func planGroup(dg DesiredGroup, byName map[string][]*CurrentGroup, pol Policy) (GroupPlan, error) {
	found := byName[strings.ToLower(dg.Name)]
	if len(found) > 1 {
		return GroupPlan{}, fmt.Errorf("user group %q: the name matches %d Teams groups (ids %s); rename all but one, nothing planned for it",
			dg.Name, len(found), joinIDs(groupIDs(found)))
	}
	members := realUsers(dg.Members)
	if len(found) == 0 {
		return GroupPlan{Name: dg.Name, Create: true, Description: dg.Description, Add: members}, nil
	}
	cg := found[0]
	gp := GroupPlan{Name: cg.Name, ID: cg.ID, Description: cg.Description, Current: cg.Members}
	if dg.SetDescription && dg.Description != cg.Description {
		gp.Description, gp.UpdateDescription, gp.OldDescription = dg.Description, true, cg.Description
	}
	gp.Add = realUsers(minus(members, cg.Members))
	remove := removable(realUsers(minus(cg.Members, members)), dg.Mode, pol.Owned[LedgerKey(LedgerGroup, cg.ID)])
	gp.Remove, gp.Held, gp.HeldReason = holdRemovals(remove, dg.Unknown, dg.EmptyHold, len(realUsers(cg.Members)), pol.MaxRemovalPercent)
	return gp, nil
}

// planTag plans one tag's SME users and SME groups.
func planTag(dt DesiredTag, cur Current, byName map[string][]*CurrentGroup, creating map[string]bool, pol Policy) (*TagPlan, []string) {
	ct := cur.Tags[strings.ToLower(dt.Tag)]
	if ct == nil {
		return nil, []string{fmt.Sprintf("tag %q: not read", dt.Tag)}
	}
	if ct.Err != "" {
		return nil, []string{fmt.Sprintf("tag %q: %s", dt.Tag, ct.Err)}
	}
	tp := &TagPlan{Tag: ct.Name, ID: ct.ID, CurrentUsers: ct.Users, CurrentGroups: ct.Groups}
	users := realUsers(dt.Users)
	tp.AddUsers = minus(users, ct.Users)
	rmUsers := removable(realUsers(minus(ct.Users, users)), dt.Mode, pol.Owned[LedgerKey(LedgerSMEUsers, ct.ID)])

	wantIDs, newGroups, errs := resolveSMEGroups(dt, byName, creating)
	tp.AddGroups = append(refs(minus(wantIDs, ct.Groups)), newGroups...)
	var rmGroups []int
	if len(errs) == 0 { // an unresolved name could be any group: no removals
		rmGroups = removable(minus(ct.Groups, wantIDs), dt.Mode, pol.Owned[LedgerKey(LedgerSMEGroups, ct.ID)])
	}
	base := len(realUsers(ct.Users)) + len(ct.Groups)
	all := append(slices.Clone(rmUsers), negate(rmGroups)...)
	kept, held, reason := holdRemovals(all, dt.Unknown, dt.EmptyHold, base, pol.MaxRemovalPercent)
	tp.RemoveUsers, tp.RemoveGroups = splitNegated(kept)
	tp.HeldUsers, tp.HeldGroups = splitNegated(held)
	tp.HeldReason = reason
	return tp, errs
}

// negate encodes group ids as negative numbers so that one removal list can
// carry users and groups through the hold rules; splitNegated undoes it.
func negate(ids []int) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = -id
	}
	return out
}

func splitNegated(ids []int) (users []int, groups []GroupRef) {
	for _, id := range ids {
		if id < 0 {
			groups = append(groups, GroupRef{ID: -id})
		} else {
			users = append(users, id)
		}
	}
	slices.SortFunc(groups, func(a, b GroupRef) int { return a.ID - b.ID })
	return users, groups
}

// resolveSMEGroups maps the SME group names of a tag to Teams group ids;
// names of groups this plan creates come back as refs without an id.
func resolveSMEGroups(dt DesiredTag, byName map[string][]*CurrentGroup, creating map[string]bool) ([]int, []GroupRef, []string) {
	var ids []int
	var fresh []GroupRef
	var errs []string
	for _, name := range dt.Groups {
		found := byName[strings.ToLower(name)]
		switch {
		case len(found) == 1:
			ids = append(ids, found[0].ID)
		case len(found) > 1:
			errs = append(errs, fmt.Sprintf("tag %q: SME group %q matches %d Teams groups (ids %s); rename all but one",
				dt.Tag, name, len(found), joinIDs(groupIDs(found))))
		case creating[strings.ToLower(name)]:
			fresh = append(fresh, GroupRef{Name: name})
		default:
			errs = append(errs, fmt.Sprintf("tag %q: SME group %q does not exist in Teams and no mapping creates it", dt.Tag, name))
		}
	}
	return sortUnique(ids), fresh, errs
}

func refs(ids []int) []GroupRef {
	var out []GroupRef
	for _, id := range ids {
		out = append(out, GroupRef{ID: id})
	}
	return out
}

// removable applies the membership mode to the candidates for removal.
func removable(candidates []int, mode Mode, owned []int) []int {
	switch mode {
	case ModeAddOnly:
		return nil
	case ModeManaged:
		return intersect(candidates, sortUnique(slices.Clone(owned)))
	case ModeExact, "":
		return candidates
	default: // a mode this version does not know: the careful choice
		return nil
	}
}

func groupIDs(gs []*CurrentGroup) []int {
	ids := make([]int, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	return ids
}

func joinIDs(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ", ")
}
