package metrics_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/report"
)

// The watch metrics: events by source and result (unknown results
// bounded), a feed's connection, the change-to-applied histogram, and the
// changes of incremental runs in changes_total.
func TestWatchMetrics(t *testing.T) {
	m, reg := mustNew(t)
	if _, err := metrics.NewWatch(nil, m); err == nil {
		t.Error("NewWatch without a registerer succeeded")
	}
	w, err := metrics.NewWatch(reg, m)
	if err != nil {
		t.Fatal(err)
	}
	w.Connected("corp", true)
	if got := value(t, reg, "syncd_watch_events_total", map[string]string{"source": "corp", "result": "resync"}); got != 0 {
		t.Errorf("events{resync} before any = %v, want a series at 0", got)
	}
	w.Event("corp", metrics.WatchChange)
	w.Event("corp", metrics.WatchChange)
	w.Event("corp", "made-up")
	w.Connected("corp", false)
	w.Applied(3 * time.Second)
	w.Changes(&report.Report{Changes: []report.Change{
		{Kind: report.KindAddMembers, Status: report.StatusApplied},
		{Kind: report.KindRemoveMembers, Status: report.StatusHeld, Users: []report.User{{ID: 1}, {ID: 2}}},
	}})
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"syncd_watch_events_total", map[string]string{"source": "corp", "result": "change"}, 2},
		{"syncd_watch_events_total", map[string]string{"source": "corp", "result": "other"}, 1},
		{"syncd_watch_connected", map[string]string{"source": "corp"}, 0},
		{"syncd_changes_total", map[string]string{"kind": "add_members", "result": "applied"}, 1},
		{"syncd_removals_held_total", nil, 2},
	} {
		if got := value(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := histogramCount(t, reg, "syncd_change_apply_seconds", nil); got != 1 {
		t.Errorf("change_apply_seconds count = %d, want 1", got)
	}
	w.Forget("corp")
	if got := countSeries(t, reg, "syncd_watch_connected"); got != 0 {
		t.Errorf("%d watch_connected series after Forget", got)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
