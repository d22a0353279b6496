package daemon

import (
	"errors"
	"strings"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/report"
)

// TestAfterRun: the hook hears of every run once it is recorded (the
// latest report is already in place), a run that panicked included, with
// the configuration the run used, a reloaded one from its first run on.
func TestAfterRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rep := &report.Report{Mode: report.ModeApply}
		a := &fakeRunner{res: &Result{Report: rep, ExitCode: 4}}
		b := &fakeRunner{pan: true}
		var mu gosync.Mutex
		var got []string
		var h *harness
		h = newHarness(t, cfgAt("a", "@every 1m"), map[string]*fakeRunner{"a": a, "b": b}, func(o *Options) {
			o.AfterRun = func(e Ended) {
				mu.Lock()
				defer mu.Unlock()
				line := e.Config.Path + " " + map[bool]string{true: "report", false: "no report"}[e.Result != nil]
				if e.Result != nil && h.d.Latest() != e.Result.Report {
					line += " (not yet recorded)"
				}
				if e.Err != nil {
					line += " err"
				}
				got = append(got, line+" "+string(rune('0'+e.ExitCode)))
			}
		})
		h.load = func() (*config.Config, error) { return cfgAt("b", "@every 1m"), nil }
		h.start()
		if err := h.d.Reload(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(61 * time.Second)
		synctest.Wait()
		h.stop()
		mu.Lock()
		defer mu.Unlock()
		if want := "a report 4|b no report err 1"; strings.Join(got, "|") != want {
			t.Errorf("AfterRun heard %q, want %q", strings.Join(got, "|"), want)
		}
	})
}

// TestAfterRunError: a run that returns a result and an error is told
// with both, and its exit code is the result's.
func TestAfterRunError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errRefused := errors.New("the Teams API refused a write")
		r := &fakeRunner{res: &Result{Report: &report.Report{}, ExitCode: 1}, err: errRefused}
		var ended []Ended
		h := newHarness(t, cfgAt("a", "@every 1h"), map[string]*fakeRunner{"a": r}, func(o *Options) {
			o.AfterRun = func(e Ended) { ended = append(ended, e) }
		})
		h.start()
		h.stop()
		if len(ended) != 1 || !errors.Is(ended[0].Err, errRefused) || ended[0].ExitCode != 1 || ended[0].Result == nil {
			t.Errorf("AfterRun got %+v", ended)
		}
	})
}
