package emulator_test

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"testing"

	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest/spectest"
)

// specFields returns each schema's property names from openapi.json.
func specFields(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(spectest.SpecPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for name, s := range doc.Components.Schemas {
		out[name] = slices.Sorted(maps.Keys(s.Properties))
	}
	return out
}

// TestResponsesCarryEverySpecField: the validator refuses fields the spec
// does not have; this checks the other way, that every answer carries
// every property of its schema (the spec marks none required, but clients
// read them all), envelope and ProblemDetails included.
func TestResponsesCarryEverySpecField(t *testing.T) {
	want := specFields(t)
	e := newEnv(t, nil, emulator.Options{})
	get := func(path string, status int) map[string]any {
		var v map[string]any
		e.do("GET", path, "admin-token", "").want(t, status).decode(t, &v)
		return v
	}
	first := func(v any) map[string]any { return v.([]any)[0].(map[string]any) }
	users := get("/api/v3/users", 200)
	groups := get("/api/v3/user-groups", 200)
	tags := get("/api/v3/tags", 200)
	tag := get("/api/v3/tags/1", 200)
	checks := []struct {
		schema string
		obj    map[string]any
	}{
		{"PaginatedUsers", users},
		{"UserResponseModel", first(users["items"])},
		{"UserDetailsResponseModel", get("/api/v3/users/3", 200)},
		{"UserDetailsResponseModel", get("/api/v3/users/me", 200)},
		{"PaginatedUserGroups", groups},
		{"UserGroupResponseModel", first(groups["items"])},
		{"UserSummaryResponseModel", first(get("/api/v3/user-groups/1", 200)["users"])},
		{"PaginatedTags", tags},
		{"TagSummaryResponseModel", first(tags["items"])},
		{"TagResponseModel", tag},
		{"SubjectMatterExpertResponseModel", tag["subjectMatterExperts"].(map[string]any)},
		{"SubjectMatterExpertResponseModel", get("/api/v3/tags/1/subject-matter-experts", 200)},
		{"ProblemDetails", get("/api/v3/users/999", 404)},
		{"ProblemDetails", get("/api/v3/users?pageSize=7", 400)},
	}
	for _, c := range checks {
		got := slices.Sorted(maps.Keys(c.obj))
		if len(want[c.schema]) == 0 || !slices.Equal(got, want[c.schema]) {
			t.Errorf("%s: fields %v, spec %v", c.schema, got, want[c.schema])
		}
	}
	var byExt []map[string]any
	e.do("GET", "/api/v3/users/by-external-id/ext-bob", "admin-token", "").want(t, 200).decode(t, &byExt)
	if got := slices.Sorted(maps.Keys(byExt[0])); !slices.Equal(got, want["UserResponseModel"]) {
		t.Errorf("by-external-id item: fields %v, spec %v", got, want["UserResponseModel"])
	}
}
