package ration

import (
	"testing"
	"time"
)

func TestGuesses(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	g := New(func() time.Time { return now })
	for i := range Burst {
		if d := g.Wait(); d != 0 {
			t.Fatalf("guess %d: Wait = %v, want 0", i+1, d)
		}
		if spent := g.Wrong(); spent != (i == Burst-1) {
			t.Errorf("guess %d: Wrong = %t", i+1, spent)
		}
	}
	if d := g.Wait(); d != Every {
		t.Errorf("after the burst: Wait = %v, want %v", d, Every)
	}
	// Guesses racing past the check overdraw, within a bound, and warn once.
	for range 3 * Burst {
		if g.Wrong() {
			t.Error("Wrong reported the ration spent twice")
		}
	}
	if d := g.Wait(); d != time.Duration(Burst+1)*Every {
		t.Errorf("overdrawn: Wait = %v, want %v", d, time.Duration(Burst+1)*Every)
	}
	now = now.Add(time.Duration(Burst+1)*Every - time.Second)
	if d, s := g.Wait(), RetryAfter(g.Wait()); d != time.Second || s != "1" {
		t.Errorf("a second before the next try: Wait = %v, Retry-After %q", d, s)
	}
	now = now.Add(time.Hour)
	if d := g.Wait(); d != 0 {
		t.Errorf("after an hour: Wait = %v", d)
	}
	for range Burst - 1 {
		g.Wrong()
	}
	if d := g.Wait(); d != 0 {
		t.Errorf("the ration refills to Burst, not beyond: Wait = %v after %d guesses", d, Burst-1)
	}
}
