package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/syncd/syncd/internal/backoff"
	"github.com/syncd/syncd/internal/tlsconfig"
)

// do sends k, paced and retried as k allows, and hands a 2xx answer to
// read (when read is non-nil).
func (c *Client) do(ctx context.Context, k *call, read reader) error {
	var body []byte
	if k.body != nil {
		var err error
		if body, err = json.Marshal(k.body); err != nil {
			return fmt.Errorf("teams: %s %s: encode body: %w", k.method, k.route, err)
		}
	}
	var applied error // an earlier attempt that may have been applied
	for attempt := 0; ; attempt++ {
		err := c.attempt(ctx, k, body, read)
		wait, throttled, ok := c.retryPlan(ctx, k, err, attempt)
		if !ok {
			return c.scrub(lastAttempt(err, applied))
		}
		if applied == nil && OutcomeUnknown(err) {
			applied = err
		}
		if serr := c.sleepFn(ctx, wait); serr != nil {
			return c.scrub(lastAttempt(fmt.Errorf("%w; gave up waiting to send it again: %w", err, serr), applied))
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

// lastAttempt is the error of a call whose last attempt failed with err:
// when an earlier attempt may have been applied, so may the call.
func lastAttempt(err, applied error) error {
	if err == nil || applied == nil || OutcomeUnknown(err) {
		return err
	}
	return fmt.Errorf("%w (an earlier attempt may have been applied: %w)", err, applied)
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
		return c.backoff(attempt), true, true
	case errors.As(err, &apiErr):
		if k.retry && transientStatus(apiErr.Status) {
			return c.backoff(attempt), false, true
		}
	case errors.As(err, &netErr):
		// A request that never left may be sent again, even a create.
		if (k.retry || !netErr.sent) && !permanentTransport(err) {
			return c.backoff(attempt), false, true
		}
	}
	return 0, false, false
}

// transientStatus tells the answers of an overloaded or restarting
// server or gateway, worth another try. A 500 is one of them: the spec
// lists it for POST /user-groups, and a plain 500 from a busy site
// mostly passes.
func transientStatus(status int) bool {
	switch status {
	case http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// backoff returns the wait before retry number attempt (0-based): a
// random point in the upper half of min(cap, base·2^attempt).
func (c *Client) backoff(attempt int) time.Duration {
	return backoff.Exponential{Base: backoffBase, Cap: backoffCap, Jitter: c.jitter}.Wait(attempt)
}

// permanentTransport tells failures that another attempt cannot mend:
// a certificate that does not verify stays unverified, and retrying it
// only delays the error the user must act on.
func permanentTransport(err error) bool { return tlsconfig.VerifyFailed(err) }

// attempt sends k once: it waits for the throttle budget, then sends and
// reads the answer within the per-attempt timeout.
func (c *Client) attempt(ctx context.Context, k *call, body []byte, read reader) error {
	seq, err := c.paceWait(ctx)
	if err != nil {
		return fmt.Errorf("teams: %s %s: %w", k.method, k.route, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("teams: %s %s: %w", k.method, k.route, err) // never sent
	}
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	sent := c.newSendTrace()
	req, err := c.newRequest(httptrace.WithClientTrace(actx, sent.trace()), k, body)
	if err != nil {
		return fmt.Errorf("teams: %s %s: %w", k.method, k.route, err)
	}
	start := c.now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.hook.Request(k.method, k.route, 0, c.now().Sub(start))
		maybe := sent.maybeSent(err)
		if maybe {
			c.calls.Add(1) // it may have reached the API, and cost a token
		}
		return c.sendError(ctx, k, err, maybe)
	}
	c.calls.Add(1)
	defer resp.Body.Close()
	c.observe(seq, resp.Header)
	err = c.checkResponse(k, resp)
	if err == nil {
		err = c.readAnswer(ctx, k, resp, read)
	}
	c.hook.Request(k.method, k.route, resp.StatusCode, c.now().Sub(start))
	return err
}

// sendError wraps an error of sending. A cancelled caller is not retried
// (retryPlan checks ctx), but a write it cancelled may have left.
func (c *Client) sendError(ctx context.Context, k *call, err error, sent bool) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return &transportError{method: k.method, route: k.route, err: err, sent: sent}
}

// maxDrain is how much of an unread answer is read to keep the
// connection for the next request; a longer rest closes it instead.
const maxDrain = 64 << 10

// readAnswer hands a 2xx body to read, within the answer limit, and
// classifies what goes wrong: a read that is not whole is incomplete
// (or, cut off, a transport failure to retry); a write whose answer
// cannot be read is unconfirmed.
func (c *Client) readAnswer(ctx context.Context, k *call, resp *http.Response, read reader) error {
	body := &limitReader{r: resp.Body, left: c.maxAnswer.bytes, err: &TooLargeError{
		Method: k.method, Route: k.route, Limit: c.maxAnswer.bytes, Source: c.maxAnswer.source}}
	if read == nil || k.noContent && resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		return nil
	}
	err := read(body)
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		return nil
	}
	var shape *shapeError
	var tooLarge *TooLargeError
	switch {
	case k.method != http.MethodGet:
		return c.unconfirmed(ctx, k, resp.StatusCode, err)
	case errors.As(err, &shape):
		return &IncompleteError{Method: k.method, Route: k.route, Listing: listingOf(k.route), Reason: shape.reason}
	case errors.As(err, &tooLarge):
		return tooLarge
	}
	return c.sendError(ctx, k, err, true)
}

// unconfirmed is the error of a write answered 2xx whose answer could not
// be read.
func (c *Client) unconfirmed(ctx context.Context, k *call, status int, err error) error {
	var shape *shapeError
	var tooLarge *TooLargeError
	e := &UnconfirmedError{Method: k.method, Route: k.route, Status: status, Reason: "its answer broke off", Err: err}
	switch {
	case errors.As(err, &shape):
		e.Reason, e.Err = shape.reason, nil
	case errors.As(err, &tooLarge):
		e.Reason = fmt.Sprintf("its answer is larger than %s", mib(tooLarge.Limit))
	case ctx.Err() != nil:
		e.Err = ctx.Err()
	}
	return e
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
	seq := 0
	err := c.waitFor(ctx, func(now time.Time) (d time.Duration) {
		d, seq = c.pace.acquire(now)
		return d
	})
	return seq, err
}

// waitFor sleeps until try, asked with the time, says there is nothing
// more to wait, and reports the time waited to the hook.
func (c *Client) waitFor(ctx context.Context, try func(now time.Time) time.Duration) error {
	var waited time.Duration
	start := c.now()
	for {
		// An injected Sleep may not move an injected clock: count the
		// time slept as passed either way.
		now := c.now()
		if t := start.Add(waited); now.Before(t) {
			now = t
		}
		d := try(now)
		if d <= 0 {
			if waited > 0 {
				c.hook.ThrottleWait(waited)
			}
			return nil
		}
		if err := c.sleepFn(ctx, d); err != nil {
			return err
		}
		waited += d
	}
}

// WaitTurn waits until the throttle budget lets a request through now,
// without sending one: a caller that records a write as under way before
// sending it (the state's journal) waits here first, so that a run stopped
// or killed while waiting for the budget has recorded nothing it did not
// send.
func (c *Client) WaitTurn(ctx context.Context) error {
	if err := c.waitFor(ctx, c.pace.wait); err != nil {
		return err
	}
	return ctx.Err()
}

// sendTrace follows one attempt through the transport, to tell a request
// that never left from one the server may have received.
type sendTrace struct {
	// traced: the transport reports to httptrace (net/http's own does;
	// an in-process or wrapping RoundTripper may not).
	traced bool
	wrote  atomic.Bool // request headers written to a connection
}

func (c *Client) newSendTrace() *sendTrace {
	switch c.hc.Transport.(type) {
	case nil, *http.Transport:
		return &sendTrace{traced: true}
	}
	return &sendTrace{}
}

func (t *sendTrace) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{WroteHeaders: func() { t.wrote.Store(true) }}
}

// maybeSent is false only when the request provably never reached a
// server: it failed to connect, or (on a traced transport) no header of
// it was ever written.
func (t *sendTrace) maybeSent(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	if (errors.As(err, &op) && op.Op == "dial") || errors.As(err, &dns) {
		return false
	}
	return !t.traced || t.wrote.Load()
}
