package teams

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Throttle headers of API v3 (REFERENCE.md §8). Both limiters are per token.
const (
	hBurstLeft      = "X-Burst-Throttle-Calls-Left"
	hBurstUntilFull = "X-Burst-Throttle-Seconds-Until-Full"
	hBucketLeft     = "X-Token-Bucket-Calls-Left"
	hBucketFull     = "X-Token-Bucket-Seconds-Until-Full"
	hBucketRefill   = "X-Token-Bucket-Seconds-Until-Next-Refill"
)

// headerSlack is added to waits announced in whole seconds: the server may
// round down, and "0" can mean most of a second.
const headerSlack = time.Second

// fracSlack is added to waits announced with a fraction of a second.
const fracSlack = 100 * time.Millisecond

// window is the local model of the burst throttle: a fixed window that
// the first request after the previous one ended opens on the server
// (REFERENCE.md §8: 50 requests in 2 s).
//
// The window is timed from the answers rather than from the headers'
// seconds, whose rounding is unknown: every request of a window was
// received before its answer came, so the answer's arrival plus the
// window's length is a safe bound on the window's end, and the earliest
// answer of a window gives the tightest one (a round trip late, not the
// second or more that the headers' rounding costs).
type window struct {
	known    bool
	left     int           // calls left, minus the requests sent since the last answer
	reported int           // the calls left the last answer said
	limit    int           // the largest calls-left seen plus one: the capacity
	length   time.Duration // the window's length: documented, or longer if an answer said so
	end      time.Time     // the current window is over then
}

// reserve is what is kept back for another client on the same token.
func (w *window) reserve() int { return max(1, w.limit/25) }

func (w *window) wait(now time.Time) time.Duration {
	switch {
	case !w.known || w.left > w.reserve():
		return 0
	case now.Before(w.end):
		return w.end.Sub(now)
	}
	w.left = w.limit // the window ended: the budget is whole again
	return 0
}

// observe takes an answer's count; until is its seconds-until-full (with
// slack), inflight the requests sent after the answered one.
func (w *window) observe(left int, until time.Duration, now time.Time, inflight int) {
	w.length = max(w.length, until-headerSlack, documentedBurstWindow)
	if !w.known || left > w.reported || !now.Before(w.end) {
		w.end = now.Add(w.length) // a new window, opened before this answer came
	}
	w.known = true
	w.reported, w.left = left, left-inflight
	w.limit = max(w.limit, left+1)
}

// bucket is the local model of the token bucket: refilled by a share every
// period (REFERENCE.md §8: 5,000 tokens, 100 more every 60 s).
type bucket struct {
	known   bool
	left    int       // calls left, minus the requests sent since the last answer
	limit   int       // largest calls-left seen plus one
	resetAt time.Time // the next refill
	period  time.Duration
}

// reserve is what is kept back for another client on the same token and
// for rounding in the counts.
func (b *bucket) reserve() int { return max(1, b.limit/50) }

func (b *bucket) wait(now time.Time) time.Duration {
	if !b.known || b.left > b.reserve() {
		return 0
	}
	if now.Before(b.resetAt) {
		return b.resetAt.Sub(now)
	}
	// The refill has come and no answer has said how much: one request
	// probes it, and the next refill is a period later.
	b.left = b.reserve() + 1
	b.resetAt = now.Add(max(b.period, time.Second))
	return 0
}

func (b *bucket) observe(left int, until time.Duration, now time.Time, inflight int) {
	b.known = true
	b.left = left - inflight
	b.limit = max(b.limit, left+1)
	b.resetAt = now.Add(until)
	b.period = max(b.period, until.Round(time.Second))
}

// pacer holds the local model of both limiters, shared by all goroutines.
type pacer struct {
	mu     sync.Mutex
	sent   int // requests let through
	burst  window
	bucket bucket
}

func newPacer() *pacer { return &pacer{} }

// acquire lets one request through, or says how long to wait first.
// It returns the request's sequence number.
func (p *pacer) acquire(now time.Time) (time.Duration, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d := max(p.burst.wait(now), p.bucket.wait(now)); d > 0 {
		return d, 0
	}
	p.burst.left--
	p.bucket.left--
	p.sent++
	return 0, p.sent
}

// wait says how long a request would wait now, letting none through.
func (p *pacer) wait(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(p.burst.wait(now), p.bucket.wait(now))
}

// release moves the resets of exhausted limiters to now, after waiting
// the time a 429 asked for.
func (p *pacer) release(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w := &p.burst; w.known && w.left <= w.reserve() && w.end.After(now) {
		w.end = now
	}
	if b := &p.bucket; b.known && b.left <= b.reserve() && b.resetAt.After(now) {
		b.resetAt = now
	}
}

// budget is what one answer said about the limiters; -1: not said.
type budget struct {
	burstLeft, bucketLeft                    int
	burstUntilFull, bucketFull, bucketRefill time.Duration
}

func readBudget(h http.Header) budget {
	b := budget{
		burstLeft:      headerInt(h, hBurstLeft),
		bucketLeft:     headerInt(h, hBucketLeft),
		burstUntilFull: headerSeconds(h, hBurstUntilFull),
		bucketFull:     headerSeconds(h, hBucketFull),
		bucketRefill:   headerSeconds(h, hBucketRefill),
	}
	if b.bucketRefill < 0 {
		b.bucketRefill = b.bucketFull
	}
	return b
}

// observe updates the model from the answer to request seq.
func (p *pacer) observe(seq int, b budget, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	inflight := max(0, p.sent-seq)
	if b.burstLeft >= 0 {
		p.burst.observe(b.burstLeft, orDefault(b.burstUntilFull, defaultBurstWindow), now, inflight)
	}
	if b.bucketLeft >= 0 {
		p.bucket.observe(b.bucketLeft, orDefault(b.bucketRefill, defaultRefillEvery), now, inflight)
	}
}

// The documented limiter periods, assumed when an answer gives a count
// without its time.
const (
	documentedBurstWindow = 2 * time.Second
	defaultBurstWindow    = documentedBurstWindow + headerSlack
	defaultRefillEvery    = 60*time.Second + headerSlack
)

func orDefault(d, def time.Duration) time.Duration {
	if d < 0 {
		return def
	}
	return d
}

// headerInt parses a non-negative count; -1 when absent or malformed.
func headerInt(h http.Header, name string) int {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return -1
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return n
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f < math.MaxInt32 {
		return int(f)
	}
	return -1
}

// headerSeconds parses a duration in seconds plus the slack its precision
// calls for; -1 when absent or malformed.
func headerSeconds(h http.Header, name string) time.Duration {
	v := strings.TrimSpace(h.Get(name))
	f, err := strconv.ParseFloat(v, 64)
	if v == "" || err != nil || f < 0 || f > maxHonouredWait.Seconds() {
		return -1
	}
	slack := headerSlack
	if strings.Contains(v, ".") {
		slack = fracSlack
	}
	return time.Duration(f*float64(time.Second)) + slack
}

// maxHonouredWait caps a wait the server asks for; a longer one is given
// back to the caller as an ErrRateLimited error instead of blocking.
const maxHonouredWait = 5 * time.Minute

// retryWait is how long a 429 asks to wait: Retry-After (seconds or an
// HTTP date), else the throttle headers of the exhausted limiter; 0 when
// the answer does not say.
func retryWait(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(0, t.Sub(now))
		}
	}
	b := readBudget(h)
	var d time.Duration
	if b.burstLeft == 0 {
		d = max(d, b.burstUntilFull)
	}
	if b.bucketLeft == 0 {
		d = max(d, b.bucketRefill)
	}
	return max(0, d)
}

// Backoff of retries without a server-given wait: capped exponential with
// jitter, so that clients failing together do not retry together.
const (
	backoffBase = 250 * time.Millisecond
	backoffCap  = 15 * time.Second
)
