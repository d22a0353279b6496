package daemon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// aliceNewID is the Teams account of alice's new address.
const (
	aliceNewID   = 8
	aliceNewMail = "alice.martin@example.com"
)

func watchSeed() *emulator.Seed {
	s := companySeed()
	s.Users = append(s.Users, emulator.SeedUser{ID: aliceNewID, Name: "Alice Martin", Email: aliceNewMail, Role: "Registered"})
	return s
}

// watchConfig is `syncd run` with sync.watch over the directory's source.
func watchConfig(apiURL string, w *watchDirectory, passwordFile, listen, stateDir string, runAtStart bool) string {
	return fmt.Sprintf(`teams:
  url: %s
  token: ${SYNCD_E2E_TOKEN}
  timeout: 10s
sources:
  - name: corp
    ldap:
%s      watch: {poll_interval: 500ms}
groups:
  - {source: corp, from: platform, to: Platform}
  - {source: corp, from: data, to: Data}
  - {source: corp, from: eng, to: Engineering}
sync:
  schedule: "@every 1h"
  run_at_start: %v
  max_removal_percent: 60
  state_dir: %s
  watch: true
  watch_delay: 500ms
server:
  listen: %s
log:
  level: info
  format: json
`, apiURL, strings.ReplaceAll(w.ldap, "%PASSWORD_FILE%", passwordFile), runAtStart, stateDir, listen)
}

// waitLong polls cond for up to 90 s: a change goes through a feed, a
// debounce and a change set, or a directory restarts, on a busy machine.
func (d *daemon) waitLong(what string, cond func() bool) {
	d.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		select {
		case <-d.exited:
			d.t.Fatalf("syncd run exited (%v) while waiting for %s", d.exitErr, what)
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// company is what the scenarios expect of the Teams groups, by Teams id.
type company map[string][]int

func (c company) set(group string, ids ...int) { slices.Sort(ids); c[group] = ids }

func (c company) without(group string, id int) {
	c[group] = slices.DeleteFunc(slices.Clone(c[group]), func(x int) bool { return x == id })
}

func (c company) with(group string, id int) { c.set(group, append(slices.Clone(c[group]), id)...) }

// expect waits until every Teams group holds what c says.
func (d *daemon) expect(emu *emulator.Emulator, what string, c company) {
	d.t.Helper()
	d.waitLong(what, func() bool {
		for name, want := range c {
			got, ok := teamsMembers(emu, name)
			if !ok || !slices.Equal(got, want) {
				return false
			}
		}
		return true
	})
}

// teamsMembers are the sorted ids of what a company key names: a user
// group's members, or for "tag:NAME" the tag's SME users.
func teamsMembers(emu *emulator.Emulator, name string) ([]int, bool) {
	var ids []int
	if tag, ok := strings.CutPrefix(name, "tag:"); ok {
		if ids, _ = emu.TagSMEs(tag); ids == nil {
			return nil, false
		}
	} else {
		g, ok := emu.GroupByName(name)
		if !ok {
			return nil, false
		}
		ids = g.UserIDs
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids, true
}

func id(uid string) int { return teamsIDs(uid)[0] }

// logged counts the daemon's log lines with msg whose fields want accepts.
func (d *daemon) logged(msg string, want func(map[string]any) bool) int {
	n := 0
	for _, line := range strings.Split(d.out.String(), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["msg"] == msg && want(e) {
			n++
		}
	}
	return n
}

func (d *daemon) logHas(msg string, want func(map[string]any) bool) bool {
	return d.logged(msg, want) > 0
}

// failedOn accepts a change set that planned group and reported errors.
func failedOn(group string) func(map[string]any) bool {
	return func(e map[string]any) bool {
		list, _ := e["touched"].([]any)
		errs, _ := e["errors"].(float64)
		return slices.Contains(list, any(group)) && errs > 0
	}
}

func change(t *testing.T, c *goldap.Conn, dn string, fn func(*goldap.ModifyRequest)) {
	t.Helper()
	m := goldap.NewModifyRequest(dn, nil)
	fn(m)
	if err := c.Modify(m); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

func TestWatchOpenLDAP(t *testing.T)  { requireBinary(t); watchScenarios(t, slapdWatch(t)) }
func TestWatch389DS(t *testing.T)     { requireBinary(t); watchScenarios(t, dsWatch(t)) }
func TestWatchActiveDir(t *testing.T) { requireBinary(t); watchScenarios(t, sambaWatch(t)) }

// watchScenarios runs `syncd run --apply` with sync.watch against the
// directory and the emulator, and makes the changes of issue 14 in the
// directory, each applied in Teams by the feed (the schedule is hourly):
// a member added (reaching the group it is nested in), removed, an e-mail
// address changed, an account disabled, a group deleted, the directory
// stopped and started mid-watch, and syncd restarted with a change made
// while it was down (resumed from the saved position; nothing missed,
// nothing applied twice).
func watchScenarios(t *testing.T, w *watchDirectory) {
	emu, hs := teamstest.NewServer(t, watchSeed(), emulator.Options{})
	dir := t.TempDir()
	listen := freeAddr(t)
	path, stateDir := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "state")
	pw := w.passwordFile(t, dir)
	writeConfig := func(runAtStart bool) {
		must(t, os.WriteFile(path, []byte(watchConfig(hs.URL+"/v3/teams/"+team, w, pw, listen, stateDir, runAtStart)), 0o600))
	}
	writeConfig(true)
	d := startDaemon(t, path, listen, "--apply")
	defer func() {
		if strings.Contains(d.out.String(), w.password) {
			t.Error("the bind password appears in the log")
		}
	}()
	want := company{}
	want.set("Platform", id("alice"), id("bob"))
	want.set("Data", id("carol"), id("dave"))
	want.set("Engineering", id("alice"), id("bob"), id("erin"))
	d.expect(emu, "the first full run", want)
	d.waitLong("the feed to follow", func() bool {
		return d.metric("syncd_watch_connected", `source="corp"`) == 1 &&
			d.logHas("watch: following the source's changes", func(map[string]any) bool { return true })
	})
	if !d.logHas("watch: following the source's changes", func(e map[string]any) bool { return e["feed"] == w.feed }) {
		t.Errorf("the feed is not %s", w.feed)
	}
	c := w.admin(t)
	defer func() { c.Close() }()

	change(t, c, w.group("platform"), func(m *goldap.ModifyRequest) { m.Add("member", []string{w.person("dave")}) })
	want.with("Platform", id("dave"))
	want.with("Engineering", id("dave"))
	d.expect(emu, "dave added to platform, and so to eng", want)

	change(t, c, w.group("platform"), func(m *goldap.ModifyRequest) { m.Delete("member", []string{w.person("bob")}) })
	want.without("Platform", id("bob"))
	want.without("Engineering", id("bob"))
	d.expect(emu, "bob removed from platform and eng", want)

	change(t, c, w.person("alice"), func(m *goldap.ModifyRequest) { m.Replace(w.mail, []string{aliceNewMail}) })
	for _, g := range []string{"Platform", "Engineering"} {
		want.without(g, id("alice"))
		want.with(g, aliceNewID)
	}
	d.expect(emu, "alice's new address", want)

	if w.disable != nil {
		change(t, c, w.person("dave"), w.disable)
		for _, g := range []string{"Platform", "Engineering", "Data"} {
			want.without(g, id("dave"))
		}
		d.expect(emu, "dave disabled", want)
	}

	before := d.logged("change set not applied in full", failedOn("Data"))
	if err := c.Del(goldap.NewDelRequest(w.group("data"), nil)); err != nil {
		t.Fatal(err)
	}
	d.waitLong("the change set of the deleted group", func() bool { return d.logged("change set not applied in full", failedOn("Data")) > before })
	d.expect(emu, "Data untouched after its directory group was deleted", want)

	w.stop(t)
	d.waitLong("the feed down in the metrics", func() bool {
		return d.metric("syncd_watch_connected", `source="corp"`) == 0
	})
	// A directory restarting is not a reason to take syncd out of service:
	// /readyz says 503 only after daemon.FeedDownGrace.
	if code, _, body := d.get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with the feed down for seconds: %d %s, want 200", code, body)
	}
	w.start(t)
	d.waitLong("the feed back", func() bool {
		code, _, _ := d.get("/readyz")
		return code == http.StatusOK && d.metric("syncd_watch_connected", `source="corp"`) == 1
	})
	c.Close()
	c = w.admin(t)
	change(t, c, w.group("platform"), func(m *goldap.ModifyRequest) { m.Add("member", []string{w.person("bob")}) })
	want.with("Platform", id("bob"))
	want.with("Engineering", id("bob"))
	d.expect(emu, "bob added after the directory restart", want)
	_, _, exposition := d.get("/metrics")
	checkMonitoringNames(t, exposition, func(name string) bool { return strings.HasPrefix(name, watchPrefix) })
	// One observation per change set: each change above had its own (the
	// start's comparison may share the first's), this one once it ended.
	d.waitLong("change_apply_seconds to count the change sets", func() bool { return d.metric("syncd_change_apply_seconds_count") >= 5 })

	d.signal(syscall.SIGTERM)
	if code, _ := d.exitWithin(10 * time.Second); code != 0 {
		t.Fatalf("syncd run exited %d after SIGTERM", code)
	}
	change(t, c, w.group("platform"), func(m *goldap.ModifyRequest) { m.Add("member", []string{w.person("carol")}) })
	want.with("Platform", id("carol"))
	want.with("Engineering", id("carol"))
	writeConfig(false) // no run at start: only the feed can bring the change
	d = startDaemon(t, path, listen, "--apply")
	d.expect(emu, "carol, added while syncd was down", want)
	checkAppliedOnce(t, stateDir)
}

// checkAppliedOnce fails when the audit log holds one change twice: the
// scenarios add or remove each person at most once per group.
func checkAppliedOnce(t *testing.T, stateDir string) {
	t.Helper()
	lines, err := state.ReadAudit(stateDir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, l := range lines {
		if l.Result != state.ResultApplied {
			continue
		}
		for _, u := range l.Users {
			k := fmt.Sprintf("%s %s %d", l.Kind, l.Group, u.ID)
			if seen[k]++; seen[k] > 1 {
				t.Errorf("applied twice: %s", k)
			}
		}
	}
	if len(seen) == 0 {
		t.Error("the audit log is empty")
	}
}
