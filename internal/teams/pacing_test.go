package teams

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that only moves when the client sleeps.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

// throttled is a server-side model of the two documented limiters on the
// fake clock: a fixed burst window opened by the first request, and a
// bucket refilled in whole ticks. round turns durations into the whole
// seconds of the headers (math.Ceil or math.Floor: the real rounding is
// unknown).
type throttled struct {
	mu          sync.Mutex
	clock       *fakeClock
	round       func(float64) float64
	burst       int
	window      time.Duration
	size, add   int
	every       time.Duration
	start       time.Time
	windowStart time.Time
	inWindow    int
	tokens      int
	ticks       int
	served      int
	rejected    int
}

func (s *throttled) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if t := int(now.Sub(s.start) / s.every); t > s.ticks {
		s.tokens = min(s.size, s.tokens+(t-s.ticks)*s.add)
		s.ticks = t
	}
	if s.inWindow == 0 || now.Sub(s.windowStart) >= s.window {
		s.windowStart, s.inWindow = now, 0
	}
	untilFull := s.windowStart.Add(s.window).Sub(now)
	nextRefill := s.start.Add(time.Duration(s.ticks+1) * s.every).Sub(now)
	ok := s.inWindow < s.burst && s.tokens > 0
	if ok {
		s.inWindow++
		s.tokens--
		s.served++
	} else {
		s.rejected++
	}
	secs := func(d time.Duration) string { return strconv.Itoa(int(s.round(d.Seconds()))) }
	h := w.Header()
	h.Set(hBurstLeft, strconv.Itoa(s.burst-s.inWindow))
	h.Set(hBurstUntilFull, secs(untilFull))
	h.Set(hBucketLeft, strconv.Itoa(s.tokens))
	h.Set(hBucketRefill, secs(nextRefill))
	h.Set(hBucketFull, secs(nextRefill))
	if !ok {
		problem(w, 429, "Too many requests", "")
		return
	}
	writeJSON(w, 200, anyAnswer)
}

func TestPacingAvoids429(t *testing.T) {
	for name, round := range map[string]func(float64) float64{"ceil": math.Ceil, "floor": math.Floor} {
		t.Run(name, func(t *testing.T) {
			clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			s := &throttled{clock: clock, round: round, burst: 10, window: 2 * time.Second,
				size: 60, tokens: 60, add: 20, every: 5 * time.Second, start: clock.t}
			hook := &recHook{}
			c, _ := newTestClient(t, s, func(o *Options) {
				o.Now, o.Sleep, o.Hook = clock.Now, clock.Sleep, hook
			})
			const calls = 300
			for i := range calls {
				if _, err := c.Me(context.Background()); err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			elapsed := clock.Now().Sub(s.start)
			t.Logf("%s: 300 calls in %v", name, elapsed)
			if s.rejected != 0 || s.served != calls || c.Calls() != calls {
				t.Fatalf("served %d, rejected %d, client calls %d", s.served, s.rejected, c.Calls())
			}
			// The limits themselves take 60 s for 300 calls: 240 calls
			// beyond the first bucket need 12 refills of 5 s (the burst's
			// 30 windows of 2 s need 58 s). Pacing may cost at most 15 %
			// more, whichever way the headers round.
			if elapsed < 60*time.Second || elapsed > 69*time.Second {
				t.Errorf("300 calls took %v of throttle time, want 60–69 s", elapsed)
			}
			if hook.waited != elapsed {
				t.Errorf("hook saw %v of throttle waits, clock moved %v", hook.waited, elapsed)
			}
		})
	}
}

// Concurrent callers share one budget: the mutex-guarded model keeps them
// all within it (run with -race).
func TestPacingConcurrent(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := &throttled{clock: clock, round: math.Ceil, burst: 1000, window: 2 * time.Second,
		size: 40, tokens: 40, add: 10, every: 5 * time.Second, start: clock.t}
	c, _ := newTestClient(t, s, func(o *Options) { o.Now, o.Sleep = clock.Now, clock.Sleep })
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if _, err := c.Me(context.Background()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if s.served != 80 {
		t.Errorf("served %d, want 80", s.served)
	}
	// Responses race with sends here, so allow the odd rejection (which
	// is retried) but not a storm.
	if s.rejected > 4 {
		t.Errorf("%d rejections for 80 concurrent calls", s.rejected)
	}
}

func TestHeaderParsing(t *testing.T) {
	h := http.Header{}
	h.Set(hBurstLeft, "7")
	h.Set(hBurstUntilFull, "1.5")
	h.Set(hBucketLeft, "x")
	h.Set(hBucketRefill, "12")
	b := readBudget(h)
	if b.burstLeft != 7 || b.burstUntilFull != 1500*time.Millisecond+fracSlack ||
		b.bucketLeft != -1 || b.bucketRefill != 12*time.Second+headerSlack {
		t.Errorf("budget = %+v", b)
	}
}

func TestPacerModel(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	none := budget{burstLeft: -1, bucketLeft: -1, burstUntilFull: -1, bucketFull: -1, bucketRefill: -1}

	t.Run("waits at the watermark until the window is full", func(t *testing.T) {
		p := newPacer()
		b := none
		b.burstLeft, b.burstUntilFull = 19, 2*time.Second // capacity 20: reserve 1
		p.observe(0, b, t0)
		var sent int
		for {
			d, _ := p.acquire(t0)
			if d > 0 {
				if d != 2*time.Second || sent != 18 {
					t.Fatalf("waited %v after %d requests, want 2s after 18", d, sent)
				}
				break
			}
			sent++
		}
		// After the window, the budget is whole again.
		if d, _ := p.acquire(t0.Add(2 * time.Second)); d != 0 || p.burst.left != 19 {
			t.Errorf("after the window: wait %v, left %d", d, p.burst.left)
		}
	})

	t.Run("requests in flight count against an older answer", func(t *testing.T) {
		p := newPacer()
		for range 5 {
			p.acquire(t0)
		}
		b := none
		b.bucketLeft, b.bucketRefill = 104, 30*time.Second // answer to request 1 of 5
		p.observe(1, b, t0)
		if p.bucket.left != 100 {
			t.Errorf("bucket left = %d, want 100 (104 minus 4 in flight)", p.bucket.left)
		}
	})

	t.Run("a count without its time assumes the documented period", func(t *testing.T) {
		p := newPacer()
		b := none
		b.bucketLeft = 0
		p.observe(0, b, t0)
		if d, _ := p.acquire(t0); d != defaultRefillEvery {
			t.Errorf("wait = %v, want %v", d, defaultRefillEvery)
		}
	})

	t.Run("after a refill of unknown size one request probes", func(t *testing.T) {
		p := newPacer()
		b := none
		b.bucketLeft, b.bucketRefill = 1, 5*time.Second
		p.observe(0, b, t0)
		later := t0.Add(5 * time.Second)
		if d, _ := p.acquire(later); d != 0 {
			t.Fatalf("probe waited %v", d)
		}
		if d, _ := p.acquire(later); d <= 0 {
			t.Errorf("second request without news went through")
		}
	})
}
