package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// ApplyProgress says how far the apply under way is: the user groups and
// tags whose changes it has applied (or tried), of how many; false when no
// run is applying.
type ApplyProgress func() (done, total int, ok bool)

// applyCollectors read an apply's progress when scraped: a first apply
// into a large site runs for hours at the API's rate limits, and these
// tell it from a run that is stuck (deploy/prometheus/alerts.yaml,
// SyncdRunStuck).
type applyCollectors struct {
	progress    atomic.Pointer[ApplyProgress]
	done, total prometheus.GaugeFunc
}

func newApplyCollectors() *applyCollectors {
	a := &applyCollectors{}
	a.done = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "apply_steps_done",
		Help: "User groups and tags whose changes the run going now has applied or tried; 0 when no run applies.",
	}, func() float64 { done, _ := a.read(); return float64(done) })
	a.total = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "apply_steps",
		Help: "User groups and tags the run going now has changes for; 0 when no run applies.",
	}, func() float64 { _, total := a.read(); return float64(total) })
	return a
}

func (a *applyCollectors) read() (done, total int) {
	if f := a.progress.Load(); f != nil {
		if d, t, ok := (*f)(); ok {
			return d, t
		}
	}
	return 0, 0
}

// FollowApply makes the apply gauges read progress (the daemon's).
func (m *Metrics) FollowApply(progress ApplyProgress) { m.apply.progress.Store(&progress) }
