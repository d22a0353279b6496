package teams

import "time"

// Limits are the API's rate limits per token (REFERENCE.md §8).
type Limits struct {
	Burst  int           // calls per burst window
	Window time.Duration // the burst window
	Bucket int           // the token bucket's size
	Refill int           // tokens added to the bucket every Period
	Period time.Duration
}

// Documented are the limits API v3 documents: 50 calls in 2 s; a bucket
// of 5,000 calls, refilled by 100 every 60 s.
var Documented = Limits{Burst: 50, Window: 2 * time.Second, Bucket: 5000, Refill: 100, Period: time.Minute}

// Floor is the least time n calls take under l, from a bucket holding
// left calls: the burst windows they fill, or the refills they wait for,
// whichever is longer.
func (l Limits) Floor(n, left int) time.Duration {
	if n <= 0 {
		return 0
	}
	windows := time.Duration((n+l.Burst-1)/l.Burst-1) * l.Window
	var refills time.Duration
	if n > left {
		refills = time.Duration((n-left+l.Refill-1)/l.Refill) * l.Period
	}
	return max(windows, refills)
}

// TimeFor is the least time n more calls take under the documented
// limits, from what the token bucket held at the last answer that said
// (less what pacing keeps in reserve); false before any answer said.
func (c *Client) TimeFor(n int) (time.Duration, bool) {
	left, ok := c.pace.bucketLeft()
	if !ok {
		return 0, false
	}
	return Documented.Floor(n, left), true
}

// bucketLeft is what the bucket can still give before a refill.
func (p *pacer) bucketLeft() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.bucket.known {
		return 0, false
	}
	return max(0, p.bucket.left-p.bucket.reserve()), true
}
