package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// Held changes have ids (DESIGN.md §9), so that an operator can approve
// exactly the removals a safety rule held and nothing else: the id is a
// hash of what the change would do, the same in every run while the change
// is the same, and different as soon as one more (or one fewer) person
// would go. ChangeID is the one place it is computed: the report shows it,
// the Approved policy compares it, `syncd approve` records it.

// The kinds of the removals a rule may hold, as the report names them.
const (
	KindRemoveMembers   = "remove_members"
	KindRemoveSMEUsers  = "remove_sme_users"
	KindRemoveSMEGroups = "remove_sme_groups"
)

// changeIDVersion changes if what the hash covers ever changes, so that an
// old approval can never match a new change by accident.
const changeIDVersion = "syncd-change-v1"

// ChangeID is the id of a held change: a short hash of the Teams site
// (target, a lock.Key), the kind, the user group or tag (matched
// case-insensitively, as Teams names are) and the sorted user ids or SME
// group ids it removes. "" when it removes no one.
func ChangeID(target, kind, name string, ids []int) string {
	if len(ids) == 0 {
		return ""
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	var b strings.Builder
	for _, s := range []string{changeIDVersion, target, kind, strings.ToLower(name)} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	for _, id := range sorted {
		b.WriteString(strconv.Itoa(id))
		b.WriteByte(',')
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:6])
}

// HeldID is the id of the group's held removals, "" when none are held.
func (g *GroupPlan) HeldID(target string) string {
	return ChangeID(target, KindRemoveMembers, g.Name, g.Held)
}

// HeldUsersID is the id of the tag's held SME user removals, or "".
func (t *TagPlan) HeldUsersID(target string) string {
	return ChangeID(target, KindRemoveSMEUsers, t.Tag, t.HeldUsers)
}

// HeldGroupsID is the id of the tag's held SME group removals, or "".
func (t *TagPlan) HeldGroupsID(target string) string {
	return ChangeID(target, KindRemoveSMEGroups, t.Tag, refIDs(t.HeldGroups))
}

// Approvals are the held changes an operator approved for one Teams site
// (target): IDs holds their ChangeIDs, unexpired.
type Approvals struct {
	Target string
	IDs    map[string]bool
}

// Approved marks the removals that are exactly an approved held change:
// all of a group's (or a tag's SME users', or SME groups') removal
// candidates, hashing to an approved id. The rules that hold removals
// (EmptiedGroups, PercentBudget, RunBudget) leave marked removals alone,
// though the budgets still count them: approving one large removal does
// not let other removals of the same run through. Anything new or
// different has another id and is held as before.
//
// It runs after the membership modes and the unknown-members rule, so the
// candidates are what a rule would hold, which is what the report showed.
func Approved(a Approvals) Policy {
	return func(_ *Desired, p *Plan) {
		if len(a.IDs) == 0 {
			return
		}
		ok := func(kind, name string, ids []int) string {
			if id := ChangeID(a.Target, kind, name, ids); a.IDs[id] {
				return id
			}
			return ""
		}
		for i := range p.Groups {
			g := &p.Groups[i]
			g.Approved = ok(KindRemoveMembers, g.Name, g.Remove)
		}
		for i := range p.Tags {
			t := &p.Tags[i]
			t.ApprovedUsers = ok(KindRemoveSMEUsers, t.Tag, t.RemoveUsers)
			t.ApprovedGroups = ok(KindRemoveSMEGroups, t.Tag, refIDs(t.RemoveGroups))
		}
	}
}

// ApprovedIDs lists the approved changes the plan applies, in plan order.
func (p *Plan) ApprovedIDs() []string {
	var out []string
	for _, g := range p.Groups {
		if g.Approved != "" && len(g.Remove) > 0 {
			out = append(out, g.Approved)
		}
	}
	for _, t := range p.Tags {
		if t.ApprovedUsers != "" && len(t.RemoveUsers) > 0 {
			out = append(out, t.ApprovedUsers)
		}
		if t.ApprovedGroups != "" && len(t.RemoveGroups) > 0 {
			out = append(out, t.ApprovedGroups)
		}
	}
	return out
}

func refIDs(refs []GroupRef) []int {
	ids := make([]int, 0, len(refs))
	for _, r := range refs {
		ids = append(ids, r.ID)
	}
	return ids
}
