// Package teams is a client for the Stack Overflow for Teams API v3: the
// users, user groups, tags and tag subject-matter experts (SMEs) that syncd
// reads and writes.
//
// The client paces itself from the throttle headers of every response so
// that a long run is never rejected, retries what is safe to retry, and maps
// failures to typed errors (see Error). It does no logging: callers observe
// it through a Hook.
package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/syncd/syncd/internal/version"
)

// Options configure a Client. BaseURL and Token are required.
type Options struct {
	// BaseURL is one of the three forms of API v3:
	// https://api.stackoverflowteams.com/v3/teams/{team} (Basic/Business),
	// https://{host}/api/v3 (Enterprise) or
	// https://{host}/api/v3/teams/{team} (Enterprise private team).
	BaseURL string
	// Token is the bearer token. It never appears in errors.
	Token string
	// UserAgent defaults to version.UserAgent() ("syncd/<version>").
	UserAgent string
	// HTTPClient defaults to a client of its own with TLS verification on.
	HTTPClient *http.Client
	// Timeout bounds each attempt (sending and reading the answer); default 30s.
	Timeout time.Duration
	// Hook observes requests, throttle waits and remaining budgets; optional.
	Hook Hook
	// MaxRetries is how many times a retryable request is tried again;
	// 0 means the default of 4, a negative value turns retries off.
	MaxRetries int
	// Sleep waits for d or until ctx is done; default: a timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now tells the time; default time.Now.
	Now func() time.Time
}

// Hook observes the client, e.g. to turn its activity into metrics.
// Implementations must be safe for concurrent use.
type Hook interface {
	// Request reports one HTTP attempt: code 0 means a transport error;
	// route is the route template, e.g. "/user-groups/{userGroupId}".
	Request(method, route string, code int, d time.Duration)
	// ThrottleWait reports time spent pacing or honouring Retry-After.
	ThrottleWait(d time.Duration)
	// RateLimit reports the remaining budget a response announced;
	// limiter is "burst" or "bucket".
	RateLimit(limiter string, remaining int)
}

type nopHook struct{}

func (nopHook) Request(string, string, int, time.Duration) {}
func (nopHook) ThrottleWait(time.Duration)                 {}
func (nopHook) RateLimit(string, int)                      {}

const (
	defaultTimeout    = 30 * time.Second
	defaultMaxRetries = 4
	pageSize          = 100
)

// Client talks to one site (or private team) of API v3. It is safe for
// concurrent use; all calls share one throttle budget, as the server does
// per token.
type Client struct {
	base       *url.URL
	token      string
	userAgent  string
	hc         *http.Client
	timeout    time.Duration
	hook       Hook
	maxRetries int
	sleepFn    func(ctx context.Context, d time.Duration) error
	now        func() time.Time

	calls atomic.Int64
	pace  *pacer

	// groupsMu guards knownGroups: the ids per group name seen by the
	// latest full ListUserGroups, the "before" picture a create needs to
	// tell a group it created from one that already existed.
	groupsMu    sync.Mutex
	knownGroups map[string][]int
}

// basePath matches the three base URL forms by the end of their path.
var basePath = regexp.MustCompile(`(^|/)(api/v3|api/v3/teams/[^/]+|v3/teams/[^/]+)$`)

// New checks the options and returns a client.
func New(o Options) (*Client, error) {
	base, err := parseBaseURL(o.BaseURL)
	if err != nil {
		return nil, err
	}
	if o.Token == "" {
		return nil, errors.New("teams: token is required")
	}
	if strings.ContainsAny(o.Token, "\r\n") {
		return nil, errors.New("teams: token contains a line break")
	}
	c := &Client{
		base: base, token: o.Token, userAgent: o.UserAgent, hc: o.HTTPClient,
		timeout: o.Timeout, hook: o.Hook, maxRetries: o.MaxRetries,
		sleepFn: o.Sleep, now: o.Now, pace: newPacer(),
	}
	c.setDefaults()
	return c, nil
}

func (c *Client) setDefaults() {
	if c.userAgent == "" {
		c.userAgent = version.UserAgent()
	}
	if c.hc == nil {
		// A client of our own: never share http.DefaultClient's mutable
		// state; TLS verification stays on (Go's default).
		c.hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	// Redirects are answered, not followed: Go resends the Authorization
	// header to the same host even from https to http, and API v3 has no
	// reason to redirect. A copy, so the caller's client is left as it is.
	hc := *c.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = &hc
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	if c.hook == nil {
		c.hook = nopHook{}
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = defaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.sleepFn == nil {
		c.sleepFn = sleep
	}
	if c.now == nil {
		c.now = time.Now
	}
}

func parseBaseURL(raw string) (*url.URL, error) {
	const forms = "…/v3/teams/{team}, …/api/v3 or …/api/v3/teams/{team}"
	if raw == "" {
		return nil, errors.New("teams: base URL is required")
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("teams: base URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("teams: base URL %q: scheme must be https (or http)", u.Redacted())
	case u.Host == "":
		return nil, fmt.Errorf("teams: base URL %q has no host", u.Redacted())
	case u.User != nil:
		// Credentials belong in the token; a URL ends up in error messages.
		return nil, errors.New("teams: base URL must not carry credentials")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("teams: base URL %q must not have a query or fragment", u.Redacted())
	case !basePath.MatchString(strings.TrimPrefix(u.EscapedPath(), "/")):
		return nil, fmt.Errorf("teams: base URL %q: path must end in %s", u.Redacted(), forms)
	}
	return u, nil
}

// Calls returns the number of HTTP requests sent so far, retries included.
func (c *Client) Calls() int { return int(c.calls.Load()) }

// call describes one API operation, apart from how it is sent.
type call struct {
	method string
	route  string     // route template, for hooks and errors
	path   string     // route with its parameters filled in and escaped
	query  url.Values // optional
	body   any        // JSON-encoded when non-nil
	// retry: idempotent in effect, so it may be re-sent after a 5xx,
	// a timeout or a broken connection. A 429 is always retried: the
	// request was rejected before it was processed.
	retry bool
}

// newRequest builds the HTTP request of one attempt.
func (c *Client) newRequest(ctx context.Context, k *call, body []byte) (*http.Request, error) {
	u := *c.base
	u.Path = c.base.Path + unescapePath(k.path)
	u.RawPath = c.base.EscapedPath() + k.path
	if len(k.query) > 0 {
		u.RawQuery = k.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

func unescapePath(p string) string {
	if s, err := url.PathUnescape(p); err == nil {
		return s
	}
	return p
}

// seg escapes one path segment. '+' is escaped too: some servers read it
// as a space even in a path, and it is common in email addresses.
func seg(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "+", "%2B")
}

// sleep is the default Options.Sleep.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// maxResponseBody bounds what one answer may hold. List pages carry every
// member of up to 100 groups, so the bound is generous; it exists so that a
// runaway or hostile server cannot exhaust memory.
var maxResponseBody int64 = 256 << 20

// decode reads a JSON body into out; an empty body leaves out untouched.
// The rest of the body is drained so the connection can be reused.
func decode(r io.Reader, out any) error {
	lr := &io.LimitedReader{R: r, N: maxResponseBody + 1}
	if out != nil {
		if err := json.NewDecoder(lr).Decode(out); err != nil && !errors.Is(err, io.EOF) {
			if lr.N <= 0 {
				return errBodyTooLarge()
			}
			return err
		}
	}
	_, err := io.Copy(io.Discard, lr)
	if lr.N <= 0 {
		return errBodyTooLarge()
	}
	return err
}

func errBodyTooLarge() error {
	return fmt.Errorf("response body larger than %d MiB", maxResponseBody>>20)
}
