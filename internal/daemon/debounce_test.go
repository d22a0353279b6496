package daemon

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
)

// The debouncer gathers a burst of SCIM changes into one run a delay after
// the last, but a steady stream cannot postpone the run past maxWaitFactor
// delays; a busy daemon is asked again a delay later.
func TestDebouncer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log runLog
		start := time.Now()
		busy := 1
		b := NewDebouncer(func() (<-chan struct{}, error) {
			if busy > 0 {
				busy--
				return nil, ErrBusy
			}
			log.add(time.Since(start))
			return nil, nil
		}, time.Second, zap.NewNop())
		// A burst of three changes 200 ms apart: one run, a delay after
		// the last, plus one delay because the first try found a run going.
		for range 3 {
			b.Poke()
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(5 * time.Second)
		if runs := log.take(); len(runs) != 1 || runs[0] != 2400*time.Millisecond {
			t.Fatalf("burst: runs at %v, want one at 2.4s", runs)
		}
		// A change every 500 ms for 30 s: runs every 10 s, not never.
		start = time.Now()
		for range 60 {
			b.Poke()
			time.Sleep(500 * time.Millisecond)
		}
		time.Sleep(5 * time.Second)
		if runs := log.take(); len(runs) < 3 || runs[0] > 10*time.Second {
			t.Errorf("steady stream: runs at %v, want the first within 10s and one every 10s", runs)
		}
	})
}

// runLog records when runs started; the debouncer starts them on a timer's
// goroutine while the test reads them.
type runLog struct {
	mu sync.Mutex
	at []time.Duration
}

func (l *runLog) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.at = append(l.at, d)
}

// take returns the runs so far and forgets them.
func (l *runLog) take() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	at := l.at
	l.at = nil
	return at
}
