package daemon

import (
	"context"
	"errors"

	engine "github.com/syncd/syncd/internal/sync"
)

// ErrNoExplainer is Explain's answer when the runner cannot explain.
var ErrNoExplainer = errors.New("this daemon's runner cannot explain")

// Explain explains the plan for one person with the configuration in
// force (the web console's search). It answers ErrBusy while a run is
// going: an explanation reads the directory and Teams as a run does, and
// is only worth those API calls when it does not race one.
func (d *Daemon) Explain(ctx context.Context, email string) (*engine.Explanation, error) {
	d.mu.Lock()
	r, running := d.runner, d.running != nil
	d.mu.Unlock()
	if running {
		return nil, ErrBusy
	}
	return r.Explain(ctx, email)
}
