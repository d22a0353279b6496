package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/report"
)

// fakeFeed is a source's feed driven by the test.
type fakeFeed struct {
	source string
	saved  []byte // what the factory was given

	mu  gosync.Mutex
	ev  FeedEvents
	pos []byte
}

func (f *fakeFeed) Source() string { return f.source }

func (f *fakeFeed) Run(ctx context.Context, ev FeedEvents) error {
	f.mu.Lock()
	f.ev = ev
	f.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

func (f *fakeFeed) Position() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pos
}

func (f *fakeFeed) events() FeedEvents {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ev
}

func (f *fakeFeed) move(pos string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pos = []byte(pos)
}

// changeRunner is a fakeRunner that also runs change sets.
type changeRunner struct {
	*fakeRunner
	cmu      gosync.Mutex
	sets     []ChangeSet
	needFull string
	fail     int // change sets to fail
	failed   int // changes each change set reports failed (and leaves unfinished)
	hold     time.Duration
}

func (c *changeRunner) RunChanges(ctx context.Context, cs ChangeSet) (*ChangeResult, error) {
	c.cmu.Lock()
	c.sets = append(c.sets, cs)
	need, fail := c.needFull, c.fail > 0
	if fail {
		c.fail--
	}
	failed := c.failed
	c.cmu.Unlock()
	time.Sleep(c.hold)
	if fail {
		return nil, errors.New("source unreachable")
	}
	rep := &report.Report{}
	rep.Summary.ChangesFailed = failed
	return &ChangeResult{Report: rep, NeedFull: need, Unfinished: failed > 0}, nil
}

func (c *changeRunner) changeSets() []ChangeSet {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	return append([]ChangeSet(nil), c.sets...)
}

// watchHarness is a daemon with a watcher over one fake feed.
type watchHarness struct {
	*harness
	wreg   *prometheus.Registry // the watch metrics
	w      *Watcher
	feed   *fakeFeed
	runner *changeRunner
	dir    string
	wdone  chan struct{}
}

func newWatchHarness(t *testing.T, tweak func(*config.Config)) *watchHarness {
	t.Helper()
	cfg := cfgAt("a", "@every 1h")
	cfg.Sync.RunAtStart = boolp(false)
	cfg.Sync.Watch = true
	cfg.Sync.WatchDelay = config.Duration(2 * time.Second)
	dir := t.TempDir()
	cfg.Sync.StateDir = dir
	if tweak != nil {
		tweak(cfg)
	}
	r := &changeRunner{fakeRunner: &fakeRunner{}}
	wh := &watchHarness{runner: r, dir: dir, wreg: prometheus.NewRegistry()}
	var w *Watcher
	h := newHarness(t, cfg, map[string]*fakeRunner{"a": r.fakeRunner}, func(o *Options) {
		m, err := metrics.NewWatch(wh.wreg, o.Metrics)
		if err != nil {
			t.Fatal(err)
		}
		w, err = NewWatcher(WatchOptions{Metrics: m, Logger: o.Logger, Feeds: func(c *config.Config, saved func(string) []byte) ([]Feed, error) {
			wh.feed = &fakeFeed{source: "corp", saved: saved("corp")}
			return []Feed{wh.feed}, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		o.Build = w.Wrap(func(*config.Config) (Runner, error) { return r, nil })
	})
	w.Attach(h.d)
	wh.harness, wh.w = h, w
	return wh
}

// metric is a watch metric's value (see harness.value).
func (wh *watchHarness) metric(name string, labels ...string) float64 {
	return (&harness{t: wh.t, reg: wh.wreg}).value(name, labels...)
}

// observations counts the samples of a histogram of the watch metrics.
func (wh *watchHarness) observations(name string) uint64 {
	mfs, err := wh.wreg.Gather()
	if err != nil {
		wh.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	return 0
}

// start runs the daemon and the watcher, and connects the feed as one
// resumed from a saved position (so that it asks for no comparison).
func (wh *watchHarness) start() { wh.startFeed(true) }

// startFeed is start with the feed resumed or not.
func (wh *watchHarness) startFeed(resumed bool) {
	wh.startWatcher()
	wh.feed.events().Connected("syncrepl", resumed)
}

// startWatcher runs the daemon and the watcher, the feed not connected
// yet; stop stops both.
func (wh *watchHarness) startWatcher() {
	wh.harness.start()
	ctx, cancel := context.WithCancel(context.Background())
	wh.wdone = make(chan struct{})
	go func() { _ = wh.w.Run(ctx, wh.d.Config()); close(wh.wdone) }()
	stopDaemon := wh.cancel
	wh.cancel = func() { cancel(); <-wh.wdone; stopDaemon() }
	synctest.Wait()
}

func TestWatchBurstIsOneChangeSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		wh := newWatchHarness(t, nil)
		wh.start()
		ev := wh.feed.events()
		first := time.Now()
		for range 5 {
			ev.Changed(time.Now())
			time.Sleep(500 * time.Millisecond)
		}
		ev.Ignored()
		time.Sleep(3 * time.Second)
		synctest.Wait()
		sets := wh.runner.changeSets()
		if len(sets) != 1 || sets[0].Sources[0] != "corp" || !sets[0].Seen.Equal(first) {
			t.Fatalf("change sets %+v; want one for corp seen at the first change", sets)
		}
		if got := wh.metric("syncd_watch_events_total", "source", "corp", "result", "change"); got != 5 {
			t.Errorf("events{change} = %v, want 5", got)
		}
		if got := wh.metric("syncd_watch_events_total", "source", "corp", "result", "ignored"); got != 1 {
			t.Errorf("events{ignored} = %v, want 1", got)
		}
		if got := wh.observations("syncd_change_apply_seconds"); got != 1 {
			t.Errorf("change_apply_seconds observations = %d, want 1", got)
		}
		if wh.runner.Calls() != 0 {
			t.Errorf("%d full runs, want none", wh.runner.Calls())
		}
		wh.stop()
	})
}

// A full run that starts after a change plans it: no change set follows.
// One that started before a change does not.
func TestWatchFullRunCoversEarlierChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		wh := newWatchHarness(t, nil)
		wh.runner.fakeRunner.hold = 5 * time.Second
		wh.start()
		ev := wh.feed.events()
		ev.Changed(time.Now())
		time.Sleep(10 * time.Millisecond)
		if _, err := wh.d.Trigger(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		ev.Changed(time.Now()) // during the run: not covered by it
		time.Sleep(10 * time.Second)
		synctest.Wait()
		sets := wh.runner.changeSets()
		if len(sets) != 1 || sets[0].Seen.Before(time.Now().Add(-10*time.Second)) {
			t.Errorf("change sets %+v; want one, for the change made during the full run", sets)
		}
		wh.stop()
	})
}

// A change set that needs a full run starts one; one that fails is
// tried again after a backoff; the changes stay pending meanwhile.
func TestWatchNeedFullAndRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		wh := newWatchHarness(t, nil)
		wh.runner.needFull = "no earlier run"
		wh.start()
		wh.feed.events().Changed(time.Now())
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if wh.runner.Calls() != 1 || len(wh.runner.changeSets()) != 1 {
			t.Fatalf("%d full runs after %d change sets; want the change set to start one", wh.runner.Calls(), len(wh.runner.changeSets()))
		}

		wh.runner.cmu.Lock()
		wh.runner.needFull, wh.runner.fail = "", 2
		wh.runner.cmu.Unlock()
		wh.feed.events().Changed(time.Now())
		time.Sleep(3 * time.Second) // first attempt fails; retried 2 s later, fails; then 4 s later
		synctest.Wait()
		if n := len(wh.runner.changeSets()); n != 2 {
			t.Fatalf("%d change sets after the failure, want 2", n)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := len(wh.runner.changeSets()); n != 4 {
			t.Errorf("%d change sets, want 4 (two failures, then a success)", n)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := len(wh.runner.changeSets()); n != 4 {
			t.Errorf("%d change sets a minute after the success, want still 4", n)
		}
		wh.stop()
	})
}

// A feed down longer than FeedDownGrace makes the daemon not ready (with
// the reason), whether it never connected or lost its server; a shorter
// outage, as a directory restarting, does not.
func TestWatchReadiness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		wh := newWatchHarness(t, nil)
		wh.startWatcher()
		if ok, why := wh.w.Ready(); !ok {
			t.Errorf("just started, the feed not connected yet: ready %v %q, want ready", ok, why)
		}
		time.Sleep(FeedDownGrace)
		if ok, why := wh.w.Ready(); ok || !strings.Contains(why, `"corp"`) || !strings.Contains(why, "not connected yet") {
			t.Errorf("a quarter of an hour without connecting: ready %v %q", ok, why)
		}
		ev := wh.feed.events()
		ev.Connected("syncrepl", false)
		if ok, _ := wh.w.Ready(); !ok || wh.metric("syncd_watch_connected", "source", "corp") != 1 {
			t.Errorf("connected: ready %v, watch_connected %v", ok, wh.metric("syncd_watch_connected", "source", "corp"))
		}
		ev.Disconnected(errors.New("connection refused"))
		if ok, why := wh.w.Ready(); !ok {
			t.Errorf("just disconnected: ready %v %q, want ready", ok, why)
		}
		time.Sleep(FeedDownGrace - time.Second)
		if ok, why := wh.w.Ready(); !ok {
			t.Errorf("disconnected for a second less than the grace: ready %v %q, want ready", ok, why)
		}
		time.Sleep(time.Second)
		if ok, why := wh.w.Ready(); ok || !strings.Contains(why, "connection refused") || !strings.Contains(why, "scheduled run") {
			t.Errorf("disconnected for the grace: ready %v %q", ok, why)
		}
		if wh.metric("syncd_watch_connected", "source", "corp") != 0 || wh.metric("syncd_watch_events_total", "source", "corp", "result", "error") != 1 {
			t.Error("the disconnect is not in the metrics")
		}
		wh.stop()
	})
}

// Positions are saved once a run has planned what the feed had reported,
// and given to the feed of the next start.
func TestWatchSavesPositionsAfterPlanning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		wh := newWatchHarness(t, nil)
		wh.runner.hold = time.Second
		wh.start()
		file := filepath.Join(wh.dir, "watch-corp.json")
		wh.feed.move("cookie-1")
		wh.feed.events().Changed(time.Now())
		time.Sleep(2500 * time.Millisecond) // the change set has started, not finished
		synctest.Wait()
		wh.feed.move("cookie-2") // a change the running change set may not have read
		if _, err := os.Stat(file); err == nil {
			t.Error("a position was saved before its change set planned")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if data, err := os.ReadFile(file); err != nil || string(data) != "cookie-1" {
			t.Errorf("saved position %q (%v), want the one the change set started from", data, err)
		}
		wh.stop()

		again := newWatchHarness(t, func(c *config.Config) { c.Sync.StateDir = wh.dir })
		again.start()
		if string(again.feed.saved) != "cookie-1" {
			t.Errorf("the next start's feed was given %q", again.feed.saved)
		}
		again.stop()
	})
}

// The feed's first connection without a saved position: what changed
// before it started was seen by no feed, so the source is compared: by a
// change set behind a full run that started first, else by a full run
// (whatever run_at_start says). A feed resumed from a saved position
// reports what changed since, and needs none.
func TestWatchComparesOnceAfterTheFeedStarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		wh := newWatchHarness(t, func(c *config.Config) { c.Sync.RunAtStart = boolp(true) })
		wh.startFeed(false) // run at start, then the feed connects
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if n, full := len(wh.runner.changeSets()), wh.runner.Calls(); n != 1 || full != 1 {
			t.Errorf("%d change sets and %d full runs after the feed started behind a full run, want 1 and 1", n, full)
		}
		// The comparison at start is no directory change: the latency of
		// changes has nothing to time yet.
		if got := wh.observations("syncd_change_apply_seconds"); got != 0 {
			t.Errorf("change_apply_seconds observations after the start = %d, want 0", got)
		}
		wh.stop()

		cold := newWatchHarness(t, nil)
		cold.runner.needFull = "no earlier run"
		cold.startFeed(false)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if n, full := len(cold.runner.changeSets()), cold.runner.Calls(); n != 1 || full != 1 {
			t.Errorf("%d change sets and %d full runs with run_at_start off, want 1 and 1", n, full)
		}
		cold.stop()

		resumed := newWatchHarness(t, nil)
		resumed.start()
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if n, full := len(resumed.runner.changeSets()), resumed.runner.Calls(); n != 0 || full != 0 {
			t.Errorf("%d change sets and %d full runs after a resumed start, want none", n, full)
		}
		resumed.stop()
	})
}

// A reload that turns watch mode off stops the feeds and forgets what
// they reported: the schedule plans it.
func TestWatchReloadedOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		wh := newWatchHarness(t, nil)
		wh.runner.hold = 2 * time.Second
		wh.start()
		wh.feed.events().Changed(time.Now())
		off := cfgAt("a", "@every 1h")
		wh.w.Reload(off)
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := len(wh.runner.changeSets()); n != 0 {
			t.Errorf("%d change sets after watch mode was turned off, want 0", n)
		}
		if ok, _ := wh.w.Ready(); !ok || countSeries(wh.wreg, "syncd_watch_connected") != 0 {
			t.Error("the feed's readiness or metrics outlived watch mode")
		}
		wh.stop()
	})
}

func countSeries(reg *prometheus.Registry, name string) int {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}

// A change set whose changes failed (Teams unreachable, say) neither saves
// the feed's position nor ends its changes: a restart before the retry
// succeeds reads them again, and the apply latency is observed once, when
// the retry applies them.
func TestWatchFailedChangeSetKeepsPosition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		wh := newWatchHarness(t, nil)
		wh.runner.failed = 1
		wh.start()
		file := filepath.Join(wh.dir, "watch-corp.json")
		wh.feed.move("cookie-1")
		wh.feed.events().Changed(time.Now())
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if len(wh.runner.changeSets()) != 1 {
			t.Fatalf("%d change sets, want 1", len(wh.runner.changeSets()))
		}
		if data, err := os.ReadFile(file); err == nil {
			t.Errorf("position %q saved after a change set whose changes failed", data)
		}
		if n := wh.observations("syncd_change_apply_seconds"); n != 0 {
			t.Errorf("%d apply latencies observed for changes not applied", n)
		}
		wh.runner.cmu.Lock()
		wh.runner.failed = 0
		wh.runner.cmu.Unlock()
		time.Sleep(10 * time.Second) // the retry, after its backoff
		synctest.Wait()
		sets := wh.runner.changeSets()
		if len(sets) != 2 || !slices.Equal(sets[1].Sources, []string{"corp"}) {
			t.Fatalf("change sets %+v, want the retry to plan corp's changes again", sets)
		}
		if data, err := os.ReadFile(file); err != nil || string(data) != "cookie-1" {
			t.Errorf("saved position %q (%v) after the retry, want cookie-1", data, err)
		}
		if n := wh.observations("syncd_change_apply_seconds"); n != 1 {
			t.Errorf("%d apply latencies observed, want 1 (the retry's)", n)
		}
		wh.stop()
	})
}

// A reload does not restart the clock of a feed that is down: a periodic
// reload would otherwise keep a directory that never answers from ever
// making the daemon unready.
func TestWatchReloadKeepsDownSince(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		wh := newWatchHarness(t, nil)
		wh.startWatcher()
		time.Sleep(FeedDownGrace)
		if ok, _ := wh.w.Ready(); ok {
			t.Fatal("ready after a quarter of an hour without the feed")
		}
		wh.w.Reload(wh.d.Config())
		synctest.Wait()
		if ok, why := wh.w.Ready(); ok || !strings.Contains(why, "not connected yet") {
			t.Errorf("after a reload: ready %v %q, want still not ready", ok, why)
		}
		wh.feed.events().Connected("syncrepl", true)
		if ok, why := wh.w.Ready(); !ok {
			t.Errorf("connected after the reload: ready %v %q", ok, why)
		}
		wh.stop()
	})
}
