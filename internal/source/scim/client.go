package scim

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
)

// Sentinels for errors.Is on *Error.
var (
	ErrUnauthorized = errors.New("bearer token rejected")
	ErrForbidden    = errors.New("token lacks permission")
	ErrNotFound     = errors.New("not found")
	ErrServer       = errors.New("server error")
	ErrProtocol     = errors.New("not a valid SCIM response")
	// ErrInconsistent marks paging that contradicts the server's own totalResults.
	ErrInconsistent = errors.New("inconsistent paging")
	// ErrTooLarge marks an answer beyond what the reader accepts: a
	// totalResults needing too many pages, or a response body over
	// maxResponseBytes.
	ErrTooLarge = errors.New("answer too large")
	// ErrWaitTooLong marks a 429 or 503 whose Retry-After asks for a longer
	// wait than maxRetryAfter. Retrying earlier than asked can get the
	// token blocked (RFC 6585 §4, RFC 9110 §10.2.3), and a scheduled run
	// should not stall for an hour: the source is unknown for this run.
	ErrWaitTooLong = errors.New("provider asked to wait before retrying")
)

// maxRetryAfter is the longest Retry-After the reader waits for.
const maxRetryAfter = 30 * time.Second

// Error is a failed SCIM request. It never holds the token.
type Error struct {
	Method   string
	URL      string // without credentials
	Status   int    // 0 when no HTTP response arrived
	SCIMType string // from an RFC 7644 §3.12 error body, if any
	Detail   string // from the error body, capped
	Kind     error  // one of the sentinels, or the transport error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: ", e.Method, e.URL)
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d: ", e.Status)
	}
	b.WriteString(e.Kind.Error())
	if e.SCIMType != "" {
		fmt.Fprintf(&b, " (scimType %s)", e.SCIMType)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Kind }

// resource is a user or group as the reader decodes it.
type resource struct {
	ID          string  `json:"id"`
	UserName    string  `json:"userName"`
	DisplayName string  `json:"displayName"`
	Name        *name   `json:"name"`
	Active      flag    `json:"active"` // absent means active
	Emails      []email `json:"emails"`
	Members     []ref   `json:"members"`
}

type name struct {
	Formatted string `json:"formatted"`
}

type email struct {
	Value   string `json:"value"`
	Primary flag   `json:"primary"` // unreadable counts as not primary: it only orders the addresses
}

// flag is a SCIM Boolean as providers send it: true or false, or the
// strings "true" and "false" in any case (Entra ID writes "False", and
// providers built on the same stacks echo it back). Any other value is
// kept as unreadable instead of failing the decoding of the whole page,
// so that only what depends on it is lost.
type flag struct {
	set bool   // present and not null
	val bool   // the value, when set and readable
	bad string // the JSON of a value that is not a boolean; "" when readable
}

func (f *flag) UnmarshalJSON(b []byte) error {
	*f = flag{}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		return nil
	case bool:
		f.set, f.val = true, x
	case string:
		f.set = true
		switch strings.ToLower(x) {
		case "true":
			f.val = true
		case "false":
		default:
			f.bad = string(b)
		}
	default:
		f.set, f.bad = true, string(b)
	}
	return nil
}

// isTrue reports whether f was readable and true.
func (f flag) isTrue() bool { return f.val && f.bad == "" }

type ref struct {
	Value string `json:"value"`
	Type  string `json:"type"` // "User", "Group" or empty
	Ref   string `json:"$ref"`
}

// listResponse is RFC 7644 §3.4.2's ListResponse.
type listResponse struct {
	TotalResults *int       `json:"totalResults"`
	ItemsPerPage int        `json:"itemsPerPage"`
	StartIndex   int        `json:"startIndex"`
	Resources    []resource `json:"Resources"`
}

type page struct {
	TotalResults int
	Resources    []resource
}

// Limits on what a server can make the reader do. A read is all or
// nothing, so past a limit the read fails rather than returning part.
const (
	// parallelPages is the number of page requests in flight per endpoint.
	parallelPages = 4
	// maxPages caps the pages of one listing: 100,000 pages of the default
	// 200 is 20 million resources, and a server paging by 1 cannot make the
	// reader send millions of requests.
	maxPages = 100_000
	// maxResources caps totalResults: far beyond any real directory, and
	// still a bound on what the reader will try to hold.
	maxResources = 10_000_000
	// maxResponseBytes caps one response body. The largest pages are
	// groups with their members: a member reference as servers list it
	// ({"value": uuid, "$ref": URL, "display": name, "type": "User"}) takes
	// 150-200 bytes, so 32 MiB holds about 170,000 references, a page of 200
	// groups averaging 850 members each. With parallelPages pages in flight
	// for users and groups at once, at most 256 MiB of bodies are held.
	maxResponseBytes = 32 << 20
	// maxErrorBodyBytes caps the body read from a failed request: only its
	// scimType and detail are used.
	maxErrorBodyBytes = 64 << 10
)

// listAll reads every resource of endpoint. The first page tells the total
// and the server's page size (whatever count it honours); the other pages
// are then fetched in parallel. Positions a short page leaves uncovered are
// read after it, so a server that pages unevenly is still read completely,
// and any contradiction with totalResults fails the read.
func (r *Reader) listAll(ctx context.Context, endpoint, attrs string) ([]resource, error) {
	first, err := r.getList(ctx, endpoint, attrs, 1, r.pageSize)
	if err != nil {
		return nil, err
	}
	if err := r.checkTotal(endpoint, first); err != nil {
		return nil, err
	}
	l := &lister{r: r, endpoint: endpoint, attrs: attrs, total: first.TotalResults, cursor: 1, seen: map[string]bool{}}
	if err := l.add(1, first); err != nil {
		return nil, err
	}
	if size := len(first.Resources); size > 0 && l.cursor <= l.total {
		from, n := l.cursor, (l.total-l.cursor)/size+1
		if n > maxPages {
			return nil, r.tooLarge(endpoint, "totalResults %d at %d per page needs %d more pages, over the limit of %d", l.total, size, n, maxPages)
		}
		pages, err := r.fetchPages(ctx, endpoint, attrs, from, size, n)
		if err != nil {
			return nil, err
		}
		for i, p := range pages {
			s := from + i*size
			if err := l.fill(ctx, s); err != nil {
				return nil, err
			}
			if err := l.add(s, p); err != nil {
				return nil, err
			}
		}
	}
	if err := l.fill(ctx, l.total+1); err != nil {
		return nil, err
	}
	if len(l.all) > l.total {
		return nil, r.inconsistent(endpoint, "%d resources returned, but totalResults is %d", len(l.all), l.total)
	}
	return l.all, nil
}

// checkTotal refuses a totalResults no directory has, before anything is
// sized by it.
func (r *Reader) checkTotal(endpoint string, first *page) error {
	switch {
	case first.TotalResults < 0:
		return &Error{Method: http.MethodGet, URL: r.base.Redacted() + endpoint, Status: http.StatusOK, Kind: ErrProtocol,
			Detail: fmt.Sprintf("negative totalResults %d", first.TotalResults)}
	case first.TotalResults > maxResources:
		return r.tooLarge(endpoint, "totalResults %d is over the limit of %d", first.TotalResults, maxResources)
	}
	return nil
}

func (r *Reader) tooLarge(endpoint, format string, args ...any) error {
	return &Error{Method: http.MethodGet, URL: r.base.Redacted() + endpoint, Status: http.StatusOK, Kind: ErrTooLarge, Detail: fmt.Sprintf(format, args...)}
}

// lister assembles pages in startIndex order.
type lister struct {
	r        *Reader
	endpoint string
	attrs    string
	total    int
	cursor   int // startIndex of the next resource not yet taken
	all      []resource
	seen     map[string]bool
}

// add takes the resources of the page that starts at start, skipping those
// before the cursor (already read through another page).
func (l *lister) add(start int, p *page) error {
	if p.TotalResults != l.total {
		return l.r.inconsistent(l.endpoint, "totalResults changed from %d to %d during the read", l.total, p.TotalResults)
	}
	if len(p.Resources) == 0 && start <= l.total {
		return l.r.inconsistent(l.endpoint, "empty page at startIndex %d, but totalResults is %d", start, l.total)
	}
	skip := l.cursor - start
	if skip < 0 || skip >= len(p.Resources) {
		return nil // a gap is filled by the caller; a covered page adds nothing
	}
	for _, res := range p.Resources[skip:] {
		if res.ID == "" {
			return l.r.inconsistent(l.endpoint, "a resource without id in the page at startIndex %d", start)
		}
		if l.seen[res.ID] {
			return l.r.inconsistent(l.endpoint, "resource %s returned twice (page at startIndex %d): the server ignores startIndex or totalResults (%d) is wrong", res.ID, start, l.total)
		}
		l.seen[res.ID] = true
		l.all = append(l.all, res)
	}
	l.cursor += len(p.Resources) - skip
	return nil
}

// fill reads pages one after another from the cursor up to (not
// including) position upto, or to the end.
func (l *lister) fill(ctx context.Context, upto int) error {
	for l.cursor < upto && l.cursor <= l.total {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := l.cursor
		p, err := l.r.getList(ctx, l.endpoint, l.attrs, start, l.r.pageSize)
		if err != nil {
			return err
		}
		if err := l.add(start, p); err != nil {
			return err
		}
	}
	return nil
}

// fetchPages gets the n pages starting at from, from+step, ... with
// parallelPages workers fed by a generator that stops once ctx is done; the
// first failure cancels the rest and is returned. Goroutines stay at
// parallelPages+1 whatever n is.
func (r *Reader) fetchPages(ctx context.Context, endpoint, attrs string, from, step, n int) ([]*page, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	pages := make([]*page, n)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		// Keep the root cause, not the cancellation it caused.
		if firstErr == nil || errors.Is(firstErr, context.Canceled) && !errors.Is(err, context.Canceled) {
			firstErr = err
		}
		cancel()
	}
	for range min(parallelPages, n) {
		wg.Go(func() {
			for i := range next {
				p, err := r.getList(ctx, endpoint, attrs, from+i*step, r.pageSize)
				if err != nil {
					fail(err)
					return
				}
				pages[i] = p
			}
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		// The caller's context ended: the generator stopped early.
		firstErr = ctx.Err()
	}
	return pages, firstErr
}

func (r *Reader) inconsistent(endpoint, format string, args ...any) error {
	// The arguments may hold ids the server chose.
	return &Error{Method: http.MethodGet, URL: r.base.Redacted() + endpoint, Kind: ErrInconsistent, Detail: capString(r.redact(fmt.Sprintf(format, args...)), 300)}
}

// getList fetches one page.
func (r *Reader) getList(ctx context.Context, endpoint, attrs string, start, count int) (*page, error) {
	q := url.Values{}
	q.Set("attributes", attrs)
	q.Set("startIndex", strconv.Itoa(start))
	q.Set("count", strconv.Itoa(count))
	var lr listResponse
	if err := r.get(ctx, endpoint, q, &lr); err != nil {
		return nil, err
	}
	if lr.TotalResults == nil {
		return nil, &Error{Method: http.MethodGet, URL: r.base.Redacted() + endpoint, Status: http.StatusOK, Kind: ErrProtocol, Detail: "ListResponse without totalResults"}
	}
	return &page{TotalResults: *lr.TotalResults, Resources: lr.Resources}, nil
}

// get sends one GET, retrying transient failures, and decodes the JSON body into out.
func (r *Reader) get(ctx context.Context, endpoint string, q url.Values, out any) error {
	u := *r.base
	u.Path += endpoint
	u.RawQuery = q.Encode()
	var err error
	for attempt := 0; ; attempt++ {
		var retryAfter time.Duration
		retryAfter, err = r.getOnce(ctx, &u, out)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		if retryAfter > maxRetryAfter {
			return waitTooLong(err, retryAfter)
		}
		if attempt == maxRetries {
			return err
		}
		wait := max(retryAfter, time.Duration(attempt+1)*250*time.Millisecond)
		r.logger.Debug("retrying SCIM request", zap.String("url", r.redact(u.Redacted())), zap.Duration("wait", wait), zap.Error(err))
		if serr := r.sleep(ctx, wait); serr != nil {
			return err
		}
	}
}

func (r *Reader) getOnce(ctx context.Context, u *url.URL, out any) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Accept", "application/scim+json, application/json")
	r.calls.Add(1)
	// The path may hold a member id the server chose.
	where := r.redact(redactedURL(u))
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, &Error{Method: req.Method, URL: where, Kind: redactErr(unwrapURLError(err), r.redact)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes)) // a cut body only loses the detail
		return retryAfterOf(resp), r.statusError(req.Method, where, resp.StatusCode, body)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return 0, &Error{Method: req.Method, URL: where, Status: resp.StatusCode, Kind: fmt.Errorf("read body: %w", err)}
	}
	if len(body) > maxResponseBytes {
		return 0, &Error{Method: req.Method, URL: where, Status: resp.StatusCode, Kind: ErrTooLarge,
			Detail: fmt.Sprintf("response body over %d MiB", maxResponseBytes>>20)}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return 0, &Error{Method: req.Method, URL: where, Status: resp.StatusCode, Kind: ErrProtocol, Detail: capString(r.redact("decode JSON: "+err.Error()), 300)}
	}
	return 0, nil
}

// redactedURL drops the query too: it is ours and only makes messages long.
func redactedURL(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	return c.Redacted()
}

// unwrapURLError drops *url.Error's own copy of the method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// statusError builds the error for a non-200 answer. The server's text is
// redacted before it is capped, so a cut can never leave part of the token.
func (r *Reader) statusError(method, u string, status int, body []byte) error {
	e := &Error{Method: method, URL: u, Status: status}
	var se struct {
		SCIMType string `json:"scimType"`
		Detail   string `json:"detail"`
	}
	if json.Unmarshal(body, &se) == nil {
		e.SCIMType, e.Detail = capString(r.redact(se.SCIMType), 64), capString(r.redact(se.Detail), 200)
	}
	switch {
	case status == http.StatusUnauthorized:
		e.Kind = ErrUnauthorized
	case status == http.StatusForbidden:
		e.Kind = ErrForbidden
	case status == http.StatusNotFound:
		e.Kind = ErrNotFound
	case status >= 500 || status == http.StatusTooManyRequests:
		e.Kind = ErrServer
	default:
		e.Kind = fmt.Errorf("unexpected status %d", status)
	}
	return e
}

// capString cuts s to at most n bytes, on a rune boundary.
func capString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// redacted replaces the bearer token in text that came from the server
// (an echoed Authorization header, an id chosen to be the token).
const redacted = "[REDACTED]"

// redact removes the token, as sent and in its URL-escaped forms, from s.
// Everything the reader puts into an error from response data goes
// through it: errors end up in logs and reports.
func (r *Reader) redact(s string) string {
	if r.token == "" {
		return s
	}
	for _, t := range []string{r.token, url.PathEscape(r.token), url.QueryEscape(r.token)} {
		s = strings.ReplaceAll(s, t, redacted)
	}
	return s
}

// redactErr returns err, or a plain error with its text redacted when the
// text holds the token (a transport error may quote the URL).
func redactErr(err error, redact func(string) string) error {
	if msg := err.Error(); redact(msg) != msg {
		return errors.New(redact(msg))
	}
	return err
}

// retryable: transport errors, 429 and 5xx. Not 4xx, not protocol errors,
// not a cancelled context.
func retryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	var cert *tls.CertificateVerificationError
	if e.Status == 0 {
		return !errors.Is(e.Kind, context.Canceled) && !errors.As(e.Kind, &cert)
	}
	return errors.Is(e.Kind, ErrServer)
}

// retryAfterOf reads Retry-After: delay seconds or an HTTP-date (RFC 9110
// §10.2.3); 0 when absent or unreadable.
func retryAfterOf(resp *http.Response) time.Duration {
	h := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if s, err := strconv.ParseInt(h, 10, 64); err == nil {
		return time.Duration(min(max(s, 0), int64(math.MaxInt64/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// waitTooLong turns a retryable failure whose Retry-After is past
// maxRetryAfter into ErrWaitTooLong, saying how long the provider asked
// for.
func waitTooLong(err error, wait time.Duration) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	c.Kind = ErrWaitTooLong
	c.Detail = fmt.Sprintf("Retry-After %s, longer than the %s syncd waits within a run: not retried early; the source is unknown this run", wait.Round(time.Second), maxRetryAfter)
	if e.Detail != "" {
		c.Detail += " (" + e.Detail + ")"
	}
	return &c
}
