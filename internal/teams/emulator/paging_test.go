package emulator_test

import (
	"strconv"
	"testing"

	"github.com/syncd/syncd/internal/teams/emulator"
)

func TestPagingValidation(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	bad := []string{
		"/api/v3/users?pageSize=7", "/api/v3/users?pageSize=0", "/api/v3/users?pageSize=200",
		"/api/v3/users?pagesize=abc", "/api/v3/users?page=0", "/api/v3/users?page=-1",
		"/api/v3/users?page=x", "/api/v3/users?sort=name", "/api/v3/users?order=up",
		"/api/v3/user-groups?sort=reputation", "/api/v3/tags?sort=size", "/api/v3/tags?hasSmes=maybe",
		"/api/v3/user-groups?PAGESIZE=16",
	}
	for _, p := range bad {
		r := e.do("GET", p, "admin-token", "")
		if r.status != 400 {
			t.Errorf("GET %s: %d, want 400", p, r.status)
			continue
		}
		r.problem(t)
	}
	for _, size := range []int{15, 30, 50, 100} {
		var p page[group]
		e.do("GET", "/api/v3/user-groups?pageSize="+strconv.Itoa(size), "admin-token", "").want(t, 200).decode(t, &p)
		if p.PageSize != size {
			t.Errorf("pageSize %d echoed as %d", size, p.PageSize)
		}
	}
	// With a name given twice in two spellings, the first counts, always.
	for range 20 {
		var p page[group]
		e.do("GET", "/api/v3/user-groups?pageSize=30&PAGESIZE=15", "admin-token", "").want(t, 200).decode(t, &p)
		if p.PageSize != 30 {
			t.Fatalf("pageSize=30&PAGESIZE=15 gave pageSize %d, want the first (30)", p.PageSize)
		}
	}
	// Enum values bind case-insensitively and are echoed canonically.
	var p page[tag]
	e.do("GET", "/api/v3/tags?Sort=POSTCOUNT&ORDER=Desc", "admin-token", "").want(t, 200).decode(t, &p)
	if p.Sort != "postCount" || p.Order != "desc" || p.Items[0].Name != "go" {
		t.Errorf("tags by postCount desc: %+v", p)
	}
}

func TestEmptyCollectionTotalPages(t *testing.T) {
	for _, c := range []struct{ opt, want int }{{0, 1}, {1, 1}, {-1, 0}} {
		e := newEnv(t, nil, emulator.Options{EmptyTotalPages: c.opt})
		var p page[tag]
		e.do("GET", "/api/v3/tags?partialName=nothing-matches", "admin-token", "").want(t, 200).decode(t, &p)
		if p.TotalCount != 0 || p.TotalPages != c.want || p.Items == nil || len(p.Items) != 0 {
			t.Errorf("EmptyTotalPages %d: %+v, want totalPages %d and items []", c.opt, p, c.want)
		}
	}
}

func TestEmptyTotalPagesOption(t *testing.T) {
	for _, bad := range []int{-2, 2} {
		if _, err := emulator.New(mustSeed(t), emulator.Options{EmptyTotalPages: bad}); err == nil {
			t.Errorf("EmptyTotalPages %d accepted", bad)
		}
	}
}
