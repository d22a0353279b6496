package daemon

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncd/syncd/internal/config"
)

func TestReloadTakesEffectAtNextRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeRunner{hold: 30 * time.Second}
		b := &fakeRunner{}
		h := newHarness(t, cfgAt("a", "@every 1h"), map[string]*fakeRunner{"a": a, "b": b}, nil)
		h.load = func() (*config.Config, error) { return cfgAt("b", "@every 1m"), nil }
		h.start() // run at start with a, going for 30 s
		if err := h.d.Reload(); err != nil {
			t.Fatalf("Reload: %v", err)
		}
		if a.Closed() {
			t.Error("the runner in use was closed by a reload during its run")
		}
		if got := h.d.Config().Path; got != "a" {
			t.Errorf("config in force right after reload = %q, want a (until the next run)", got)
		}
		time.Sleep(61 * time.Second) // the new @every 1m schedule applies at once
		synctest.Wait()
		if a.Calls() != 1 || b.Calls() != 1 {
			t.Errorf("runs a=%d b=%d, want 1 and 1", a.Calls(), b.Calls())
		}
		if !a.Closed() {
			t.Error("the replaced runner was not closed")
		}
		if got := h.d.Config().Path; got != "b" {
			t.Errorf("config in force = %q, want b", got)
		}
		if got := h.value("syncd_config_reloads_total", "result", "success"); got != 1 {
			t.Errorf("config_reloads_total{success} = %v, want 1", got)
		}
		h.stop()
		if !b.Closed() {
			t.Error("runner not closed at shutdown")
		}
	})
}

func TestReloadRejectsBadConfig(t *testing.T) {
	cases := map[string]func() (*config.Config, error){
		"load error":   func() (*config.Config, error) { return nil, errors.New("config.yaml:3:5: unknown key \"grups\"") },
		"bad schedule": func() (*config.Config, error) { return cfgAt("b", "every other tuesday"), nil },
		"build error":  func() (*config.Config, error) { return cfgAt("unbuildable", "@every 1m"), nil },
	}
	for name, load := range cases {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := &fakeRunner{}, &fakeRunner{}
				h := newHarness(t, cfgAt("a", "@every 1m"), map[string]*fakeRunner{"a": a, "b": b}, nil)
				h.load = load
				h.start()
				if err := h.d.Reload(); err == nil {
					t.Fatal("Reload succeeded, want an error")
				}
				time.Sleep(61 * time.Second)
				synctest.Wait()
				if a.Calls() != 2 || b.Calls() != 0 {
					t.Errorf("runs a=%d b=%d, want 2 and 0: the old configuration stays", a.Calls(), b.Calls())
				}
				if got := h.value("syncd_config_reloads_total", "result", "failure"); got != 1 {
					t.Errorf("config_reloads_total{failure} = %v, want 1", got)
				}
				if got := h.value("syncd_config_last_reload_successful"); got != 0 {
					t.Errorf("config_last_reload_successful = %v, want 0", got)
				}
				logged := h.logs.FilterMessageSnippet("reload rejected").All()
				if len(logged) != 1 {
					t.Fatalf("reload rejection logged %d times, want once", len(logged))
				}
				if e, _ := logged[0].ContextMap()["error"].(string); !strings.Contains(e, "reload") {
					t.Errorf("logged error %q does not say what failed", e)
				}
				h.stop()
			})
		})
	}
}

// Reloaded hears of an accepted configuration at once (not at the next
// run) and never of a rejected one; the reload counts as a success only
// once what Reloaded applies (the tokens) is in force.
func TestReloadedHookAndRestartOnlyWarning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := &fakeRunner{hold: 30 * time.Second}, &fakeRunner{}
		var heard []string
		var h *harness
		h = newHarness(t, cfgAt("a", "@every 1h"), map[string]*fakeRunner{"a": a, "b": b}, func(o *Options) {
			o.Reloaded = func(c *config.Config) {
				heard = append(heard, c.Path)
				if n := reloads(t, h.reg, "success"); n != 0 {
					t.Errorf("the reload was counted a success (%v) before Reloaded applied it", n)
				}
			}
		})
		h.start() // a run is going: the hook must not wait for its end
		h.load = func() (*config.Config, error) { return cfgAt("unbuildable", "@every 1h"), nil }
		if err := h.d.Reload(); err == nil {
			t.Fatal("Reload of an unbuildable configuration succeeded")
		}
		h.load = func() (*config.Config, error) {
			c := cfgAt("b", "@every 1h")
			c.Server.Listen = "0.0.0.0:9184"
			c.Server.SyncToken = "rotated"
			return c, nil
		}
		if err := h.d.Reload(); err != nil {
			t.Fatalf("Reload: %v", err)
		}
		if n := reloads(t, h.reg, "success"); n != 1 {
			t.Errorf("%v successful reloads counted, want 1", n)
		}
		if len(heard) != 1 || heard[0] != "b" {
			t.Errorf("Reloaded heard %v, want [b] (the accepted configuration only, during the run)", heard)
		}
		warned := h.logs.FilterMessageSnippet("only on restart").All()
		if len(warned) != 1 {
			t.Fatalf("restart-only warning logged %d times, want once", len(warned))
		}
		settings, _ := warned[0].ContextMap()["settings"].([]any)
		if len(settings) != 1 || settings[0] != "server.listen" {
			t.Errorf("restart-only settings %v, want [server.listen] (the token is applied by Reloaded)", settings)
		}
		h.stop()
	})
}

// reloads is syncd_config_reloads_total{result} as gathered from reg.
func reloads(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "syncd_config_reloads_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
