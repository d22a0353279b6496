package scimserver

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/state"
	engine "github.com/syncd/syncd/internal/sync"
	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// TestSyncFromReceiver: an identity provider pushes users and groups, the
// engine syncs the receiver's stored directory into the Teams emulator,
// the provider changes memberships, and the next sync follows.
func TestSyncFromReceiver(t *testing.T) {
	rc := newReceiver(t)
	ids := map[string]string{}
	for _, n := range []string{"ann", "bob", "cat", "dan"} {
		r := rc.must(201, "POST", "/Users", fmt.Sprintf(`{"schemas": [%q], "userName": "%s@corp.example", "active": true,
			"emails": [{"type": "work", "primary": true, "value": "%s@Example.com"}], "displayName": %q}`, userSchema, n, n, n))
		ids[n] = str(r.body, "id")
	}
	ops := str(rc.must(201, "POST", "/Groups", fmt.Sprintf(`{"displayName": "Ops", "members": [{"value": %q}]}`, ids["cat"])).body, "id")
	eng := str(rc.must(201, "POST", "/Groups", fmt.Sprintf(`{"displayName": "Engineering", "members": [{"value": %q}, {"value": %q}, {"value": %q, "type": "Group"}]}`,
		ids["ann"], ids["bob"], ops)).body, "id")

	tr := newTeamsRig(t, rc, []emulator.SeedUser{
		{ID: 11, Name: "Ann", Email: "ann@example.com"},
		{ID: 12, Name: "Bob", Email: "BOB@example.com"},
		{ID: 13, Name: "Cat", Email: "cat@example.com"},
		{ID: 14, Name: "Dan", Email: "dan@example.com"},
	}, config.Mapping{Source: "entra", From: "Engineering", To: "Engineering"})
	run := tr.sync
	teamsMembers := func() []int { return tr.members("Engineering") }
	run()
	if got := teamsMembers(); !slices.Equal(got, []int{11, 12, 13}) {
		t.Fatalf("after the first sync: Teams members %v, want ann, bob and cat (nested Ops)", got)
	}

	// Entra ID removes bob, adds dan, and disables cat.
	rc.must(204, "PATCH", "/Groups/"+eng, fmt.Sprintf(`{"Operations": [
		{"op": "Remove", "path": "members[value eq \"%s\"]"},
		{"op": "Add", "path": "members", "value": [{"value": %q}]}]}`, ids["bob"], ids["dan"]))
	rc.must(200, "PATCH", "/Users/"+ids["cat"], `{"Operations": [{"op": "Replace", "path": "active", "value": "False"}]}`)
	run()
	if got := teamsMembers(); !slices.Equal(got, []int{11, 14}) {
		t.Fatalf("after the second sync: Teams members %v, want ann and dan", got)
	}
}

// teamsRig is a Teams emulator and the engine syncing a receiver's stored
// directory into it, as `syncd sync --apply` does.
type teamsRig struct {
	t      *testing.T
	emu    *emulator.Emulator
	client *teams.Client
	src    *Source
	cfg    *config.Config
	store  *state.Store
}

func newTeamsRig(t *testing.T, rc *receiver, users []emulator.SeedUser, mappings ...config.Mapping) *teamsRig {
	t.Helper()
	seed := &emulator.Seed{
		Tokens: []emulator.SeedToken{{Token: "tok", Admin: true, Write: true}},
		Users:  append([]emulator.SeedUser{{ID: 1, Name: "Community"}}, users...),
	}
	emu, srv := teamstest.NewServer(t, seed, emulator.Options{NoThrottle: true})
	client, err := teams.New(teams.Options{BaseURL: srv.URL + "/api/v3", Token: "tok", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewSource("entra", rc.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Sources: []config.Source{{Name: "entra", SCIMReceiver: &config.SCIMReceiver{Token: testToken}}},
		Groups:  mappings,
		Sync:    config.Sync{Membership: "exact", MaxRemovals: 100, MaxRemovalPercent: 100},
	}
	return &teamsRig{t: t, emu: emu, client: client, src: src, cfg: cfg, store: state.Memory()}
}

// sync runs one applying sync, which must succeed.
func (r *teamsRig) sync() *engine.Result {
	r.t.Helper()
	e, err := engine.New(engine.Options{Config: r.cfg, Sources: []engine.Source{r.src}, Reader: r.client, Writer: r.client, Store: r.store, Logger: zap.NewNop()})
	if err != nil {
		r.t.Fatal(err)
	}
	res, err := e.RunOnce(context.Background())
	if err != nil || res.ExitCode != 0 {
		r.t.Fatalf("sync: exit %d, %v, errors %v", res.ExitCode, err, res.Report.Errors)
	}
	return res
}

// members are the Teams user ids of the group, sorted.
func (r *teamsRig) members(group string) []int {
	r.t.Helper()
	g, ok := r.emu.GroupByName(group)
	if !ok {
		r.t.Fatalf("no %s group in Teams", group)
	}
	m := slices.Clone(g.UserIDs)
	slices.Sort(m)
	return m
}
