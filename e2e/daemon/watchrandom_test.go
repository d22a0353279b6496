package daemon

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/e2e/harness"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/faultproxy"
)

// Random directory edits, made while `syncd run` follows the directory's
// change feed: each round makes a burst of edits at random moments (some
// while a change set is being planned or applied, some while syncd is
// stopped, some after the directory restarted, some with syncd's
// connection cut in the middle of an answer, and every other round with
// Teams answering badly now and then), then Teams must come to hold exactly what the directory says,
// by change sets alone (the schedule is hourly). While a round goes on,
// Teams may lag the directory but never hold anyone who was not a member
// during the round, nor lose anyone who was a member throughout it.
//
// SYNCD_WATCH_SEED=S replays the edits of one seed (their timing differs);
// SYNCD_WATCH_ROUNDS=N plays more rounds.
func TestWatchRandomEditsOpenLDAP(t *testing.T) {
	requireBinary(t)
	randomEdits(t, slapdWatch(t))
}

func TestWatchRandomEdits389DS(t *testing.T) { requireBinary(t); randomEdits(t, dsWatch(t)) }

func TestWatchRandomEditsActiveDir(t *testing.T) { requireBinary(t); randomEdits(t, sambaWatch(t)) }

// dirModel is what the test made of the directory: the direct members of
// each group, the groups nested in each, alice's address, who is disabled
// and whose entry is deleted.
type dirModel struct {
	direct   map[string]map[string]bool // group -> uids
	nested   map[string]map[string]bool // group -> groups
	newMail  bool                       // alice's address is aliceNewMail
	disabled map[string]bool
	gone     map[string]bool
	made     int // entries made, for ids that must differ
}

// teamsGroup is the Teams group each directory group maps to in watchConfig.
var teamsGroup = map[string]string{"platform": "Platform", "data": "Data", "eng": "Engineering"}

func newDirModel() *dirModel {
	m := &dirModel{direct: map[string]map[string]bool{}, nested: map[string]map[string]bool{}, disabled: map[string]bool{}, gone: map[string]bool{}, made: 100}
	for _, g := range watchGroups {
		m.direct[g.name], m.nested[g.name] = map[string]bool{}, map[string]bool{}
		for _, member := range g.members {
			if name, ok := strings.CutPrefix(member, "group:"); ok {
				m.nested[g.name][name] = true
			} else {
				m.direct[g.name][member] = true
			}
		}
	}
	return m
}

func (m *dirModel) clone() *dirModel {
	c := &dirModel{direct: map[string]map[string]bool{}, nested: map[string]map[string]bool{}, newMail: m.newMail,
		disabled: maps.Clone(m.disabled), gone: maps.Clone(m.gone), made: m.made}
	for g := range m.direct {
		c.direct[g], c.nested[g] = maps.Clone(m.direct[g]), maps.Clone(m.nested[g])
	}
	return c
}

// members are the Teams ids group should hold: its people and those of
// the groups nested in it, less the disabled.
func (m *dirModel) members(group string) []int {
	set := map[int]bool{}
	var walk func(g string)
	walk = func(g string) {
		for uid := range m.direct[g] {
			if !m.disabled[uid] {
				set[m.teamsID(uid)] = true
			}
		}
		for sub := range m.nested[g] {
			walk(sub)
		}
	}
	walk(group)
	return slices.Sorted(maps.Keys(set))
}

func (m *dirModel) teamsID(uid string) int {
	if uid == "alice" && m.newMail {
		return aliceNewID
	}
	return id(uid)
}

func (m *dirModel) company() company {
	c := company{}
	for g, name := range teamsGroup {
		c[name] = m.members(g)
	}
	c["tag:go"] = m.members("data") // its SME users come from data
	return c
}

// allowed reports whether no group would be left without members: a
// group emptied is held by the safety rules, which is not what this test
// is about.
func (m *dirModel) allowed() bool {
	for g := range m.direct {
		if len(m.members(g)) == 0 {
			return false
		}
	}
	return true
}

// edit is one change to the directory: what it does to the model, and the
// LDAP requests that make it.
type edit struct {
	what string
	do   func(t *testing.T, c *goldap.Conn)
	next *dirModel
}

func modify(dn string, mod func(*goldap.ModifyRequest)) func(*testing.T, *goldap.Conn) {
	return func(t *testing.T, c *goldap.Conn) { change(t, c, dn, mod) }
}

// leave takes uid out of every group, then deletes the entry, as an admin
// does when someone leaves the company.
func leave(w *watchDirectory, m *dirModel, uid string) func(*testing.T, *goldap.Conn) {
	var groups []string
	for g, in := range m.direct {
		if in[uid] {
			groups = append(groups, g)
		}
	}
	return func(t *testing.T, c *goldap.Conn) {
		for _, g := range groups {
			change(t, c, w.group(g), func(q *goldap.ModifyRequest) { q.Delete("member", []string{w.person(uid)}) })
		}
		if err := c.Del(goldap.NewDelRequest(w.person(uid), nil)); err != nil {
			t.Fatalf("delete %s: %v", uid, err)
		}
	}
}

// rejoin makes uid's entry again: a new entry (a new id where the
// directory gives one), the same Teams account, no group yet.
func rejoin(w *watchDirectory, uid string, n int) func(*testing.T, *goldap.Conn) {
	return func(t *testing.T, c *goldap.Conn) {
		i := slices.IndexFunc(watchPeople(), func(p harness.Person) bool { return p.UID == uid })
		if err := c.Add(w.newPerson(watchPeople()[i], n)); err != nil {
			t.Fatalf("add %s again: %v", uid, err)
		}
	}
}

// randomEdit draws an edit that leaves every group some member.
func randomEdit(r *rand.Rand, m *dirModel, w *watchDirectory) edit {
	people := []string{"alice", "bob", "carol", "dave", "erin", "frank"}
	groups := []string{"platform", "data", "eng"}
	for {
		next := m.clone()
		var e edit
		uid := people[r.IntN(len(people))]
		switch k := r.IntN(11); {
		case k < 4: // a person joins a group
			g := groups[r.IntN(len(groups))]
			if m.direct[g][uid] || m.gone[uid] {
				continue
			}
			next.direct[g][uid] = true
			e = edit{what: "add " + uid + " to " + g, do: modify(w.group(g), func(q *goldap.ModifyRequest) { q.Add("member", []string{w.person(uid)}) })}
		case k < 7: // a person leaves one
			g := groups[r.IntN(len(groups))]
			in := slices.Sorted(maps.Keys(m.direct[g]))
			if len(in) == 0 {
				continue
			}
			uid := in[r.IntN(len(in))]
			delete(next.direct[g], uid)
			e = edit{what: "remove " + uid + " from " + g, do: modify(w.group(g), func(q *goldap.ModifyRequest) { q.Delete("member", []string{w.person(uid)}) })}
		case k < 8: // data nested in eng, or taken out of it
			if m.nested["eng"]["data"] {
				delete(next.nested["eng"], "data")
				e = edit{what: "take data out of eng", do: modify(w.group("eng"), func(q *goldap.ModifyRequest) { q.Delete("member", []string{w.group("data")}) })}
			} else {
				next.nested["eng"]["data"] = true
				e = edit{what: "nest data in eng", do: modify(w.group("eng"), func(q *goldap.ModifyRequest) { q.Add("member", []string{w.group("data")}) })}
			}
		case k < 9: // alice's address changes to her other account's
			if m.gone["alice"] {
				continue
			}
			next.newMail = !m.newMail
			mail := map[bool]string{false: "alice@example.com", true: aliceNewMail}[next.newMail]
			e = edit{what: "alice's address to " + mail, do: modify(w.person("alice"), func(q *goldap.ModifyRequest) { q.Replace(w.mail, []string{mail}) })}
		case k < 10: // someone leaves the company, or comes back
			if next.gone[uid] = !m.gone[uid]; next.gone[uid] {
				for g := range next.direct {
					delete(next.direct[g], uid)
				}
				e = edit{what: uid + " leaves", do: leave(w, m, uid)}
				break
			}
			next.made++
			next.disabled[uid] = false
			if uid == "alice" {
				next.newMail = false
			}
			e = edit{what: uid + " comes back", do: rejoin(w, uid, next.made)}
		default: // an account is disabled or enabled again
			if w.disable == nil || m.gone[uid] {
				continue
			}
			next.disabled[uid] = !m.disabled[uid]
			if next.disabled[uid] {
				e = edit{what: "disable " + uid, do: modify(w.person(uid), w.disable)}
			} else {
				e = edit{what: "enable " + uid, do: modify(w.person(uid), w.enable)}
			}
		}
		if next.allowed() {
			e.next = next
			return e
		}
	}
}

func randomEdits(t *testing.T, w *watchDirectory) {
	seed, rounds := seedAndRounds(t, "SYNCD_WATCH_SEED", "SYNCD_WATCH_ROUNDS")
	r := rand.New(rand.NewPCG(seed, seed))

	teamsSeed := watchSeed()
	teamsSeed.Tags = append(teamsSeed.Tags, emulator.SeedTag{ID: 30, Team: team, Name: "go", SMEUserIDs: []int{}, SMEGroupIDs: []int{}})
	emu, err := emulator.New(teamsSeed, emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	faults := &teamsFaults{r: rand.New(rand.NewPCG(seed, 1))}
	hs := httptest.NewServer(faultproxy.New(emu, faultproxy.Rule{Times: -1, Fault: faults.fault}))
	t.Cleanup(hs.Close)
	dir := t.TempDir()
	listen := freeAddr(t)
	path, stateDir := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "state")
	pw := w.passwordFile(t, dir)
	writeConfig := func(runAtStart bool) {
		cfg := watchConfig(hs.URL+"/v3/teams/"+team, w, pw, listen, stateDir, runAtStart)
		// Removals are not held back here: the test is whether change
		// sets follow the directory, not the budgets.
		cfg = strings.Replace(cfg, "max_removal_percent: 60", "max_removal_percent: 100", 1)
		// A tag's SMEs follow a directory group through change sets too.
		cfg = strings.Replace(cfg, "\nsync:\n", "\nsmes:\n  - {tag: go, users_from: [{source: corp, group: data}], groups: [Platform]}\nsync:\n", 1)
		must(t, os.WriteFile(path, []byte(cfg), 0o600))
	}
	writeConfig(true)
	d := startDaemon(t, path, listen, "--apply")
	model := newDirModel()
	d.expect(emu, "the first full run", model.company())
	following := func() {
		d.waitLong("the feed to follow", func() bool { return d.metric("syncd_watch_connected", `source="corp"`) == 1 })
	}
	following()
	c := w.admin(t)
	defer func() { c.Close() }()

	for round := range rounds {
		bounds := newBounds(model.company())
		var history []string
		if round%2 == 1 {
			// Teams misbehaves while the edits go on: the change sets that
			// meet it fail or read back, and are tried again.
			faults.on.Store(true)
			history = append(history, "Teams faults on")
		}
		stopped, restarted := false, false
		for range 6 + r.IntN(10) {
			if !stopped && r.IntN(12) == 0 {
				d.signal(syscall.SIGTERM)
				if code, _ := d.exitWithin(20 * time.Second); code != 0 {
					t.Fatalf("syncd run exited %d after SIGTERM", code)
				}
				stopped = true
				history = append(history, "syncd stopped")
			}
			if !restarted && r.IntN(20) == 0 {
				// The directory restarts under a feed that follows it,
				// or one resuming from its saved position.
				c.Close()
				w.stop(t)
				w.start(t)
				c = w.admin(t)
				restarted = true
				history = append(history, "directory restarted")
			}
			if w.blink != nil && r.IntN(6) == 0 {
				w.blink() // the change's own notification, or a read after it, is cut short
				history = append(history, "connection cut")
			}
			e := randomEdit(r, model, w)
			e.do(t, c)
			model = e.next
			bounds.see(model.company())
			history = append(history, e.what)
			time.Sleep(time.Duration(r.IntN(700)) * time.Millisecond)
			bounds.check(t, emu, history)
		}
		if stopped {
			writeConfig(false) // only the feed, resumed, can bring what changed
			d = startDaemon(t, path, listen, "--apply")
			history = append(history, "syncd started")
			following()
		}
		faults.on.Store(false)
		d.expect(emu, fmt.Sprintf("round %d to reach Teams (edits: %s)", round, strings.Join(history, "; ")), model.company())
		bounds.check(t, emu, history)
		platform, _ := emu.GroupByName("Platform")
		if _, groups := emu.TagSMEs("go"); !slices.Equal(groups, []int{platform.ID}) {
			t.Errorf("SME groups of go: %v, want Platform (%d)", groups, platform.ID)
		}
		t.Logf("round %d: %s", round, strings.Join(history, "; "))
	}
	t.Logf("%d requests met a fault", faults.n.Load())
	if n := d.logged("change set not applied in full", func(map[string]any) bool { return true }); n > 0 && faults.n.Load() == 0 {
		t.Errorf("%d change sets not applied in full, with no fault injected", n)
	}
}

// teamsFaults puts faults between syncd and the emulator: while on, about
// one request in four meets one (5xx, a reset, a write applied with its
// answer lost, an empty 200, a listing with its items null, short or
// with a total off by one).
type teamsFaults struct {
	on atomic.Bool
	n  atomic.Int64
	mu sync.Mutex
	r  *rand.Rand
}

var teamsFaultKinds = []faultproxy.Fault{
	faultproxy.Status(http.StatusInternalServerError), faultproxy.Status(http.StatusServiceUnavailable),
	faultproxy.Reset(), faultproxy.LoseAnswer(), faultproxy.EmptyBody(),
	faultproxy.NullItems(), faultproxy.DropItems(1), faultproxy.AddTotal(1),
}

func (f *teamsFaults) fault(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if f.on.Load() {
		f.mu.Lock()
		k := f.r.IntN(4 * len(teamsFaultKinds))
		f.mu.Unlock()
		if k < len(teamsFaultKinds) {
			f.n.Add(1)
			teamsFaultKinds[k](w, r, next)
			return
		}
	}
	next.ServeHTTP(w, r)
}
