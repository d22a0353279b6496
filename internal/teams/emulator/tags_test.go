package emulator_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/syncd/syncd/internal/teams/emulator"
)

func TestTagList(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	var p page[tag]
	e.do("GET", "/api/v3/tags?partialName=GO", "reader-token", "").want(t, 200).decode(t, &p)
	if p.TotalCount != 2 || p.Items[0].Name != "go" || p.Items[1].Name != "golang-tools" {
		t.Errorf("partialName=GO: %+v", p.Items)
	}
	e.do("GET", "/api/v3/tags?hasSmes=true", "reader-token", "").want(t, 200).decode(t, &p)
	if p.TotalCount != 2 || p.Items[0].Name != "golang-tools" || p.Items[1].Name != "kubernetes" {
		t.Errorf("hasSmes=true: %+v", p.Items)
	}
	e.do("GET", "/api/v3/tags?hassmes=FALSE", "reader-token", "").want(t, 200).decode(t, &p)
	if p.TotalCount != 1 || p.Items[0].Name != "go" {
		t.Errorf("hasSmes=false: %+v", p.Items)
	}
	e.do("GET", "/api/v3/tags?hasSynonyms=true", "reader-token", "").want(t, 200).decode(t, &p)
	if p.TotalCount != 0 {
		t.Errorf("hasSynonyms=true: %+v", p.Items)
	}
	e.do("GET", "/api/v3/tags?sort=creationDate&order=desc", "reader-token", "").want(t, 200).decode(t, &p)
	if p.Items[0].ID != 3 {
		t.Errorf("creationDate desc: %+v", p.Items)
	}
}

func TestTagSMECount(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	var tg tag
	e.do("GET", "/api/v3/tags/1", "reader-token", "").want(t, 200).decode(t, &tg)
	// Users 4 and 3, plus group 3 = {4, 6}: three people (4 counted once).
	if tg.SubjectMatterExpertCount == nil || *tg.SubjectMatterExpertCount != 3 {
		t.Errorf("kubernetes SME count %v, want 3", tg.SubjectMatterExpertCount)
	}
	if tg.SubjectMatterExperts == nil || !slices.Equal(summaryIDs(tg.SubjectMatterExperts.Users), []int{4, 3}) ||
		len(tg.SubjectMatterExperts.UserGroups) != 1 || !slices.Equal(memberIDs(tg.SubjectMatterExperts.UserGroups[0]), []int{4, 6}) {
		t.Errorf("kubernetes SMEs: %+v", tg.SubjectMatterExperts)
	}
	e.do("GET", "/api/v3/tags/2", "reader-token", "").want(t, 200).decode(t, &tg)
	if tg.SubjectMatterExpertCount == nil || *tg.SubjectMatterExpertCount != 0 {
		t.Errorf("go SME count %v, want 0 (an integer, not null)", tg.SubjectMatterExpertCount)
	}
	e.do("GET", "/api/v3/tags/42", "reader-token", "").want(t, 404).problem(t)

	e.emu.SetSMEEnabled(false)
	var p page[tag]
	e.do("GET", "/api/v3/tags", "reader-token", "").want(t, 200).decode(t, &p)
	for _, it := range p.Items {
		if it.SubjectMatterExpertCount != nil {
			t.Errorf("SMEs off: tag %s count %d, want null", it.Name, *it.SubjectMatterExpertCount)
		}
	}
}

func TestSMEOperations(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	var s smes
	e.do("GET", "/api/v3/tags/1/subject-matter-experts", "reader-token", "").want(t, 200).decode(t, &s)
	if !slices.Equal(summaryIDs(s.Users), []int{4, 3}) || len(s.UserGroups) != 1 {
		t.Errorf("GET SMEs: %+v", s)
	}
	e.do("PUT", "/api/v3/tags/1/subject-matter-experts", "admin-token", `{"userIds":[2]}`).want(t, 200).decode(t, &s)
	if !slices.Equal(summaryIDs(s.Users), []int{2}) || len(s.UserGroups) != 0 {
		t.Errorf("PUT replaces both lists: %+v", s)
	}
	e.do("POST", "/api/v3/tags/1/subject-matter-experts/users", "admin-token", `[5, "2"]`).want(t, 200).decode(t, &s)
	if !slices.Equal(summaryIDs(s.Users), []int{2, 5}) {
		t.Errorf("POST users: %v", summaryIDs(s.Users))
	}
	e.do("POST", "/api/v3/tags/1/subject-matter-experts/user-groups", "admin-token", `[1, 1]`).want(t, 200).decode(t, &s)
	if len(s.UserGroups) != 1 || s.UserGroups[0].ID != 1 {
		t.Errorf("POST groups: %+v", s.UserGroups)
	}
	before := e.emu.Snapshot()
	e.do("POST", "/api/v3/tags/1/subject-matter-experts/users", "admin-token", `[999]`).want(t, 404).problem(t)
	e.do("POST", "/api/v3/tags/1/subject-matter-experts/user-groups", "admin-token", `[999]`).want(t, 404).problem(t)
	e.do("PUT", "/api/v3/tags/1/subject-matter-experts", "admin-token", `{"userIds":[2],"userGroupIds":[999]}`).want(t, 404).problem(t)
	e.do("POST", "/api/v3/tags/99/subject-matter-experts/users", "admin-token", `[2]`).want(t, 404).problem(t)
	if !reflect.DeepEqual(before, e.emu.Snapshot()) {
		t.Error("a failed SME change changed the state")
	}
	if r := e.do("DELETE", "/api/v3/tags/1/subject-matter-experts/users/5", "admin-token", "").want(t, 204); len(r.body) != 0 {
		t.Errorf("204 with body %s", r.body)
	}
	e.do("DELETE", "/api/v3/tags/1/subject-matter-experts/user-groups/1", "admin-token", "").want(t, 204)
	users, groups := e.emu.TagSMEs("Kubernetes")
	if !slices.Equal(users, []int{2}) || len(groups) != 0 {
		t.Errorf("after deletes: users %v groups %v", users, groups)
	}
	// Removing someone who is not an SME is a no-op (no 404 in the spec).
	e.do("DELETE", "/api/v3/tags/1/subject-matter-experts/users/5", "admin-token", "").want(t, 204)
}

func TestSMEDisabled(t *testing.T) {
	seed := mustSeed(t)
	seed.SMEEnabled = false
	e := newEnv(t, seed, emulator.Options{})
	calls := []struct{ method, path, body string }{
		{"GET", "/api/v3/tags/1/subject-matter-experts", ""},
		{"PUT", "/api/v3/tags/1/subject-matter-experts", `{"userIds":[2]}`},
		{"POST", "/api/v3/tags/1/subject-matter-experts/users", `[2]`},
		{"POST", "/api/v3/tags/1/subject-matter-experts/user-groups", `[1]`},
		{"DELETE", "/api/v3/tags/1/subject-matter-experts/users/4", ""},
		{"DELETE", "/api/v3/tags/1/subject-matter-experts/user-groups/3", ""},
	}
	for _, c := range calls {
		e.do(c.method, c.path, "admin-token", c.body).want(t, 422).problem(t)
	}
	var tg tag
	e.do("GET", "/api/v3/tags/1", "admin-token", "").want(t, 200).decode(t, &tg)
	if tg.SubjectMatterExpertCount != nil {
		t.Errorf("count %d with SMEs off, want null", *tg.SubjectMatterExpertCount)
	}
	if users, _ := e.emu.TagSMEs("kubernetes"); !slices.Equal(users, []int{4, 3}) {
		t.Errorf("SMEs changed while the feature was off: %v", users)
	}
	e.emu.SetSMEEnabled(true)
	e.do("GET", "/api/v3/tags/1/subject-matter-experts", "admin-token", "").want(t, 200)
}
