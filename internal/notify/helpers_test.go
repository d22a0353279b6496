package notify

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/internal/backoff"
	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/report"
)

// The secret parts of the test webhooks' URLs: Slack's key in the path,
// a Teams workflow's signature in the query. No log line may show them.
const (
	secretPath  = "/services/T0SECRET/B0SECRET/slackKeyVerySecret42"
	secretKey   = "slackKeyVerySecret42"
	secretQuery = "sig=teamsSignatureVerySecret43"
	secretSig   = "teamsSignatureVerySecret43"
)

var t0 = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

// heldRun is an applying run that held removals (exit 4), applied one
// change, and names more people than a message shows.
func heldRun() Run {
	users := func(names ...string) []report.User {
		var out []report.User
		for i, n := range names {
			out = append(out, report.User{ID: 100 + i, Email: strings.ToLower(n) + "@example.com", Name: n})
		}
		return out
	}
	r := &report.Report{Mode: report.ModeApply, StartedAt: t0, FinishedAt: t0.Add(42 * time.Second),
		Summary: report.Summary{SourceGroups: 3, SourceUsers: 40, MatchedUsers: 38, PendingUsers: 2,
			ChangesPlanned: 1, ChangesApplied: 1, ChangesHeld: 2, APICalls: 7},
		Changes: []report.Change{
			{Kind: report.KindAddMembers, Group: "Platform", Users: users("Dana"), Status: report.StatusApplied},
			{Kind: report.KindRemoveMembers, Group: "Platform", Users: users("Ann", "<!channel>", "Bob", "Carol", "Eve"),
				Status: report.StatusHeld, Reason: "removes 5 of 8 members (62%), over sync.max_removal_percent 25", ID: "3a29a11f2e96"},
			{Kind: report.KindRemoveSMEUsers, Tag: "kubernetes", Users: []report.User{{ID: 9, Email: "k8s@example.com"}},
				Status: report.StatusHeld, Reason: "over sync.max_removals", ID: "77e0c0ffee00"},
		},
		Pending: []report.Pending{{Email: "new@example.com", Groups: []string{"Platform"}}},
		Errors:  []string{}}
	return Run{Report: r, ExitCode: exitcode.Held, ReportURL: "https://syncd.example.com/reports/latest"}
}

// failedRun is a run that stopped before planning.
func failedRun() Run {
	r := &report.Report{Mode: report.ModeApply, StartedAt: t0.Add(time.Hour), FinishedAt: t0.Add(time.Hour + time.Second),
		NothingCompared: true, Changes: []report.Change{}, Errors: []string{"source corp: ldap: connection refused"}}
	return Run{Report: r, ExitCode: exitcode.Failure}
}

// okRun is a run that changed nothing.
func okRun(at time.Time) Run {
	return Run{Report: &report.Report{Mode: report.ModeApply, StartedAt: at, FinishedAt: at.Add(time.Second),
		Changes: []report.Change{}, Errors: []string{}}}
}

// receiver is a local webhook: it records every request and answers with
// what answer returns for the request's number (0-based).
type receiver struct {
	srv    *httptest.Server
	mu     gosync.Mutex
	bodies [][]byte
	types  []string
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.bodies)
		rc.bodies = append(rc.bodies, body)
		rc.types = append(rc.types, r.Header.Get("Content-Type"))
		rc.mu.Unlock()
		if rc.answer == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		rc.answer(n, w, r)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.bodies)
}

func (rc *receiver) body(t *testing.T, i int, into any) {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if i >= len(rc.bodies) {
		t.Fatalf("request %d not received (%d were)", i, len(rc.bodies))
	}
	if err := json.Unmarshal(rc.bodies[i], into); err != nil {
		t.Fatalf("request %d: %v\n%s", i, err, rc.bodies[i])
	}
}

// url is the receiver's address with the secret path and query.
func (rc *receiver) url() string { return rc.srv.URL + secretPath + "?api-version=1&" + secretQuery }

// answerWith answers every request with code and body.
func answerWith(code int, body string) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

func hook(url, format string, events ...string) config.Webhook {
	return config.Webhook{URL: config.Secret(url), Format: format, Events: events}
}

// fixture is a notifier on a fresh registry with its logs observed and
// short waits, so that retries take milliseconds.
type fixture struct {
	n    *Notifier
	reg  *prometheus.Registry
	logs *observer.ObservedLogs
}

func newFixture(t *testing.T, tweak func(*Options)) *fixture {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	f := &fixture{reg: prometheus.NewRegistry(), logs: logs}
	o := Options{Logger: zap.New(core), Registerer: f.reg,
		Backoff:        backoff.Exponential{Base: time.Millisecond, Cap: 5 * time.Millisecond},
		AttemptTimeout: 5 * time.Second, Budget: 20 * time.Second}
	if tweak != nil {
		tweak(&o)
	}
	n, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.n = n
	t.Cleanup(func() { n.Close(0); f.noSecrets(t) })
	return f
}

// counts checks syncd_notifications_total.
func (f *fixture) counts(t *testing.T, sent, failed int) {
	t.Helper()
	want := fmt.Sprintf(`# HELP syncd_notifications_total Messages about runs sent to webhooks (one per event per webhook), by result: sent, or failed after the retries.
# TYPE syncd_notifications_total counter
syncd_notifications_total{result="failed"} %d
syncd_notifications_total{result="sent"} %d
`, failed, sent)
	if err := testutil.GatherAndCompare(f.reg, strings.NewReader(want), "syncd_notifications_total"); err != nil {
		t.Error(err)
	}
}

// failures returns the "notification not sent" lines.
func (f *fixture) failures() []observer.LoggedEntry {
	return f.logs.FilterMessage("notification not sent").All()
}

// noSecrets fails when any log line, in its message or any field, shows
// a secret part of a webhook URL.
func (f *fixture) noSecrets(t *testing.T) {
	t.Helper()
	for _, e := range f.logs.All() {
		line := e.Message + " " + fmt.Sprint(e.ContextMap())
		for _, s := range []string{secretKey, secretSig, secretPath, "T0SECRET"} {
			if strings.Contains(line, s) {
				t.Errorf("a log line shows the secret %q: %s", s, line)
			}
		}
	}
}

// hostileRun is a failed run that held changes, whose names, group, tag
// and errors are written by people outside syncd's control: Markdown
// that would make a link or bold text in a card, Slack's markup,
// terminal escapes, and a bidi override.
func hostileRun() Run {
	run := heldRun()
	r := *run.Report
	r.Changes = []report.Change{
		{Kind: report.KindRemoveMembers, Group: "*Ops* _team_", Status: report.StatusHeld, Reason: "over sync.max_removals",
			Users: []report.User{{ID: 1, Name: "[click me](https://evil.example/a)"}, {ID: 2, Name: "1. `x` ~y~ # > - + ! |"},
				{ID: 3, Name: "Eve\u202egnp.exe"}}},
		{Kind: report.KindRemoveSMEUsers, Tag: "k8s", Status: report.StatusHeld, Reason: "held <b>&amp;</b>",
			Users: []report.User{{ID: 4, Name: "\x1b[31mred\x1b[0m \x9b2J"}}},
	}
	r.Errors = []string{"source corp: group \"[x](https://evil.example/b)\": bad \x07 bell\x1b]0;title\x07"}
	r.Summary.ChangesHeld, r.Summary.ChangesApplied = 2, 0
	run.Report, run.ExitCode = &r, exitcode.Failure
	return run
}
