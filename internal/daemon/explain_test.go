package daemon

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	engine "github.com/syncd/syncd/internal/sync"
)

// explainingRunner is a fakeRunner that can explain.
type explainingRunner struct {
	*fakeRunner
	asked []string
}

func (r *explainingRunner) Explain(_ context.Context, email string) (*engine.Explanation, error) {
	r.asked = append(r.asked, email)
	return &engine.Explanation{Email: email}, nil
}

// TestExplainNeverDuringARun: the console's explain goes to the runner in
// force, is refused while a run is going, and says so for a runner that
// cannot explain.
func TestExplainNeverDuringARun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		plain := &fakeRunner{}
		h := newHarness(t, cfgAt("a", "@every 1h"), map[string]*fakeRunner{"a": plain}, nil)
		if _, err := h.d.Explain(context.Background(), "ada@example.com"); !errors.Is(err, ErrNoExplainer) {
			t.Errorf("a runner that cannot explain: %v, want ErrNoExplainer", err)
		}
		ex := &explainingRunner{fakeRunner: &fakeRunner{hold: time.Minute}}
		h.d.runner = ex
		h.start()
		defer h.stop()
		if _, err := h.d.Explain(context.Background(), "ada@example.com"); !errors.Is(err, ErrBusy) {
			t.Errorf("during the run at start: %v, want ErrBusy", err)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		got, err := h.d.Explain(context.Background(), "ada@example.com")
		if err != nil || got.Email != "ada@example.com" || len(ex.asked) != 1 {
			t.Errorf("after the run: %+v, %v (asked %v)", got, err, ex.asked)
		}
	})
}
