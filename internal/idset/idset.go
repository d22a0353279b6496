// Package idset is set arithmetic on sorted lists of Teams ids, the form in
// which the planner and the applier handle members: sorted, without
// repeats, each operation one pass over its inputs.
package idset

import (
	"fmt"
	"slices"
	"strings"
)

// Real drops the Community user and other ids <= 1 from a sorted list:
// syncd never touches them.
func Real(ids []int) []int {
	i, _ := slices.BinarySearch(ids, 2)
	return ids[i:]
}

// Minus returns the ids of a not in b (both sorted).
func Minus(a, b []int) []int { return filter(a, b, false) }

// Intersect returns the ids in both a and b (both sorted).
func Intersect(a, b []int) []int { return filter(a, b, true) }

// filter keeps the ids of a that are in b (in) or not in b (!in).
func filter(a, b []int, in bool) []int {
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

// Union returns the sorted unique ids of a and b, leaving both untouched.
func Union(a, b []int) []int {
	return Sort(append(append(make([]int, 0, len(a)+len(b)), a...), b...)) // one allocation
}

// Sort sorts ids in place and drops repeats.
func Sort(ids []int) []int {
	slices.Sort(ids)
	return slices.Compact(ids)
}

// Join writes ids as "1, 2, 3".
func Join(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ", ")
}
