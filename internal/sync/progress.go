package sync

import (
	"fmt"
	"time"

	"go.uber.org/zap"
)

// progressEvery is how often a long apply says how far it is.
const progressEvery = time.Minute

// progress logs, while an apply goes on for longer than progressEvery,
// how many of its steps (a user group's or a tag's changes) are done and
// about how long the rest takes: the first apply into a large site waits
// on the API's rate limits for an hour or more, and its per-change lines
// say nothing of what is left.
type progress struct {
	e      *Engine
	total  int
	calls0 int
	start  time.Time
	last   time.Time
	left   time.Duration // the last estimate
}

// Progress is how far an apply under way is, for the daemon's console.
type Progress struct {
	Done, Total int
	// Left is the last estimate of the time the rest takes (logged once a
	// minute); 0 before the first.
	Left time.Duration
}

// Progress returns how far the apply under way is; false when none is.
// It is safe to call while the engine runs.
func (e *Engine) Progress() (Progress, bool) {
	if p := e.applying.Load(); p != nil {
		return *p, true
	}
	return Progress{}, false
}

func (e *Engine) newProgress(total int) *progress {
	now := e.now()
	p := &progress{e: e, total: total, calls0: e.api.Calls(), start: now, last: now}
	e.applying.Store(&Progress{Total: total})
	return p
}

// end marks the apply over.
func (p *progress) end() { p.e.applying.Store(nil) }

// done is called after each step with the number done so far.
func (p *progress) done(n int) {
	now := p.e.now()
	defer func() { p.e.applying.Store(&Progress{Done: n, Total: p.total, Left: p.left}) }()
	if n >= p.total || n <= 0 || now.Sub(p.last) < progressEvery {
		return
	}
	p.last = now
	calls, elapsed := p.e.api.Calls()-p.calls0, now.Sub(p.start)
	left := p.timeLeft(n, calls, elapsed)
	p.left = left
	p.e.prog.Info(fmt.Sprintf("applying: %d of %d user groups and tags done, about %s left", n, p.total, roundLeft(left)),
		zap.Int("steps_done", n), zap.Int("steps_total", p.total), zap.Int("api_calls", calls),
		zap.Duration("elapsed", elapsed), zap.Duration("time_left", left))
}

// timeLeft estimates the rest from the pace so far, or from the API's
// rate limits for the calls the rest should make (at this run's calls per
// step) when they are slower: a run that began with a full bucket goes
// fast until the bucket is spent, then at the refill rate.
func (p *progress) timeLeft(n, calls int, elapsed time.Duration) time.Duration {
	rest := p.total - n
	left := elapsed * time.Duration(rest) / time.Duration(n)
	if limited, ok := p.e.api.TimeFor(calls * rest / n); ok {
		left = max(left, limited)
	}
	return left
}

// roundLeft words an estimate as a person would: to the minute past ten
// minutes, to ten seconds below.
func roundLeft(d time.Duration) time.Duration {
	if d >= 10*time.Minute {
		return d.Round(time.Minute)
	}
	return d.Round(10 * time.Second)
}
