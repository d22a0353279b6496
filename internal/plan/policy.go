package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/idset"
	"github.com/syncd/syncd/internal/plural"
)

// Policy changes a plan after the diff, knowing what was desired. A policy
// only drops or holds removals: it never adds a change.
type Policy func(d *Desired, p *Plan)

// Budgets are the removal budgets of the config: 0 allows no removal at
// all, a negative value means no limit. Approved are the held changes an
// operator let through them.
type Budgets struct {
	MaxRemovals       int     // per run, all groups and SME lists
	MaxRemovalPercent float64 // per group or SME list
	// PercentFloor is how many removals from one group or SME list the
	// percentage never holds (sync.max_removal_percent_floor).
	PercentFloor int
	Approved     Approvals
}

// Safety is the policies of a run, in the order they apply: the membership
// modes (owned: the ledger of managed mode, by LedgerKey), then DESIGN.md
// §8 rule 1 (unknown members: no removals), the approvals of held changes,
// rule 2 (an emptied directory group: held) and rule 3 (the budgets: held).
func Safety(b Budgets, owned map[string][]int) []Policy {
	return []Policy{Membership(owned), UnknownMembers, Approved(b.Approved), EmptiedGroups,
		PercentBudget(b.MaxRemovalPercent, b.PercentFloor), RunBudget(b.MaxRemovals)}
}

// removals is one group's or tag's removals as the policies see them,
// with what was desired for it; groups is nil for a user group.
type removals struct {
	mode       Mode
	unknown    error
	emptyHold  string
	userKey    string // ledger keys of what syncd added
	groupKey   string
	base       int // members the removals are a share of
	users      *[]int
	groups     *[]GroupRef
	heldUsers  *[]int
	heldGroups *[]GroupRef
	reason     *string
	// approvedUsers and approvedGroups: those removals are an approved
	// held change (policy Approved); no rule holds them.
	approvedUsers, approvedGroups bool
}

// count is every removal, approved or not: what the budgets measure.
func (r removals) count() int {
	n := len(*r.users)
	if r.groups != nil {
		n += len(*r.groups)
	}
	return n
}

// holdable is the removals a rule may hold: those not approved.
func (r removals) holdable() int {
	n := 0
	if !r.approvedUsers {
		n += len(*r.users)
	}
	if r.groups != nil && !r.approvedGroups {
		n += len(*r.groups)
	}
	return n
}

// hold moves every removal that is not approved to held, with reason.
func (r removals) hold(reason string) {
	if !r.approvedUsers {
		*r.heldUsers = idset.Sort(append(*r.heldUsers, *r.users...))
		*r.users = nil
	}
	if r.groups != nil && !r.approvedGroups {
		*r.heldGroups = append(*r.heldGroups, *r.groups...)
		*r.groups = nil
	}
	*r.reason = joinReason(*r.reason, reason)
}

// drop forgets every removal.
func (r removals) drop() {
	*r.users = nil
	if r.groups != nil {
		*r.groups = nil
	}
}

// each calls fn for every group and tag of the plan that was desired.
func each(d *Desired, p *Plan, fn func(removals)) {
	groups := make(map[string]*DesiredGroup, len(d.Groups))
	for i := range d.Groups {
		groups[strings.ToLower(d.Groups[i].Name)] = &d.Groups[i]
	}
	for i := range p.Groups {
		g := &p.Groups[i]
		if dg := groups[strings.ToLower(g.Name)]; dg != nil {
			fn(removals{mode: dg.Mode, unknown: dg.Unknown, emptyHold: dg.EmptyHold, userKey: LedgerKey(LedgerGroup, g.ID),
				base: len(idset.Real(g.Current)), users: &g.Remove, heldUsers: &g.Held, reason: &g.HeldReason,
				approvedUsers: g.Approved != ""})
		}
	}
	tags := make(map[string]*DesiredTag, len(d.Tags))
	for i := range d.Tags {
		tags[strings.ToLower(d.Tags[i].Tag)] = &d.Tags[i]
	}
	for i := range p.Tags {
		t := &p.Tags[i]
		if dt := tags[strings.ToLower(t.Tag)]; dt != nil {
			fn(removals{mode: dt.Mode, unknown: dt.Unknown, emptyHold: dt.EmptyHold,
				userKey: LedgerKey(LedgerSMEUsers, t.ID), groupKey: LedgerKey(LedgerSMEGroups, t.ID),
				base: len(idset.Real(t.CurrentUsers)) + len(t.CurrentGroups), users: &t.RemoveUsers, groups: &t.RemoveGroups,
				heldUsers: &t.HeldUsers, heldGroups: &t.HeldGroups, reason: &t.HeldReason,
				approvedUsers: t.ApprovedUsers != "", approvedGroups: t.ApprovedGroups != ""})
		}
	}
}

// Membership applies the membership modes: add-only removes no one,
// managed only what syncd added (owned, by LedgerKey), exact whoever is
// not desired. A mode this version does not know removes no one.
func Membership(owned map[string][]int) Policy {
	return func(d *Desired, p *Plan) {
		each(d, p, func(r removals) {
			switch r.mode {
			case ModeExact, "":
			case ModeManaged:
				*r.users = idset.Intersect(*r.users, idset.Sort(slices.Clone(owned[r.userKey])))
				if r.groups != nil {
					*r.groups = ownedRefs(*r.groups, owned[r.groupKey])
				}
			default:
				r.drop()
			}
		})
	}
}

func ownedRefs(refs []GroupRef, owned []int) []GroupRef {
	var out []GroupRef
	for _, r := range refs {
		if slices.Contains(owned, r.ID) {
			out = append(out, r)
		}
	}
	return out
}

// UnknownMembers is rule 1 (and 6): whoever is not known to be out may be
// in, so a group with unknown members gets no removal. The run reports
// the unknown members as errors and exits 1.
func UnknownMembers(d *Desired, p *Plan) {
	each(d, p, func(r removals) {
		if r.unknown != nil {
			r.drop()
		}
	})
}

// EmptiedGroups is rule 2: a directory group that had members at the last
// successful run and has none now is more likely a mistake than a
// departure, so its removals are held.
func EmptiedGroups(d *Desired, p *Plan) {
	each(d, p, func(r removals) {
		if r.emptyHold != "" && r.holdable() > 0 {
			r.hold(r.emptyHold)
		}
	})
}

// PercentBudget is rule 3 for one group or SME list: removing more than
// maxPercent of its members holds its removals, once more than floor of
// them would go. The floor is what keeps the rule for accidents: on a list
// of one to three people any change is a large share (replacing a tag's
// one stale SME by five real ones removes "100%"), and the rule would hold
// the routine while max_removals and rule 2 still count every removal.
func PercentBudget(maxPercent float64, floor int) Policy {
	return func(d *Desired, p *Plan) {
		each(d, p, func(r removals) {
			if n := r.count(); n > floor && r.holdable() > 0 && overPercent(n, r.base, maxPercent) {
				pct := 100 * float64(n) / float64(r.base)
				r.hold(fmt.Sprintf("removing %d of %d (%.0f%%) exceeds max_removal_percent %g", n, r.base, pct, maxPercent))
			}
		})
	}
}

func overPercent(n, base int, maxPercent float64) bool {
	if maxPercent < 0 || n == 0 {
		return false
	}
	if base == 0 {
		return true
	}
	return 100*float64(n) > maxPercent*float64(base)
}

// RunBudget is rule 3 for the run: when its removals together exceed
// maxRemovals, every one is held. A budget is all or nothing, so that a
// run never removes an arbitrary first part of a mass removal.
func RunBudget(maxRemovals int) Policy {
	return func(d *Desired, p *Plan) {
		if maxRemovals < 0 {
			return
		}
		total := 0
		each(d, p, func(r removals) { total += r.count() })
		if total <= maxRemovals {
			return
		}
		reason := fmt.Sprintf("%s max_removals %d", plural.Of(total, "removal in this run exceeds", "removals in this run exceed"), maxRemovals)
		each(d, p, func(r removals) {
			if r.holdable() > 0 {
				r.hold(reason)
			}
		})
	}
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
