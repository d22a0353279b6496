package idset

import (
	"slices"
	"testing"
)

func TestSetArithmetic(t *testing.T) {
	a, b := []int{1, 2, 4, 6, 9}, []int{2, 3, 6, 10}
	for _, c := range []struct {
		name      string
		got, want []int
	}{
		{"Minus", Minus(a, b), []int{1, 4, 9}},
		{"Intersect", Intersect(a, b), []int{2, 6}},
		{"Union", Union(a, b), []int{1, 2, 3, 4, 6, 9, 10}},
		{"Real", Real(a), []int{2, 4, 6, 9}},
		{"Real of none", Real([]int{0, 1}), []int{}},
		{"Sort", Sort([]int{5, 1, 5, 3, 1}), []int{1, 3, 5}},
		{"Minus nothing", Minus(nil, b), nil},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !slices.Equal(a, []int{1, 2, 4, 6, 9}) {
		t.Errorf("an input changed: %v", a)
	}
	if got := Join([]int{7, 8}); got != "7, 8" {
		t.Errorf("Join = %q", got)
	}
}
