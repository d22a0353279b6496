package metrics

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncd/syncd/internal/report"
)

// Results of a feed's events, the values of
// syncd_watch_events_total{result}.
const (
	WatchChange  = "change"  // an entry syncd reads changed
	WatchIgnored = "ignored" // an entry changed in nothing syncd reads
	WatchResync  = "resync"  // the feed may have missed changes: everything is compared
	WatchError   = "error"   // the feed lost its server
)

var watchResults = []string{WatchChange, WatchIgnored, WatchResync, WatchError}

// Watch holds the metrics of watch mode (DESIGN.md §9). Build it with
// NewWatch on the registry of the Metrics it adds to.
type Watch struct {
	m         *Metrics
	events    *prometheus.CounterVec
	connected *prometheus.GaugeVec
	apply     prometheus.Histogram
}

// NewWatch creates the watch metrics and registers them on reg; the
// changes of incremental runs count in m's changes_total.
func NewWatch(reg prometheus.Registerer, m *Metrics) (*Watch, error) {
	if reg == nil || m == nil {
		return nil, errors.New("metrics: NewWatch needs a Registerer and the Metrics")
	}
	w := &Watch{m: m,
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "watch_events_total",
			Help: "Events of the directories' change feeds, by source and result (change, ignored, resync, error).",
		}, []string{"source", "result"}),
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "watch_connected",
			Help: "1 while the source's change feed follows its server, else 0.",
		}, []string{"source"}),
		apply: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "change_apply_seconds",
			Help:    "Seconds from a directory change seen by a feed to its change set applied.",
			Buckets: []float64{0.5, 1, 2, 3, 5, 7.5, 10, 15, 30, 60, 120, 300, 900, 1800},
		}),
	}
	for _, c := range []prometheus.Collector{w.events, w.connected, w.apply} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return w, nil
}

// Event counts one event of a source's feed.
func (w *Watch) Event(source, result string) {
	w.events.WithLabelValues(source, bounded(result, watchResults)).Inc()
}

// Connected sets whether the source's feed follows its server, and
// creates its event series at zero.
func (w *Watch) Connected(source string, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	w.connected.WithLabelValues(source).Set(v)
	for _, r := range watchResults {
		w.events.WithLabelValues(source, r)
	}
}

// Forget drops the series of a source no longer watched.
func (w *Watch) Forget(source string) {
	w.connected.DeleteLabelValues(source)
	for _, r := range watchResults {
		w.events.DeleteLabelValues(source, r)
	}
}

// Applied observes the time from a change seen to its change set applied.
func (w *Watch) Applied(d time.Duration) { w.apply.Observe(d.Seconds()) }

// Changes counts the changes of an incremental run in changes_total and
// removals_held_total, as a run's are.
func (w *Watch) Changes(rep *report.Report) {
	if rep == nil {
		return
	}
	for _, c := range rep.Changes {
		w.m.changes.WithLabelValues(bounded(c.Kind, changeKinds), bounded(c.Status, changeResults)).Inc()
		if c.Status == report.StatusHeld && isRemoval(c.Kind) {
			w.m.removalsHeld.Add(float64(len(c.Users) + len(c.Groups)))
		}
	}
}
