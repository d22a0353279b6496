package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/e2e/harness"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// The company every scenario starts from.
//
// Directory (slapd):            Teams (emulator) before the first run:
//   platform:    alice bob newbie   Platform (10): Community(1) bob frank
//   data:        carol dave          (no Data group)
//   k8s-experts: erin alice          Sales (11): dave          — not managed
//   big:         p01 … p40           tag kubernetes (20): no SMEs
//                                    tag go (21): SME frank    — not managed
//
// newbie (new.hire@example.com) has no Teams account yet: pending.

const (
	team       = harness.Team
	tokenRW    = "e2e-admin-write-token"
	tokenRO    = "e2e-admin-read-only-token"
	peopleDN   = harness.PeopleDN
	groupsDN   = harness.GroupsDN
	newbieMail = harness.NewbieMail
)

// person is one directory user and, when TeamsID > 0, their Teams account.
type person = harness.Person

var people = harness.People()

// bigPeople are the 40 members of the directory group "big".
func bigPeople() []person {
	out := make([]person, 40)
	for i := range out {
		n := i + 1
		out[i] = person{UID: fmt.Sprintf("p%02d", n), Name: fmt.Sprintf("Person %02d", n), Email: fmt.Sprintf("p%02d@example.com", n), TeamsID: 100 + n}
	}
	return out
}

func allPeople() []person { return append(slices.Clone(people), bigPeople()...) }

func personByUID(uid string) person {
	for _, p := range allPeople() {
		if p.UID == uid {
			return p
		}
	}
	panic("no person " + uid)
}

// teamsIDs maps uids to Teams ids.
func teamsIDs(uids ...string) []int {
	ids := make([]int, len(uids))
	for i, u := range uids {
		ids[i] = personByUID(u).TeamsID
	}
	slices.Sort(ids)
	return ids
}

var directoryGroups = map[string][]string{
	"platform":    {"alice", "bob", "newbie"},
	"data":        {"carol", "dave"},
	"k8s-experts": {"erin", "alice"},
	"big":         uidsOf(bigPeople()),
}

func uidsOf(ps []person) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.UID
	}
	return out
}

func userDN(uid string) string   { return harness.UserDN(uid) }
func groupDN(name string) string { return harness.GroupDN(name) }

// teamGroups returns n extra directory groups team-01 … team-NN, three of
// the "big" people each, for scenarios that need many groups.
func teamGroups(n int) map[string][]string {
	big := uidsOf(bigPeople())
	out := map[string][]string{}
	for i := range n {
		out[fmt.Sprintf("team-%02d", i+1)] = []string{big[i%40], big[(i+1)%40], big[(i+2)%40]}
	}
	return out
}

// companyLDIF is the directory in LDIF, parents before children, with n
// extra team groups.
func companyLDIF(n int) string {
	var b strings.Builder
	b.WriteString(harness.PeopleLDIF(allPeople()))
	groups := maps.Clone(directoryGroups)
	maps.Copy(groups, teamGroups(n))
	for _, name := range slices.Sorted(maps.Keys(groups)) {
		b.WriteString(harness.GroupLDIF(name, groups[name]))
	}
	return b.String()
}

// companySeed is Teams before the first run.
func companySeed() *emulator.Seed {
	s := &emulator.Seed{
		SMEEnabled: true,
		Tokens: []emulator.SeedToken{
			{Token: tokenRW, Admin: true, Write: true, Team: team},
			{Token: tokenRO, Admin: true, Write: false, Team: team},
		},
		Users: harness.SeedUsers(allPeople()),
		UserGroups: []emulator.SeedGroup{
			// The Community user (id 1) is in Platform: syncd never touches it.
			{ID: 10, Name: "Platform", Description: "Platform engineers", UserIDs: append([]int{1}, teamsIDs("bob", "frank")...)},
			{ID: 11, Name: "Sales", Description: "not managed by syncd", UserIDs: teamsIDs("dave")},
		},
		Tags: []emulator.SeedTag{
			{ID: 20, Name: "kubernetes", SMEUserIDs: []int{}, SMEGroupIDs: []int{}},
			{ID: 21, Name: "go", SMEUserIDs: teamsIDs("frank"), SMEGroupIDs: []int{}},
		},
	}
	return s.InTeam(team) // the site of the Business base URL
}

// world is one scenario's servers and files.
type world struct {
	t      *testing.T
	ldap   *slapdtest.Server
	emu    *emulator.Emulator
	apiURL string
	dir    string
	token  string
	cfg    configOptions
}

type configOptions struct {
	ExtraGroups       string // more YAML items under groups:
	NoSMEs            bool
	MaxRemovalPercent int // default 60 (so that Platform may lose frank)
	NoStateDir        bool
	TeamGroups        int // extra directory groups team-NN, mapped by match: "team-*" to "Team {name}"
}

// newWorld starts slapd with the company, the emulator with seed, and writes
// a config for syncd.
func newWorld(t *testing.T, seed *emulator.Seed, eo emulator.Options, co configOptions) *world {
	t.Helper()
	requireBinary(t)
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: companyLDIF(co.TeamGroups)})
	emu, hs := teamstest.NewServer(t, seed, eo)
	w := &world{t: t, ldap: srv, emu: emu, apiURL: hs.URL + "/v3/teams/" + team, dir: t.TempDir(), token: tokenRW, cfg: co}
	w.writeConfig()
	return w
}

func (w *world) configPath() string { return filepath.Join(w.dir, "config.yaml") }

func (w *world) writeConfig() {
	co := w.cfg
	if co.MaxRemovalPercent == 0 {
		co.MaxRemovalPercent = 60
	}
	smes := `smes:
  - tag: kubernetes
    users_from: [{source: corp, group: k8s-experts}]
    groups: [Platform]
`
	if co.NoSMEs {
		smes = ""
	}
	if co.TeamGroups > 0 {
		co.ExtraGroups += "  - source: corp\n    match: \"team-*\"\n    to: \"Team {name}\"\n"
	}
	state := "  state_dir: " + filepath.Join(w.dir, "state") + "\n"
	if co.NoStateDir {
		state = ""
	}
	cfg := fmt.Sprintf(`teams:
  url: %s
  token: ${SYNCD_E2E_TOKEN}
  timeout: 10s
sources:
  - name: corp
    ldap:
      url: %s
      bind_dn: %s
      bind_password: ${SYNCD_E2E_LDAP_PASSWORD}
      timeout: 5s
      users:
        base_dn: %s
      groups:
        base_dn: %s
groups:
  - source: corp
    from: platform
    to: Platform
  - source: corp
    from: data
    to: Data
%s%ssync:
  max_removal_percent: %d
%slog:
  level: info
  format: console
`, w.apiURL, w.ldap.URL, slapdtest.ReaderDN, peopleDN, groupsDN, co.ExtraGroups, smes, co.MaxRemovalPercent, state)
	if err := os.WriteFile(w.configPath(), []byte(cfg), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// result is one run of the binary.
type result struct {
	args           []string
	code           int
	stdout, stderr string
	report         *report.Report // from --report FILE --format json, when asked
}

func (r result) String() string {
	return fmt.Sprintf("syncd %s → exit %d\n--- stdout:\n%s\n--- stderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// syncd runs the binary with args and the world's config and token.
func (w *world) syncd(args ...string) result {
	w.t.Helper()
	args = append(slices.Clone(args), "--config", w.configPath())
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, syncdBin, args...)
	cmd.Dir = w.dir
	cmd.Env = append(os.Environ(),
		"SYNCD_E2E_TOKEN="+w.token,
		"SYNCD_E2E_LDAP_PASSWORD="+slapdtest.ReaderPW,
		"NO_COLOR=1",
		"XDG_RUNTIME_DIR="+filepath.Join(w.dir, "run")) // writer locks of the world's own
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		w.t.Fatalf("run syncd %v: %v", args, err)
	}
	if ctx.Err() != nil {
		w.t.Fatalf("syncd %v did not finish in time:\n%s", args, r)
	}
	for _, s := range []string{w.token, slapdtest.ReaderPW} {
		if strings.Contains(r.stdout+r.stderr, s) {
			w.t.Errorf("a secret appears in the output of syncd %v", args)
		}
	}
	return r
}

// sync runs `syncd sync` with args plus a JSON report, and decodes it.
func (w *world) sync(args ...string) result {
	w.t.Helper()
	path := filepath.Join(w.dir, fmt.Sprintf("report-%d.json", time.Now().UnixNano()))
	r := w.syncd(append([]string{"sync", "--report", path, "--format", "json"}, args...)...)
	data, err := os.ReadFile(path)
	if err != nil {
		w.t.Logf("no report written (%v)\n%s", err, r)
		return r
	}
	if bytes.Contains(data, []byte(w.token)) || bytes.Contains(data, []byte(slapdtest.ReaderPW)) {
		w.t.Errorf("a secret appears in the JSON report")
	}
	if bytes.Contains(data, []byte("null")) {
		w.t.Errorf("JSON report holds a null (lists must be []):\n%s", data)
	}
	var rep report.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		w.t.Fatalf("report is not JSON: %v\n%s", err, data)
	}
	r.report = &rep
	return r
}

// mustExit fails the test unless the run exited with code.
func (w *world) mustExit(r result, code int) {
	w.t.Helper()
	if r.code != code {
		w.t.Fatalf("want exit %d:\n%s", code, r)
	}
}

// wantNoWrites runs `syncd sync --apply` once more over unchanged data and
// checks that it succeeds without a single write call.
func (w *world) wantNoWrites() {
	w.t.Helper()
	w.emu.ResetLog()
	w.mustExit(w.sync("--apply"), exitOK)
	if n := w.emu.WriteCount(); n != 0 {
		w.t.Errorf("a run over unchanged data made %d write calls:\n%v", n, w.emu.Requests())
	}
}

// groupMembers returns the sorted member ids of the Teams group name, or
// fails when it does not exist.
func (w *world) groupMembers(name string) []int {
	w.t.Helper()
	g, ok := w.emu.GroupByName(name)
	if !ok {
		w.t.Fatalf("Teams group %q does not exist", name)
	}
	ids := slices.Clone(g.UserIDs)
	slices.Sort(ids)
	return ids
}

func (w *world) wantMembers(name string, want []int) {
	w.t.Helper()
	if got := w.groupMembers(name); !slices.Equal(got, want) {
		w.t.Errorf("Teams group %q members = %v, want %v", name, got, want)
	}
}

func (w *world) wantSMEs(tag string, users, groups []int) {
	w.t.Helper()
	gotU, gotG := w.emu.TagSMEs(tag)
	slices.Sort(gotU)
	slices.Sort(gotG)
	if !slices.Equal(gotU, users) || !slices.Equal(gotG, groups) {
		w.t.Errorf("tag %q SMEs = users %v groups %v, want users %v groups %v", tag, gotU, gotG, users, groups)
	}
}

// groupsNamed counts the Teams groups called name (duplicates are a bug).
func (w *world) groupsNamed(name string) int {
	n := 0
	for _, g := range w.emu.Snapshot().UserGroups {
		if strings.EqualFold(g.Name, name) {
			n++
		}
	}
	return n
}

// setDirectoryMembers replaces a directory group's members in the live slapd.
func (w *world) setDirectoryMembers(group string, uids ...string) {
	w.t.Helper()
	conn, err := goldap.DialURL(w.ldap.URL)
	if err != nil {
		w.t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(slapdtest.RootDN, slapdtest.RootPW); err != nil {
		w.t.Fatal(err)
	}
	dns := make([]string, len(uids))
	for i, u := range uids {
		dns[i] = userDN(u)
	}
	req := goldap.NewModifyRequest(groupDN(group), nil)
	req.Replace("member", dns)
	if err := conn.Modify(req); err != nil {
		w.t.Fatalf("modify %s: %v", group, err)
	}
}

// changes returns the report's changes of kind for group or tag.
func changes(rep *report.Report, kind, where string) []report.Change {
	var out []report.Change
	for _, c := range rep.Changes {
		if c.Kind == kind && (c.Group == where || c.Tag == where) {
			out = append(out, c)
		}
	}
	return out
}

// writeLog counts the write requests served since ResetLog: accepted, refused.
func (w *world) writeLog() (ok, failed int) {
	for _, r := range w.emu.Requests() {
		if r.Method == "GET" || r.Method == "HEAD" || r.Method == "OPTIONS" {
			continue
		}
		if r.Status < 300 {
			ok++
		} else {
			failed++
		}
	}
	return ok, failed
}
