package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/exitcode"
)

var heldIDLine = regexp.MustCompile(`(?m)^([0-9a-f]{12})  remove 1 user from user group "Platform": Ann Lee <ann@example\.com>$`)

// TestApproveHeldRemovalThenHistory is the operator's path through a held
// removal, with the commands alone: the run holds it (exit 4), approve
// --list shows its id, approve ID records it, the next apply removes
// exactly that person, and history says who removed her, in which run,
// and why.
func TestApproveHeldRemovalThenHistory(t *testing.T) {
	cfg := quickstart(t)
	if code, out, errOut := runCmd(t, nil, "sync", "--config", cfg, "--apply"); code != exitcode.OK {
		t.Fatalf("first apply: exit %d\n%s\n%s", code, out, errOut)
	}
	rewriteConfig(t, cfg, "max_removals: 100", "max_removals: 0")
	ldif := filepath.Join(filepath.Dir(cfg), "company.ldif")
	rewriteConfig(t, ldif, "member: uid=ann,ou=people,dc=example,dc=com\nmember: cn=platform-core", "member: cn=platform-core")

	if code, out, errOut := runCmd(t, nil, "sync", "--config", cfg, "--check"); code != exitcode.Held {
		t.Errorf("--check with the removal over budget: exit %d, want 4 (held wins over pending)\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := runCmd(t, nil, "sync", "--config", cfg, "--apply")
	if !strings.Contains(errOut, "syncd sync: 1 change held back by a safety rule") {
		t.Errorf("held run: stderr lacks the one-line reason:\n%s", errOut)
	}
	if code != exitcode.Held || !strings.Contains(out, "syncd approve") {
		t.Fatalf("removal over max_removals 0: exit %d, want 4 and how to approve\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCmd(t, nil, "approve", "--config", cfg, "--list")
	m := heldIDLine.FindStringSubmatch(out)
	if code != exitcode.OK || m == nil {
		t.Fatalf("approve --list: exit %d, no held change with an id:\n%s", code, out)
	}
	id := m[1]
	if code, _, errOut := runCmd(t, nil, "approve", "--config", cfg, "0123456789ab"); code != exitcode.Failure ||
		!strings.Contains(errOut, "no held change has id 0123456789ab") {
		t.Errorf("unknown id: exit %d, want 1 naming it\n%s", code, errOut)
	}
	if code, _, errOut := runCmd(t, nil, "approve", "--config", cfg, "--all", id); code != exitcode.Usage {
		t.Errorf("--all with an id: exit %d, want 2\n%s", code, errOut)
	}
	if code, _, _ := runCmd(t, nil, "approve", "--config", cfg, id, "--ttl", "30d"); code != exitcode.Usage {
		t.Errorf("--ttl 30d: exit %d, want 2 (at most 7d)", code)
	}
	code, out, errOut = runCmd(t, map[string]string{"USER": "bob"}, "approve", id, "--config", cfg, "--ttl", "2h")
	if code != exitcode.OK || !strings.Contains(out, "approved "+id) {
		t.Fatalf("approve: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, out, _ = runCmd(t, nil, "approve", "--config", cfg); !strings.Contains(out, "approved by bob (syncd approve)") {
		t.Errorf("the list does not show the approval:\n%s", out)
	}

	code, out, errOut = runCmd(t, nil, "sync", "--config", cfg, "--apply")
	if code != exitcode.OK || !strings.Contains(out, "approved held change "+id) {
		t.Fatalf("apply with the approval: exit %d, want 0 and the change shown as approved\n%s\n%s", code, out, errOut)
	}
	if g := seedGroup(teamsState(t, cfg), "Platform"); g == nil || slices.Contains(g.UserIDs, annID(t, cfg)) {
		t.Errorf("Platform after the approved removal: %+v, want Ann gone", g)
	}

	code, out, errOut = runCmd(t, nil, "history", "--config", cfg, "--email", "ann@example.com", "--group", "Platform", "--since", "1d")
	if code != exitcode.OK {
		t.Fatalf("history: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{`Removed 1 user from user group "Platform": <ann@example.com>`, "why: held change " + id + ", approved by bob (syncd approve)",
		"it had been held because 1 removal in this run exceeds max_removals 0", "Approved: remove 1 user from user group \"Platform\""} {
		if !strings.Contains(out, want) {
			t.Errorf("history lacks %q:\n%s", want, out)
		}
	}
	_, out, _ = runCmd(t, nil, "history", "--config", cfg, "--email", "ann@example.com", "--format", "json")
	var entries []struct {
		Kind     string `json:"kind"`
		RunID    string `json:"run_id"`
		Approved *struct {
			By string `json:"by"`
		} `json:"approved"`
	}
	if err := json.Unmarshal([]byte(out), &entries); err != nil || len(entries) != 2 {
		t.Fatalf("history JSON: %v\n%s", err, out)
	}
	if e := entries[0]; e.Kind != "remove_members" || e.RunID == "" || e.Approved == nil || e.Approved.By != "bob (syncd approve)" {
		t.Errorf("newest entry %+v: want the approved removal with its run", e)
	}
	if code, _, _ := runCmd(t, nil, "history", "--config", cfg, "--since", "yesterday"); code != exitcode.Usage {
		t.Errorf("--since yesterday: exit %d, want 2", code)
	}

	// A torn line (a crash, a full disk) is not skipped in silence.
	audit := filepath.Join(filepath.Dir(cfg), ".state", "audit.jsonl")
	f, err := os.OpenFile(audit, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"time":"2026-12-07T12:56:46.16172005Z","run`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	code, out, errOut = runCmd(t, nil, "history", "--config", cfg, "--email", "ann@example.com")
	if code != exitcode.OK || !strings.Contains(errOut, "1 line of the audit log") || !strings.Contains(out, `Removed 1 user from user group "Platform"`) {
		t.Errorf("history with a torn line: exit %d\n%s\n%s", code, out, errOut)
	}
}

// annID is Ann's Teams user id in the quick start's emulated site.
func annID(t *testing.T, cfg string) int {
	t.Helper()
	for _, u := range teamsState(t, cfg).Users {
		if strings.EqualFold(u.Email, "ann@example.com") {
			return u.ID
		}
	}
	t.Fatal("no Ann in the quick start's Teams")
	return 0
}

func TestApproveNeedsTheStateDir(t *testing.T) {
	cfg := quickstart(t)
	rewriteConfig(t, cfg, "  state_dir: .state\n", "")
	for _, cmd := range []string{"approve", "history"} {
		if code, _, errOut := runCmd(t, nil, cmd, "--config", cfg); code != exitcode.Usage || !strings.Contains(errOut, "sync.state_dir") {
			t.Errorf("%s without a state dir: exit %d, want 2 naming sync.state_dir\n%s", cmd, code, errOut)
		}
	}
}
