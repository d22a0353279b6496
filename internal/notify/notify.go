// Package notify tells people about runs (DESIGN.md §9): after each run it
// decides the run's events (failed, held, recovered, applied, drift) and
// posts one message per event to each webhook that asked for it, shaped
// for Slack, Microsoft Teams or a JSON receiver. Never one per change: a
// message gives the counts, the first few changes and a link to the report.
//
// A webhook that fails is retried with backoff while that may help (no
// answer, 429, 5xx), then counted in syncd_notifications_total{result=
// "failed"} and logged in one line. It never fails a run, and the time it
// may take is bounded: Options.Budget for all the messages of one run.
// The daemon hands runs over with Enqueue, which returns at once (the
// next run and a stop never wait for a webhook; Close bounds the wait for
// what is still being sent); a one-shot command calls Notify, which sends
// before the command exits and blocks for at most the budget.
package notify

import (
	"context"
	"errors"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/backoff"
	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/version"
)

// Defaults of Options.
const (
	DefaultAttempts       = 4                // one try and three retries
	DefaultAttemptTimeout = 10 * time.Second // Slack and Teams answer in well under a second
	DefaultBudget         = 30 * time.Second // all the messages of one run
	DefaultQueue          = 8                // runs waiting to be sent (Enqueue)
)

// DefaultBackoff waits about 1s, 2s, 4s between attempts.
var DefaultBackoff = backoff.Exponential{Base: time.Second, Cap: 8 * time.Second, Jitter: backoff.Uniform}

// Options are the notifier's dependencies; Logger and Registerer are required.
type Options struct {
	Logger     *zap.Logger
	Registerer prometheus.Registerer // for syncd_notifications_total
	Client     Doer                  // default NewClient()
	// History tells how the runs before this process's first ended, for
	// "recovered" (the state store). Optional: without it, only the runs
	// this notifier was told of count.
	History        History
	UserAgent      string              // default syncd/<version>
	Attempts       int                 // per message; default DefaultAttempts
	Backoff        backoff.Exponential // between attempts; default DefaultBackoff
	AttemptTimeout time.Duration       // default DefaultAttemptTimeout
	Budget         time.Duration       // default DefaultBudget
	Queue          int                 // default DefaultQueue
	Now            func() time.Time    // default time.Now
}

// Notifier sends the messages of finished runs. It is safe for concurrent use.
type Notifier struct {
	o     Options
	log   *zap.Logger
	count *metrics.Notifications

	mu   gosync.Mutex
	last *outcome // the last run this notifier was told of

	q queue
}

// New checks the options and fills in the defaults.
func New(o Options) (*Notifier, error) {
	switch {
	case o.Logger == nil:
		return nil, errors.New("notify: a Logger is required")
	case o.Registerer == nil:
		return nil, errors.New("notify: a Registerer is required")
	}
	count, err := metrics.NewNotifications(o.Registerer)
	if err != nil {
		return nil, err
	}
	setDefaults(&o)
	n := &Notifier{o: o, log: o.Logger, count: count}
	n.q.init(o.Queue)
	return n, nil
}

func setDefaults(o *Options) {
	if o.Client == nil {
		o.Client = NewClient()
	}
	if o.UserAgent == "" {
		o.UserAgent = version.UserAgent()
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.Backoff.Base <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// delivery is one message for one webhook.
type delivery struct {
	target target
	event  string
	body   []byte
	err    error // the message could not be rendered
}

// Notify sends the messages of run to hooks and returns when each was
// delivered or given up on, within Options.Budget (sooner if ctx ends).
// Failures are counted and logged, not returned: they must not change
// how the run ends.
func (n *Notifier) Notify(ctx context.Context, hooks []config.Webhook, run Run) {
	n.send(ctx, n.prepare(hooks, run))
}

// prepare decides run's events (and remembers how run ended, for the
// next) and renders a message for each webhook and event it asked for.
func (n *Notifier) prepare(hooks []config.Webhook, run Run) []delivery {
	now := n.o.Now()
	n.mu.Lock()
	var events []string
	if len(hooks) > 0 { // else spare the history's read: nobody is told
		events = Events(run, n.previous(run, now))
	}
	n.last = &outcome{result: run.result(), finished: run.finished(now)}
	n.mu.Unlock()
	var out []delivery
	for i, h := range hooks {
		t := newTarget(i, h)
		for _, e := range events {
			if h.Wants(e) {
				body, err := render(h.Format, newMessage(e, run))
				out = append(out, delivery{target: t, event: e, body: body, err: err})
			}
		}
	}
	return out
}

// send delivers to each webhook at once, and to one webhook its messages
// in order, all within the budget.
func (n *Notifier) send(ctx context.Context, ds []delivery) {
	if len(ds) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, n.o.Budget)
	defer cancel()
	byHook := map[string][]delivery{}
	var order []string
	for _, d := range ds {
		if _, seen := byHook[d.target.name]; !seen {
			order = append(order, d.target.name)
		}
		byHook[d.target.name] = append(byHook[d.target.name], d)
	}
	var wg gosync.WaitGroup
	for _, name := range order {
		wg.Go(func() {
			for _, d := range byHook[name] {
				n.one(ctx, d)
			}
		})
	}
	wg.Wait()
}

// one delivers one message, then counts and logs how it went.
func (n *Notifier) one(ctx context.Context, d delivery) {
	attempts, err := 0, d.err
	switch {
	case err != nil:
	case ctx.Err() != nil:
		err = notSent(ctx)
	default:
		attempts, err = n.deliver(ctx, d.target, d.body)
	}
	fields := []zap.Field{zap.String("event", d.event), zap.String("webhook", d.target.name),
		zap.String("host", d.target.host), zap.String("format", d.target.format), zap.Int("attempts", attempts)}
	if err != nil {
		n.count.Failed()
		n.log.Warn("notification not sent", append(fields, zap.String("error", d.target.redact.String(err.Error())))...)
		return
	}
	n.count.Sent()
	n.log.Debug("notification sent", fields...)
}

// notSent says why a message was not even tried, rather than blaming the
// receiver for an attempt never made: the messages before it spent the
// run's budget, or syncd is stopping (Close gave up waiting, or the
// command was interrupted).
func notSent(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return errors.New("not sent: the run's time for notifications ran out")
	}
	return errors.New("not sent: syncd is stopping")
}
