package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/internal/approval"
	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/lock"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/faultproxy"
)

// TestRandomFaultsDoNoHarm plays generated companies through applying
// runs (full runs and a change set of watch mode) whose requests fail at
// random in every way the fault proxy knows (5xx, 429, 403, resets,
// writes that land with their answer lost or hung, empty or short pages,
// nulled items, totals that do not add up, lists missing from answers),
// that are stopped mid-request, and whose directory read fails whole or
// in part, while an admin edits the same lists in the Teams UI, with the
// directory changing and new hires getting accounts in between; with a state dir or without, and removal budgets or none.
// After each run it checks what must hold whatever went wrong: no group
// created twice, nobody who belongs removed, nobody added who does not
// belong, nothing removed on the evidence of a directory group not read
// whole, add-only and managed lists losing only what they may, the
// budgets kept, nothing outside the config touched, no token in a log
// line, report or error, and a run that says exit 0 having finished.
// Then runs without faults must finish the work (a half-applied run is
// completed; removals the budgets still hold are approved, as an operator
// would, and applied) and find nothing left to do.
//
// SYNCD_CHAOS_SEEDS=N plays N companies instead of the default (seeds 1
// to N, or from SYNCD_CHAOS_FIRST on, for a campaign past those played
// before); a failure names its seed, and SYNCD_CHAOS_SEED=S plays that one alone
// (its faults are drawn per request, so it plays the same each time).
func TestRandomFaultsDoNoHarm(t *testing.T) {
	seeds := []uint64{}
	if s := os.Getenv("SYNCD_CHAOS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, n)
	} else {
		count := 60
		if testing.Short() {
			count = 10
		}
		// Seeds that found a bug, with the faults of the commit that
		// fixed it; TestUnconfirmedRemovalsAreReadBack is its own test.
		seeds = append(seeds, 325, 486, 682, 769)
		if s := os.Getenv("SYNCD_CHAOS_SEEDS"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				t.Fatal(err)
			}
			count = n
		}
		first := uint64(1)
		if s := os.Getenv("SYNCD_CHAOS_FIRST"); s != "" {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			first = n
		}
		for i := range count {
			seeds = append(seeds, first+uint64(i))
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { newChaos(t, seed).play() })
	}
}

// chaos is one generated company and the runs played against it.
type chaos struct {
	t     *testing.T
	rng   *rand.Rand
	emu   *emulator.Emulator
	proxy *faultproxy.Proxy
	url   string
	hc    *http.Client
	store *state.Store
	cfg   *config.Config
	now   time.Time

	people  []string       // directory logins
	account map[string]int // login -> Teams user id; absent: no Teams account
	dir     map[string][]string
	modes   map[string]string       // mapped Teams group or tag -> membership mode
	initial snapshot                // Teams before the first run
	added   map[string]map[int]bool // group or tag -> people a run added to it

	faults  atomic.Bool
	rate    float64
	seedNo  uint64
	runs    int
	faultMu gosync.Mutex
	sent    map[string]int     // requests of this run by method and URI
	stop    context.CancelFunc // stops the run under way
	logs    zapcore.Core       // every run's log, at debug level
	seen    *observer.ObservedLogs
	lies    map[string]string // directory group -> "unknown" or "missing", this run
	down    bool              // the directory cannot be read, this run
	// teamsIDs are the Teams users an admin may add; edits holds, per
	// list (list.what), whom an admin added (true) or removed (false)
	// in the Teams UI during the run under way, everAdded whom an admin
	// ever added.
	teamsIDs []int
	// approved holds, per list, the removals an operator approved for
	// the run under way: they may go over the budgets, nothing else.
	approved  map[string]map[int]bool
	editMu    gosync.Mutex
	edits     map[string]map[int]bool
	everAdded map[string]map[int]bool
}

// snapshot is what the checks compare: members by lower-case group name,
// SME users and groups by tag, and how many groups carry each name.
type snapshot struct {
	members   map[string][]int
	count     map[string]int
	smeUsers  map[string][]int
	smeGroups map[string][]int
	ids       map[string]int // lower-case group name -> id (lowest)
}

const chaosTags = 3

// chaosToken is the API token: no log line, report or error may hold it,
// whatever went wrong.
const chaosToken = "chaos-secret-7f3a9c"

func newChaos(t *testing.T, seed uint64) *chaos {
	c := &chaos{t: t, rng: rand.New(rand.NewPCG(seed, seed*7919)), account: map[string]int{},
		modes: map[string]string{}, added: map[string]map[int]bool{}, seedNo: seed, everAdded: map[string]map[int]bool{},
		now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	c.rate = 0.05 + c.rng.Float64()*0.25
	c.logs, c.seen = observer.New(zapcore.DebugLevel)
	s := c.seed()
	c.cfg = c.config()
	// The answers REFERENCE.md §9 leaves open, each as a real site may
	// give them.
	emu, err := emulator.New(s, emulator.Options{NoThrottle: true,
		DeleteMemberStatus: []int{200, 204}[c.rng.IntN(2)],
		UnknownUserStatus:  []int{404, 400, 200}[c.rng.IntN(3)],
		EmptyTotalPages:    []int{1, -1}[c.rng.IntN(2)]})
	if err != nil {
		t.Fatal(err)
	}
	c.emu = emu
	c.proxy = faultproxy.New(emu, faultproxy.Rule{Times: -1, Fault: c.fault})
	srv := httptest.NewServer(c.proxy)
	t.Cleanup(srv.Close)
	c.url, c.hc = srv.URL+"/api/v3", srv.Client()
	c.store = state.Memory() // the state of a daemon without a state dir
	if c.rng.IntN(4) > 0 {
		if c.store, err = state.Open(t.TempDir()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.store.Close() })
	}
	c.initial = c.snap()
	return c
}

// seed makes the Teams site: people with accounts (most of the
// directory, e-mail in mixed case), people only in Teams, about half the
// mapped groups already there (some under another case) with members of
// their own, filler groups for several listing pages, and tags with SMEs.
func (c *chaos) seed() *emulator.Seed {
	s := &emulator.Seed{SMEEnabled: true, Tokens: []emulator.SeedToken{{Token: chaosToken, Admin: true, Write: true}},
		Users: []emulator.SeedUser{{ID: 1, Name: "Community"}}}
	n := 20 + c.rng.IntN(230)
	var ids []int
	for i := range n {
		login := fmt.Sprintf("p%03d", i)
		c.people = append(c.people, login)
		if c.rng.IntN(10) == 0 {
			continue // a new hire without an account yet: pending
		}
		id := 100 + i
		c.account[login] = id
		ids = append(ids, id)
		email := login + "@example.com"
		if c.rng.IntN(3) == 0 {
			email = strings.ToUpper(login[:1]) + login[1:] + "@Example.COM"
		}
		s.Users = append(s.Users, emulator.SeedUser{ID: id, Name: strings.ToUpper(login), Email: email})
	}
	for i := range 5 + c.rng.IntN(10) {
		id := 5000 + i
		ids = append(ids, id)
		s.Users = append(s.Users, emulator.SeedUser{ID: id, Name: fmt.Sprintf("Teams only %d", i), Email: fmt.Sprintf("x%02d@example.com", i)})
	}
	c.teamsIDs = ids
	c.dir = map[string][]string{}
	groups := 2 + c.rng.IntN(6)
	for g := range groups {
		name := fmt.Sprintf("g%d", g)
		c.dir[name] = c.someMembers(1 + c.rng.IntN(min(60, len(c.people))))
		if c.rng.IntN(2) == 0 {
			teamsName := chaosGroupName(g)
			if c.rng.IntN(3) == 0 {
				teamsName = strings.ToLower(teamsName)
			}
			s.UserGroups = append(s.UserGroups, emulator.SeedGroup{ID: 500 + g, Name: teamsName, UserIDs: pickFrom(c.rng, ids, c.rng.IntN(20))})
		}
	}
	for i := range c.rng.IntN(160) {
		s.UserGroups = append(s.UserGroups, emulator.SeedGroup{ID: 1000 + i, Name: fmt.Sprintf("Filler %d", i), UserIDs: pickFrom(c.rng, ids, c.rng.IntN(4))})
	}
	for i := range chaosTags + 1 { // the last one is not configured
		tag := emulator.SeedTag{ID: 50 + i, Name: fmt.Sprintf("tag%d", i), SMEUserIDs: pickFrom(c.rng, ids, c.rng.IntN(6))}
		if c.rng.IntN(2) == 0 && len(s.UserGroups) > 0 {
			tag.SMEGroupIDs = []int{s.UserGroups[c.rng.IntN(len(s.UserGroups))].ID}
		}
		s.Tags = append(s.Tags, tag)
	}
	return s
}

func chaosGroupName(g int) string { return fmt.Sprintf("Team G%d", g) }

// config maps every directory group to its Teams group and the first
// tags to a directory group's people and some mapped groups, each in a
// membership mode of its own.
func (c *chaos) config() *config.Config {
	modes := []string{"exact", "add-only", "managed"}
	// The removal budgets of the runs under faults; those without have
	// none, to finish whatever was held.
	cfg := &config.Config{Sync: config.Sync{Membership: "exact", MaxRemovals: []int{1000, 6, 0}[c.rng.IntN(3)],
		MaxRemovalPercent: []float64{100, 40}[c.rng.IntN(2)], MaxRemovalPercentFloor: 3, PendingRecheck: config.DefaultPendingRecheck}}
	cfg.Sources = []config.Source{{Name: "corp"}}
	for g := range len(c.dir) {
		m := config.Mapping{Source: "corp", From: fmt.Sprintf("g%d", g), To: chaosGroupName(g), Membership: modes[c.rng.IntN(3)]}
		c.modes[strings.ToLower(m.To)] = m.Membership
		cfg.Groups = append(cfg.Groups, m)
	}
	for i := range chaosTags {
		sme := config.SME{Tag: fmt.Sprintf("tag%d", i), Membership: modes[c.rng.IntN(3)],
			UsersFrom: []config.GroupRef{{Source: "corp", Group: fmt.Sprintf("g%d", c.rng.IntN(len(c.dir)))}}}
		for g := range len(c.dir) {
			if c.rng.IntN(3) == 0 {
				sme.Groups = append(sme.Groups, chaosGroupName(g))
			}
		}
		c.modes[sme.Tag] = sme.Membership
		cfg.SMEs = append(cfg.SMEs, sme)
	}
	return cfg
}

// someMembers picks n directory people, at least one with an account, so
// that no group's wanted members are empty (an emptied group is held,
// which is another test's business).
func (c *chaos) someMembers(n int) []string {
	out := pickFrom(c.rng, c.people, n)
	for _, p := range out {
		if _, ok := c.account[p]; ok {
			return out
		}
	}
	for _, p := range c.people {
		if _, ok := c.account[p]; ok {
			return append(out, p)
		}
	}
	return out
}

func pickFrom[T any](rng *rand.Rand, from []T, n int) []T {
	idx := rng.Perm(len(from))[:min(n, len(from))]
	slices.Sort(idx)
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = from[j]
	}
	return out
}

// chaosFaults is every way a request may go wrong, by name.
var chaosFaults = []struct {
	name  string
	fault faultproxy.Fault
}{
	{"500", faultproxy.Status(http.StatusInternalServerError)},
	{"502 from a gateway", faultproxy.Answer(http.StatusBadGateway, "text/plain", "Bad Gateway")},
	{"503", faultproxy.Status(http.StatusServiceUnavailable)},
	{"429", tooManyRequests},
	{"403", faultproxy.Answer(http.StatusForbidden, "application/problem+json", `{"title":"Forbidden","status":403}`)},
	{"reset", faultproxy.Reset()},
	{"landed, connection lost", faultproxy.LoseAnswer()},
	{"landed, 502", faultproxy.Applied(faultproxy.Status(http.StatusBadGateway))},
	{"landed, empty answer", faultproxy.Applied(faultproxy.Answer(http.StatusOK, "application/json", ""))},
	{"landed, no answer", faultproxy.Applied(faultproxy.Hang())},
	{"empty 200", faultproxy.EmptyBody()},
	{"HTML 200", faultproxy.Answer(http.StatusOK, "text/html", "<html>down for maintenance</html>")},
	{"items null", faultproxy.NullItems()},
	{"items empty", faultproxy.EmptyItems()},
	{"items gone", faultproxy.NoItems()},
	{"short page", faultproxy.DropItems(1)},
	{"totalCount +1", faultproxy.AddTotal(1)},
	{"totalCount -1", faultproxy.AddTotal(-1)},
	{"no Content-Type", faultproxy.NoContentType()},
	{"users gone", faultproxy.Rewrite(func(d map[string]any) { delete(d, "users") })},
	{"userGroups null", faultproxy.Rewrite(func(d map[string]any) {
		if _, ok := d["userGroups"]; ok {
			d["userGroups"] = nil
		}
	})},
}

func tooManyRequests(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
	w.Header().Set("Retry-After", "1")
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusTooManyRequests)
	fmt.Fprint(w, `{"title":"Too many requests","status":429}`)
}

// objectPath matches a request about one user group or tag: its prefix,
// the collection, the id.
var objectPath = regexp.MustCompile(`^(.*/(user-groups|tags)/)(\d+)$`)

// anotherObject answers a request about one user group or tag (after
// passing a write on, so that it lands) with what a GET of another one
// answers, as a cache or proxy mixing answers up would; other requests
// pass.
func (c *chaos) anotherObject(w http.ResponseWriter, r *http.Request, next http.Handler) {
	m := objectPath.FindStringSubmatch(r.URL.Path)
	other := 0
	if m != nil {
		id, _ := strconv.Atoi(m[3])
		if m[2] == "tags" {
			other = 50 + (id-50+1)%(chaosTags+1)
		} else {
			for _, g := range slices.Sorted(maps.Values(c.initial.ids)) {
				if g != id {
					other = g
					break
				}
			}
		}
	}
	if other == 0 {
		next.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet {
		next.ServeHTTP(httptest.NewRecorder(), r)
	}
	get := r.Clone(r.Context())
	get.Method, get.Body = http.MethodGet, http.NoBody
	get.URL.Path, get.URL.RawPath, get.URL.RawQuery = m[1]+strconv.Itoa(other), "", ""
	next.ServeHTTP(w, get)
}

// fault draws, while faults are on, whether r gets one and which. The
// draw depends on the request (method, URI, how many times the run sent
// it before) and not on the order requests arrive in, so that a seed
// plays the same faults whatever the scheduler does.
func (c *chaos) fault(w http.ResponseWriter, r *http.Request, next http.Handler) {
	var f faultproxy.Fault
	if c.faults.Load() {
		key := r.Method + " " + r.URL.RequestURI()
		c.faultMu.Lock()
		c.sent[key]++
		h := fnv.New64a()
		fmt.Fprintf(h, "%d %d %s %d", c.seedNo, c.runs, key, c.sent[key])
		stop := c.stop
		c.faultMu.Unlock()
		rng := rand.New(rand.NewPCG(h.Sum64(), 1))
		if r.Method == http.MethodGet && rng.IntN(30) == 0 {
			c.adminEdit(rng)
		}
		if rng.IntN(150) == 0 {
			// syncd stopped (SIGTERM, a deadline) with this request in
			// flight: it still reaches the API.
			c.t.Logf("fault: %s: the run is stopped", key)
			stop()
		}
		if rng.Float64() < c.rate {
			if n := rng.IntN(len(chaosFaults) + 1); n < len(chaosFaults) {
				f = chaosFaults[n].fault
				c.t.Logf("fault: %s: %s", key, chaosFaults[n].name)
			} else {
				f = c.anotherObject
				c.t.Logf("fault: %s: another object's answer", key)
			}
		}
	}
	if f == nil {
		next.ServeHTTP(w, r)
		return
	}
	f(w, r, next)
}

// adminEdit is an admin changing a configured list in the Teams UI while
// a run is under way: adding someone (anyone with an account) to a user
// group or a tag's SME users, or removing a member. It comes just before
// one of syncd's reads reaches the API, never between a read and the
// write built from it (a window the API gives no way to close).
func (c *chaos) adminEdit(rng *rand.Rand) {
	var what string
	var ids []int
	var set func([]int)
	if g := c.cfg.Groups[rng.IntN(len(c.cfg.Groups))]; rng.IntN(2) == 0 {
		cur, ok := c.emu.GroupByName(g.To)
		if !ok {
			return
		}
		what, ids = "user group "+g.To, cur.UserIDs
		set = func(ids []int) { c.emu.SetGroupMembers(cur.ID, ids) }
	} else {
		tag := c.cfg.SMEs[rng.IntN(len(c.cfg.SMEs))].Tag
		users, groups := c.emu.TagSMEs(tag)
		what, ids = "SME users of "+tag, users
		set = func(ids []int) { c.emu.SetTagSMEs(tag, ids, groups) }
	}
	c.editMu.Lock()
	defer c.editMu.Unlock()
	if c.edits[what] == nil {
		c.edits[what] = map[int]bool{}
	}
	if len(ids) > 0 && rng.IntN(2) == 0 {
		id := ids[rng.IntN(len(ids))]
		set(slices.DeleteFunc(slices.Clone(ids), func(x int) bool { return x == id }))
		c.edits[what][id] = false
		c.t.Logf("admin: %d removed from %s", id, what)
		return
	}
	id := c.teamsIDs[rng.IntN(len(c.teamsIDs))]
	set(append(slices.Clone(ids), id))
	c.edits[what][id] = true
	if c.everAdded[what] == nil {
		c.everAdded[what] = map[int]bool{}
	}
	c.everAdded[what][id] = true
	c.t.Logf("admin: %d added to %s", id, what)
}

// directory is the directory as this run reads it: as it is, but for
// the groups a lie makes unknown (read in part, with an error) or leaves
// out (not found).
func (c *chaos) directory() *directory.Directory {
	d := &directory.Directory{Source: "corp", Users: map[string]*directory.User{}}
	for _, p := range c.people {
		d.Users[p] = &directory.User{ID: p, Name: strings.ToUpper(p), Emails: []string{p + "@example.com"}}
	}
	for g := range len(c.dir) {
		name := fmt.Sprintf("g%d", g)
		grp := &directory.Group{Name: name, DN: "cn=" + name + ",ou=groups,dc=example,dc=com", DirectMembers: slices.Clone(c.dir[name])}
		switch c.lies[name] {
		case "missing":
			continue
		case "unknown":
			grp.DirectMembers = grp.DirectMembers[:len(grp.DirectMembers)/2]
			grp.Err = errors.New("LDAP Result Code 4 \"Size Limit Exceeded\"")
		}
		d.Groups = append(d.Groups, grp)
	}
	d.Expand()
	return d
}

// lie draws what the directory gets wrong in a run under faults: the
// whole read failing, or groups read in part or not found.
func (c *chaos) lie() {
	c.lies, c.down = map[string]string{}, c.rng.IntN(15) == 0
	for g := range len(c.dir) {
		switch c.rng.IntN(14) {
		case 0:
			c.lies[fmt.Sprintf("g%d", g)] = "unknown"
		case 1:
			c.lies[fmt.Sprintf("g%d", g)] = "missing"
		}
	}
	if len(c.lies) > 0 || c.down {
		c.t.Logf("directory: %v, read fails: %v", c.lies, c.down)
	}
}

// churn changes the directory, people leave groups and others join, and
// some who had no Teams account get one.
func (c *chaos) churn() {
	for i, p := range c.people {
		if _, ok := c.account[p]; !ok && c.rng.IntN(2) == 0 {
			c.account[p] = 100 + i
			c.emu.AddUser(emulator.SeedUser{ID: 100 + i, Name: strings.ToUpper(p), Email: p + "@example.com"})
		}
	}
	for g := range len(c.dir) {
		name := fmt.Sprintf("g%d", g)
		ms := slices.DeleteFunc(slices.Clone(c.dir[name]), func(string) bool { return c.rng.IntN(4) == 0 })
		for _, p := range pickFrom(c.rng, c.people, c.rng.IntN(9)) {
			if !slices.Contains(ms, p) {
				ms = append(ms, p)
			}
		}
		if !slices.ContainsFunc(ms, func(p string) bool { _, ok := c.account[p]; return ok }) {
			ms = append(ms, c.someMembers(1)...)
		}
		c.dir[name] = ms
	}
}

// chaosSource reads the directory as the chaos has it at each read.
type chaosSource struct{ c *chaos }

func (s chaosSource) Name() string { return "corp" }
func (s chaosSource) Read(context.Context) (*directory.Directory, error) {
	if s.c.down {
		return nil, errors.New("dial tcp 10.0.0.7:636: connect: connection refused")
	}
	return s.c.directory(), nil
}

// engine makes an applying engine that keeps what watch mode's change
// sets plan against; with faults, each attempt has a short timeout so
// that a hung answer costs little.
func (c *chaos) engine(faulty bool) *Engine {
	c.t.Helper()
	opts := teams.Options{BaseURL: c.url, Token: chaosToken, HTTPClient: c.hc,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
	if faulty {
		opts.Timeout = 250 * time.Millisecond
		if c.rng.IntN(2) == 0 {
			opts.MaxRetries = -1
		}
	}
	client, err := teams.New(opts)
	if err != nil {
		c.t.Fatal(err)
	}
	e, err := New(Options{Config: c.cfg, Sources: []Source{chaosSource{c}}, Reader: client, Writer: client, Store: c.store,
		Logger: zap.New(c.logs), Now: func() time.Time { return c.now }, Watch: true})
	if err != nil {
		c.t.Fatal(err)
	}
	return e
}

// run runs fn as one run of the engine, with faults (in Teams and in the
// directory) or without; fn returns the run's exit code.
func (c *chaos) run(faulty bool, fn func(ctx context.Context) int) int {
	c.t.Helper()
	c.now = c.now.Add(2 * time.Hour)
	c.lies, c.down = nil, false
	if faulty {
		c.lie()
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	c.editMu.Lock()
	c.edits = map[string]map[int]bool{}
	c.editMu.Unlock()
	c.faultMu.Lock()
	c.runs++
	c.sent = map[string]int{}
	c.stop = stop
	c.faultMu.Unlock()
	c.faults.Store(faulty)
	code := fn(ctx)
	c.faults.Store(false)
	c.proxy.Wait() // a write held by a fault has landed
	return code
}

// full is a full run (RunOnce) of e.
func (c *chaos) full(e *Engine, faulty bool) *Result {
	c.t.Helper()
	var res *Result
	c.run(faulty, func(ctx context.Context) int {
		var err error
		if res, err = e.RunOnce(ctx); err != nil && res.ExitCode == exitcode.OK {
			c.t.Fatalf("error %v with exit code 0", err)
		}
		c.reportLeaks(res.Report)
		return res.ExitCode
	})
	return res
}

// changes is a change set of watch mode (RunChanges) of e; its errors,
// and the targets it planned: it looks only at what changed in the
// directory, so the others may be left for the next full run (a pending
// person who signed up meanwhile, in a group that did not change).
func (c *chaos) changes(e *Engine, faulty bool) (code int, errs, touched []string) {
	c.t.Helper()
	code = c.run(faulty, func(ctx context.Context) int {
		res, err := e.RunChanges(ctx, ChangeSet{Sources: []string{"corp"}, Seen: c.now})
		if res != nil {
			touched = res.Touched
			c.reportLeaks(res.Report)
		}
		switch {
		case err != nil:
			errs = append(errs, err.Error())
			return exitcode.Failure
		case res.NeedFull != "" || res.Unfinished:
			errs = append(errs, "need a full run: "+res.NeedFull)
			return exitcode.Failure // not finished: a full run must follow
		}
		return res.ExitCode
	})
	return code, errs, touched
}

// play is the whole story: a full run under faults; a full run without,
// then, by the same engine, a change set of watch mode under faults; a
// full run under faults; the directory changing before each of the last
// two. Then two full runs without faults must finish the work.
func (c *chaos) play() {
	before := c.snap()
	res := c.full(c.engine(true), true)
	c.check("run 1, under faults", before, res.ExitCode, res.Report.Errors)
	watch := c.engine(true)
	before = c.snap()
	res = c.full(watch, false)
	c.check("run 2", before, res.ExitCode, res.Report.Errors)
	c.churn()
	before = c.snap()
	code, errs, touched := c.changes(watch, true)
	c.check("change set, under faults", before, code, errs, touched...)
	c.churn()
	before = c.snap()
	res = c.full(c.engine(true), true)
	c.check("run 3, under faults", before, res.ExitCode, res.Report.Errors)

	clean := c.engine(false)
	before = c.snap()
	res = c.full(clean, false)
	if res.ExitCode == exitcode.Held {
		// The budgets still hold: an operator looks at the held
		// removals and approves them all (syncd approve --all).
		c.check("run 4, without faults, held", before, res.ExitCode, res.Report.Errors)
		if _, err := approval.Approve(c.store, approval.Request{All: true, By: "chaos", Target: lock.Key(c.cfg.Teams.URL)}, c.now); err != nil {
			c.t.Fatalf("approve the held changes: %v", err)
		}
		before = c.snap()
		c.approved = approvedRemovals(res.Report, before)
		res = c.full(clean, false)
	}
	if res.ExitCode != exitcode.OK {
		c.t.Errorf("the run without faults: exit %d, errors %v", res.ExitCode, res.Report.Errors)
	}
	c.check("the last run without faults", before, res.ExitCode, res.Report.Errors)
	c.emu.ResetLog()
	if res := c.full(clean, false); c.emu.WriteCount() != 0 || res.ExitCode != exitcode.OK {
		c.t.Errorf("the run after it: exit %d and %d writes, want 0 and none: %v", res.ExitCode, c.emu.WriteCount(), c.emu.Requests())
	}
}

func (c *chaos) snap() snapshot {
	s := snapshot{members: map[string][]int{}, count: map[string]int{}, smeUsers: map[string][]int{},
		smeGroups: map[string][]int{}, ids: map[string]int{}}
	seed := c.emu.Snapshot()
	for _, g := range seed.UserGroups {
		k := strings.ToLower(g.Name)
		if s.count[k]++; s.count[k] == 1 || g.ID < s.ids[k] {
			s.members[k], s.ids[k] = sortedInts(g.UserIDs), g.ID
		}
	}
	for _, tg := range seed.Tags {
		s.smeUsers[tg.Name], s.smeGroups[tg.Name] = sortedInts(tg.SMEUserIDs), sortedInts(tg.SMEGroupIDs)
	}
	return s
}

func sortedInts(s []int) []int {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// wanted is the Teams ids of a directory group's people with an account.
func (c *chaos) wanted(group string) []int {
	var out []int
	for _, p := range c.dir[group] {
		if id, ok := c.account[p]; ok {
			out = append(out, id)
		}
	}
	return sortedInts(out)
}

// list is one membership list syncd keeps: a group's members, a tag's
// SME users or SME groups, with what the checks need about it.
type list struct {
	what          string
	mode          string
	before, after []int
	want          []int
	initial       []int
	added         map[int]bool // ever added by a run
	exists        bool
	unknown       bool         // its directory group could not be read whole
	target        string       // the group's name, or "tag " and the tag's
	edits         map[int]bool // an admin added (true) or removed (false) during the run
	adminAdded    map[int]bool // whom an admin ever added
}

// lists are the configured lists as they stand in before and after.
func (c *chaos) lists(before, after snapshot) []list {
	var out []list
	for g, m := range c.cfg.Groups {
		k := strings.ToLower(m.To)
		out = append(out, list{what: "user group " + m.To, mode: m.Membership, before: before.members[k], after: after.members[k],
			want: c.wanted(fmt.Sprintf("g%d", g)), initial: c.initial.members[k], added: c.addedTo("group " + k),
			exists: after.count[k] > 0, unknown: c.unknown(m.From), target: m.To})
	}
	for _, sme := range c.cfg.SMEs {
		var groups []int
		for _, n := range sme.Groups {
			if id, ok := after.ids[strings.ToLower(n)]; ok {
				groups = append(groups, id)
			}
		}
		out = append(out,
			list{what: "SME users of " + sme.Tag, mode: sme.Membership, before: before.smeUsers[sme.Tag], after: after.smeUsers[sme.Tag],
				want: c.wanted(sme.UsersFrom[0].Group), initial: c.initial.smeUsers[sme.Tag], added: c.addedTo("users " + sme.Tag), exists: true,
				unknown: c.unknown(sme.UsersFrom[0].Group), target: "tag " + sme.Tag},
			list{what: "SME groups of " + sme.Tag, mode: sme.Membership, before: before.smeGroups[sme.Tag], after: after.smeGroups[sme.Tag],
				want: sortedInts(groups), initial: c.initial.smeGroups[sme.Tag], added: c.addedTo("groups " + sme.Tag), exists: true,
				target: "tag " + sme.Tag})
	}
	c.editMu.Lock()
	defer c.editMu.Unlock()
	for i := range out {
		out[i].edits, out[i].adminAdded = c.edits[out[i].what], c.everAdded[out[i].what]
	}
	return out
}

// unknown tells whether this run could not know a directory group.
func (c *chaos) unknown(group string) bool { return c.down || c.lies[group] != "" }

func (c *chaos) addedTo(key string) map[int]bool {
	if c.added[key] == nil {
		c.added[key] = map[int]bool{}
	}
	return c.added[key]
}

// check runs the checks of what must hold after any run, and, when the
// run says it finished (exit 0), those of a finished run.
// A run that planned only some targets names them in only; the checks
// of a finished run apply to those.
func (c *chaos) check(when string, before snapshot, code int, errs []string, only ...string) {
	c.t.Helper()
	after := c.snap()
	var bad []string
	for k, n := range after.count {
		if n > 1 {
			bad = append(bad, fmt.Sprintf("%d Teams groups are named %q", n, k))
		}
		if _, mapped := c.modes[k]; !mapped && !slices.Equal(before.members[k], after.members[k]) || before.count[k] != n && !c.mapped(k) {
			bad = append(bad, fmt.Sprintf("group %q is not configured and changed: %v -> %v (%d -> %d)", k, before.members[k], after.members[k], before.count[k], n))
		}
	}
	free := fmt.Sprintf("tag%d", chaosTags)
	if !slices.Equal(before.smeUsers[free], after.smeUsers[free]) || !slices.Equal(before.smeGroups[free], after.smeGroups[free]) {
		bad = append(bad, "the tag not configured changed")
	}
	removals := 0
	share := map[string][2]int{} // target -> removed, members before (a tag's SME users and groups together)
	for _, l := range c.lists(before, after) {
		bad = append(bad, l.harm()...)
		removals += len(l.removed())
		// syncd takes the share of the list as it read it, which people
		// an admin added during the run may be in (seed 9885: 12 of 30
		// removed, not over 40%): the most it can have read.
		read := len(l.before)
		for id, added := range l.edits {
			if added && !slices.Contains(l.before, id) {
				read++
			}
		}
		sh := share[l.target]
		share[l.target] = [2]int{sh[0] + len(l.removed()), sh[1] + read}
		// A list an admin changed during the run may be left for the
		// next: the change may have come after syncd read it.
		if code == exitcode.OK && (only == nil || slices.Contains(only, l.target)) && len(l.edits) == 0 {
			bad = append(bad, l.unfinished()...)
		}
		for _, id := range l.after {
			added, edited := l.edits[id]
			switch belongs := slices.Contains(l.want, id); {
			case !slices.Contains(l.before, id) && (!added || belongs):
				// Someone an admin added whom syncd was adding too may
				// be in syncd's ledger: the API cannot tell the two apart.
				l.added[id] = true
			case edited && !added && belongs:
				// An admin removed them during the run, and they are
				// back: syncd read the list after the removal and
				// added them again, as they belong.
				l.added[id] = true
			}
		}
	}
	if c.approved != nil {
		bad = append(bad, c.beyondApproval(before, after)...)
		share, removals = nil, 0 // the approval lets them past the budgets
	}
	for target, sh := range share {
		if pct := c.cfg.Sync.MaxRemovalPercent; sh[0] > c.cfg.Sync.MaxRemovalPercentFloor && 100*float64(sh[0]) > pct*float64(sh[1]) {
			bad = append(bad, fmt.Sprintf("%s: %d of %d removed, over max_removal_percent %g", target, sh[0], sh[1], pct))
		}
	}
	if removals > c.cfg.Sync.MaxRemovals {
		bad = append(bad, fmt.Sprintf("%d removals in one run, over max_removals %d", removals, c.cfg.Sync.MaxRemovals))
	}
	bad = append(bad, c.leaks(errs)...)
	if len(bad) > 0 {
		c.t.Errorf("%s (exit %d, fault rate %.2f):\n  %s\nerrors: %v", when, code, c.rate, strings.Join(bad, "\n  "), errs)
	}
}

// leaks lists where the token showed: the run's errors, or a log line
// (message or field) since the last check.
func (c *chaos) leaks(errs []string) []string {
	var bad []string
	if strings.Contains(strings.Join(errs, "\n"), chaosToken) {
		bad = append(bad, "an error holds the token")
	}
	for _, e := range c.seen.TakeAll() {
		if strings.Contains(fmt.Sprint(e.Message, e.ContextMap()), chaosToken) {
			bad = append(bad, fmt.Sprintf("a log line holds the token: %q", e.Message))
		}
	}
	return bad
}

// approvedRemovals are the held removals of r, per list (list.what in
// lower case: the report names a group as Teams spells it), as ids; SME
// groups are named, and found in s.
func approvedRemovals(r *report.Report, s snapshot) map[string]map[int]bool {
	out := map[string]map[int]bool{}
	add := func(what string, id int) {
		what = strings.ToLower(what)
		if out[what] == nil {
			out[what] = map[int]bool{}
		}
		out[what][id] = true
	}
	for _, ch := range r.Changes {
		if ch.Status != report.StatusHeld {
			continue
		}
		for _, u := range ch.Users {
			switch ch.Kind {
			case report.KindRemoveMembers:
				add("user group "+ch.Group, u.ID)
			case report.KindRemoveSMEUsers:
				add("SME users of "+ch.Tag, u.ID)
			}
		}
		if ch.Kind == report.KindRemoveSMEGroups {
			for _, g := range ch.Groups {
				add("SME groups of "+ch.Tag, s.ids[strings.ToLower(g)])
			}
		}
	}
	return out
}

// beyondApproval lists the removals of an approved run that no approval
// covered.
func (c *chaos) beyondApproval(before, after snapshot) []string {
	var bad []string
	for _, l := range c.lists(before, after) {
		for _, id := range l.removed() {
			if !c.approved[strings.ToLower(l.what)][id] {
				bad = append(bad, fmt.Sprintf("%s: %d removed, which no approval covered", l.what, id))
			}
		}
	}
	return bad
}

// reportLeaks fails the test when the report (its JSON form) holds the
// token.
func (c *chaos) reportLeaks(r *report.Report) {
	if r == nil {
		return
	}
	if b, err := json.Marshal(r); err != nil || strings.Contains(string(b), chaosToken) {
		c.t.Errorf("the report holds the token (or cannot be encoded: %v)", err)
	}
}

func (c *chaos) mapped(k string) bool { _, ok := c.modes[k]; return ok }

// removed is who (or which group) syncd removed from the list.
func (l list) removed() []int {
	var out []int
	for _, id := range l.before {
		if added, edited := l.edits[id]; l.exists && !slices.Contains(l.after, id) && (!edited || added) {
			out = append(out, id)
		}
	}
	return out
}

// harm lists what no run may do to a list, whatever failed.
func (l list) harm() []string {
	var bad []string
	for _, id := range l.after {
		if !slices.Contains(l.before, id) && !slices.Contains(l.want, id) && !l.edits[id] {
			bad = append(bad, fmt.Sprintf("%s: %d added, who does not belong", l.what, id))
		}
	}
	for id, added := range l.edits {
		if added && !slices.Contains(l.after, id) && (l.mode == "add-only" || l.mode == "managed" && !l.added[id]) {
			bad = append(bad, fmt.Sprintf("%s (%s): %d, whom an admin added during the run, removed", l.what, l.mode, id))
		}
	}
	for _, id := range l.before {
		if slices.Contains(l.after, id) || !l.exists {
			continue
		}
		if added, edited := l.edits[id]; edited && !added {
			continue // the admin removed them
		}
		switch {
		case l.unknown:
			bad = append(bad, fmt.Sprintf("%s: %d removed while its directory group was not read whole", l.what, id))
		case slices.Contains(l.want, id):
			bad = append(bad, fmt.Sprintf("%s: %d removed, who belongs", l.what, id))
		case l.mode == "add-only":
			bad = append(bad, fmt.Sprintf("%s: %d removed from an add-only list", l.what, id))
		case l.mode == "managed" && !l.added[id]:
			bad = append(bad, fmt.Sprintf("%s: %d removed from a managed list, who syncd never added", l.what, id))
		}
	}
	return bad
}

// unfinished lists what a run that exits 0 must have done.
func (l list) unfinished() []string {
	if !l.exists {
		return []string{l.what + ": not created"}
	}
	var bad []string
	for _, id := range l.want {
		if !slices.Contains(l.after, id) {
			bad = append(bad, fmt.Sprintf("%s: %d missing", l.what, id))
		}
	}
	for _, id := range l.after {
		if slices.Contains(l.want, id) {
			continue
		}
		if l.mode == "exact" || l.mode == "managed" && !slices.Contains(l.initial, id) && !l.adminAdded[id] {
			bad = append(bad, fmt.Sprintf("%s (%s): %d still there", l.what, l.mode, id))
		}
	}
	return bad
}
