// Package backoff computes the waits between attempts at something that
// may succeed later (doubling from a base up to a cap, optionally
// jittered so that clients failing together do not retry together) and
// sleeps them out unless the context ends first.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Exponential is a doubling wait: min(Cap, Base·2^attempt).
type Exponential struct {
	Base, Cap time.Duration
	// Jitter, when set, returns a random duration in [0, max] (see
	// Uniform); the wait is then a random point in the upper half of the
	// doubling wait, so it never falls below half of it. Nil: no jitter.
	Jitter func(max time.Duration) time.Duration
}

// Wait returns the wait before retry number attempt (0-based).
func (e Exponential) Wait(attempt int) time.Duration {
	attempt = max(attempt, 0)
	d := e.Cap
	// Base·2^attempt ≤ Cap, written so that the shift cannot overflow.
	if attempt < 63 && e.Base <= e.Cap>>attempt {
		d = e.Base << attempt
	}
	if e.Jitter == nil {
		return d
	}
	half := d / 2
	return half + min(max(e.Jitter(half), 0), half)
}

// Uniform returns a uniformly random duration in [0, limit], limit ≥ 0.
// It is safe for concurrent use.
func Uniform(limit time.Duration) time.Duration { return rand.N(limit + 1) }

// Sleep waits d, or less if ctx ends first, when it returns ctx.Err().
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
