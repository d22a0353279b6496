package metrics_test

import (
	"io"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/report"
)

// BenchmarkObserveRun records a run of 10,000 changes (every kind and status).
func BenchmarkObserveRun(b *testing.B) {
	m, _ := mustNew(b)
	kinds := []string{report.KindAddMembers, report.KindRemoveMembers, report.KindAddSMEUsers, report.KindRemoveSMEGroups}
	statuses := []string{report.StatusApplied, report.StatusHeld, report.StatusFailed, report.StatusPlanned}
	rep := &report.Report{}
	for i := range 10000 {
		rep.Changes = append(rep.Changes, report.Change{Kind: kinds[i%4], Status: statuses[(i/4)%4], Users: make([]report.User, 3)})
	}
	run := metrics.Run{Result: metrics.ResultHeld, Finished: time.Now(), Duration: time.Minute, Report: rep,
		Sources: []metrics.Source{{Name: "corp", Users: 100000, Groups: 500}}}
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveRun(run)
	}
}

// BenchmarkScrape gathers and encodes every series, every route and code
// of the Teams API included, as a /metrics scrape does.
func BenchmarkScrape(b *testing.B) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, "bench")
	if err != nil {
		b.Fatal(err)
	}
	h := m.TeamsHook()
	for _, route := range []string{"/users", "/user-groups", "/user-groups/{userGroupId}", "/user-groups/{userGroupId}/members",
		"/tags", "/tags/{tagId}/subject-matter-experts"} {
		for _, code := range []int{200, 201, 204, 400, 404, 429, 500, 0} {
			h.Request("GET", route, code, time.Millisecond)
			h.Request("POST", route, code, time.Millisecond)
		}
	}
	m.ObserveRun(metrics.Run{Result: metrics.ResultSuccess, Finished: time.Now(),
		Sources: []metrics.Source{{Name: "corp"}, {Name: "idp"}}})
	b.ReportAllocs()
	for b.Loop() {
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		for _, mf := range mfs {
			expfmt.MetricFamilyToText(io.Discard, mf)
		}
	}
}
