package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
)

// hookMessage is what the json format sends, as far as these tests look.
type hookMessage struct {
	Event     string `json:"event"`
	Mode      string `json:"mode"`
	ReportURL string `json:"report_url"`
}

// webhookReceiver records the JSON messages it gets and answers code.
func webhookReceiver(t *testing.T, code int) (*httptest.Server, chan hookMessage) {
	t.Helper()
	got := make(chan hookMessage, 16)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m hookMessage
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("webhook body: %v\n%s", err, body)
		}
		got <- m
		w.WriteHeader(code)
	}))
	t.Cleanup(ts.Close)
	return ts, got
}

// withNotify appends a notify section (and more) to the quick start's config.
func withNotify(t *testing.T, cfg, extra string) {
	t.Helper()
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, cfg, string(data)+extra, 0o644)
}

func messages(ch chan hookMessage) []hookMessage {
	var out []hookMessage
	for {
		select {
		case m := <-ch:
			out = append(out, m)
		default:
			return out
		}
	}
}

// TestSyncNotifies: `syncd sync` and `syncd apply` tell the webhooks about its run before
// it exits, one message per event, without a link (the daemon's
// /reports/latest does not show a one-shot run).
func TestSyncNotifies(t *testing.T) {
	ts, got := webhookReceiver(t, http.StatusOK)
	cfg := quickstart(t)
	withNotify(t, cfg, "notify:\n  webhooks:\n    - {url: \"${HOOK}\", format: json, events: [drift, applied, held]}\n"+
		"server: {public_url: \"https://syncd.example.com\"}\n")
	vars := map[string]string{"HOOK": ts.URL + "/hook?sig=secret-signature-value"}
	plan := filepath.Join(t.TempDir(), "plan.json")
	if code, out, errOut := runCmd(t, vars, "sync", "--config", cfg, "--plan-out", plan); code != exitcode.OK {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	if m := messages(got); len(m) != 1 || m[0].Event != "drift" || m[0].Mode != "dry-run" || m[0].ReportURL != "" {
		t.Errorf("dry run sent %+v, want one drift message without a link", m)
	}
	if code, out, errOut := runCmd(t, vars, "apply", "--config", cfg, "--plan", plan); code != exitcode.OK {
		t.Fatalf("apply --plan: exit %d\n%s\n%s", code, out, errOut)
	}
	if m := messages(got); len(m) != 1 || m[0].Event != "applied" {
		t.Errorf("apply sent %+v, want one applied message", m)
	}
	if code, _, _ := runCmd(t, vars, "sync", "--config", cfg); code != exitcode.OK {
		t.Fatalf("after apply: exit %d", code)
	}
	if m := messages(got); len(m) != 0 {
		t.Errorf("a run without changes sent %+v", m)
	}
}

// TestSyncWebhookFailureKeepsExitCode: a webhook that refuses the message
// is logged (without its URL) and the run's exit code stays its own.
func TestSyncWebhookFailureKeepsExitCode(t *testing.T) {
	ts, got := webhookReceiver(t, http.StatusForbidden)
	cfg := quickstart(t)
	withNotify(t, cfg, "notify:\n  webhooks:\n    - {url: \"${HOOK}\", format: json, events: [drift]}\n")
	code, _, errOut := runCmd(t, map[string]string{"HOOK": ts.URL + "/hook?sig=secret-signature-value"}, "sync", "--config", cfg)
	if code != exitcode.OK {
		t.Errorf("exit %d, want 0: a webhook never fails the run", code)
	}
	if len(messages(got)) != 1 || !strings.Contains(errOut, "notification not sent") || !strings.Contains(errOut, "answered 403 Forbidden") {
		t.Errorf("stderr:\n%s", errOut)
	}
	if strings.Contains(errOut, "secret-signature-value") {
		t.Errorf("the log shows the webhook's secret:\n%s", errOut)
	}
}

// TestDaemonNotifies: `syncd run` sends after each run, links to its
// /reports/latest under server.public_url, and counts on its registry.
func TestDaemonNotifies(t *testing.T) {
	ts, got := webhookReceiver(t, http.StatusOK)
	path := quickstart(t)
	withNotify(t, path, "notify:\n  webhooks:\n    - {url: \"${HOOK}\", format: json, events: [drift]}\n"+
		"server: {listen: \"127.0.0.1:0\", public_url: \"https://ops.example.com/syncd/\"}\n")
	e := env{stdout: io.Discard, stderr: io.Discard, getenv: testGetenv(t, map[string]string{"HOOK": ts.URL + "/hook"})}
	cfg, err := config.Load(path, e.getenv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newDaemonParts(e, cfg, daemonFlags{path: path}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- p.daemon.Run(ctx) }() // runs at start
	select {
	case m := <-got:
		if m.Event != "drift" || m.ReportURL != "https://ops.example.com/syncd/reports/latest" {
			t.Errorf("message %+v", m)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("no message after the daemon's first run")
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	p.close()
	want := `# HELP syncd_notifications_total Messages about runs sent to webhooks (one per event per webhook), by result: sent, or failed after the retries.
# TYPE syncd_notifications_total counter
syncd_notifications_total{result="failed"} 0
syncd_notifications_total{result="sent"} 1
`
	if err := testutil.GatherAndCompare(p.registry, strings.NewReader(want), "syncd_notifications_total"); err != nil {
		t.Error(err)
	}
}
