package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// Random pushes into syncd's SCIM receiver, in the request forms Entra ID
// and Okta send, at random moments (some while a triggered run plans or writes,
// some just before syncd is stopped and started again without a run at
// start): each round ends with Teams holding what was pushed, by the runs
// the pushes trigger alone (the schedule is hourly). Meanwhile Teams never
// holds anyone who was not a member during the round, nor lacks anyone who
// was a member throughout it.
//
// SYNCD_SCIM_SEED=S replays the pushes of one seed; SYNCD_SCIM_ROUNDS=N
// plays more rounds.
func TestSCIMRandomPushesConverge(t *testing.T) {
	requireBinary(t)
	seed, rounds := seedAndRounds(t, "SYNCD_SCIM_SEED", "SYNCD_SCIM_ROUNDS")
	r := rand.New(rand.NewPCG(seed, seed))

	emu, hs := teamstest.NewServer(t, watchSeed(), emulator.Options{})
	dir := t.TempDir()
	listen := freeAddr(t)
	path := filepath.Join(dir, "config.yaml")
	cfg := `teams:
  url: ` + hs.URL + `/v3/teams/` + team + `
  token: ${SYNCD_E2E_TOKEN}
sources:
  - name: entra
    scim_receiver:
      token: scim-receiver-secret
      sync_delay: 300ms
groups:
  - {source: entra, from: Platform Engineers, to: Platform}
  - {source: entra, from: Data Team, to: Data}
sync:
  schedule: "@every 1h"
  run_at_start: false
  max_removal_percent: 100
  state_dir: ` + filepath.Join(dir, "state") + `
server:
  listen: ` + listen + `
`
	must(t, os.WriteFile(path, []byte(cfg), 0o600))
	d := startDaemon(t, path, listen, "--apply")
	p := &pusher{t: t, d: d}

	m := &scimModel{ids: map[string]string{}, mail: map[string]string{}, inactive: map[string]bool{},
		groups: map[string]string{}, members: map[string]map[string]bool{}}
	for _, person := range watchPeople() {
		m.ids[person.UID] = p.createUser(person.Email, person.Name)
		m.mail[person.UID] = person.Email
	}
	for name, uids := range map[string][]string{"Platform Engineers": {"alice", "bob"}, "Data Team": {"carol", "dave"}} {
		m.members[name] = map[string]bool{}
		var refs []map[string]any
		for _, uid := range uids {
			m.members[name][uid] = true
			refs = append(refs, map[string]any{"value": m.ids[uid]})
		}
		m.groups[name] = p.send(http.MethodPost, "/Groups", map[string]any{
			"schemas": []string{groupSchema}, "displayName": name, "members": refs}, http.StatusCreated)["id"].(string)
	}
	d.expect(emu, "the first pushes", m.company())

	for round := range rounds {
		bounds := newBounds(m.company())
		var history []string
		for range 6 + r.IntN(10) {
			e := randomPush(r, m)
			e.do(p)
			m = e.next
			bounds.see(m.company())
			history = append(history, e.what)
			time.Sleep(time.Duration(r.IntN(500)) * time.Millisecond)
			bounds.check(t, emu, history)
			if r.IntN(15) == 0 {
				d = restart(t, d, path, listen)
				p.d = d
				history = append(history, "syncd restarted")
			}
		}
		if r.IntN(3) == 0 {
			// The round's last pushes not yet applied: only what the
			// receiver kept can bring them after the start.
			time.Sleep(time.Duration(r.IntN(400)) * time.Millisecond)
			d = restart(t, d, path, listen)
			p.d = d
			history = append(history, "syncd restarted")
		}
		d.expect(emu, fmt.Sprintf("round %d to reach Teams (pushes: %s)", round, strings.Join(history, "; ")), m.company())
		bounds.check(t, emu, history)
		t.Logf("round %d: %s", round, strings.Join(history, "; "))
	}
}

// restart stops syncd with SIGTERM, perhaps before the pushes' run or
// while it writes, and starts it again (without a run at start: the
// pushes it had not applied must be applied all the same).
func restart(t *testing.T, d *daemon, path, listen string) *daemon {
	t.Helper()
	d.signal(syscall.SIGTERM)
	if code, _ := d.exitWithin(20 * time.Second); code != 0 {
		t.Fatalf("syncd run exited %d after SIGTERM", code)
	}
	return startDaemon(t, path, listen, "--apply")
}

const (
	userSchema  = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group"
	patchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// pusher sends SCIM requests to the daemon's receiver, as Entra ID does.
type pusher struct {
	t *testing.T
	d *daemon
}

func (p *pusher) send(method, path string, body map[string]any, want ...int) map[string]any {
	p.t.Helper()
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, p.d.base+"/scim/entra/v2"+path, bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer scim-receiver-secret")
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if !slices.Contains(want, resp.StatusCode) {
		p.t.Fatalf("%s %s = %d %v, want %v", method, path, resp.StatusCode, out, want)
	}
	return out
}

func (p *pusher) createUser(mail, name string) string {
	return p.send(http.MethodPost, "/Users", userBody(mail, name, true), http.StatusCreated)["id"].(string)
}

// userBody is a whole user, as a POST or a PUT carries it.
func userBody(mail, name string, active bool) map[string]any {
	return map[string]any{
		"schemas": []string{userSchema}, "userName": mail, "displayName": name, "active": active,
		"emails": []map[string]any{{"value": mail, "primary": true, "type": "work"}},
	}
}

func (p *pusher) patch(path string, ops ...map[string]any) {
	p.t.Helper()
	// RFC 7644 §3.5.2: 200 with the resource, or 204.
	p.send(http.MethodPatch, path, map[string]any{"schemas": []string{patchSchema}, "Operations": ops}, http.StatusOK, http.StatusNoContent)
}

// scimModel is what was pushed: each person's SCIM id ("" once deleted),
// address and active flag, and each group's id and members.
type scimModel struct {
	ids      map[string]string
	mail     map[string]string
	inactive map[string]bool
	groups   map[string]string
	members  map[string]map[string]bool
}

func (m *scimModel) clone() *scimModel {
	c := &scimModel{ids: maps.Clone(m.ids), mail: maps.Clone(m.mail), inactive: maps.Clone(m.inactive),
		groups: maps.Clone(m.groups), members: map[string]map[string]bool{}}
	for g, in := range m.members {
		c.members[g] = maps.Clone(in)
	}
	return c
}

var scimTeamsGroup = map[string]string{"Platform Engineers": "Platform", "Data Team": "Data"}

func (m *scimModel) company() company {
	c := company{}
	for g, name := range scimTeamsGroup {
		var ids []int
		for uid := range m.members[g] {
			if !m.inactive[uid] {
				ids = append(ids, m.teamsID(uid))
			}
		}
		c.set(name, ids...)
	}
	return c
}

func (m *scimModel) teamsID(uid string) int {
	if m.mail[uid] == aliceNewMail {
		return aliceNewID
	}
	return id(uid)
}

type push struct {
	what string
	do   func(p *pusher)
	next *scimModel
}

// randomPush draws a push that leaves each group some active member (an
// emptied group is held by the safety rules, not what this test is about).
func randomPush(r *rand.Rand, m *scimModel) push {
	people := []string{"alice", "bob", "carol", "dave", "erin", "frank"}
	groups := []string{"Platform Engineers", "Data Team"}
	for {
		next := m.clone()
		uid, g := people[r.IntN(len(people))], groups[r.IntN(len(groups))]
		uref, gpath := m.ids[uid], "/Groups/"+m.groups[g]
		// Okta's forms where they differ from Entra ID's: lower-case ops,
		// a replace without a path, a user replaced whole with PUT.
		okta := r.IntN(2) == 0
		by := map[bool]string{false: " (Entra ID)", true: " (Okta)"}[okta]
		var e push
		switch k := r.IntN(10); {
		case uref == "": // gone: provisioned again, under a new id
			e = push{what: uid + " provisioned again", do: func(p *pusher) {
				next.ids[uid] = p.createUser(m.mail[uid], uid)
			}}
			next.inactive[uid] = false
		case k < 4:
			if m.members[g][uid] {
				continue
			}
			next.members[g][uid] = true
			op := map[string]any{"op": "Add", "path": "members", "value": []map[string]any{{"value": uref}}}
			if okta {
				op = map[string]any{"op": "add", "path": "members", "value": []map[string]any{{"value": uref, "display": uid}}}
			}
			e = push{what: "add " + uid + " to " + g + by, do: func(p *pusher) { p.patch(gpath, op) }}
		case k < 7:
			if !m.members[g][uid] {
				continue
			}
			delete(next.members[g], uid)
			// Entra ID removes members in either form.
			op := map[string]any{"op": "Remove", "path": "members", "value": []map[string]any{{"value": uref}}}
			switch {
			case okta:
				op = map[string]any{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", uref)}
			case r.IntN(2) == 0:
				op = map[string]any{"op": "Remove", "path": fmt.Sprintf("members[value eq %q]", uref)}
			}
			e = push{what: "remove " + uid + " from " + g + by, do: func(p *pusher) { p.patch(gpath, op) }}
		case k < 8:
			next.inactive[uid] = !m.inactive[uid]
			value := map[bool]string{true: "False", false: "True"}[next.inactive[uid]] // as Entra ID writes it
			op := map[string]any{"op": "Replace", "path": "active", "value": value}
			if okta {
				op = map[string]any{"op": "replace", "value": map[string]any{"active": !next.inactive[uid]}}
			}
			e = push{what: uid + " active " + value + by, do: func(p *pusher) { p.patch("/Users/"+uref, op) }}
		case k < 9:
			if uid != "alice" {
				continue
			}
			mail := map[bool]string{true: aliceNewMail, false: "alice@example.com"}[m.mail[uid] != aliceNewMail]
			next.mail[uid] = mail
			do := func(p *pusher) {
				p.patch("/Users/"+uref, map[string]any{"op": "Replace", "path": `emails[type eq "work"].value`, "value": mail})
			}
			if okta {
				do = func(p *pusher) {
					p.send(http.MethodPut, "/Users/"+uref, userBody(mail, "Alice Martin", !m.inactive[uid]), http.StatusOK)
				}
			}
			e = push{what: "alice's address to " + mail + by, do: do}
		default: // deprovisioned: deleted, and so out of every group
			next.ids[uid] = ""
			for _, in := range next.members {
				delete(in, uid)
			}
			e = push{what: uid + " deleted", do: func(p *pusher) { p.send(http.MethodDelete, "/Users/"+uref, nil, http.StatusNoContent) }}
		}
		if next.allowed() {
			e.next = next
			return e
		}
	}
}

func (m *scimModel) allowed() bool {
	for _, ids := range m.company() {
		if len(ids) == 0 {
			return false
		}
	}
	return true
}
