package daemon

import (
	"context"
	"errors"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/report"
	engine "github.com/syncd/syncd/internal/sync"
)

// fakeRunner counts runs; each run takes hold of fake time (synctest), or
// until ctx ends when wait is set.
type fakeRunner struct {
	gen   string // the configuration it was built from
	hold  time.Duration
	wait  bool          // block until ctx is done
	stuck chan struct{} // block until closed, ignoring ctx
	res   *Result
	err   error
	pan   bool

	mu     gosync.Mutex
	calls  int
	closed bool
}

func (f *fakeRunner) RunOnce(ctx context.Context) (*Result, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.pan {
		panic("boom")
	}
	if f.stuck != nil {
		<-f.stuck
	}
	if f.wait {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if f.hold > 0 {
		select {
		case <-time.After(f.hold):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.res != nil || f.err != nil {
		return f.res, f.err
	}
	return &Result{Report: &report.Report{Mode: report.ModeDryRun}}, f.err
}

func (f *fakeRunner) Explain(context.Context, string) (*engine.Explanation, error) {
	return nil, ErrNoExplainer
}

// Progress is an apply 3 steps in, whenever asked: the daemon must ask
// only while a run is going.
func (f *fakeRunner) Progress() (engine.Progress, bool) {
	return engine.Progress{Done: 3, Total: 9}, true
}

func (f *fakeRunner) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeRunner) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeRunner) Closed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// harness builds a daemon whose Build hands out runners by configuration
// path, so a test can tell which configuration a run used.
type harness struct {
	t       *testing.T
	d       *Daemon
	reg     *prometheus.Registry
	logs    *observer.ObservedLogs
	runners map[string]*fakeRunner
	load    func() (*config.Config, error)
	cancel  context.CancelFunc
	done    chan error
}

func newHarness(t *testing.T, cfg *config.Config, runners map[string]*fakeRunner, tweak func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, reg: prometheus.NewRegistry(), runners: runners}
	m, err := metrics.New(h.reg, "test")
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.DebugLevel)
	h.logs = logs
	o := Options{
		Config:  cfg,
		Metrics: m,
		Logger:  zap.New(core),
		Build: func(c *config.Config) (Runner, error) {
			r, ok := h.runners[c.Path]
			if !ok {
				return nil, errors.New("no runner for " + c.Path)
			}
			r.gen = c.Path
			return r, nil
		},
		Load:   func() (*config.Config, error) { return h.load() },
		Jitter: func(time.Duration) time.Duration { return 0 },
	}
	if tweak != nil {
		tweak(&o)
	}
	h.d, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.d.Run(ctx) }()
	synctest.Wait()
}

// stop cancels the daemon and returns how long (fake time) it took to exit.
func (h *harness) stop() time.Duration {
	h.t.Helper()
	began := time.Now()
	h.cancel()
	if err := <-h.done; err != nil {
		h.t.Errorf("Run returned %v, want nil", err)
	}
	return time.Since(began)
}

// value is a counter or gauge of the registry; labels as name, value pairs.
func (h *harness) value(name string, labels ...string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
				}
				if !found {
					continue series
				}
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return -1
}

func cfgAt(path, schedule string) *config.Config {
	c := &config.Config{Path: path}
	c.Sync.Schedule = schedule
	return c
}

func boolp(b bool) *bool { return &b }
