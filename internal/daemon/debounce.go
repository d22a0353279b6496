package daemon

import (
	"errors"
	gosync "sync"
	"time"

	"go.uber.org/zap"
)

// maxWaitFactor bounds how long a steady stream of pokes postpones the
// run: at most this many delays after the first poke not yet synced.
const maxWaitFactor = 10

// Debouncer gathers a burst of changes (a SCIM receiver's pushes) into one
// run: it asks for the run one delay after the last Poke, and while a run
// is going it asks again a delay later. A steady stream of changes (an
// identity provider's first cycle pushes for minutes) postpones the run at
// most maxWaitFactor delays after the first change not yet synced.
type Debouncer struct {
	trigger func() (<-chan struct{}, error)
	log     *zap.Logger
	mu      gosync.Mutex
	delay   time.Duration
	timer   *time.Timer
	first   time.Time // first poke since the last run started; zero when none
	started string    // logged when a run starts; "" logs nothing
}

// NewDebouncer returns a Debouncer that starts runs with trigger (a
// Daemon's Trigger), delay after the last poke.
func NewDebouncer(trigger func() (<-chan struct{}, error), delay time.Duration, log *zap.Logger) *Debouncer {
	return &Debouncer{trigger: trigger, delay: delay, log: log, started: "run started after SCIM changes"}
}

// SetDelay changes the delay from the next poke on (a reload).
func (b *Debouncer) SetDelay(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.delay = d
}

// Poke says that something changed: a run should follow.
func (b *Debouncer) Poke() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.first.IsZero() {
		b.first = now
	}
	wait := b.delay
	if deadline := b.first.Add(maxWaitFactor * b.delay); now.Add(wait).After(deadline) {
		wait = max(0, deadline.Sub(now))
	}
	if b.timer != nil {
		b.timer.Stop()
	}
	b.timer = time.AfterFunc(wait, b.fire)
}

func (b *Debouncer) fire() {
	b.mu.Lock()
	b.first = time.Time{}
	b.mu.Unlock()
	_, err := b.trigger()
	switch {
	case errors.Is(err, ErrBusy):
		b.Poke()
	case err == nil && b.started != "":
		b.log.Info(b.started)
	}
}
