package sync

import (
	"fmt"
	"slices"

	"github.com/syncd/syncd/internal/plural"
)

// The safety rules of DESIGN.md §8 as small functions over planned removals.

// holdRemovals applies the per-group rules to one group's (or SME list's)
// removals and returns what may go ahead, what is held, and why.
//   - unknown directory group (rule 1): the removals are dropped entirely;
//     the caller reports the group as an error and the run exits 1.
//   - emptied directory group (rule 2): held.
//   - more than maxPercent of base members (rule 3): held.
func holdRemovals(remove []int, unknown, emptyHold string, base int, maxPercent float64) (kept, held []int, reason string) {
	switch {
	case len(remove) == 0:
		return nil, nil, ""
	case unknown != "":
		return nil, nil, ""
	case emptyHold != "":
		return nil, remove, emptyHold
	case overPercent(len(remove), base, maxPercent):
		pct := 100 * float64(len(remove)) / float64(base)
		return nil, remove, fmt.Sprintf("removing %d of %d (%.0f%%) exceeds max_removal_percent %g", len(remove), base, pct, maxPercent)
	}
	return remove, nil, ""
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

// applyRunBudget holds every removal of the run when together they exceed
// maxRemovals (rule 3): a budget is all or nothing, so that a run never
// removes an arbitrary first part of a mass removal.
func applyRunBudget(p *Plan, maxRemovals int) {
	if maxRemovals < 0 {
		return
	}
	total := 0
	for i := range p.Groups {
		total += len(p.Groups[i].Remove)
	}
	for i := range p.Tags {
		total += len(p.Tags[i].RemoveUsers) + len(p.Tags[i].RemoveGroups)
	}
	if total <= maxRemovals {
		return
	}
	reason := fmt.Sprintf("%s max_removals %d", plural.Of(total, "removal in this run exceeds", "removals in this run exceed"), maxRemovals)
	for i := range p.Groups {
		g := &p.Groups[i]
		if len(g.Remove) > 0 {
			g.Held, g.Remove = sortUnique(append(g.Held, g.Remove...)), nil
			g.HeldReason = joinReason(g.HeldReason, reason)
		}
	}
	for i := range p.Tags {
		t := &p.Tags[i]
		if len(t.RemoveUsers)+len(t.RemoveGroups) > 0 {
			t.HeldUsers, t.RemoveUsers = sortUnique(append(t.HeldUsers, t.RemoveUsers...)), nil
			t.HeldGroups, t.RemoveGroups = append(t.HeldGroups, t.RemoveGroups...), nil
			t.HeldReason = joinReason(t.HeldReason, reason)
		}
	}
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// realUsers drops the Community user and other ids <= 1: never touched.
func realUsers(ids []int) []int {
	i, _ := slices.BinarySearch(ids, 2)
	return ids[i:]
}

// minus returns the sorted ids of a not in b (both sorted).
func minus(a, b []int) []int { return filterSorted(a, b, false) }

// intersect returns the sorted ids in both a and b (both sorted).
func intersect(a, b []int) []int { return filterSorted(a, b, true) }

// filterSorted keeps the ids of a that are in b (in) or not in b (!in), in
// one pass over both sorted lists.
func filterSorted(a, b []int, in bool) []int {
	var out []int
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if (j < len(b) && b[j] == x) == in {
			out = append(out, x)
		}
	}
	return out
}

// union returns the sorted unique ids of a and b (both sorted).
func union(a, b []int) []int {
	return sortUnique(append(slices.Clone(a), b...))
}

// sortUnique sorts ids in place and drops duplicates.
func sortUnique(ids []int) []int {
	slices.Sort(ids)
	return slices.Compact(ids)
}
