package teams

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// do sends k, paced and retried as k allows, and decodes a 2xx answer
// into out (when out is non-nil).
func (c *Client) do(ctx context.Context, k *call, out any) error {
	var body []byte
	if k.body != nil {
		var err error
		if body, err = json.Marshal(k.body); err != nil {
			return fmt.Errorf("teams: %s %s: encode body: %w", k.method, k.route, err)
		}
	}
	for attempt := 0; ; attempt++ {
		err := c.attempt(ctx, k, body, out)
		wait, throttled, ok := c.retryPlan(ctx, k, err, attempt)
		if !ok {
			return c.scrub(err)
		}
		if err := c.sleepFn(ctx, wait); err != nil {
			return fmt.Errorf("teams: %s %s: %w", k.method, k.route, err)
		}
		if throttled {
			c.hook.ThrottleWait(wait)
		}
		if apiErr := (*Error)(nil); errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
			// The server said when to come back: that is the reset
			// the pacer would otherwise wait for again.
			c.pace.release(c.now())
		}
	}
}

// retryPlan decides whether a failed attempt is sent again, and after
// how long; throttled tells a 429 wait from a backoff.
func (c *Client) retryPlan(ctx context.Context, k *call, err error, attempt int) (wait time.Duration, throttled, ok bool) {
	if err == nil || ctx.Err() != nil || attempt >= c.maxRetries {
		return 0, false, false
	}
	var apiErr *Error
	var netErr *transportError
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests:
		// Rejected before processing: nothing was applied, so even a
		// create may be sent again.
		if apiErr.RetryAfter > maxHonouredWait {
			return 0, false, false
		}
		if apiErr.RetryAfter > 0 {
			return apiErr.RetryAfter, true, true
		}
		return backoff(attempt), true, true
	case !k.retry:
		return 0, false, false
	case errors.As(err, &apiErr):
		switch apiErr.Status {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return backoff(attempt), false, true
		}
		return 0, false, false
	case errors.As(err, &netErr) && !permanentTransport(err):
		return backoff(attempt), false, true
	}
	return 0, false, false
}

// permanentTransport tells failures that another attempt cannot mend:
// a certificate that does not verify stays unverified, and retrying it
// only delays the error the user must act on.
func permanentTransport(err error) bool {
	var unknownAuth x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknownAuth) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verify)
}

// attempt sends k once: it waits for the throttle budget, then sends and
// reads the answer within the per-attempt timeout.
func (c *Client) attempt(ctx context.Context, k *call, body []byte, out any) error {
	seq, err := c.paceWait(ctx)
	if err != nil {
		return fmt.Errorf("teams: %s %s: %w", k.method, k.route, err)
	}
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := c.newRequest(actx, k, body)
	if err != nil {
		return fmt.Errorf("teams: %s %s: %w", k.method, k.route, err)
	}
	start := c.now()
	c.calls.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.hook.Request(k.method, k.route, 0, c.now().Sub(start))
		return c.sendError(ctx, k, err)
	}
	defer resp.Body.Close()
	c.observe(seq, resp.Header)
	err = c.checkResponse(k, resp)
	if err == nil {
		err = c.decodeError(ctx, k, decode(resp.Body, out))
	}
	c.hook.Request(k.method, k.route, resp.StatusCode, c.now().Sub(start))
	return err
}

// sendError wraps an error of sending; a cancelled caller is not a
// transport failure and is never retried.
func (c *Client) sendError(ctx context.Context, k *call, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("teams: %s %s: %w", k.method, k.route, ctx.Err())
	}
	return &transportError{method: k.method, route: k.route, err: err}
}

// decodeError classifies a failure to read a 2xx body: malformed JSON is
// final, a broken connection or timeout mid-body is a transport failure.
func (c *Client) decodeError(ctx context.Context, k *call, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syntax) || errors.As(err, &typ):
		return fmt.Errorf("teams: %s %s: decode answer: %w", k.method, k.route, err)
	}
	return c.sendError(ctx, k, err)
}

// observe feeds an answer's throttle headers to the pacer and the hook.
func (c *Client) observe(seq int, h http.Header) {
	b := readBudget(h)
	c.pace.observe(seq, b, c.now())
	if b.burstLeft >= 0 {
		c.hook.RateLimit("burst", b.burstLeft)
	}
	if b.bucketLeft >= 0 {
		c.hook.RateLimit("bucket", b.bucketLeft)
	}
}

// paceWait waits until the local model of the limiters lets a request
// through, and returns its sequence number.
func (c *Client) paceWait(ctx context.Context) (int, error) {
	var waited time.Duration
	start := c.now()
	for {
		// An injected Sleep may not move an injected clock: count the
		// time slept as passed either way.
		now := c.now()
		if t := start.Add(waited); now.Before(t) {
			now = t
		}
		d, seq := c.pace.acquire(now)
		if d <= 0 {
			if waited > 0 {
				c.hook.ThrottleWait(waited)
			}
			return seq, nil
		}
		if err := c.sleepFn(ctx, d); err != nil {
			return 0, err
		}
		waited += d
	}
}
