package notify

import (
	"context"
	"net"
	"net/http"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/config"
)

// TestOneMessagePerEventPerRun: each webhook gets one message for each
// event of the run it asked for, in its format, and nothing else.
func TestOneMessagePerEventPerRun(t *testing.T) {
	f := newFixture(t, nil)
	slack, teams, js, quiet := newReceiver(t, nil), newReceiver(t, answerWith(http.StatusAccepted, "")), newReceiver(t, nil), newReceiver(t, nil)
	hooks := []config.Webhook{
		hook(slack.url(), config.FormatSlack, config.DefaultEvents...),
		hook(teams.url(), config.FormatMSTeams, "applied", "held"),
		hook(js.url(), config.FormatJSON, config.Events...),
		hook(quiet.url(), config.FormatJSON, "failed", "drift"),
	}
	f.n.Notify(context.Background(), hooks, heldRun()) // held and applied, 3 changes, 6 people
	for _, tc := range []struct {
		name string
		rc   *receiver
		want int
	}{{"slack (held)", slack, 1}, {"msteams (held, applied)", teams, 2}, {"json (held, applied)", js, 2}, {"json (failed, drift)", quiet, 0}} {
		if got := tc.rc.requests(); got != tc.want {
			t.Errorf("%s: %d messages, want %d", tc.name, got, tc.want)
		}
		for _, ct := range tc.rc.types {
			if ct != "application/json" {
				t.Errorf("%s: Content-Type %q", tc.name, ct)
			}
		}
	}
	var s slackMessage
	slack.body(t, 0, &s)
	if !strings.HasPrefix(s.Text, "syncd held 2 changes") {
		t.Errorf("slack got %q", s.Text)
	}
	var m struct{ Type string }
	teams.body(t, 0, &m)
	if m.Type != "message" {
		t.Errorf("msteams got type %q, want an Adaptive Card message", m.Type)
	}
	var first, second struct{ Event string }
	js.body(t, 0, &first)
	js.body(t, 1, &second)
	if first.Event != "held" || second.Event != "applied" {
		t.Errorf("json events %q, %q; want held then applied", first.Event, second.Event)
	}
	f.counts(t, 5, 0)
}

// TestRetriedAfter500: a 5xx is tried again, and the message counts once.
func TestRetriedAfter500(t *testing.T) {
	f := newFixture(t, nil)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			http.Error(w, "try later", http.StatusInternalServerError)
		}
	})
	f.n.Notify(context.Background(), []config.Webhook{hook(rc.url(), config.FormatSlack, "held")}, heldRun())
	if rc.requests() != 2 {
		t.Errorf("requests = %d, want 2 (500, then 200)", rc.requests())
	}
	f.counts(t, 1, 0)
	if len(f.failures()) != 0 {
		t.Errorf("failure logged for a message that got through: %v", f.failures())
	}
}

// TestRetryAfter429: a 429 is tried again after the Retry-After it gives.
func TestRetryAfter429(t *testing.T) {
	f := newFixture(t, nil)
	var mu gosync.Mutex
	var gap time.Duration
	var last time.Time
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if n == 1 {
			gap = time.Since(last)
		}
		last = time.Now()
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	f.n.Notify(context.Background(), []config.Webhook{hook(rc.url(), config.FormatSlack, "held")}, heldRun())
	mu.Lock()
	defer mu.Unlock()
	if rc.requests() != 2 || gap < time.Second {
		t.Errorf("requests = %d, second after %v; want 2, at least 1s apart", rc.requests(), gap)
	}
	f.counts(t, 1, 0)
}

// TestNotRetried: a 4xx (a revoked URL, a refused payload) and a redirect
// are final: one request, counted as failed, one log line naming the host
// and what the receiver said, without the URL even when the answer
// repeats it.
func TestNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(int, http.ResponseWriter, *http.Request)
		want   string
	}{
		{"400", func(_ int, w http.ResponseWriter, r *http.Request) {
			http.Error(w, "invalid_payload for "+r.URL.String(), http.StatusBadRequest)
		}, "answered 400 Bad Request: invalid_payload for [redacted]"},
		{"404", answerWith(http.StatusNotFound, "no_service"), "answered 404 Not Found: no_service"},
		{"302", func(_ int, w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example.com/", http.StatusFound)
		}, "redirects are not followed"},
		{"teams connector 200 with a failure", answerWith(http.StatusOK, "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 413"),
			"did not deliver the message: Webhook message delivery failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			rc := newReceiver(t, tc.answer)
			f.n.Notify(context.Background(), []config.Webhook{hook(rc.url(), config.FormatMSTeams, "held")}, heldRun())
			if rc.requests() != 1 {
				t.Errorf("requests = %d, want 1 (not retried)", rc.requests())
			}
			f.counts(t, 0, 1)
			logs := f.failures()
			if len(logs) != 1 {
				t.Fatalf("%d failure lines, want 1", len(logs))
			}
			fields := logs[0].ContextMap()
			host := strings.TrimPrefix(rc.srv.URL, "http://")
			if !strings.Contains(fields["error"].(string), tc.want) || fields["host"] != host ||
				fields["webhook"] != "notify.webhooks[0]" || fields["event"] != "held" || fields["attempts"] != int64(1) {
				t.Errorf("log line = %v, want an error with %q", fields, tc.want)
			}
		})
	}
}

// TestConnectionRefused: no answer at all is retried, then given up.
func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	f := newFixture(t, func(o *Options) { o.Attempts = 3 })
	f.n.Notify(context.Background(), []config.Webhook{hook("http://"+addr+secretPath+"?"+secretQuery, config.FormatJSON, "held", "applied")}, heldRun())
	f.counts(t, 0, 2)
	logs := f.failures()
	if len(logs) != 2 {
		t.Fatalf("%d failure lines, want one per message", len(logs))
	}
	fields := logs[0].ContextMap()
	if e := fields["error"].(string); !strings.Contains(e, "POST to "+addr+": ") || !strings.Contains(e, "connection refused") || fields["attempts"] != int64(3) {
		t.Errorf("log line = %v", fields)
	}
}

// TestSlowReceiverBounded: a webhook that never answers costs at most the
// budget (or, per attempt, the attempt timeout, after which it is tried
// again), and the run's other webhooks are not held up by it.
func TestSlowReceiverBounded(t *testing.T) {
	for _, tc := range []struct {
		name             string
		attempt, budget  time.Duration
		wantSlowRequests int
	}{
		{"the budget ends it", time.Hour, 300 * time.Millisecond, 1},
		{"each attempt times out, then is retried", 50 * time.Millisecond, time.Hour, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slow, _, release := blockingReceiver(t)
			defer close(release)
			fast := newReceiver(t, nil)
			f := newFixture(t, func(o *Options) { o.AttemptTimeout, o.Budget, o.Attempts = tc.attempt, tc.budget, 2 })
			hooks := []config.Webhook{hook(slow.url(), config.FormatSlack, "held"), hook(fast.url(), config.FormatSlack, "held")}
			done := make(chan struct{})
			go func() {
				f.n.Notify(context.Background(), hooks, heldRun())
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(time.Minute): // the receiver would hold it for an hour
				t.Fatal("Notify did not return: a slow webhook is not bounded")
			}
			if fast.requests() != 1 || slow.requests() != tc.wantSlowRequests {
				t.Errorf("requests: fast %d, slow %d; want 1, %d", fast.requests(), slow.requests(), tc.wantSlowRequests)
			}
			f.counts(t, 1, 1)
			if e := f.failures()[0].ContextMap()["error"].(string); !strings.Contains(e, "no answer in time") {
				t.Errorf("error = %q", e)
			}
		})
	}
}

// TestSecretsRedacted: the redactor removes every secret part of a URL
// from any text quoting it, escaped or not.
func TestSecretsRedacted(t *testing.T) {
	raw := "https://hooks.example.com" + secretPath + "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&" + secretQuery
	r := newRedactor(raw)
	for _, text := range []string{
		`Post "` + raw + `": dial tcp: connection refused`,
		"bad request for " + secretPath,
		"key " + secretKey + " and sig " + secretSig,
		"sp /triggers/manual/run",
	} {
		got := r.String(text)
		for _, s := range []string{secretKey, secretSig, "T0SECRET", "/triggers/manual/run"} {
			if strings.Contains(got, s) {
				t.Errorf("%q -> %q still shows %q", text, got, s)
			}
		}
	}
	if got := r.String("api-version=2016-06-01 from hooks.example.com"); got != "api-version=2016-06-01 from hooks.example.com" {
		t.Errorf("the host and short fixed words went too: %q", got)
	}
}

// TestBudgetSpentNotSent: when one message of a run takes the run's whole
// budget, the webhook's next message is not tried at all, and its log line
// says so (attempts 0) rather than blaming the receiver.
func TestBudgetSpentNotSent(t *testing.T) {
	slow, _, release := blockingReceiver(t)
	defer close(release)
	f := newFixture(t, func(o *Options) { o.AttemptTimeout, o.Budget, o.Attempts = time.Hour, 300*time.Millisecond, 2 })
	f.n.Notify(context.Background(), []config.Webhook{hook(slow.url(), config.FormatSlack, "held", "applied")}, heldRun())
	f.counts(t, 0, 2)
	if slow.requests() != 1 {
		t.Errorf("requests = %d, want 1", slow.requests())
	}
	logs := f.failures()
	if len(logs) != 2 {
		t.Fatalf("%d failure lines, want 2", len(logs))
	}
	first, second := logs[0].ContextMap(), logs[1].ContextMap()
	if first["event"] != "held" || first["attempts"] != int64(1) || !strings.Contains(first["error"].(string), "no answer in time") {
		t.Errorf("first line = %v", first)
	}
	if second["event"] != "applied" || second["attempts"] != int64(0) ||
		second["error"] != "not sent: the run's time for notifications ran out" {
		t.Errorf("second line = %v, want attempts 0 and why it was not sent", second)
	}
}
