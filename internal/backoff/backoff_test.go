package backoff_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/backoff"
)

const ms = time.Millisecond

func waits(e backoff.Exponential, n int) []time.Duration {
	var out []time.Duration
	for i := range n {
		out = append(out, e.Wait(i))
	}
	return out
}

func TestDoublingUpToTheCap(t *testing.T) {
	got := waits(backoff.Exponential{Base: 50 * ms, Cap: time.Second}, 8)
	want := []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second, time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
}

func TestLargeAttemptsStayAtTheCap(t *testing.T) {
	e := backoff.Exponential{Base: 250 * ms, Cap: 15 * time.Second}
	for _, a := range []int{6, 16, 62, 63, 64, 1000, 1 << 40} {
		if got := e.Wait(a); got != 15*time.Second {
			t.Errorf("Wait(%d) = %v, want the cap", a, got)
		}
	}
	if got := e.Wait(-3); got != 250*ms {
		t.Errorf("Wait(-3) = %v, want the base", got)
	}
}

func TestJitterPicksInTheUpperHalf(t *testing.T) {
	var asked []time.Duration
	e := backoff.Exponential{Base: 250 * ms, Cap: 15 * time.Second}
	for _, c := range []struct {
		jitter func(time.Duration) time.Duration
		want   []time.Duration
	}{
		{func(time.Duration) time.Duration { return 0 }, []time.Duration{125 * ms, 250 * ms, 500 * ms}},
		{func(d time.Duration) time.Duration { asked = append(asked, d); return d / 4 }, []time.Duration{156250 * time.Microsecond, 312500 * time.Microsecond, 625 * ms}},
		{func(d time.Duration) time.Duration { return d }, []time.Duration{250 * ms, 500 * ms, time.Second}},
		// A source out of range is held to the upper half.
		{func(d time.Duration) time.Duration { return -d }, []time.Duration{125 * ms, 250 * ms, 500 * ms}},
		{func(d time.Duration) time.Duration { return 3 * d }, []time.Duration{250 * ms, 500 * ms, time.Second}},
	} {
		e.Jitter = c.jitter
		if got := waits(e, 3); !slices.Equal(got, c.want) {
			t.Errorf("waits %v, want %v", got, c.want)
		}
	}
	if want := []time.Duration{125 * ms, 250 * ms, 500 * ms}; !slices.Equal(asked, want) {
		t.Errorf("jitter asked for %v, want %v (half of each wait)", asked, want)
	}
}

func TestUniform(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := backoff.Uniform(3)
		if d < 0 || d > 3 {
			t.Fatalf("Uniform(3) = %v, outside [0, 3]", d)
		}
		seen[d] = true
	}
	if len(seen) != 4 {
		t.Errorf("Uniform(3) gave %v, want each of 0..3", seen)
	}
	if d := backoff.Uniform(0); d != 0 {
		t.Errorf("Uniform(0) = %v", d)
	}
}

func TestSleep(t *testing.T) {
	ctx := context.Background()
	if err := backoff.Sleep(ctx, time.Millisecond); err != nil {
		t.Errorf("Sleep(1ms) = %v", err)
	}
	if err := backoff.Sleep(ctx, 0); err != nil {
		t.Errorf("Sleep(0) = %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, d := range []time.Duration{-time.Second, 0, time.Hour} {
		if err := backoff.Sleep(cancelled, d); !errors.Is(err, context.Canceled) {
			t.Errorf("Sleep(%v) with a cancelled context = %v, want context.Canceled", d, err)
		}
	}
	// Cancelled while it waits: it returns then, not after the hour.
	waiting, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- backoff.Sleep(waiting, time.Hour) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep cancelled while waiting = %v", err)
	}
}
