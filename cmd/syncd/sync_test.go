package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/teams/emulator"
)

// quickstart copies examples/quickstart into a temporary directory (so
// runs leave the repository clean) and returns the config's path.
func quickstart(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"config.yaml", "company.ldif", "teams-seed.json"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", "quickstart", f))
		if err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(dir, f), string(data), 0o644)
	}
	return filepath.Join(dir, "config.yaml")
}

func TestSyncQuickstart(t *testing.T) {
	cfg := quickstart(t)
	code, out, errOut := runCmd(t, nil, "sync", "--config", cfg)
	if code != exitcode.OK {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{`User group "Platform"`, "+ Carol Jones <c.jones@example.com>", "- Victor Lane", "team-mobile", "mallory@example.com", "dry run"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, `Would create user group "team-mobile"`) {
		t.Errorf("no 'Would ...' log line:\n%s", errOut)
	}
	if code, out, _ := runCmd(t, nil, "sync", "--config", cfg, "--check"); code != exitcode.Pending {
		t.Errorf("--check with changes pending: exit %d, want 3\n%s", code, out)
	}
	if code, out, errOut := runCmd(t, nil, "sync", "--config", cfg, "--apply"); code != exitcode.OK || !strings.Contains(out, "applied") {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	seed, err := emulator.LoadSeed(filepath.Join(filepath.Dir(cfg), ".state", emulatorStateFile))
	if err != nil {
		t.Fatalf("emulator state not saved: %v", err)
	}
	if !hasGroup(seed, "team-mobile") {
		t.Errorf("saved emulator state lacks the created group: %+v", seed.UserGroups)
	}
	report := filepath.Join(t.TempDir(), "r.json")
	code, out, errOut = runCmd(t, nil, "sync", "--config", cfg, "--check", "--report", report)
	if code != exitcode.OK || !strings.Contains(out, "No changes") {
		t.Fatalf("after apply: exit %d\n%s\n%s", code, out, errOut)
	}
	var r struct {
		Summary struct {
			ChangesPlanned int `json:"changes_planned"`
			PendingUsers   int `json:"pending_users"`
		} `json:"summary"`
	}
	data, _ := os.ReadFile(report)
	if err := json.Unmarshal(data, &r); err != nil || r.Summary.ChangesPlanned != 0 || r.Summary.PendingUsers != 2 {
		t.Errorf("JSON report (format from the extension): %v %s", err, data)
	}
}

func hasGroup(s *emulator.Seed, name string) bool {
	for _, g := range s.UserGroups {
		if g.Name == name {
			return true
		}
	}
	return false
}

func TestSyncPlanOutAndApply(t *testing.T) {
	cfg := quickstart(t)
	plan := filepath.Join(t.TempDir(), "plan.json")
	if code, out, errOut := runCmd(t, nil, "sync", "--config", cfg, "--plan-out", plan); code != exitcode.OK {
		t.Fatalf("sync --plan-out: exit %d\n%s\n%s", code, out, errOut)
	}
	// A bad --format is a usage error found before anything is applied.
	if code, _, errOut := runCmd(t, nil, "apply", "--plan", plan, "--config", cfg, "--format", "pdf"); code != exitcode.Usage {
		t.Fatalf("apply --format pdf: exit %d, want 2\n%s", code, errOut)
	}
	code, out, errOut := runCmd(t, nil, "apply", "--plan", plan, "--config", cfg)
	if code != exitcode.OK || !strings.Contains(out, "applied") {
		t.Fatalf("apply --plan: exit %d\n%s\n%s", code, out, errOut)
	}
	// Applied once: Teams now differs from what the plan was made against.
	code, _, errOut = runCmd(t, nil, "apply", "--plan", plan, "--config", cfg)
	if code != exitcode.Failure || !strings.Contains(errOut, `user group "Platform" changed`) {
		t.Errorf("stale plan: exit %d, want 1 naming the drift\n%s", code, errOut)
	}
	if code, _, _ := runCmd(t, nil, "apply", "--config", cfg); code != exitcode.Usage {
		t.Errorf("apply without --plan: exit %d, want 2", code)
	}
}

func TestSyncUsage(t *testing.T) {
	cfg := quickstart(t)
	for _, args := range [][]string{
		{"sync", "--config", cfg, "--apply", "--check"},
		{"sync", "--config", cfg, "--format", "pdf"},
		{"sync", "--config", filepath.Join(t.TempDir(), "missing.yaml")},
		{"sync", "--config", cfg, "extra"},
		{"explain", "--config", cfg},
	} {
		if code, _, _ := runCmd(t, nil, args...); code != exitcode.Usage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestExplain(t *testing.T) {
	cfg := quickstart(t)
	code, out, errOut := runCmd(t, nil, "explain", "Carol@Example.com", "--config", cfg)
	if code != exitcode.OK {
		t.Fatalf("explain: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"user id 13", "matched by e-mail c.jones@example.com",
		`user group "Platform"`, "corp: platform > platform-core", "next run:        add",
		`SMEs of tag "go"`,
		// Through the SME group Platform, which is not yet an SME group of kubernetes.
		`SME group "Platform" (id 101)`, "an SME group now:     no; next run: make it an SME group",
		"should be in group:   yes, through corp: platform > platform-core", "is in group now:      no; next run: add",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCmd(t, nil, "explain", "mallory@example.com", "--config", cfg)
	if code != exitcode.OK || !strings.Contains(out, "pending") || !strings.Contains(out, "platform > platform-sre") {
		t.Errorf("explain pending person: exit %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, nil, "explain", "victor@example.com", "--config", cfg)
	if code != exitcode.OK || !strings.Contains(out, "next run:        remove") || !strings.Contains(out, "no person read has this address") {
		t.Errorf("explain someone to remove (in Teams only): exit %d\n%s", code, out)
	}
	// Peggy is read (group finance), but no mapping takes finance.
	code, out, _ = runCmd(t, nil, "explain", "peggy@example.com", "--config", cfg)
	if code != exitcode.OK || !strings.Contains(out, "corp: Peggy Shaw (uid=peggy,ou=people,dc=example,dc=com), in no managed directory group") {
		t.Errorf("explain someone read but in no managed group: exit %d\n%s", code, out)
	}
}

// TestSyncApplyFromConfig: sync.apply: true applies without --apply;
// --check stays a dry run (exit 3) even then.
func TestSyncApplyFromConfig(t *testing.T) {
	cfg := quickstart(t)
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, cfg, strings.Replace(string(data), "sync:\n", "sync:\n  apply: true\n", 1), 0o644)
	if code, out, errOut := runCmd(t, nil, "sync", "--config", cfg, "--check"); code != exitcode.Pending || !strings.Contains(out, "dry run") {
		t.Fatalf("--check with sync.apply: true: exit %d, want 3 and a dry run\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg), ".state", emulatorStateFile)); err == nil {
		t.Fatal("--check wrote the emulator's state: it applied something")
	}
	if code, out, errOut := runCmd(t, nil, "sync", "--config", cfg); code != exitcode.OK || !strings.Contains(out, "Applied:") {
		t.Fatalf("sync.apply: true: exit %d, want the changes applied\n%s\n%s", code, out, errOut)
	}
	if code, out, _ := runCmd(t, nil, "sync", "--config", cfg, "--check"); code != exitcode.OK || !strings.Contains(out, "No changes") {
		t.Errorf("after the apply: exit %d\n%s", code, out)
	}
}

// A run that fails after writing its report still ends with the one line
// on stderr the README promises, and logs why at warn level.
func TestFailedRunSaysWhyOnStderr(t *testing.T) {
	cfg := quickstart(t)
	ldif := filepath.Join(filepath.Dir(cfg), "company.ldif")
	rewriteConfig(t, ldif, "member: uid=ann,ou=people,dc=example,dc=com\nmember: cn=platform-core",
		"member: uid=nobody,ou=people,dc=example,dc=com\nmember: cn=platform-core")
	code, _, errOut := runCmd(t, nil, "sync", "--config", cfg)
	if code != exitcode.Failure {
		t.Fatalf("exit %d, want 1\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "\nsyncd sync: ") || !strings.Contains(errOut, "platform") || !strings.Contains(errOut, "WARN") {
		t.Errorf("stderr lacks the warning and the final 'syncd sync:' line naming platform:\n%s", errOut)
	}
}
