package deploytest

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/report"
)

const promtoolInstall = "apt-get install prometheus (it brings promtool)"

// promtool parses the rules' PromQL for real and runs the alert unit tests
// of deploy/prometheus/alerts_test.yaml.
func TestAlertsWithPromtool(t *testing.T) {
	promtool := requireTool(t, "promtool", promtoolInstall)
	dir := deployPath(t, "prometheus")
	for _, args := range [][]string{{"check", "rules", "alerts.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		code, stdout, stderr := run(t, dir, nil, promtool, args...)
		if code != 0 {
			t.Errorf("promtool %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
	}
}

// promtool's metrics linter agrees with client_golang's on what syncd exports.
func TestMetricsWithPromtool(t *testing.T) {
	promtool := requireTool(t, "promtool", promtoolInstall)
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, "test")
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveRun(metrics.Run{Result: metrics.ResultHeld, Finished: time.Now(), Duration: time.Minute,
		Report: &report.Report{Changes: []report.Change{{Kind: report.KindRemoveMembers, Status: report.StatusHeld,
			Users: []report.User{{ID: 1}}}}},
		Sources: []metrics.Source{{Name: "corp", Users: 3, Groups: 1, Duration: time.Second}}})
	m.TeamsHook().Request("GET", "/users", 200, time.Millisecond)
	m.TeamsHook().RateLimit("burst", 40)
	m.SCIMReceiver("entra", time.Time{}, 3, 1).Request("POST", 201, time.Now())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&text, mf); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &text
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
