package sync

import (
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// paced is a Teams client as progress sees it: calls made so far, and the
// API's floor for more when budget is known.
type paced struct {
	Reader
	calls    int
	floorFor func(n int) (time.Duration, bool)
}

func (p *paced) Calls() int                          { return p.calls }
func (p *paced) TimeFor(n int) (time.Duration, bool) { return p.floorFor(n) }

// TestProgress: a long apply says every minute how far it is and about
// how long the rest takes: the pace so far, or, when the API's rate
// limits are slower (a bucket about to run dry), their floor.
func TestProgress(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	api := &paced{floorFor: func(int) (time.Duration, bool) { return 0, false }}
	e := &Engine{api: api, log: zap.NewNop(), prog: zap.New(core), now: func() time.Time { return now }}

	p := e.newProgress(100)
	if got, ok := e.Progress(); !ok || got.Total != 100 || got.Done != 0 {
		t.Fatalf("Progress at the start = %+v, %v", got, ok)
	}
	for n := 1; n <= 10; n++ { // 10 steps of 2 calls in 50 s: no line yet
		now, api.calls = now.Add(5*time.Second), api.calls+2
		p.done(n)
	}
	if logs.Len() != 0 {
		t.Fatalf("a line before a minute passed: %v", logs.All()[0].Message)
	}
	now, api.calls = now.Add(10*time.Second), api.calls+2
	p.done(11) // 60 s for 11 steps: 89 more at that pace take 485 s
	if got := logs.TakeAll(); len(got) != 1 || got[0].Message != "applying: 11 of 100 user groups and tags done, about 8m10s left" ||
		got[0].ContextMap()["api_calls"] != int64(22) {
		t.Fatalf("lines after a minute: %+v", got)
	}

	// The bucket is nearly spent: the calls of the steps left wait for
	// refills, slower than the pace so far (13 min).
	var asked int
	api.floorFor = func(n int) (time.Duration, bool) { asked = n; return 20 * time.Minute, true }
	now = now.Add(30 * time.Second)
	p.done(12) // within a minute of the last line: nothing
	now = now.Add(30 * time.Second)
	p.done(13)
	got := logs.TakeAll()
	if len(got) != 1 || asked != 22*87/13 || got[0].Message != "applying: 13 of 100 user groups and tags done, about 20m0s left" {
		t.Fatalf("asked the floor for %d calls; lines: %+v", asked, got)
	}
	if got, _ := e.Progress(); got.Done != 13 || got.Left != 20*time.Minute {
		t.Errorf("Progress = %+v, want 13 done, 20 min left", got)
	}
	now = now.Add(time.Hour)
	p.done(100) // the last step: the run's summary says the rest
	if logs.Len() != 0 {
		t.Errorf("a progress line for the last step: %v", logs.All()[0].Message)
	}
	p.end()
	if got, ok := e.Progress(); ok {
		t.Errorf("Progress after the apply = %+v, true", got)
	}
}
