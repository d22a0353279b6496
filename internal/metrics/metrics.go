// Package metrics defines syncd's Prometheus metrics (DESIGN.md §7) on a
// registry the caller owns. Labels are kept to bounded sets: route
// templates rather than URLs, configured source names, change kinds; never
// user or group names.
package metrics

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncd/syncd/internal/exitcode"
)

const namespace = "syncd"

// Run results, the values of syncd_runs_total{result}: exitcode.Result
// of the run's exit code.
const (
	ResultSuccess = exitcode.ResultSuccess
	ResultHeld    = exitcode.ResultHeld
	ResultFailure = exitcode.ResultFailure
)

// Config reload results, the values of syncd_config_reloads_total{result}.
const (
	ReloadSuccess = "success"
	ReloadFailure = "failure"
)

// Metrics holds every collector syncd exports. Build one with New.
type Metrics struct {
	runs               *prometheus.CounterVec
	runsSkipped        prometheus.Counter
	runDuration        prometheus.Histogram
	runInProgress      prometheus.Gauge
	lastRun            prometheus.Gauge
	lastSuccess        prometheus.Gauge
	changes            *prometheus.CounterVec
	pendingUsers       prometheus.Gauge
	removalsHeld       prometheus.Counter
	sourceGroups       *prometheus.GaugeVec
	sourceUsers        *prometheus.GaugeVec
	sourceUnknown      *prometheus.GaugeVec
	sourceReadDuration *prometheus.HistogramVec
	sourceReadErrors   *prometheus.CounterVec
	requests           *prometheus.CounterVec
	requestDuration    *prometheus.HistogramVec
	rateLimitRemaining *prometheus.GaugeVec
	throttleWait       prometheus.Counter
	reloads            *prometheus.CounterVec
	lastReloadOK       prometheus.Gauge
	buildInfo          *prometheus.GaugeVec
	scim               scimCollectors
	apply              *applyCollectors
}

// New creates the metrics and registers them on reg, which is required
// (syncd never uses the global registry). version is the build version
// exported by syncd_build_info.
func New(reg prometheus.Registerer, version string) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("metrics: a Registerer is required")
	}
	m := newCollectors()
	for _, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	m.buildInfo.WithLabelValues(version).Set(1)
	m.initLabels()
	return m, nil
}

func newCollectors() *Metrics {
	return &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "runs_total",
			Help: "Sync runs finished, by result (success, held, failure).",
		}, []string{"result"}),
		runsSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "runs_skipped_total",
			Help: "Scheduled runs skipped because the previous run was still going.",
		}),
		runDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "run_duration_seconds",
			Help:    "Wall-clock duration of sync runs.",
			Buckets: []float64{0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
		}),
		runInProgress: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "run_in_progress",
			Help: "1 while a sync run is going, else 0.",
		}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "last_run_timestamp_seconds",
			Help: "Unix time at which the last sync run finished, whatever its result.",
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "last_success_timestamp_seconds",
			Help: "Unix time at which the last sync run finished without failure (held removals count as finished).",
		}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "changes_total",
			Help: "Logical membership changes by kind and result (planned, applied, failed, held).",
		}, []string{"kind", "result"}),
		pendingUsers: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "pending_users",
			Help: "Directory members without a Teams account yet, at the last run.",
		}),
		removalsHeld: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "removals_held_total",
			Help: "Removals of users or groups held back by a safety rule.",
		}),
		sourceGroups: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "source_groups",
			Help: "Groups read from each directory source at its last successful read.",
		}, []string{"source"}),
		sourceUsers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "source_users",
			Help: "Users read from each directory source at its last successful read.",
		}, []string{"source"}),
		sourceUnknown: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "source_unknown_groups",
			Help: "Groups of each source that could not be read completely at the last read.",
		}, []string{"source"}),
		sourceReadDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "source_read_duration_seconds",
			Help:    "Time taken to read each directory source.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"source"}),
		sourceReadErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "source_read_errors_total",
			Help: "Reads of a directory source that failed as a whole.",
		}, []string{"source"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "teams_requests_total",
			Help: "HTTP requests sent to the Teams API, retries included, by method, route template and status code (\"error\" when no response came).",
		}, []string{"method", "route", "code"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "teams_request_duration_seconds",
			Help:    "Duration of Teams API requests by route template.",
			Buckets: []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		rateLimitRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "teams_rate_limit_remaining",
			Help: "Requests left in the Teams API rate limiter (burst or bucket), from the last response headers.",
		}, []string{"limiter"}),
		throttleWait: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "teams_throttle_wait_seconds_total",
			Help: "Time spent pacing requests or honouring Retry-After from the Teams API.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "config_reloads_total",
			Help: "Configuration reloads (SIGHUP) by result; a failed reload keeps the old configuration.",
		}, []string{"result"}),
		lastReloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "config_last_reload_successful",
			Help: "1 if the last configuration reload succeeded (or none was tried), else 0.",
		}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "build_info",
			Help: "Always 1; the version label carries the syncd build version.",
		}, []string{"version"}),
		scim:  newSCIMCollectors(),
		apply: newApplyCollectors(),
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return append([]prometheus.Collector{
		m.runs, m.runsSkipped, m.runDuration, m.runInProgress, m.lastRun, m.lastSuccess,
		m.changes, m.pendingUsers, m.removalsHeld,
		m.sourceGroups, m.sourceUsers, m.sourceUnknown, m.sourceReadDuration, m.sourceReadErrors,
		m.requests, m.requestDuration, m.rateLimitRemaining, m.throttleWait,
		m.reloads, m.lastReloadOK, m.buildInfo, m.apply.done, m.apply.total,
	}, m.scim.list()...)
}

// initLabels creates the series of bounded, known label values at zero so
// that rate() and alerts see them before the first event.
func (m *Metrics) initLabels() {
	for _, r := range []string{ResultSuccess, ResultHeld, ResultFailure} {
		m.runs.WithLabelValues(r)
	}
	for _, k := range changeKinds {
		for _, r := range changeResults {
			m.changes.WithLabelValues(k, r)
		}
	}
	for _, r := range []string{ReloadSuccess, ReloadFailure} {
		m.reloads.WithLabelValues(r)
	}
	m.lastReloadOK.Set(1)
}

// RunSkipped counts a scheduled run skipped because one was still going.
func (m *Metrics) RunSkipped() { m.runsSkipped.Inc() }

// RunStarted marks a run as going; RunFinished (through ObserveRun) clears it.
func (m *Metrics) RunStarted() { m.runInProgress.Set(1) }

// ConfigReload counts a configuration reload and its outcome.
func (m *Metrics) ConfigReload(ok bool) {
	if ok {
		m.reloads.WithLabelValues(ReloadSuccess).Inc()
		m.lastReloadOK.Set(1)
		return
	}
	m.reloads.WithLabelValues(ReloadFailure).Inc()
	m.lastReloadOK.Set(0)
}
