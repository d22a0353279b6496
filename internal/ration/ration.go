// Package ration limits how fast wrong secrets may be tried against syncd's
// endpoints (the sync token, a SCIM receiver's token), so that a short
// token cannot be guessed at network speed.
//
// A burst of Burst wrong tokens is allowed, then one more per Every. While
// none is left, a server answers every token presented, right or wrong,
// 429 without checking it: answering the right one would tell a guesser
// that it was right. The ration is the endpoint's, not per address: behind
// a reverse proxy every caller has the proxy's address.
package ration

import (
	"strconv"
	"sync"
	"time"
)

// The ration: Burst wrong tokens at once, then one more every Every.
const (
	Burst = 10
	Every = 6 * time.Second
)

// Guesses is the ration of wrong tokens of one endpoint, kept as the time
// by which every wrong token so far would be paid for at one per Every
// (a generic cell rate: exact, nothing to refill). Its methods are safe
// for concurrent use.
type Guesses struct {
	mu   sync.Mutex
	now  func() time.Time
	paid time.Time
}

// New returns a full ration; now is its clock (nil: time.Now).
func New(now func() time.Time) *Guesses {
	if now == nil {
		now = time.Now
	}
	return &Guesses{now: now}
}

// owed is how long the wrong tokens so far take to pay for; g.mu is held.
func (g *Guesses) owed(now time.Time) time.Duration {
	return max(0, g.paid.Sub(now))
}

// Wait is how long until a token may be checked again; 0: now.
func (g *Guesses) Wait() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return max(0, g.owed(g.now())-(Burst-1)*Every)
}

// RetryAfter is a wait in whole seconds, rounded up, for a Retry-After header.
func RetryAfter(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}

// Wrong spends one guess. It reports whether that spent the last one, so
// that the caller warns once per run of guesses.
func (g *Guesses) Wrong() (spent bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	before := g.owed(now)
	// Guesses racing past Wait overdraw, up to a bound.
	after := min(before+Every, 2*Burst*Every)
	g.paid = now.Add(after)
	return before <= (Burst-1)*Every && after > (Burst-1)*Every
}

// Verdict is what Check found.
type Verdict int

const (
	None     Verdict = iota // no token presented: not a guess
	Rationed                // not checked: too many wrong tokens lately
	Wrong                   // checked, wrong, spent from the ration
	Right
)

// Check checks a token, if one was presented, within the ration: right
// reports whether it matches and is called only when the token may be
// checked. For Rationed, wait is how long until one may be; spent reports
// that this wrong token used up the ration (for one warning per run of
// guesses).
func (g *Guesses) Check(presented bool, right func() bool) (v Verdict, wait time.Duration, spent bool) {
	if !presented {
		return None, 0, false
	}
	if wait := g.Wait(); wait > 0 {
		return Rationed, wait, false
	}
	if right() {
		return Right, 0, false
	}
	return Wrong, 0, g.Wrong()
}
