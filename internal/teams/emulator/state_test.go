package emulator_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/teams/emulator"
)

func TestSnapshotAndSaveStateRoundTrip(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	e.do("POST", "/api/v3/user-groups", "admin-token", `{"name":"Saved","userIds":[3]}`).want(t, 201)
	e.do("PUT", "/api/v3/tags/2/subject-matter-experts", "admin-token", `{"userGroupIds":[1]}`).want(t, 200)
	path := filepath.Join(t.TempDir(), "state.json")
	if err := e.emu.SaveState(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600 (it holds tokens)", fi.Mode().Perm())
	}
	loaded, err := emulator.LoadSeed(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(loaded, e.emu.Snapshot()) {
		t.Errorf("reloaded state differs:\n%+v\n%+v", loaded, e.emu.Snapshot())
	}
	again, err := emulator.New(loaded, emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := again.GroupByName("saved"); !ok || !slices.Equal(g.UserIDs, []int{3}) {
		t.Errorf("group after reload: %+v %v", g, ok)
	}
	if _, groups := again.TagSMEs("go"); !slices.Equal(groups, []int{1}) {
		t.Errorf("SMEs after reload: %v", groups)
	}
	// The next created group does not reuse an id.
	e2 := newEnv(t, loaded, emulator.Options{})
	var g group
	e2.do("POST", "/api/v3/user-groups", "admin-token", `{"name":"Next"}`).want(t, 201).decode(t, &g)
	if g.ID != 5 {
		t.Errorf("next id %d, want 5", g.ID)
	}
}

func TestSnapshotIsACopy(t *testing.T) {
	seed := mustSeed(t)
	emu, err := emulator.New(seed, emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seed.UserGroups[0].UserIDs[0] = 99 // the emulator holds its own copy
	s := emu.Snapshot()
	s.UserGroups[0].UserIDs[0] = 98
	if g, _ := emu.GroupByName("Platform"); !slices.Equal(g.UserIDs, []int{2, 4, 5}) {
		t.Errorf("state shared with seed or snapshot: %v", g.UserIDs)
	}
	if s.Users[1].Role != "Registered" {
		t.Errorf("role default: %q", s.Users[1].Role)
	}
}

func TestHelpers(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	e.emu.AddUser(emulator.SeedUser{ID: 40, Name: "New Hire", Email: "new.hire@example.com"})
	var u user
	e.do("GET", "/api/v3/users/by-email/NEW.HIRE@example.com", "admin-token", "").want(t, 200).decode(t, &u)
	if u.ID != 40 || u.Role != "Registered" {
		t.Errorf("added user: %+v", u)
	}
	e.emu.SetGroupMembers(1, []int{40, 2, 40})
	var g group
	e.do("GET", "/api/v3/user-groups/1", "admin-token", "").want(t, 200).decode(t, &g)
	if !slices.Equal(memberIDs(g), []int{40, 2}) {
		t.Errorf("members set by hand: %v", memberIDs(g))
	}
	if _, ok := e.emu.GroupByName("nope"); ok {
		t.Error("GroupByName found a missing group")
	}
	if u, g := e.emu.TagSMEs("nope"); u != nil || g != nil {
		t.Error("TagSMEs of a missing tag")
	}
}

func TestLoadSeedErrors(t *testing.T) {
	cases := map[string]struct{ body, want string }{
		"syntax":        {"{\n  \"users\": [\n    {\"id\": 2,}\n  ]\n}", "line 3"},
		"unknown field": {`{"userz": []}`, "userz"},
		"type":          {`{"users": [{"id": "two"}]}`, "line 1"},
		"dup user":      {`{"users": [{"id": 2, "name": "a"}, {"id": 2, "name": "b"}]}`, "duplicate user id 2"},
		"dup group":     {`{"userGroups": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]}`, "duplicate user group id 1"},
		"dup tag":       {`{"tags": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]}`, "duplicate tag id 1"},
		"dup token":     {`{"tokens": [{"token": "t"}, {"token": "t"}]}`, "duplicate token"},
		"member":        {`{"userGroups": [{"id": 1, "name": "a", "userIds": [7]}]}`, "no user 7"},
		"sme user":      {`{"tags": [{"id": 1, "name": "a", "smeUserIds": [7]}]}`, "no user 7"},
		"sme group":     {`{"tags": [{"id": 1, "name": "a", "smeGroupIds": [7]}]}`, "no user group 7"},
		"id zero":       {`{"users": [{"id": 0, "name": "a"}]}`, "must be >= 1"},
		"token user":    {`{"tokens": [{"token": "t", "userId": 5}]}`, "userId 5"},
		"group name":    {`{"userGroups": [{"id": 1, "name": ""}]}`, "empty name"},
		"trailing":      {`{} {}`, "trailing"},
		"sme team": {`{"userGroups": [{"id": 1, "team": "acme", "name": "a"}], "tags": [{"id": 1, "name": "t", "smeGroupIds": [1]}]}`,
			`user group 1 is in team "acme", the tag in team ""`},
	}
	dir := t.TempDir()
	for name, c := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		if err := os.WriteFile(path, []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := emulator.LoadSeed(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming the file and %q", name, err, c.want)
		}
	}
	if _, err := emulator.LoadSeed(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
	if _, err := emulator.New(nil, emulator.Options{}); err == nil {
		t.Error("nil seed accepted")
	}
}

// sampleSeed is the seed of the format's documentation, verbatim: the
// smallest seed there is (one token, user, group and tag).
const sampleSeed = `{"smeEnabled":true,"tokens":[{"token":"t1","admin":true,"write":true,"team":"acme"}],` +
	`"users":[{"id":2,"name":"Alice","email":"alice@example.com","externalId":null,"role":"Registered","reputation":1}],` +
	`"userGroups":[{"id":1,"team":"acme","name":"Platform","description":"","userIds":[2]}],` +
	`"tags":[{"id":1,"team":"acme","name":"kubernetes","smeUserIds":[],"smeGroupIds":[]}]}`

func TestSampleSeedLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(path, []byte(sampleSeed), 0o600); err != nil {
		t.Fatal(err)
	}
	seed, err := emulator.LoadSeed(path)
	if err != nil {
		t.Fatal(err)
	}
	tok := seed.Tokens[0]
	if !seed.SMEEnabled || tok.Token != "t1" || !tok.Admin || !tok.Write || tok.Team != "acme" ||
		seed.Users[0].ExternalID != nil || seed.Users[0].Role != "Registered" || !slices.Equal(seed.UserGroups[0].UserIDs, []int{2}) ||
		seed.Tags[0].Name != "kubernetes" {
		t.Errorf("seed read as %+v", seed)
	}
	e := newEnv(t, seed, emulator.Options{})
	var me user
	e.do("GET", "/v3/teams/acme/users/me", "t1", "").want(t, 200).decode(t, &me)
	if me.ID != 2 || me.Email == nil || *me.Email != "alice@example.com" {
		t.Errorf("me: %+v", me)
	}
	var g group
	e.do("GET", "/api/v3/teams/acme/user-groups/1", "t1", "").want(t, 200).decode(t, &g)
	if g.Name != "Platform" || !slices.Equal(memberIDs(g), []int{2}) {
		t.Errorf("group: %+v", g)
	}
	e.do("GET", "/api/v3/users/me", "t1", "").want(t, 401) // an acme token, not the main site's
}
