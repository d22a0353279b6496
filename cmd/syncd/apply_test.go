package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/teams/emulator"
)

// rewriteConfig replaces, in the quick start config at cfg, every old
// with its new (each must be found), as an operator editing the file would.
func rewriteConfig(t *testing.T, cfg string, pairs ...string) {
	t.Helper()
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(text, pairs[i]) {
			t.Fatalf("the quick start config no longer contains %q", pairs[i])
		}
		text = strings.Replace(text, pairs[i], pairs[i+1], 1)
	}
	writeTestFile(t, cfg, text, 0o644)
}

// between returns the part of the config from start up to (not including) end.
func between(t *testing.T, cfg, start, end string) string {
	t.Helper()
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), start)
	block, _, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		t.Fatalf("config lacks %q ... %q", start, end)
	}
	return start + block
}

// teamsState is the quick start's emulated site as the last command left it.
func teamsState(t *testing.T, cfg string) *emulator.Seed {
	t.Helper()
	file := filepath.Join(filepath.Dir(cfg), ".state", emulatorStateFile)
	if _, err := os.Stat(file); err != nil {
		file = filepath.Join(filepath.Dir(cfg), "teams-seed.json")
	}
	seed, err := emulator.LoadSeed(file)
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

func seedGroup(s *emulator.Seed, name string) *emulator.SeedGroup {
	for i := range s.UserGroups {
		if s.UserGroups[i].Name == name {
			return &s.UserGroups[i]
		}
	}
	return nil
}

func seedTag(s *emulator.Seed, name string) *emulator.SeedTag {
	for i := range s.Tags {
		if s.Tags[i].Name == name {
			return &s.Tags[i]
		}
	}
	return nil
}

// savePlan writes the quick start's plan and returns its path.
func savePlan(t *testing.T, cfg string) string {
	t.Helper()
	plan := filepath.Join(t.TempDir(), "plan.json")
	if code, out, errOut := runCmd(t, nil, "sync", "--config", cfg, "--plan-out", plan); code != exitcode.OK {
		t.Fatalf("sync --plan-out: exit %d\n%s\n%s", code, out, errOut)
	}
	return plan
}

// TestApplyPlanRefusedUnderNarrowerConfig: a plan saved under the quick
// start config is refused once the config no longer maps any group and
// manages only the go tag; nothing in Teams changes (DESIGN.md §8 rule 4).
func TestApplyPlanRefusedUnderNarrowerConfig(t *testing.T) {
	cfg := quickstart(t)
	plan := savePlan(t, cfg)
	before := teamsState(t, cfg)
	groups := between(t, cfg, "\ngroups:\n", "\nsmes:")
	kubernetes := between(t, cfg, "  - tag: kubernetes\n", "  - tag: go")
	rewriteConfig(t, cfg, groups, "\ngroups: []\n", kubernetes, "")
	if code, _, errOut := runCmd(t, nil, "validate", "--config", cfg); code != exitcode.OK {
		t.Fatalf("the narrower config does not validate: exit %d\n%s", code, errOut)
	}

	code, out, errOut := runCmd(t, nil, "apply", "--plan", plan, "--config", cfg)
	if code != exitcode.Failure {
		t.Fatalf("apply under a narrower config: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{`"Platform"`, `"team-web"`, `"team-mobile"`, `"kubernetes"`, "another configuration"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the refusal does not name %s:\n%s", want, errOut)
		}
	}
	if strings.Contains(out, "applied") && !strings.Contains(out, "0 applied") {
		t.Errorf("the report shows applied changes:\n%s", out)
	}
	after := teamsState(t, cfg)
	if seedGroup(after, "team-mobile") != nil {
		t.Error("team-mobile was created by a refused plan")
	}
	for _, name := range []string{"Platform", "team-web"} {
		if b, a := seedGroup(before, name), seedGroup(after, name); a == nil || !slices.Equal(a.UserIDs, b.UserIDs) || a.Description != b.Description {
			t.Errorf("group %s changed: %+v -> %+v", name, b, a)
		}
	}
	for _, name := range []string{"kubernetes", "go"} {
		b, a := seedTag(before, name), seedTag(after, name)
		if !slices.Equal(a.SMEUserIDs, b.SMEUserIDs) || !slices.Equal(a.SMEGroupIDs, b.SMEGroupIDs) {
			t.Errorf("SMEs of %s changed: %+v -> %+v", name, b, a)
		}
	}
}

// TestApplyPlanRefusedWhenRulesChange: other edits of what a group or tag
// is synced from, or how, refuse the plan too; a change elsewhere (the
// log level) does not.
func TestApplyPlanRefusedWhenRulesChange(t *testing.T) {
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"membership mode", "  membership: exact\n", "  membership: add-only\n", `user group "Platform" changed`},
		{"directory group", "from: platform ", "from: platform-core ", `user group "Platform" changed`},
		{"SME group list", "    groups: [Platform]\n", "", `tag "kubernetes" changed`},
		{"new mapping", "smes:\n", "  - {source: corp, from: design, to: Design}\nsmes:\n", `also manages user group "Design"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := quickstart(t)
			plan := savePlan(t, cfg)
			rewriteConfig(t, cfg, c.old, c.new)
			code, out, errOut := runCmd(t, nil, "apply", "--plan", plan, "--config", cfg)
			if code != exitcode.Failure || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, want 1 naming %q\n%s\n%s", code, c.want, out, errOut)
			}
			if seedGroup(teamsState(t, cfg), "team-mobile") != nil {
				t.Error("a refused plan created team-mobile")
			}
		})
	}
	cfg := quickstart(t)
	plan := savePlan(t, cfg)
	rewriteConfig(t, cfg, "  level: info\n", "  level: warn\n")
	if code, out, errOut := runCmd(t, nil, "apply", "--plan", plan, "--config", cfg); code != exitcode.OK {
		t.Fatalf("apply after an unrelated config edit: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestApplyPlanHonoursLoweredBudget: a plan saved under max_removals 100
// removes Victor from Platform; applied after the budget was lowered to 0,
// that removal is held (exit 4) while the additions go through (rule 3).
func TestApplyPlanHonoursLoweredBudget(t *testing.T) {
	const victor, carol = 23, 13
	for _, c := range []struct{ name, old, new, reason string }{
		{"max_removals", "max_removals: 100", "max_removals: 0", "1 removal in this run exceeds max_removals 0"},
		// One removal is within the default floor: the floor goes to 0 too.
		{"max_removal_percent", "max_removal_percent: 25", "max_removal_percent: 10\n  max_removal_percent_floor: 0", "exceeds max_removal_percent 10"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := quickstart(t)
			plan := savePlan(t, cfg)
			if p := seedGroup(teamsState(t, cfg), "Platform"); !slices.Contains(p.UserIDs, victor) {
				t.Fatalf("the seed changed: Victor (%d) is not in Platform: %v", victor, p.UserIDs)
			}
			rewriteConfig(t, cfg, c.old, c.new)
			code, out, errOut := runCmd(t, nil, "apply", "--plan", plan, "--config", cfg)
			if code != exitcode.Held {
				t.Fatalf("apply over the lowered budget: exit %d, want 4\n%s\n%s", code, out, errOut)
			}
			if !strings.Contains(out, c.reason) || !strings.Contains(out, "Victor Lane") {
				t.Errorf("the report does not show the held removal and why:\n%s", out)
			}
			p := seedGroup(teamsState(t, cfg), "Platform")
			if !slices.Contains(p.UserIDs, victor) {
				t.Errorf("Victor was removed despite the budget: %v", p.UserIDs)
			}
			if !slices.Contains(p.UserIDs, carol) {
				t.Errorf("the addition of Carol did not go through: %v", p.UserIDs)
			}
		})
	}
}
