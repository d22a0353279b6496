// Package teams is a client for the Stack Overflow for Teams API v3: the
// users, user groups, tags and tag subject-matter experts (SMEs) that syncd
// reads and writes.
//
// The client paces itself from the throttle headers of every response so
// that a long run is never rejected, retries what is safe to retry, and maps
// failures to typed errors (see Error). It does no logging: callers observe
// it through a Hook.
//
// # Trust nothing half-read
//
// A read returns everything or an error. A listing is complete only when
// every page is a JSON envelope with its items, the pages add up to the
// totalCount of the first, and totalCount, totalPages and pageSize stay
// the same on every page; a listing that changes while it is read is read
// again from page 1, up to three times. Anything else is an
// *IncompleteError (errors.Is(err, ErrIncomplete)): the caller must create
// and remove nothing on its evidence. Single objects (a group, a tag's
// SMEs, a user) must be JSON objects holding what the caller plans with.
// The real API's quirks still read: totalPages 0 for an empty list, no
// Content-Type, the pageSize it echoes.
//
// # Writes
//
// A write answered 2xx with an empty or unreadable answer is an
// *UnconfirmedError (ErrUnconfirmed): it may have been applied.
// OutcomeUnknown tells such failures (and transport errors after sending,
// and 5xx answers to writes) from those that prove nothing was applied.
// Reads are retried after 429, 500, 502, 503, 504 and broken connections;
// writes only where sending them again is harmless (PUT, member and SME
// adds, deletes) or where they provably did not land (429, a connection
// that never opened). CreateUserGroup is never sent twice: see its
// contract.
//
// # Memory
//
// Answers are decoded as they stream in, list items one at a time, and no
// answer may be larger than an eighth of the process's memory limit
// (GOMEMLIMIT or the cgroup's), at most 256 MiB: a *TooLargeError
// (ErrTooLarge) says which limit and how to raise it.
package teams

import (
	"bytes"
	"context"
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

	"github.com/syncd/syncd/internal/backoff"
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
	// Jitter returns a random duration in [0, max], spreading retries of
	// clients that failed together; default: uniform, math/rand/v2. It
	// must be safe for concurrent use.
	Jitter func(max time.Duration) time.Duration
	// MaxResponseBytes bounds one answer; 0 means an eighth of the
	// process's memory limit (GOMEMLIMIT or the cgroup's), at most 256 MiB.
	MaxResponseBytes int64
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
	jitter     func(time.Duration) time.Duration
	maxAnswer  answerLimit

	calls atomic.Int64
	pace  *pacer

	// groupsMu guards knownGroups and unsure. knownGroups: the ids per
	// lower-cased group name in the latest complete listing of the groups
	// (nil: none, or the latest listing failed), the evidence a create is
	// decided on. unsure: lower-cased names of creates whose outcome is
	// unknown, refused until the next ListUserGroups.
	groupsMu    sync.Mutex
	knownGroups map[string][]int
	unsure      map[string]bool
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
		sleepFn: o.Sleep, now: o.Now, jitter: o.Jitter, pace: newPacer(),
		maxAnswer: answerLimit{bytes: o.MaxResponseBytes, source: "Options.MaxResponseBytes"},
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
		c.sleepFn = backoff.Sleep
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.jitter == nil {
		c.jitter = backoff.Uniform
	}
	if c.maxAnswer.bytes <= 0 {
		c.maxAnswer = hostLimits.limit()
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
	// request was rejected before it was processed; so is a request that
	// provably never left.
	retry bool
	// noContent: a 204 without a body is a whole answer (the spec's
	// answer of an SME removal, some servers' of a member removal). Any
	// other 2xx must hold the object the call reads.
	noContent bool
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
