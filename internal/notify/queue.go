package notify

import (
	"context"
	gosync "sync"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
)

// queue holds the runs whose messages wait for the sender goroutine,
// which starts with the first run and stops at Close.
type queue struct {
	mu      gosync.Mutex
	jobs    chan []delivery
	started bool
	closed  bool
	ctx     context.Context // ends when Close gives up waiting
	cancel  context.CancelFunc
	done    chan struct{} // closed when the sender has stopped
}

func (q *queue) init(size int) {
	q.jobs = make(chan []delivery, size)
	q.ctx, q.cancel = context.WithCancel(context.Background())
	q.done = make(chan struct{})
}

// Enqueue decides the events of run now, so that "recovered" follows the
// order in which runs end, and sends their messages in the background,
// one run's after the other's. It never blocks: when Options.Queue runs
// already wait (webhooks that keep timing out while runs come quickly),
// the oldest waiting run's messages are dropped, and counted and logged
// as failed, to make room: after an outage the channel hears how the
// latest runs went, not stale news.
func (n *Notifier) Enqueue(hooks []config.Webhook, run Run) {
	ds := n.prepare(hooks, run)
	if len(ds) == 0 {
		return
	}
	q := &n.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		n.drop(ds, "syncd is stopping")
		return
	}
	if !q.started {
		q.started = true
		go n.sender()
	}
	n.push(ds)
}

// push queues ds, dropping the oldest waiting run's messages while the
// queue is full. The caller holds q.mu, so no other run is pushed
// meanwhile; the sender only takes runs out, so this ends at the latest
// on the second try.
func (n *Notifier) push(ds []delivery) {
	for {
		select {
		case n.q.jobs <- ds:
			return
		default:
		}
		select {
		case old := <-n.q.jobs:
			n.drop(old, "a newer run's messages took their place while webhooks were slow")
		default: // the sender took it: there is room now
		}
	}
}

// sender delivers the queued runs' messages until Close.
func (n *Notifier) sender() {
	defer close(n.q.done)
	for ds := range n.q.jobs {
		n.send(n.q.ctx, ds)
	}
}

// Close stops taking runs, lets what is queued or being sent go on for at
// most grace, then cancels the rest (each message counted and logged as
// failed) and returns when the sender has stopped, which is at once: every
// wait and request ends with the context.
func (n *Notifier) Close(grace time.Duration) {
	q := &n.q
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	close(q.jobs)
	started := q.started
	q.mu.Unlock()
	defer q.cancel()
	if !started {
		return
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-q.done:
	case <-t.C:
		n.log.Warn("stopping: notifications still being sent are given up", zap.Duration("grace", grace))
		q.cancel()
		<-q.done
	}
}

// drop counts and logs messages that will not be sent.
func (n *Notifier) drop(ds []delivery, why string) {
	for _, d := range ds {
		n.count.Failed()
		n.log.Warn("notification not sent", zap.String("event", d.event), zap.String("webhook", d.target.name),
			zap.String("host", d.target.host), zap.String("format", d.target.format), zap.Int("attempts", 0),
			zap.String("error", why))
	}
}
