package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	gosync "sync"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/backoff"
	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/report"
)

// Watch mode (DESIGN.md §9, sync.watch): beside the schedule, the Watcher
// follows each source's change feed and, a watch_delay after a burst of
// changes (at most ten delays after its first, the Debouncer's bound),
// runs a change set: the runner's RunChanges, in the daemon's one run
// slot, so that it never overlaps a scheduled run. The schedule stays the
// full reconcile.
//
// A change is pending from when its feed reports it until a run that
// started after it has planned its source: a change set, or a full run
// (which reads everything). A change set that fails leaves it pending and
// is tried again with backoff; one that needs a full run (a group to
// create, no earlier run to compare with) starts one. A feed's position
// (its cookie) is saved in the state dir only once such a run has planned
// what it reported: a restart resumes from a point nothing after which
// was lost.

// Feed follows one source's changes.
type Feed interface {
	Source() string
	// Run follows the source until ctx ends, reconnecting after failures.
	Run(ctx context.Context, ev FeedEvents) error
	// Position is where the feed is now, to resume from after a restart
	// (nil: nowhere).
	Position() []byte
}

// FeedEvents is what a feed reports (the ldap package's Events).
type FeedEvents interface {
	Connected(feed string, resumed bool)
	Disconnected(err error)
	Changed(seen time.Time)
	Ignored()
	Resync(seen time.Time, why string)
}

// ChangeSet asks a runner to plan what changed in the given sources.
type ChangeSet struct {
	Sources []string
	Seen    time.Time // the first change of the set
}

// ChangeResult is what the watcher needs of a change set's run.
type ChangeResult struct {
	Report *report.Report
	// NeedFull says why part of the set needs a full run; "" when none.
	NeedFull string
	// Unfinished: a change was left for the next change set (a write
	// failed, or a group could not be read from Teams). The runner keeps
	// that in memory only, so the feed's changes are not done: a restart
	// must read them again.
	Unfinished bool
}

// ChangeRunner is a Runner that also runs change sets.
type ChangeRunner interface {
	RunChanges(ctx context.Context, cs ChangeSet) (*ChangeResult, error)
}

// FeedFactory builds the feeds of a configuration's sources; saved
// returns the position a source's feed saved before a restart, or nil.
type FeedFactory func(cfg *config.Config, saved func(source string) []byte) ([]Feed, error)

// WatchOptions are the Watcher's dependencies, all required.
type WatchOptions struct {
	Feeds   FeedFactory
	Metrics *metrics.Watch
	Logger  *zap.Logger
}

// Watcher runs the feeds of a configuration with sync.watch on.
type Watcher struct {
	o   WatchOptions
	d   *Daemon
	deb *Debouncer
	now func() time.Time

	mu      gosync.Mutex
	ctx     context.Context
	cfg     *config.Config
	feeds   map[string]*feedState // by source
	stop    func()                // stops the feeds running
	pending map[string]*pendingChange
	retries int  // change sets that failed in a row
	retry   bool // plan again what the last change set could not
}

type feedState struct {
	feed        Feed
	kind        string
	connected   bool
	established bool // connected once since it started
	down        time.Time
	err         error
}

// pendingChange is what a source's feed reported that no run planned
// yet: when each change was seen.
type pendingChange struct {
	seen []time.Time // what asks for a change set: changes, catch-ups, resyncs
	// changes are the directory changes a feed reported among them: what
	// syncd_change_apply_seconds times (a catch-up at start is no change).
	changes []time.Time
}

func (p *pendingChange) first() time.Time { return slices.MinFunc(p.seen, time.Time.Compare) }

// NewWatcher checks the options. Attach it to the daemon whose runners
// its Wrap builds, then Run it beside the daemon.
func NewWatcher(o WatchOptions) (*Watcher, error) {
	if o.Feeds == nil || o.Metrics == nil || o.Logger == nil {
		return nil, errors.New("daemon: a Watcher needs Feeds, Metrics and a Logger")
	}
	w := &Watcher{o: o, now: time.Now, feeds: map[string]*feedState{}, pending: map[string]*pendingChange{}}
	w.deb = NewDebouncer(w.fire, config.DefaultWatchDelay, o.Logger)
	w.deb.started = "" // the change set logs its own line
	return w, nil
}

// Wrap makes build's runners tell the watcher when a full run starts and
// when it has planned: the changes seen before it are then done.
func (w *Watcher) Wrap(build BuildFunc) BuildFunc {
	return func(cfg *config.Config) (Runner, error) {
		r, err := build(cfg)
		if err != nil {
			return nil, err
		}
		return &watchedRunner{Runner: r, w: w}, nil
	}
}

// Attach gives the watcher the daemon whose run slot change sets use.
func (w *Watcher) Attach(d *Daemon) { w.d = d }

// Run starts the feeds of cfg (when sync.watch is on) and runs until ctx
// ends, then stops them.
func (w *Watcher) Run(ctx context.Context, cfg *config.Config) error {
	if w.d == nil {
		return errors.New("daemon: the Watcher is not attached to a daemon")
	}
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
	w.Reload(cfg)
	<-ctx.Done()
	w.mu.Lock()
	stop := w.stop
	w.stop = nil
	w.mu.Unlock()
	if stop != nil {
		stop()
	}
	return nil
}

// Reload starts the feeds of a new configuration in place of the running
// ones (which save nothing more); a configuration without sync.watch
// stops them.
func (w *Watcher) Reload(cfg *config.Config) {
	w.mu.Lock()
	ctx, stop := w.ctx, w.stop
	w.stop = nil
	w.mu.Unlock()
	if stop != nil {
		stop()
	}
	if ctx == nil || ctx.Err() != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for src := range w.feeds {
		w.o.Metrics.Forget(src)
	}
	prev := w.feeds
	w.cfg, w.feeds = cfg, map[string]*feedState{}
	if !cfg.Sync.Watch {
		// Nothing to plan changes with any more: the schedule does.
		w.pending, w.retry = map[string]*pendingChange{}, false
		return
	}
	w.deb.SetDelay(cfg.Sync.WatchDelay.Std())
	feeds, err := w.o.Feeds(cfg, w.loadPosition)
	if err != nil {
		w.o.Logger.Error("watch: cannot build the change feeds; changes wait for the scheduled run", zap.Error(err))
		return
	}
	fctx, cancel := context.WithCancel(ctx)
	var wg gosync.WaitGroup
	for _, f := range feeds {
		src := f.Source()
		st := &feedState{feed: f, down: w.now()}
		if old := prev[src]; old != nil && !old.connected {
			// Still down: a reload (a periodic systemctl reload, say)
			// must not restart the clock that makes the daemon unready.
			st.down, st.err = old.down, old.err
		}
		w.feeds[src] = st
		w.o.Metrics.Connected(src, false)
		wg.Go(func() { _ = f.Run(fctx, &sourceEvents{w: w, source: src}) })
	}
	w.stop = func() { cancel(); wg.Wait() }
}

// FeedDownGrace is how long a change feed may be down before the daemon
// answers not ready. A directory restarting, a connection cut by a load
// balancer, or the first connect take seconds and the scheduled runs go on
// meanwhile: were each a 503, Kubernetes would take the pod out of its
// Service and Docker would mark the container unhealthy for a blip. A feed
// down this long is a fault someone must look at (the account's rights, a
// feed the server does not offer); the alert SyncdWatchFeedDown fires
// then too.
const FeedDownGrace = 15 * time.Minute

// Ready says whether every feed follows its server, or has lost it for
// less than FeedDownGrace.
func (w *Watcher) Ready() (bool, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, src := range slices.Sorted(maps.Keys(w.feeds)) {
		st := w.feeds[src]
		if st.connected || w.now().Sub(st.down) < FeedDownGrace {
			continue
		}
		why := "not connected yet"
		if st.err != nil {
			why = st.err.Error()
		}
		return false, fmt.Sprintf("watch: the change feed of source %q is down since %s (%s): its changes wait for the scheduled run",
			src, st.down.UTC().Format(time.RFC3339), why)
	}
	return true, ""
}

// changed records a change of source seen at seen and asks for a change
// set.
func (w *Watcher) changed(source string, seen time.Time) { w.ask(source, seen, true) }

// ask asks for a change set of source, for a directory change (change) or
// for a comparison (a catch-up at start, a resync).
func (w *Watcher) ask(source string, seen time.Time, change bool) {
	w.mu.Lock()
	p := w.pending[source]
	if p == nil {
		p = &pendingChange{}
		w.pending[source] = p
	}
	p.seen = append(p.seen, seen)
	if change {
		p.changes = append(p.changes, seen)
	}
	w.mu.Unlock()
	w.deb.Poke()
}

// fire is the Debouncer's trigger: a change set of the pending sources.
func (w *Watcher) fire() (<-chan struct{}, error) {
	w.mu.Lock()
	cs := ChangeSet{Sources: slices.Sorted(maps.Keys(w.pending))}
	for _, p := range w.pending {
		if first := p.first(); cs.Seen.IsZero() || first.Before(cs.Seen) {
			cs.Seen = first
		}
	}
	retry := w.retry
	w.mu.Unlock()
	if len(cs.Sources) == 0 && !retry {
		return nil, nil // a run planned them meanwhile
	}
	var needFull string
	return w.d.runInSlot("watch", func(ctx context.Context, r Runner) {
		needFull = w.runChanges(ctx, r, cs)
	}, func() {
		if needFull != "" {
			w.startFull(needFull)
		}
	})
}

// runChanges runs one change set and returns why a full run is needed.
func (w *Watcher) runChanges(ctx context.Context, r Runner, cs ChangeSet) string {
	cr, ok := r.(ChangeRunner)
	if !ok {
		return ""
	}
	start := w.now()
	marks := w.marks(cs.Sources)
	res, err := cr.RunChanges(ctx, cs)
	switch {
	case ctx.Err() != nil:
		return ""
	case err != nil:
		w.o.Logger.Error("change set failed; trying again later", zap.Strings("sources", cs.Sources), zap.Error(err))
		w.failed()
		return ""
	}
	w.o.Metrics.Changes(res.Report)
	if res.NeedFull != "" {
		w.o.Logger.Info("change set needs a full run", zap.String("reason", res.NeedFull))
		return res.NeedFull
	}
	retry := res.Report != nil && (res.Report.Summary.ChangesFailed > 0 || len(res.Report.Errors) > 0)
	if !res.Unfinished {
		// Done: the changes are no longer pending, and a restart resumes
		// after them. A change set that left a change for the next one
		// leaves both, so that a restart before that succeeds reads the
		// changes again (the feed's position would otherwise skip them
		// until a full run), and the apply latency is that of the change
		// set that applied them. (An error no retry mends, a mapping's
		// group deleted from the directory, finishes the change set.)
		w.covered(cs.Sources, start, w.now())
		w.savePositions(marks)
	}
	w.mu.Lock()
	w.retry = retry
	if !retry {
		w.retries = 0
	}
	w.mu.Unlock()
	if retry {
		w.failed() // what failed is planned again after a backoff
	}
	return ""
}

// failed schedules another change set after a backoff that doubles from
// the watch delay up to five minutes.
func (w *Watcher) failed() {
	w.mu.Lock()
	delay := config.DefaultWatchDelay
	if w.cfg != nil && w.cfg.Sync.WatchDelay > 0 {
		delay = w.cfg.Sync.WatchDelay.Std()
	}
	wait := backoff.Exponential{Base: delay, Cap: 5 * time.Minute}.Wait(w.retries)
	w.retries++
	w.mu.Unlock()
	time.AfterFunc(wait, w.deb.Poke)
}

// startFull starts a full run for what a change set could not do; a run
// already going is asked again a delay later.
func (w *Watcher) startFull(why string) {
	_, err := w.d.start("watch: " + why)
	if errors.Is(err, ErrBusy) {
		w.deb.Poke()
	}
}

// covered ends the pending changes of sources (nil: all) seen before a
// run that planned them started at start, observing how long each took.
func (w *Watcher) covered(sources []string, start, finish time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for src, p := range w.pending {
		if sources != nil && !slices.Contains(sources, src) {
			continue
		}
		// Changes seen once the run had started may not have been read.
		before := func(t time.Time) bool { return t.Before(start) }
		if done := slices.DeleteFunc(slices.Clone(p.changes), func(t time.Time) bool { return !before(t) }); len(done) > 0 {
			w.o.Metrics.Applied(finish.Sub(slices.MinFunc(done, time.Time.Compare)))
		}
		p.changes = slices.DeleteFunc(p.changes, before)
		later := slices.DeleteFunc(slices.Clone(p.seen), before)
		if len(later) == 0 {
			delete(w.pending, src)
		} else {
			p.seen = later
		}
	}
}

// watchedRunner tells the watcher about full runs.
type watchedRunner struct {
	Runner
	w *Watcher
}

// RunOnce runs a full run; once it has planned, the changes seen before
// it started are done and the feeds' positions of then are saved.
func (r *watchedRunner) RunOnce(ctx context.Context) (*Result, error) {
	w := r.w
	start := w.now()
	marks := w.marks(nil)
	res, err := r.Runner.RunOnce(ctx)
	if res != nil && res.Report != nil && !res.Report.NothingCompared {
		w.covered(nil, start, w.now())
		w.savePositions(marks)
		w.mu.Lock()
		w.retry, w.retries = false, 0
		w.mu.Unlock()
	}
	return res, err
}

// RunChanges passes a change set on to the runner.
func (r *watchedRunner) RunChanges(ctx context.Context, cs ChangeSet) (*ChangeResult, error) {
	cr, ok := r.Runner.(ChangeRunner)
	if !ok {
		return nil, errors.New("daemon: the runner cannot run change sets")
	}
	return cr.RunChanges(ctx, cs)
}

// runInSlot runs fn in the daemon's one run slot, as start does a run,
// then after once the slot is free. ErrBusy while a run is going.
func (d *Daemon) runInSlot(reason string, fn func(context.Context, Runner), after func()) (<-chan struct{}, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	done, err := d.claimLocked()
	if err != nil {
		return nil, err
	}
	ctx, r := d.ctx, d.runner
	go func() {
		defer close(done)
		func() {
			defer func() {
				if p := recover(); p != nil {
					d.o.Logger.Error("change set panicked", zap.String("trigger", reason), zap.Any("panic", p))
				}
			}()
			fn(ctx, r)
		}()
		d.mu.Lock()
		d.running = nil
		d.mu.Unlock()
		after()
	}()
	return done, nil
}

// sourceEvents receives one source's feed events.
type sourceEvents struct {
	w      *Watcher
	source string
}

func (e *sourceEvents) state() *feedState {
	if st := e.w.feeds[e.source]; st != nil {
		return st
	}
	return &feedState{} // a feed of a configuration replaced meanwhile
}

// Connected: the feed follows its server. The first time, unless it
// resumed from a saved position, what changed before it started (while
// syncd was down, or since a full run's read) was seen by no feed: the
// source is compared on a complete read (a change set, or a full run when
// none has planned yet, whatever run_at_start says).
func (e *sourceEvents) Connected(feed string, resumed bool) {
	w := e.w
	w.mu.Lock()
	st := e.state()
	first := !st.established
	st.connected, st.established, st.kind, st.err = true, true, feed, nil
	catchUp := first && !resumed
	w.mu.Unlock()
	w.o.Metrics.Connected(e.source, true)
	w.o.Logger.Info("watch: following the source's changes", zap.String("source", e.source), zap.String("feed", feed), zap.Bool("resumed", resumed))
	if catchUp {
		w.ask(e.source, w.now(), false)
	}
}

func (e *sourceEvents) Disconnected(err error) {
	w := e.w
	w.mu.Lock()
	st := e.state()
	if st.connected || st.err == nil {
		st.down = w.now()
	}
	st.connected, st.err = false, err
	w.mu.Unlock()
	w.o.Metrics.Connected(e.source, false)
	w.o.Metrics.Event(e.source, metrics.WatchError)
}

func (e *sourceEvents) Changed(seen time.Time) {
	e.w.o.Metrics.Event(e.source, metrics.WatchChange)
	e.w.changed(e.source, seen)
}

func (e *sourceEvents) Ignored() { e.w.o.Metrics.Event(e.source, metrics.WatchIgnored) }

func (e *sourceEvents) Resync(seen time.Time, why string) {
	e.w.o.Metrics.Event(e.source, metrics.WatchResync)
	e.w.o.Logger.Warn("watch: the feed may have missed changes; the source is compared on a complete read",
		zap.String("source", e.source), zap.String("reason", why))
	e.w.ask(e.source, seen, false)
}
