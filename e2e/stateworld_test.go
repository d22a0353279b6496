package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/e2e/harness"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams/emulator"
)

// The state scenarios run syncd as a process (so that it can be killed,
// and its exit code and output seen as an operator sees them) against the
// emulator behind a handler that watches every write, with the directory
// in an LDIF file the test rewrites. Membership is managed: syncd may
// remove only whom it added, so losing its memory shows at once.
//
// Directory:                      Teams before the first run:
//   platform:    alice bob gina     Platform (10): Community bob frank
//   data:        carol dave hank    (no Data, Ops, Team team-a, Team team-b)
//   ops:         erin gina          tag kubernetes (20): SME frank
//   team-a:      alice carol
//   team-b:      dave erin
//   k8s-experts: erin alice

var statePeople = append(harness.People(),
	harness.Person{UID: "gina", Name: "Gina Park", Email: "gina@example.com", TeamsID: 8},
	harness.Person{UID: "hank", Name: "Hank Moss", Email: "hank@example.com", TeamsID: 9})

func stateID(uid string) int {
	for _, p := range statePeople {
		if p.UID == uid {
			return p.TeamsID
		}
	}
	panic("no person " + uid)
}

func stateIDs(uids ...string) []int {
	var ids []int
	for _, u := range uids {
		ids = append(ids, stateID(u))
	}
	slices.Sort(ids)
	return ids
}

var stateGroups = map[string][]string{
	"platform":    {"alice", "bob", "gina"},
	"data":        {"carol", "dave", "hank"},
	"ops":         {"erin", "gina"},
	"team-a":      {"alice", "carol"},
	"team-b":      {"dave", "erin"},
	"k8s-experts": {"erin", "alice"},
}

// oneApplyWrites is what the first apply writes: Platform's additions
// (and, without a state dir, frank's removal), four creates, and the
// kubernetes SMEs (two POSTs, or a PUT when frank goes too).
const oneApplyWrites = 7

// managedNames are the Teams groups the config manages.
var managedNames = []string{"Platform", "Data", "Ops", "Team team-a", "Team team-b"}

func stateSeed() *emulator.Seed {
	return emulator.Seed{
		SMEEnabled: true,
		Tokens:     []emulator.SeedToken{{Token: tokenRW, Admin: true, Write: true, Team: team}},
		Users:      harness.SeedUsers(statePeople),
		UserGroups: []emulator.SeedGroup{{ID: 10, Name: "Platform", Description: "Platform engineers", UserIDs: append([]int{1}, stateIDs("bob", "frank")...)}},
		Tags:       []emulator.SeedTag{{ID: 20, Name: "kubernetes", SMEUserIDs: stateIDs("frank"), SMEGroupIDs: []int{}}},
	}.InTeam(team) // the site of the Business base URL
}

// stateWorld is one scenario: emulator, handler, directory file, config.
type stateWorld struct {
	t       *testing.T
	dir     string
	emu     *emulator.Emulator
	srv     *httptest.Server
	apiURL  string
	noState bool

	mu       gosync.Mutex
	hook     func(w http.ResponseWriter, r *http.Request) bool // true: it answered
	received []string                                          // writes that reached the emulator: "POST /user-groups"
	delay    time.Duration                                     // before every answer

	cred *syscall.Credential // the user syncd runs as; nil: this test's
}

func newStateWorld(t *testing.T, noState bool) *stateWorld {
	t.Helper()
	requireBinary(t)
	emu, err := emulator.New(stateSeed(), emulator.Options{NoThrottle: true})
	if err != nil {
		t.Fatal(err)
	}
	w := &stateWorld{t: t, dir: t.TempDir(), emu: emu, noState: noState}
	w.srv = httptest.NewServer(w)
	t.Cleanup(w.srv.Close)
	w.apiURL = w.srv.URL + "/v3/teams/" + team
	w.setDirectory(stateGroups)
	w.writeConfig(w.configPath(), 100)
	return w
}

func (w *stateWorld) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	hook, delay := w.hook, w.delay
	w.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if isWrite(r) {
		if hook != nil && hook(rw, r) {
			return
		}
		w.noteWrite(r)
	}
	w.emu.ServeHTTP(rw, r)
}

func isWrite(r *http.Request) bool { return r.Method != http.MethodGet && r.Method != http.MethodHead }

// noteWrite records a write that reaches the emulator, as the audit log's
// "call" names it (relative to teams.url).
func (w *stateWorld) noteWrite(r *http.Request) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.received = append(w.received, r.Method+" "+strings.TrimPrefix(r.URL.Path, "/v3/teams/"+team))
}

func (w *stateWorld) setHook(h func(http.ResponseWriter, *http.Request) bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hook = h
}

func (w *stateWorld) setDelay(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.delay = d
}

func (w *stateWorld) writes() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.received)
}

func (w *stateWorld) configPath() string { return filepath.Join(w.dir, "config.yaml") }
func (w *stateWorld) stateDir() string   { return filepath.Join(w.dir, "state") }
func (w *stateWorld) dbPath() string     { return filepath.Join(w.stateDir(), state.FileName) }

// setDirectory writes the directory export.
func (w *stateWorld) setDirectory(groups map[string][]string) {
	w.t.Helper()
	var b strings.Builder
	b.WriteString(harness.PeopleLDIF(statePeople))
	for _, name := range slices.Sorted(maps.Keys(groups)) {
		b.WriteString(harness.GroupLDIF(name, groups[name]))
	}
	if err := os.WriteFile(filepath.Join(w.dir, "company.ldif"), []byte(b.String()), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// writeConfig writes a config for the world at path, with a removal budget.
func (w *stateWorld) writeConfig(path string, maxRemovals int) {
	w.t.Helper()
	stateLine, membership := "  state_dir: "+w.stateDir()+"\n", "managed"
	if w.noState {
		stateLine, membership = "", "exact" // managed needs the ledger in a state dir
	}
	cfg := fmt.Sprintf(`teams:
  url: %s
  token: ${SYNCD_E2E_TOKEN}
  timeout: 10s
sources:
  - name: corp
    ldif:
      path: %s
      users: {base_dn: "%s"}
      groups: {base_dn: "%s", member_attributes: [member]}
groups:
  - {source: corp, from: platform, to: Platform}
  - {source: corp, from: data, to: Data}
  - {source: corp, from: ops, to: Ops}
  - {source: corp, match: "team-*", to: "Team {name}"}
smes:
  - tag: kubernetes
    users_from: [{source: corp, group: k8s-experts}]
    groups: [Platform]
sync:
  membership: %s
  max_removals: %d
  max_removal_percent: 100
%slog:
  level: info
  format: console
`, w.apiURL, filepath.Join(w.dir, "company.ldif"), harness.PeopleDN, harness.GroupsDN, membership, maxRemovals, stateLine)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// proc is one syncd process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr lockedBuffer
	done           chan struct{}
	code           int
	killed         bool
}

type lockedBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs syncd with args (and the world's config unless args give one).
func (w *stateWorld) start(args ...string) *proc {
	w.t.Helper()
	if !slices.Contains(args, "--config") {
		args = append(slices.Clone(args), "--config", w.configPath())
	}
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(syncdBin, args...)
	p.cmd.Dir = w.dir
	// Writer locks in a runtime dir of the world's own, shared by every
	// syncd of the world (not the machine's /run/syncd).
	p.cmd.Env = append(os.Environ(), "SYNCD_E2E_TOKEN="+tokenRW, "NO_COLOR=1", "XDG_RUNTIME_DIR="+filepath.Join(w.dir, "run"))
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if w.cred != nil {
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: w.cred}
	}
	if err := p.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			p.code = exit.ExitCode()
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.code = -1
			}
		}
		close(p.done)
	}()
	w.t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// kill9 kills the process with SIGKILL and waits until it is gone.
func (p *proc) kill9() {
	p.killed = true
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) wait(t *testing.T) *proc {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(90 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatalf("syncd %v did not finish:\n%s", p.cmd.Args, p)
	}
	if out := p.stdout.String() + p.stderr.String(); strings.Contains(out, "goroutine ") || strings.Contains(out, "panic:") {
		t.Errorf("syncd %v panicked:\n%s", p.cmd.Args[1:], p)
	}
	if strings.Contains(p.stdout.String()+p.stderr.String(), tokenRW) {
		t.Errorf("the token appears in the output of syncd %v", p.cmd.Args[1:])
	}
	return p
}

func (p *proc) String() string {
	return fmt.Sprintf("syncd %s → exit %d\n--- stdout:\n%s\n--- stderr:\n%s", strings.Join(p.cmd.Args[1:], " "), p.code, p.stdout.String(), p.stderr.String())
}

// run runs syncd to the end and checks its exit code.
func (w *stateWorld) run(code int, args ...string) *proc {
	w.t.Helper()
	p := w.start(args...).wait(w.t)
	if p.code != code {
		w.t.Fatalf("want exit %d:\n%s", code, p)
	}
	return p
}

// members returns the sorted members of the one Teams group called name;
// a missing or duplicated group fails the test.
func (w *stateWorld) members(name string) []int {
	w.t.Helper()
	var found []emulator.SeedGroup
	for _, g := range w.emu.Snapshot().UserGroups {
		if strings.EqualFold(g.Name, name) {
			found = append(found, g)
		}
	}
	if len(found) != 1 {
		w.t.Fatalf("%d Teams groups named %q, want exactly 1", len(found), name)
	}
	ids := slices.Clone(found[0].UserIDs)
	slices.Sort(ids)
	return ids
}

// wantTeams checks every managed group and the tag against want (by
// group name; "kubernetes" for the tag's SME users), and that no managed
// group exists twice.
func (w *stateWorld) wantTeams(what string, want map[string][]int) {
	w.t.Helper()
	for _, name := range managedNames {
		if got := w.members(name); !slices.Equal(got, want[name]) {
			w.t.Errorf("%s: %s = %v, want %v", what, name, got, want[name])
		}
	}
	users, groups := w.emu.TagSMEs("kubernetes")
	slices.Sort(users)
	platform, _ := w.emu.GroupByName("Platform")
	if !slices.Equal(users, want["kubernetes"]) || !slices.Equal(groups, []int{platform.ID}) {
		w.t.Errorf("%s: kubernetes SMEs = users %v groups %v, want users %v groups [%d]", what, users, groups, want["kubernetes"], platform.ID)
	}
}

// converged is Teams once the directory above is applied.
func (w *stateWorld) converged() map[string][]int {
	want := converged()
	if w.noState { // exact: frank goes too
		want["Platform"] = append([]int{1}, stateIDs("alice", "bob", "gina")...)
		want["kubernetes"] = stateIDs("alice", "erin")
	}
	return want
}

// converged is Teams once the directory above is applied in managed mode.
func converged() map[string][]int {
	return map[string][]int{
		"Platform":    append([]int{1}, stateIDs("alice", "bob", "frank", "gina")...),
		"Data":        stateIDs("carol", "dave", "hank"),
		"Ops":         stateIDs("erin", "gina"),
		"Team team-a": stateIDs("alice", "carol"),
		"Team team-b": stateIDs("dave", "erin"),
		"kubernetes":  stateIDs("alice", "erin", "frank"),
	}
}

// leavers is the directory after some people leave: each one syncd added.
var leavers = map[string][]string{
	"platform":    {"bob", "gina"},  // alice leaves
	"data":        {"hank"},         // carol and dave leave
	"ops":         {"erin"},         // gina leaves
	"team-a":      {"carol"},        // alice leaves
	"team-b":      {"dave", "erin"}, // nobody leaves
	"k8s-experts": {"erin"},         // alice leaves
}

// afterLeaving is Teams once the leavers are removed: exactly whom syncd
// added and who left; bob and frank (there before syncd) and the
// Community user stay whatever the directory says.
func afterLeaving() map[string][]int {
	return map[string][]int{
		"Platform":    append([]int{1}, stateIDs("bob", "frank", "gina")...),
		"Data":        stateIDs("hank"),
		"Ops":         stateIDs("erin"),
		"Team team-a": stateIDs("carol"),
		"Team team-b": stateIDs("dave", "erin"),
		"kubernetes":  stateIDs("erin", "frank"),
	}
}

// wantAudited checks that the audit log has a line for every write the
// emulator received.
func (w *stateWorld) wantAudited() []state.AuditLine {
	w.t.Helper()
	lines, err := state.ReadAudit(w.stateDir(), 64<<20)
	if err != nil {
		w.t.Fatal(err)
	}
	calls := map[string]int{}
	seqs := map[string]bool{}
	for _, l := range lines {
		if key := fmt.Sprint(l.RunID, l.Seq); !seqs[key] { // one per write, not per line
			seqs[key] = true
			calls[l.Call]++
		}
	}
	for _, c := range w.writes() {
		if calls[c] == 0 {
			w.t.Errorf("the emulator received %s, but the audit log has no line for it", c)
		}
		calls[c]--
	}
	return lines
}
