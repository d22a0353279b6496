package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/report"
)

func mustNew(tb testing.TB) (*metrics.Metrics, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, "v1.2.3")
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return m, reg
}

func TestNewRequiresRegisterer(t *testing.T) {
	if _, err := metrics.New(nil, "dev"); err == nil {
		t.Fatal("New(nil) succeeded, want an error")
	}
}

func TestNewTwiceOnOneRegistryFails(t *testing.T) {
	_, reg := mustNew(t)
	if _, err := metrics.New(reg, "dev"); err == nil {
		t.Fatal("second New on the same registry succeeded, want a duplicate registration error")
	}
}

func TestLint(t *testing.T) {
	m, reg := mustNew(t)
	feed(m)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// feed records a little of everything so that every vector has series.
func feed(m *metrics.Metrics) {
	m.ObserveRun(metrics.Run{
		Result: metrics.ResultSuccess, Finished: time.Unix(1000, 0), Duration: time.Second,
		Report:  &report.Report{Changes: []report.Change{{Kind: report.KindAddMembers, Status: report.StatusApplied}}},
		Sources: []metrics.Source{{Name: "corp", Users: 3, Groups: 2, Duration: time.Millisecond}},
	})
	h := m.TeamsHook()
	h.Request("GET", "/users", 200, 10*time.Millisecond)
	h.ThrottleWait(time.Second)
	h.RateLimit("bucket", 4999)
	m.SCIMReceiver("entra", time.Time{}, 0, 0).Request("POST", 201, time.Unix(2000, 0))
	m.RunSkipped()
	m.ConfigReload(true)
}

func TestObserveRun(t *testing.T) {
	m, reg := mustNew(t)
	rep := &report.Report{
		Summary: report.Summary{PendingUsers: 2},
		Changes: []report.Change{
			{Kind: report.KindAddMembers, Status: report.StatusApplied, Users: make([]report.User, 3)},
			{Kind: report.KindAddMembers, Status: report.StatusApplied},
			{Kind: report.KindRemoveMembers, Status: report.StatusHeld, Users: make([]report.User, 4)},
			{Kind: report.KindRemoveSMEGroups, Status: report.StatusHeld, Groups: []string{"A", "B"}},
			{Kind: report.KindAddSMEUsers, Status: report.StatusHeld, Users: make([]report.User, 5)}, // not a removal
			{Kind: report.KindCreateGroup, Status: report.StatusFailed},
		},
		Pending: []report.Pending{{Email: "a@example.com"}, {Email: "b@example.com"}},
	}
	m.RunStarted()
	if got := value(t, reg, "syncd_run_in_progress", nil); got != 1 {
		t.Errorf("run_in_progress during a run = %v, want 1", got)
	}
	m.ObserveRun(metrics.Run{
		Result: metrics.ResultHeld, Finished: time.Unix(1700000000, 500e6), Duration: 90 * time.Second,
		Report: rep,
		Sources: []metrics.Source{
			{Name: "corp", Users: 120, Groups: 7, Unknown: 1, Duration: 2 * time.Second},
			{Name: "idp", Failed: true, Duration: time.Second},
		},
	})

	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"syncd_runs_total", map[string]string{"result": "held"}, 1},
		{"syncd_runs_total", map[string]string{"result": "success"}, 0},
		{"syncd_runs_total", map[string]string{"result": "failure"}, 0},
		{"syncd_run_in_progress", nil, 0},
		{"syncd_last_run_timestamp_seconds", nil, 1700000000.5},
		{"syncd_last_success_timestamp_seconds", nil, 1700000000.5},
		{"syncd_changes_total", map[string]string{"kind": "add_members", "result": "applied"}, 2},
		{"syncd_changes_total", map[string]string{"kind": "remove_members", "result": "held"}, 1},
		{"syncd_changes_total", map[string]string{"kind": "create_group", "result": "failed"}, 1},
		{"syncd_changes_total", map[string]string{"kind": "update_group", "result": "planned"}, 0},
		{"syncd_removals_held_total", nil, 6},
		{"syncd_pending_users", nil, 2},
		{"syncd_source_users", map[string]string{"source": "corp"}, 120},
		{"syncd_source_groups", map[string]string{"source": "corp"}, 7},
		{"syncd_source_unknown_groups", map[string]string{"source": "corp"}, 1},
		{"syncd_source_read_errors_total", map[string]string{"source": "idp"}, 1},
		{"syncd_source_read_errors_total", map[string]string{"source": "corp"}, 0},
		{"syncd_build_info", map[string]string{"version": "v1.2.3"}, 1},
	}
	for _, c := range checks {
		if got := value(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := value(t, reg, "syncd_source_users", map[string]string{"source": "idp"}); got != -1 {
		t.Errorf("a failed source got a syncd_source_users series (%v); want none", got)
	}
	if n := histogramCount(t, reg, "syncd_run_duration_seconds", nil); n != 1 {
		t.Errorf("run_duration_seconds count = %d, want 1", n)
	}
	if n := histogramCount(t, reg, "syncd_source_read_duration_seconds", map[string]string{"source": "idp"}); n != 1 {
		t.Errorf("source_read_duration_seconds{idp} count = %d, want 1", n)
	}
}

func TestFailureKeepsLastSuccess(t *testing.T) {
	m, reg := mustNew(t)
	m.ObserveRun(metrics.Run{Result: metrics.ResultSuccess, Finished: time.Unix(100, 0)})
	m.ObserveRun(metrics.Run{Result: exitcode.ResultFailure, Finished: time.Unix(200, 0)})
	m.ObserveRun(metrics.Run{Result: "bogus", Finished: time.Unix(300, 0)})
	if got := value(t, reg, "syncd_last_success_timestamp_seconds", nil); got != 100 {
		t.Errorf("last_success = %v, want 100", got)
	}
	if got := value(t, reg, "syncd_last_run_timestamp_seconds", nil); got != 300 {
		t.Errorf("last_run = %v, want 300", got)
	}
	if got := value(t, reg, "syncd_runs_total", map[string]string{"result": "failure"}); got != 2 {
		t.Errorf("runs_total{failure} = %v, want 2 (unknown results count as failures)", got)
	}
}

func TestTeamsHook(t *testing.T) {
	m, reg := mustNew(t)
	h := m.TeamsHook()
	h.Request("GET", "/user-groups", 200, 20*time.Millisecond)
	h.Request("GET", "/user-groups", 200, 30*time.Millisecond)
	h.Request("PUT", "/user-groups/{userGroupId}", 429, time.Millisecond)
	h.Request("DELETE", "/user-groups/{userGroupId}/members/{userId}", 0, time.Second)
	h.Request("GET", "/user-groups/17", 200, time.Millisecond) // a raw URL must not become a label
	h.Request("BREW", "/users", 200, time.Millisecond)
	h.ThrottleWait(1500 * time.Millisecond)
	h.ThrottleWait(500 * time.Millisecond)
	h.ThrottleWait(-time.Second)
	h.RateLimit("burst", 48)
	h.RateLimit("bucket", 4990)
	h.RateLimit("bucket", 4980)

	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"syncd_teams_requests_total", map[string]string{"method": "GET", "route": "/user-groups", "code": "200"}, 2},
		{"syncd_teams_requests_total", map[string]string{"method": "PUT", "route": "/user-groups/{userGroupId}", "code": "429"}, 1},
		{"syncd_teams_requests_total", map[string]string{"method": "DELETE", "route": "/user-groups/{userGroupId}/members/{userId}", "code": "error"}, 1},
		{"syncd_teams_requests_total", map[string]string{"method": "GET", "route": "other", "code": "200"}, 1},
		{"syncd_teams_requests_total", map[string]string{"method": "other", "route": "/users", "code": "200"}, 1},
		{"syncd_teams_throttle_wait_seconds_total", nil, 2},
		{"syncd_teams_rate_limit_remaining", map[string]string{"limiter": "burst"}, 48},
		{"syncd_teams_rate_limit_remaining", map[string]string{"limiter": "bucket"}, 4980},
	}
	for _, c := range checks {
		if got := value(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if n := histogramCount(t, reg, "syncd_teams_request_duration_seconds", map[string]string{"route": "/user-groups"}); n != 2 {
		t.Errorf("request_duration{/user-groups} count = %d, want 2", n)
	}
	if n := countSeries(t, reg, "syncd_teams_requests_total"); n != 5 {
		t.Errorf("teams_requests_total has %d series, want 5", n)
	}
}

func TestConfigReload(t *testing.T) {
	m, reg := mustNew(t)
	if got := value(t, reg, "syncd_config_last_reload_successful", nil); got != 1 {
		t.Errorf("before any reload: last_reload_successful = %v, want 1", got)
	}
	m.ConfigReload(false)
	if got := value(t, reg, "syncd_config_last_reload_successful", nil); got != 0 {
		t.Errorf("after a failed reload: %v, want 0", got)
	}
	m.ConfigReload(true)
	m.ConfigReload(true)
	if got := value(t, reg, "syncd_config_reloads_total", map[string]string{"result": "success"}); got != 2 {
		t.Errorf("reloads{success} = %v, want 2", got)
	}
	if got := value(t, reg, "syncd_config_reloads_total", map[string]string{"result": "failure"}); got != 1 {
		t.Errorf("reloads{failure} = %v, want 1", got)
	}
	m.RunSkipped()
	if got := value(t, reg, "syncd_runs_skipped_total", nil); got != 1 {
		t.Errorf("runs_skipped_total = %v, want 1", got)
	}
}

func TestExposition(t *testing.T) {
	m, reg := mustNew(t)
	m.ObserveRun(metrics.Run{Result: metrics.ResultSuccess, Finished: time.Unix(42, 0)})
	want := `
# HELP syncd_last_success_timestamp_seconds Unix time at which the last sync run finished without failure (held removals count as finished).
# TYPE syncd_last_success_timestamp_seconds gauge
syncd_last_success_timestamp_seconds 42
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "syncd_last_success_timestamp_seconds"); err != nil {
		t.Error(err)
	}
}

func TestRestore(t *testing.T) {
	m, reg := mustNew(t)
	m.Restore(time.Time{}, time.Time{})
	if got := value(t, reg, "syncd_last_run_timestamp_seconds", nil); got != 0 {
		t.Errorf("zero restore set last_run to %v", got)
	}
	m.Restore(time.Unix(200, 0), time.Unix(100, 0))
	if got := value(t, reg, "syncd_last_run_timestamp_seconds", nil); got != 200 {
		t.Errorf("last_run = %v, want 200", got)
	}
	if got := value(t, reg, "syncd_last_success_timestamp_seconds", nil); got != 100 {
		t.Errorf("last_success = %v, want 100", got)
	}
}

// The apply gauges read the progress they follow when scraped, and are 0
// when no run applies (or before anything is followed).
func TestApplyProgress(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if got := value(t, reg, "syncd_apply_steps", nil); got != 0 {
		t.Errorf("apply_steps_total before anything is followed = %v", got)
	}
	done, total, ok := 0, 0, false
	m.FollowApply(func() (int, int, bool) { return done, total, ok })
	done, total, ok = 1430, 8050, true
	if d, tot := value(t, reg, "syncd_apply_steps_done", nil), value(t, reg, "syncd_apply_steps", nil); d != 1430 || tot != 8050 {
		t.Errorf("during an apply: done %v, total %v; want 1430, 8050", d, tot)
	}
	ok = false
	if d, tot := value(t, reg, "syncd_apply_steps_done", nil), value(t, reg, "syncd_apply_steps", nil); d != 0 || tot != 0 {
		t.Errorf("after it: done %v, total %v; want 0, 0", d, tot)
	}
}
