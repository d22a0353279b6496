package deploytest

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"

	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/report"
)

// exportedNames gathers the series names syncd really exports, after a run
// and some API traffic so that every vector has series. Histograms add
// their _bucket, _sum and _count series.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, "test")
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveRun(metrics.Run{Result: metrics.ResultSuccess, Finished: time.Now(), Duration: time.Second,
		Report:  &report.Report{Changes: []report.Change{{Kind: report.KindAddMembers, Status: report.StatusApplied}}},
		Sources: []metrics.Source{{Name: "corp", Users: 1, Groups: 1}}})
	h := m.TeamsHook()
	h.Request("GET", "/users", 200, time.Millisecond)
	h.RateLimit("bucket", 10)
	m.SCIMReceiver("entra", time.Now(), 10, 2).Request("PATCH", 204, time.Now())
	if _, err := metrics.NewNotifications(reg); err != nil { // on the same registry in syncd run
		t.Fatal(err)
	}
	w, err := metrics.NewWatch(reg, m)
	if err != nil {
		t.Fatal(err)
	}
	w.Connected("corp", true)
	w.Applied(time.Second)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[mf.GetName()+s] = true
			}
		}
	}
	return names
}

var metricName = regexp.MustCompile(`\bsyncd_[a-z0-9_]+`)

// checkNames fails for every syncd_ name in expr that syncd does not export.
func checkNames(t *testing.T, where, expr string, names map[string]bool) int {
	t.Helper()
	found := metricName.FindAllString(expr, -1)
	for _, n := range found {
		if !names[n] {
			t.Errorf("%s uses %s, which syncd does not export", where, n)
		}
	}
	if strings.Count(expr, "(") != strings.Count(expr, ")") || strings.Count(expr, "{") != strings.Count(expr, "}") {
		t.Errorf("%s: unbalanced brackets in %q", where, expr)
	}
	return len(found)
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestAlertRules(t *testing.T) {
	var rf ruleFile
	if err := yaml.Unmarshal(readFile(t, deployPath(t, "prometheus", "alerts.yaml")), &rf); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	names := exportedNames(t)
	alerts := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("rule %+v lacks alert or expr", r)
				continue
			}
			alerts[r.Alert] = true
			if checkNames(t, "alert "+r.Alert, r.Expr, names) == 0 {
				t.Errorf("alert %s uses no syncd metric", r.Alert)
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s needs a severity label, a summary and a description", r.Alert)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("alert %s: for %q: %v", r.Alert, r.For, err)
				}
			}
		}
	}
	for _, want := range []string{"SyncdSyncFailing", "SyncdNoRecentSuccess", "SyncdRemovalsHeld", "SyncdAPIThrottled"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}
}

type dashboard struct {
	Title  string `json:"title"`
	Panels []struct {
		Title   string `json:"title"`
		Type    string `json:"type"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

func TestGrafanaDashboard(t *testing.T) {
	var d dashboard
	if err := json.Unmarshal(readFile(t, deployPath(t, "grafana", "syncd-dashboard.json")), &d); err != nil {
		t.Fatalf("syncd-dashboard.json: %v", err)
	}
	names := exportedNames(t)
	used := map[string]bool{}
	var titles []string
	for _, p := range d.Panels {
		titles = append(titles, strings.ToLower(p.Title))
		for _, tg := range p.Targets {
			checkNames(t, "panel "+p.Title, tg.Expr, names)
			for _, n := range metricName.FindAllString(tg.Expr, -1) {
				used[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")] = true
			}
		}
	}
	for _, v := range d.Templating.List {
		checkNames(t, "variable "+v.Name, v.Definition, names)
	}
	all := strings.Join(titles, " | ")
	for _, want := range []string{"runs", "duration", "changes", "pending", "api calls", "budget"} {
		if !strings.Contains(all, want) {
			t.Errorf("no panel about %q among %s", want, all)
		}
	}
	for _, want := range []string{"syncd_runs_total", "syncd_run_duration_seconds", "syncd_changes_total", "syncd_pending_users",
		"syncd_teams_requests_total", "syncd_teams_rate_limit_remaining"} {
		if !used[want] {
			var u []string
			for n := range used {
				u = append(u, n)
			}
			sort.Strings(u)
			t.Errorf("the dashboard does not chart %s (it uses %v)", want, u)
		}
	}
}

// deploy/kubernetes/prometheusrule.yaml carries the same rules as alerts.yaml.
func TestPrometheusRuleMatchesAlerts(t *testing.T) {
	var plain struct {
		Groups any `yaml:"groups"`
	}
	var crd struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Groups any `yaml:"groups"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(readFile(t, deployPath(t, "prometheus", "alerts.yaml")), &plain); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(readFile(t, deployPath(t, "kubernetes", "prometheusrule.yaml")), &crd); err != nil {
		t.Fatal(err)
	}
	if crd.Kind != "PrometheusRule" || !reflect.DeepEqual(plain.Groups, crd.Spec.Groups) {
		t.Error("deploy/kubernetes/prometheusrule.yaml differs from deploy/prometheus/alerts.yaml")
	}
}

// docs/operations.md explains every metric syncd exports, and the alerts.
func TestOperationsDocCoversMetricsAndAlerts(t *testing.T) {
	doc := string(readFile(t, filepath.Join(repoRoot(t), "docs", "operations.md")))
	for name := range exportedNames(t) {
		if strings.HasSuffix(name, "_bucket") || strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count") {
			continue
		}
		if !strings.Contains(doc, "`"+name) {
			t.Errorf("docs/operations.md does not explain %s", name)
		}
	}
	var rf ruleFile
	if err := yaml.Unmarshal(readFile(t, deployPath(t, "prometheus", "alerts.yaml")), &rf); err != nil {
		t.Fatal(err)
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if !strings.Contains(doc, "### "+r.Alert) && !strings.Contains(doc, " "+r.Alert+"\n") && !strings.Contains(doc, "/ "+r.Alert) {
				t.Errorf("docs/operations.md has no section for alert %s", r.Alert)
			}
		}
	}
	for _, section := range []string{"## First run", "## systemd", "## Docker", "## Kubernetes", "## Upgrading", "## Metrics", "## Alerts", "## When removals are held"} {
		if !strings.Contains(doc, section) {
			t.Errorf("docs/operations.md lacks %q", section)
		}
	}
}

// Every alert has a promtool unit test in which it fires (promtool itself
// runs them in TestAlertsWithPromtool), with its labels and annotations.
func TestEveryAlertHasAFiringTest(t *testing.T) {
	var rf ruleFile
	if err := yaml.Unmarshal(readFile(t, deployPath(t, "prometheus", "alerts.yaml")), &rf); err != nil {
		t.Fatal(err)
	}
	var tests struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []struct {
					ExpLabels      map[string]string `yaml:"exp_labels"`
					ExpAnnotations map[string]string `yaml:"exp_annotations"`
				} `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(readFile(t, deployPath(t, "prometheus", "alerts_test.yaml")), &tests); err != nil {
		t.Fatal(err)
	}
	if len(tests.RuleFiles) != 1 || tests.RuleFiles[0] != "alerts.yaml" {
		t.Errorf("alerts_test.yaml rule_files %v, want [alerts.yaml]", tests.RuleFiles)
	}
	fires := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			for _, e := range a.ExpAlerts {
				if e.ExpLabels["severity"] != "" && e.ExpAnnotations["summary"] != "" {
					fires[a.Alertname] = true
				}
			}
		}
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if !fires[r.Alert] {
				t.Errorf("alert %s has no promtool test in which it fires (deploy/prometheus/alerts_test.yaml)", r.Alert)
			}
		}
	}
}
