package daemon

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/report"
)

func TestScheduleEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{hold: time.Second}
		h := newHarness(t, cfgAt("a", "@every 1m"), map[string]*fakeRunner{"a": r}, nil)
		h.start()
		if got := r.Calls(); got != 1 {
			t.Errorf("runs right after start = %d, want 1 (run at start)", got)
		}
		time.Sleep(3*time.Minute + 30*time.Second)
		synctest.Wait()
		if got := r.Calls(); got != 4 {
			t.Errorf("runs after 3m30s with @every 1m = %d, want 4", got)
		}
		if got := h.value("syncd_runs_total", "result", "success"); got != 4 {
			t.Errorf("runs_total{success} = %v, want 4", got)
		}
		if got := h.value("syncd_last_success_timestamp_seconds"); got != float64(time.Now().Add(-29*time.Second).Unix()) {
			t.Errorf("last_success = %v, want the end of the run at 3m01s (%v)", got, time.Now().Add(-29*time.Second).Unix())
		}
		h.stop()
		if !r.Closed() {
			t.Error("runner not closed at shutdown")
		}
	})
}

func TestCronExpression(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{}
		cfg := cfgAt("a", "0 */2 * * *") // every two hours on the hour
		cfg.Sync.RunAtStart = boolp(false)
		h := newHarness(t, cfg, map[string]*fakeRunner{"a": r}, nil)
		h.start() // fake clock starts at midnight
		time.Sleep(5*time.Hour + time.Minute)
		synctest.Wait()
		if got := r.Calls(); got != 2 { // 02:00 and 04:00
			t.Errorf("runs by 05:01 = %d, want 2", got)
		}
		h.stop()
	})
}

func TestRunAtStartOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{}
		cfg := cfgAt("a", "@every 1m")
		cfg.Sync.RunAtStart = boolp(false)
		h := newHarness(t, cfg, map[string]*fakeRunner{"a": r}, nil)
		h.start()
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if got := r.Calls(); got != 0 {
			t.Errorf("runs before the first tick = %d, want 0", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := r.Calls(); got != 1 {
			t.Errorf("runs after the first tick = %d, want 1", got)
		}
		h.stop()
	})
}

func TestOverlapSkippedAndCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{hold: 150 * time.Second}
		h := newHarness(t, cfgAt("a", "@every 1m"), map[string]*fakeRunner{"a": r}, nil)
		h.start()
		time.Sleep(170 * time.Second) // ticks at 60 s and 120 s fall inside the first run
		synctest.Wait()
		if got := r.Calls(); got != 1 {
			t.Errorf("runs = %d, want 1", got)
		}
		if got := h.value("syncd_runs_skipped_total"); got != 2 {
			t.Errorf("runs_skipped_total = %v, want 2", got)
		}
		if got := h.value("syncd_run_in_progress"); got != 0 {
			t.Errorf("run_in_progress after the run = %v, want 0", got)
		}
		time.Sleep(20 * time.Second) // tick at 180 s
		synctest.Wait()
		if got := r.Calls(); got != 2 {
			t.Errorf("runs after the 180 s tick = %d, want 2", got)
		}
		if got := h.value("syncd_run_in_progress"); got != 1 {
			t.Errorf("run_in_progress during a run = %v, want 1", got)
		}
		h.stop()
	})
}

func TestJitterDelaysRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{}
		cfg := cfgAt("a", "@every 1m")
		cfg.Sync.RunAtStart = boolp(false)
		cfg.Sync.Jitter = config.Duration(40 * time.Second)
		var asked time.Duration
		h := newHarness(t, cfg, map[string]*fakeRunner{"a": r}, func(o *Options) {
			o.Jitter = func(max time.Duration) time.Duration { asked = max; return max / 2 }
		})
		h.start()
		time.Sleep(79 * time.Second)
		synctest.Wait()
		if got := r.Calls(); got != 0 {
			t.Errorf("runs before 60 s + 20 s jitter = %d, want 0", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := r.Calls(); got != 1 {
			t.Errorf("runs after 60 s + 20 s jitter = %d, want 1", got)
		}
		if asked != 40*time.Second {
			t.Errorf("jitter asked for max %v, want 40s", asked)
		}
		h.stop()
	})
}

func TestTrigger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{hold: 10 * time.Second}
		cfg := cfgAt("a", "@every 1h")
		cfg.Sync.RunAtStart = boolp(false)
		h := newHarness(t, cfg, map[string]*fakeRunner{"a": r}, nil)
		if _, err := h.d.Trigger(); !errors.Is(err, ErrStopped) {
			t.Errorf("Trigger before Run: %v, want ErrStopped", err)
		}
		h.start()
		done, err := h.d.Trigger()
		if err != nil {
			t.Fatalf("Trigger while idle: %v", err)
		}
		if _, err := h.d.Trigger(); !errors.Is(err, ErrBusy) {
			t.Errorf("Trigger during a run: %v, want ErrBusy", err)
		}
		if !h.d.Running() {
			t.Error("Running() = false during a run")
		}
		if p, ok := h.d.Progress(); !ok || p.Done != 3 {
			t.Errorf("Progress during a run = %+v, %v", p, ok)
		}
		<-done
		if p, ok := h.d.Progress(); ok {
			t.Errorf("Progress after the run = %+v, true", p)
		}
		if got := r.Calls(); got != 1 {
			t.Errorf("runs = %d, want 1", got)
		}
		if h.d.Latest() == nil {
			t.Error("no latest report after a run")
		}
		h.stop()
		if _, err := h.d.Trigger(); !errors.Is(err, ErrStopped) {
			t.Errorf("Trigger after stop: %v, want ErrStopped", err)
		}
	})
}

func TestShutdownStopsRunAtSafePoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{wait: true}
		h := newHarness(t, cfgAt("a", "@every 1m"), map[string]*fakeRunner{"a": r}, nil)
		h.start()
		if !h.d.Running() {
			t.Fatal("no run going")
		}
		if took := h.stop(); took != 0 {
			t.Errorf("shutdown took %v of fake time, want 0: the run honours ctx", took)
		}
		if got := h.value("syncd_runs_total", "result", "failure"); got != 1 {
			t.Errorf("an interrupted run counts as failure: runs_total{failure} = %v, want 1", got)
		}
	})
}

func TestShutdownGraceBoundsAStuckRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{stuck: make(chan struct{})}
		h := newHarness(t, cfgAt("a", "@every 1m"), map[string]*fakeRunner{"a": r}, func(o *Options) {
			o.ShutdownGrace = 3 * time.Second
		})
		h.start()
		if took := h.stop(); took != 3*time.Second {
			t.Errorf("shutdown with a stuck run took %v, want the 3s grace", took)
		}
		close(r.stuck)
	})
}

func TestPanicIsAFailedRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{pan: true}
		h := newHarness(t, cfgAt("a", "@every 1m"), map[string]*fakeRunner{"a": r}, nil)
		h.start()
		time.Sleep(61 * time.Second)
		synctest.Wait()
		if got := h.value("syncd_runs_total", "result", "failure"); got != 2 {
			t.Errorf("runs_total{failure} = %v, want 2: the daemon survives a panicking run", got)
		}
		h.stop()
	})
}

func TestReadiness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errToken := errors.New("token refused")
		r := &fakeRunner{res: &Result{ExitCode: 1}, err: errToken}
		cfg := cfgAt("a", "@every 1m")
		cfg.Sync.RunAtStart = boolp(false)
		h := newHarness(t, cfg, map[string]*fakeRunner{"a": r}, func(o *Options) {
			o.NotReady = func(_ *Result, err error) string {
				if errors.Is(err, errToken) {
					return "the token was refused"
				}
				return ""
			}
		})
		h.start()
		if ok, why := h.d.Ready(); !ok {
			t.Errorf("not ready before any run: %s", why)
		}
		done, _ := h.d.Trigger()
		<-done
		if ok, _ := h.d.Ready(); ok {
			t.Error("ready after a run whose credential was refused")
		}
		r.mu.Lock()
		r.res, r.err = &Result{ExitCode: 1}, errors.New("Teams API 503") // not a config problem
		r.mu.Unlock()
		done, _ = h.d.Trigger()
		<-done
		if ok, why := h.d.Ready(); !ok {
			t.Errorf("not ready after a run that failed on a transient error: %s", why)
		}
		h.stop()
	})
}

func TestLatestKeepsLastReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		first := &report.Report{Mode: report.ModeApply}
		r := &fakeRunner{res: &Result{Report: first, ExitCode: 4}}
		h := newHarness(t, cfgAt("a", "@every 1m"), map[string]*fakeRunner{"a": r}, nil)
		h.start()
		if h.d.Latest() != first {
			t.Fatal("latest is not the run's report")
		}
		r.mu.Lock()
		r.res, r.err = nil, errors.New("LDAP down") // no report at all
		r.mu.Unlock()
		time.Sleep(61 * time.Second)
		synctest.Wait()
		if h.d.Latest() != first {
			t.Error("a run without a report replaced the latest report")
		}
		if got := h.value("syncd_runs_total", "result", "held"); got != 1 {
			t.Errorf("runs_total{held} = %v, want 1", got)
		}
		h.stop()
	})
}

func TestParseSchedule(t *testing.T) {
	for _, ok := range []string{"", "@every 30m", "@hourly", "*/5 * * * *", "0 30 2 * * *", "CRON_TZ=Europe/Paris 0 3 * * *"} {
		if _, err := ParseSchedule(ok); err != nil {
			t.Errorf("ParseSchedule(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"@every", "every 5m", "61 * * * *", "* * *"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) succeeded, want an error", bad)
		}
	}
}

func TestNewChecksOptions(t *testing.T) {
	good := func() Options {
		h := newHarness(t, cfgAt("a", "@every 1m"), map[string]*fakeRunner{"a": {}}, nil)
		return h.d.o
	}
	cases := map[string]func(*Options){
		"no config":     func(o *Options) { o.Config = nil },
		"no build":      func(o *Options) { o.Build = nil },
		"no logger":     func(o *Options) { o.Logger = nil },
		"no metrics":    func(o *Options) { o.Metrics = nil },
		"bad schedule":  func(o *Options) { o.Config = cfgAt("a", "whenever") },
		"build failure": func(o *Options) { o.Config = cfgAt("missing", "@every 1m") },
	}
	for name, spoil := range cases {
		o := good()
		spoil(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded, want an error", name)
		}
	}
	_ = context.Background
}

// The runner logs a run's summary line; the daemon adds none above debug,
// except for a run that ended without a result, which nothing else logs.
func TestRunSummaryNotLoggedTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{res: &Result{Report: &report.Report{Mode: report.ModeApply}, ExitCode: 4}}
		h := newHarness(t, cfgAt("a", "@every 1m"), map[string]*fakeRunner{"a": r}, nil)
		h.start()
		r.mu.Lock()
		r.res, r.pan = nil, true
		r.mu.Unlock()
		time.Sleep(61 * time.Second)
		synctest.Wait()
		h.stop()
		if n := h.logs.FilterMessage("run finished").FilterLevelExact(zapcore.DebugLevel).Len(); n != 1 {
			t.Errorf("debug echo of the held run logged %d times, want 1", n)
		}
		var loud []string
		for _, e := range h.logs.All() {
			if e.Level >= zapcore.WarnLevel {
				loud = append(loud, e.Message)
			}
		}
		if len(loud) != 1 || loud[0] != "run ended without a result" {
			t.Errorf("daemon lines at warn or above: %q, want only the panicked run's", loud)
		}
	})
}

func TestRandomJitterRange(t *testing.T) {
	if got := randomJitter(0); got != 0 {
		t.Errorf("randomJitter(0) = %v, want 0", got)
	}
	seen := map[time.Duration]bool{}
	for range 200 {
		d := randomJitter(time.Minute)
		if d < 0 || d >= time.Minute {
			t.Fatalf("randomJitter(1m) = %v, want [0, 1m)", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Errorf("200 draws gave %d distinct delays: not random", len(seen))
	}
}

// Last is how the run that ended last ended, when it made no report too:
// Latest then keeps the older report, which must not pass for this run's.
func TestLastRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		held := &report.Report{Mode: report.ModeApply}
		r := &fakeRunner{res: &Result{Report: held, ExitCode: 4}}
		cfg := cfgAt("a", "@every 1h")
		cfg.Sync.RunAtStart = boolp(false)
		h := newHarness(t, cfg, map[string]*fakeRunner{"a": r}, nil)
		h.start()
		run := func() LastRun {
			done, err := h.d.Trigger()
			if err != nil {
				t.Fatal(err)
			}
			<-done
			return h.d.Last()
		}
		if got := run(); got.ExitCode != 4 || got.Report != held {
			t.Errorf("after a held run: %+v", got)
		}
		r.res, r.err = nil, errors.New("teams is down")
		if got := run(); got.ExitCode != 1 || got.Report != nil || h.d.Latest() != held {
			t.Errorf("after a run without a report: %+v, latest %p (want the held run's %p)", got, h.d.Latest(), held)
		}
		h.stop()
	})
}
