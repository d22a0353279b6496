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

// limiter is the local model of one server-side limiter.
type limiter struct {
	known   bool
	left    int       // calls left, minus the requests sent since the last answer
	limit   int       // largest calls-left seen plus one: the capacity
	resetAt time.Time // burst: window empty again; bucket: next refill
	period  time.Duration
	// refillsWhole: after resetAt the budget is whole again (burst); else
	// only one refill of unknown size came, so one request probes it.
	refillsWhole bool
	// reserveShare: 1/reserveShare of the capacity is kept back, room for
	// another client on the same token and for rounding in the counts.
	reserveShare int
}

func (l *limiter) reserve() int { return max(1, l.limit/l.reserveShare) }

// wait is how long to wait before the next request may be sent.
func (l *limiter) wait(now time.Time) time.Duration {
	if !l.known || l.left > l.reserve() {
		return 0
	}
	if now.Before(l.resetAt) {
		return l.resetAt.Sub(now)
	}
	// The reset we were waiting for has come and no answer has told us
	// more since: assume it and expect the next one a period later.
	if l.refillsWhole {
		l.left = l.limit
	} else {
		l.left = l.reserve() + 1
	}
	l.resetAt = now.Add(max(l.period, time.Second))
	return 0
}

// observe takes the limiter's state from an answer. inflight is the number
// of requests sent after the answered one: they may not be counted yet.
func (l *limiter) observe(left int, until time.Duration, now time.Time, inflight int) {
	l.known = true
	l.left = left - inflight
	l.limit = max(l.limit, left+1)
	l.resetAt = now.Add(until)
	l.period = max(l.period, until.Round(time.Second))
}

// pacer holds the local model of both limiters, shared by all goroutines.
type pacer struct {
	mu     sync.Mutex
	sent   int // requests let through
	burst  limiter
	bucket limiter
}

func newPacer() *pacer {
	return &pacer{
		burst:  limiter{refillsWhole: true, reserveShare: 10},
		bucket: limiter{reserveShare: 50},
	}
}

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

// release moves the resets of exhausted limiters to now, after waiting
// the time a 429 asked for.
func (p *pacer) release(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range []*limiter{&p.burst, &p.bucket} {
		if l.known && l.left <= l.reserve() && l.resetAt.After(now) {
			l.resetAt = now
		}
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
	defaultBurstWindow = 2*time.Second + headerSlack
	defaultRefillEvery = 60*time.Second + headerSlack
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
