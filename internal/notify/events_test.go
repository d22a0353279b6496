package notify

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
)

func TestEvents(t *testing.T) {
	dry := func(planned, held int) Run {
		return Run{Report: &report.Report{Mode: report.ModeDryRun,
			Summary: report.Summary{ChangesPlanned: planned, ChangesHeld: held}}, ExitCode: exitcode.OK}
	}
	applied := func(n int, code int) Run {
		return Run{Report: &report.Report{Mode: report.ModeApply,
			Summary: report.Summary{ChangesPlanned: n, ChangesApplied: n}}, ExitCode: code}
	}
	heldFailed := heldRun()
	heldFailed.ExitCode = exitcode.Failure
	for _, tc := range []struct {
		name     string
		run      Run
		previous string
		want     string
	}{
		{"nothing to say", okRun(t0), exitcode.ResultSuccess, "[]"},
		{"first run ever", okRun(t0), "", "[]"},
		{"failed", failedRun(), exitcode.ResultSuccess, "[failed]"},
		{"failed again: no recovery", failedRun(), exitcode.ResultFailure, "[failed]"},
		{"run without a report", Run{ExitCode: exitcode.Failure, Err: errors.New("run panicked")}, "", "[failed]"},
		{"recovered", okRun(t0), exitcode.ResultFailure, "[recovered]"},
		{"held after a failure also recovers", heldRun(), exitcode.ResultFailure, "[held recovered applied]"},
		{"held and applied", heldRun(), exitcode.ResultSuccess, "[held applied]"},
		{"a failed run may hold too", heldFailed, exitcode.ResultHeld, "[failed held applied]"},
		{"applied", applied(3, exitcode.OK), "", "[applied]"},
		{"apply with nothing applied", applied(0, exitcode.OK), "", "[]"},
		{"drift", dry(2, 0), "", "[drift]"},
		{"dry run holding only", dry(0, 1), "", "[held]"},
		{"dry run without changes", dry(0, 0), exitcode.ResultHeld, "[]"},
		{"--check exit 3 is not a failure", Run{Report: dry(1, 0).Report, ExitCode: exitcode.Pending}, exitcode.ResultFailure, "[recovered drift]"},
	} {
		if got := fmt.Sprint(Events(tc.run, tc.previous)); got != tc.want {
			t.Errorf("%s: Events = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestRecoveredAcrossRuns: the notifier remembers how the last run it
// was told of ended.
func TestRecoveredAcrossRuns(t *testing.T) {
	f := newFixture(t, nil)
	rc := newReceiver(t, nil)
	hooks := []config.Webhook{hook(rc.url(), "json", "failed", "recovered")}
	f.n.Notify(context.Background(), hooks, failedRun())
	f.n.Notify(context.Background(), hooks, failedRun())
	f.n.Notify(context.Background(), hooks, okRun(t0.Add(2*time.Hour)))
	f.n.Notify(context.Background(), hooks, okRun(t0.Add(3*time.Hour)))
	var events []string
	for i := range rc.requests() {
		var m struct{ Event string }
		rc.body(t, i, &m)
		events = append(events, m.Event)
	}
	if got := fmt.Sprint(events); got != "[failed failed recovered]" {
		t.Errorf("messages = %s, want failed, failed, recovered", got)
	}
	f.counts(t, 3, 0)
}

// TestRecoveredAfterRestart: the first run of a process recovers from a
// failure the state store remembers; the store's entry for the run
// itself (recorded before the notifier hears of it) does not count.
func TestRecoveredAfterRestart(t *testing.T) {
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	run := okRun(t0.Add(2 * time.Hour))
	for _, r := range []state.Run{
		{StartedAt: t0, FinishedAt: t0.Add(time.Minute), ExitCode: exitcode.OK},
		{StartedAt: t0.Add(time.Hour), FinishedAt: t0.Add(time.Hour + time.Minute), ExitCode: exitcode.Failure},
		{StartedAt: run.Report.StartedAt, FinishedAt: run.Report.FinishedAt, ExitCode: exitcode.OK},
	} {
		if err := store.AddRun(r); err != nil {
			t.Fatal(err)
		}
	}
	rc := newReceiver(t, nil)
	f := newFixture(t, func(o *Options) { o.History = store })
	f.n.Notify(context.Background(), []config.Webhook{hook(rc.url(), "json", "recovered")}, run)
	if rc.requests() != 1 {
		t.Fatalf("requests = %d, want the recovered message", rc.requests())
	}
	// Without the store, a fresh notifier knows of no failure.
	rc2 := newReceiver(t, nil)
	g := newFixture(t, nil)
	g.n.Notify(context.Background(), []config.Webhook{hook(rc2.url(), "json", "recovered")}, run)
	if rc2.requests() != 0 {
		t.Errorf("requests = %d without a history, want none", rc2.requests())
	}
}

// TestMemoryNewerThanHistory: a run the store could not record (one
// that panicked) still counts as the previous run.
func TestMemoryNewerThanHistory(t *testing.T) {
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.AddRun(state.Run{StartedAt: t0, FinishedAt: t0.Add(time.Minute), ExitCode: exitcode.OK}); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Hour)
	rc := newReceiver(t, nil)
	f := newFixture(t, func(o *Options) { o.History = store; o.Now = func() time.Time { return now } })
	hooks := []config.Webhook{hook(rc.url(), "json", "failed", "recovered")}
	f.n.Notify(context.Background(), hooks, Run{ExitCode: exitcode.Failure, Err: errors.New("run panicked: boom")})
	f.n.Notify(context.Background(), hooks, okRun(now.Add(time.Minute)))
	if rc.requests() != 2 {
		t.Fatalf("requests = %d, want failed then recovered", rc.requests())
	}
	var m struct {
		Event  string
		Errors []string
	}
	rc.body(t, 0, &m)
	if m.Event != "failed" || fmt.Sprint(m.Errors) != "[run panicked: boom]" {
		t.Errorf("first message = %+v", m)
	}
	rc.body(t, 1, &m)
	if m.Event != "recovered" {
		t.Errorf("second message = %+v, want recovered", m)
	}
}

func TestReportURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                               "",
		"https://syncd.example.com":      "https://syncd.example.com/reports/latest",
		"https://ops.example.com/syncd/": "https://ops.example.com/syncd/reports/latest",
	} {
		if got := ReportURL(in); got != want {
			t.Errorf("ReportURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRememberedWithoutWebhooks: a run nobody is told of still counts as
// the previous one (webhooks added by a reload see the recovery).
func TestRememberedWithoutWebhooks(t *testing.T) {
	f := newFixture(t, nil)
	rc := newReceiver(t, nil)
	f.n.Notify(context.Background(), nil, failedRun())
	f.n.Notify(context.Background(), []config.Webhook{hook(rc.url(), "json", "recovered")}, okRun(t0.Add(2*time.Hour)))
	if rc.requests() != 1 {
		t.Errorf("requests = %d, want the recovered message", rc.requests())
	}
}
