package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/state"
)

// After a restart the run timestamps come back from the history (a held
// run is a success, a failed one is not) and so does the last report.
func TestRestoreHistory(t *testing.T) {
	store := state.Memory()
	t0 := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	for i, code := range []int{0, 4, 1} {
		at := t0.Add(time.Duration(i) * time.Minute)
		if err := store.AddRun(state.Run{StartedAt: at, FinishedAt: at.Add(time.Second), ExitCode: code}); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.AddReport(t0, []byte(`{"mode":"apply"}`)); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, "test")
	if err != nil {
		t.Fatal(err)
	}
	rep := RestoreHistory(store, m, zap.NewNop())
	if rep == nil || rep.Mode != "apply" {
		t.Errorf("report %+v, want the kept one", rep)
	}
	want := `
# HELP syncd_last_run_timestamp_seconds Unix time at which the last sync run finished, whatever its result.
# TYPE syncd_last_run_timestamp_seconds gauge
syncd_last_run_timestamp_seconds 1.767323161e+09
# HELP syncd_last_success_timestamp_seconds Unix time at which the last sync run finished without failure (held removals count as finished).
# TYPE syncd_last_success_timestamp_seconds gauge
syncd_last_success_timestamp_seconds 1.767323101e+09
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "syncd_last_run_timestamp_seconds", "syncd_last_success_timestamp_seconds"); err != nil {
		t.Error(err)
	}

	if err := store.AddReport(t0.Add(time.Hour), []byte("not json")); err != nil {
		t.Fatal(err)
	}
	if rep := RestoreHistory(store, m, zap.NewNop()); rep != nil {
		t.Errorf("an unreadable report came back: %+v", rep)
	}
}
