package plural

import "testing"

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		noun string
		want string
	}{
		{1, "group", "1 group"},
		{0, "group", "0 groups"},
		{2, "user group", "2 user groups"},
		{1, "entry", "1 entry"},
		{3, "entry", "3 entries"},
		{2, "day", "2 days"},
		{2, "address", "2 addresses"},
		{2, "match", "2 matches"},
		{2, "box", "2 boxes"},
		{2, "API call", "2 API calls"},
		{12, "removal", "12 removals"},
		{1, "removal", "1 removal"},
		{-1, "change", "-1 changes"},
	} {
		if got := Count(c.n, c.noun); got != c.want {
			t.Errorf("Count(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
}

func TestOf(t *testing.T) {
	if got := Of(1, "person", "people"); got != "1 person" {
		t.Errorf("Of(1) = %q", got)
	}
	if got := Of(4, "person pending", "people pending"); got != "4 people pending" {
		t.Errorf("Of(4) = %q", got)
	}
	if got := Of(0, "person", "people"); got != "0 people" {
		t.Errorf("Of(0) = %q", got)
	}
}
