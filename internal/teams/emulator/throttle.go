package emulator

import (
	"math"
	"time"
)

// limiter is one token's pair of throttles, as documented for API v3: a
// burst throttle (BurstLimit requests per BurstWindow, a fixed window
// opened by the first request) and a token bucket (BucketSize tokens,
// RefillAmount added every RefillEvery). A rejected request consumes
// nothing.
type limiter struct {
	windowStart time.Time
	windowCalls int

	tokens     int
	lastRefill time.Time // time of the last refill tick
}

// budget is what the throttle headers report after a request.
type budget struct {
	burstLeft, burstSecondsUntilFull                        int
	bucketLeft, bucketSecondsUntilFull, bucketSecondsToNext int
	retryAfter                                              int // > 0: rejected
}

func newLimiter(o Options, now time.Time) *limiter {
	return &limiter{tokens: o.BucketSize, lastRefill: now}
}

// take accounts one request at now and reports the remaining budget.
func (l *limiter) take(o Options, now time.Time, noThrottle bool) budget {
	if noThrottle {
		// A site without throttling: the headers still come, showing a
		// full budget, so clients that pace from them never slow down.
		return budget{burstLeft: o.BurstLimit, bucketLeft: o.BucketSize}
	}
	l.refill(o, now)
	if l.windowCalls == 0 || !now.Before(l.windowStart.Add(o.BurstWindow)) {
		l.windowStart, l.windowCalls = now, 0
	}
	var b budget
	// When both limits are exhausted, Retry-After covers the later.
	if l.windowCalls >= o.BurstLimit {
		b.retryAfter = max(1, ceilSeconds(l.windowStart.Add(o.BurstWindow).Sub(now)))
	}
	if l.tokens <= 0 {
		b.retryAfter = max(b.retryAfter, 1, ceilSeconds(l.lastRefill.Add(o.RefillEvery).Sub(now)))
	}
	if b.retryAfter == 0 {
		l.windowCalls++
		if l.tokens > 0 {
			l.tokens--
		}
	}
	l.report(o, now, &b)
	return b
}

// refill adds the tokens of every whole RefillEvery period since the last
// tick. Ticks keep their phase so seconds-until-next-refill is truthful.
func (l *limiter) refill(o Options, now time.Time) {
	if now.Before(l.lastRefill) {
		return
	}
	ticks := int(now.Sub(l.lastRefill) / o.RefillEvery)
	if ticks == 0 {
		return
	}
	l.lastRefill = l.lastRefill.Add(time.Duration(ticks) * o.RefillEvery)
	l.tokens = min(o.BucketSize, l.tokens+ticks*o.RefillAmount)
}

func (l *limiter) report(o Options, now time.Time, b *budget) {
	b.burstLeft = max(0, o.BurstLimit-l.windowCalls)
	if l.windowCalls > 0 {
		b.burstSecondsUntilFull = ceilSeconds(l.windowStart.Add(o.BurstWindow).Sub(now))
	}
	b.bucketLeft = l.tokens
	next := l.lastRefill.Add(o.RefillEvery).Sub(now)
	b.bucketSecondsToNext = ceilSeconds(next)
	if missing := o.BucketSize - l.tokens; missing > 0 {
		ticks := (missing + o.RefillAmount - 1) / o.RefillAmount
		b.bucketSecondsUntilFull = ceilSeconds(next + time.Duration(ticks-1)*o.RefillEvery)
	}
}

// ceilSeconds rounds up so that waiting the reported seconds is enough.
func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}
