package notify

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/config"
)

// blockingReceiver holds every request until release is closed (or the
// request is cancelled) and says on arrived when one comes in.
func blockingReceiver(t *testing.T) (rc *receiver, arrived chan struct{}, release chan struct{}) {
	arrived, release = make(chan struct{}, 16), make(chan struct{})
	rc = newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	return rc, arrived, release
}

// TestEnqueueDoesNotWait: the daemon hands a run over and goes on while
// the webhook is still answering; Close lets it finish.
func TestEnqueueDoesNotWait(t *testing.T) {
	rc, arrived, release := blockingReceiver(t)
	f := newFixture(t, nil)
	f.n.Enqueue([]config.Webhook{hook(rc.url(), config.FormatSlack, "held")}, heldRun()) // would hang here if it waited
	<-arrived
	closed := make(chan struct{})
	go func() {
		f.n.Close(time.Minute)
		close(closed)
	}()
	close(release)
	<-closed
	f.counts(t, 1, 0)
}

// TestCloseBounded: a stop does not hang on a webhook that never answers:
// Close gives up after its grace and counts the message as failed.
func TestCloseBounded(t *testing.T) {
	rc, arrived, release := blockingReceiver(t)
	defer close(release)
	f := newFixture(t, nil) // budget 20s, attempt timeout 5s: Close must cut them short
	f.n.Enqueue([]config.Webhook{hook(rc.url(), config.FormatSlack, "held", "applied")}, heldRun())
	<-arrived
	closed := make(chan struct{})
	go func() {
		f.n.Close(10 * time.Millisecond)
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(4 * time.Second): // under the attempt timeout, far over the grace
		t.Fatal("Close waited for the webhook")
	}
	f.counts(t, 0, 2)
	if rc.requests() != 1 {
		t.Errorf("requests = %d: the second message was sent after the stop", rc.requests())
	}
	if second := f.failures()[1].ContextMap(); second["attempts"] != int64(0) || second["error"] != "not sent: syncd is stopping" {
		t.Errorf("the message never tried: %v", second)
	}
	f.n.Enqueue([]config.Webhook{hook(rc.url(), config.FormatSlack, "held")}, heldRun())
	f.counts(t, 0, 3)
	if e := f.failures()[2].ContextMap()["error"]; e != "syncd is stopping" {
		t.Errorf("after Close: error %v", e)
	}
}

// TestQueueFull: while webhooks keep runs waiting, a run beyond the queue
// takes the place of the oldest waiting one, whose messages are dropped,
// counted and logged: after an outage the channel hears how the latest
// runs went, not stale news. Enqueue still does not block.
func TestQueueFull(t *testing.T) {
	rc, arrived, release := blockingReceiver(t)
	f := newFixture(t, func(o *Options) { o.Queue = 1 })
	hooks := []config.Webhook{hook(rc.url(), config.FormatJSON, "failed")}
	f.n.Enqueue(hooks, failedRunSaying("first"))
	<-arrived // the sender holds the first run; the queue is empty
	f.n.Enqueue(hooks, failedRunSaying("second"))
	f.n.Enqueue(hooks, failedRunSaying("third"))
	f.counts(t, 0, 1)
	if logs := f.failures(); len(logs) != 1 || !strings.Contains(logs[0].ContextMap()["error"].(string), "newer run") {
		t.Errorf("failure lines = %v", logs)
	}
	close(release)
	f.n.Close(time.Minute)
	f.counts(t, 2, 1)
	for i, want := range []string{"first", "third"} {
		var m struct{ Errors []string }
		rc.body(t, i, &m)
		if len(m.Errors) != 1 || m.Errors[0] != want {
			t.Errorf("message %d is about the run that said %v, want %q", i, m.Errors, want)
		}
	}
}

// failedRunSaying is a failed run whose one error is text.
func failedRunSaying(text string) Run {
	run := failedRun()
	r := *run.Report
	r.Errors = []string{text}
	run.Report = &r
	return run
}

// TestEnqueueOrder: runs handed over one after another are told in that
// order, and the later one knows how the earlier ended.
func TestEnqueueOrder(t *testing.T) {
	rc := newReceiver(t, nil)
	f := newFixture(t, nil)
	hooks := []config.Webhook{hook(rc.url(), config.FormatJSON, "failed", "recovered")}
	f.n.Enqueue(hooks, failedRun())
	f.n.Enqueue(hooks, okRun(t0.Add(2*time.Hour)))
	f.n.Close(time.Minute)
	var a, b struct{ Event string }
	rc.body(t, 0, &a)
	rc.body(t, 1, &b)
	if a.Event != "failed" || b.Event != "recovered" {
		t.Errorf("events %q, %q; want failed, recovered", a.Event, b.Event)
	}
}

func TestNewRequiresLoggerAndRegisterer(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := New(Options{Registerer: f.reg}); err == nil {
		t.Error("New without a Logger")
	}
	if _, err := New(Options{Logger: f.n.log}); err == nil {
		t.Error("New without a Registerer")
	}
}
