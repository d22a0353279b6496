package teams

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sentinel kinds of Error, for errors.Is.
var (
	ErrUnauthorized = errors.New("token invalid or expired")
	ErrForbidden    = errors.New("token is read-only or lacks permission")
	ErrNotFound     = errors.New("not found")
	ErrSMEDisabled  = errors.New("SMEs are not enabled on this site")
	ErrRateLimited  = errors.New("rate limited")
	ErrBadRequest   = errors.New("bad request")
	ErrServer       = errors.New("server error")
	// ErrRedirect: the API answered 3xx. Redirects are not followed (the
	// token would go along); teams.url is most likely wrong.
	ErrRedirect = errors.New("the API answered with a redirect")
)

// maxErrorBody caps the part of an error body kept in an Error: bodies
// can be large HTML pages from a proxy, and errors end up in reports.
const maxErrorBody = 1 << 10

// maxProblemBody bounds what is read to parse a ProblemDetails body.
const maxProblemBody = 64 << 10

// Error is a failed API call: a status outside 2xx.
type Error struct {
	Method string
	Route  string // route template, e.g. "/user-groups/{userGroupId}"
	Status int
	// Problem is the parsed RFC 7807 body, when there was one.
	Problem *ProblemDetails
	// Body is the start of the body (at most 1 KiB), token redacted.
	Body string
	// RetryAfter is the wait the server asked for (429 only).
	RetryAfter time.Duration
	// Location is where a 3xx pointed, without its query, fragment or
	// user info (they may carry a token); "" when it gave none.
	Location string
	// Kind is one of the Err* sentinels; errors.Is(err, ErrNotFound) works.
	Kind error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "teams: %s %s: %d %s", e.Method, e.Route, e.Status, e.summary())
	if e.Kind == ErrRedirect {
		return b.String() // the body of a redirect is boilerplate
	}
	if d := e.detail(); d != "" {
		fmt.Fprintf(&b, ": %s", d)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// summary is the kind in words. 403 on a read (e.g. by-email without an
// admin token) says "forbidden": the token may well be fine for writes.
func (e *Error) summary() string {
	switch {
	case e.Kind == ErrForbidden && e.Method == http.MethodGet:
		return "forbidden"
	case e.Kind == ErrForbidden && isSMERoute(e.Route):
		// REFERENCE.md §2.2: admins and moderators manage SMEs.
		return "forbidden: the token is read-only, or its user is neither an admin nor a moderator (only they may change SMEs)"
	case e.Kind == ErrForbidden:
		// Admins manage user groups; a write token of anyone else gets 403.
		return "forbidden: the token is read-only, or its user is not an admin (the token's user must be an admin to change user groups)"
	case e.Kind == ErrRedirect && e.Location != "":
		return fmt.Sprintf("%v to %s; check teams.url", ErrRedirect, e.Location)
	case e.Kind == ErrRedirect:
		return fmt.Sprintf("%v without a Location; check teams.url", ErrRedirect)
	}
	if e.Kind != nil {
		return e.Kind.Error()
	}
	return http.StatusText(e.Status)
}

// detail is what the server said, the most specific first.
func (e *Error) detail() string {
	if p := e.Problem; p != nil {
		switch {
		case p.Detail != nil && *p.Detail != "":
			return *p.Detail
		case p.Title != nil && *p.Title != "":
			return *p.Title
		}
	}
	return strings.TrimSpace(e.Body)
}

func (e *Error) Unwrap() error { return e.Kind }

// checkResponse maps a non-2xx response to an *Error.
func (c *Client) checkResponse(k *call, resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &Error{Method: k.method, Route: k.route, Status: resp.StatusCode}
	e.Kind = kindOf(k, resp.StatusCode)
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxProblemBody))
	// Redact before cutting: a token straddling the cut would leave its
	// first characters behind.
	e.Body = capString(c.redact(string(data)), maxErrorBody)
	var p ProblemDetails
	if json.Unmarshal(data, &p) == nil && (p.Title != nil || p.Detail != nil || p.Status != nil) {
		e.Problem = c.redactProblem(&p)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		e.RetryAfter = retryWait(resp.Header, c.now())
	}
	if e.Kind == ErrRedirect {
		e.Location = c.redirectTarget(resp)
	}
	return e
}

// redirectTarget is a 3xx's Location, resolved against the request,
// without what may carry a secret: query, fragment, user info.
func (c *Client) redirectTarget(resp *http.Response) string {
	u, err := resp.Location()
	if err != nil {
		return ""
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	return c.redact(u.String())
}

func kindOf(k *call, status int) error {
	switch {
	case status >= 300 && status < 400:
		return ErrRedirect
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status == http.StatusForbidden:
		return ErrForbidden
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusUnprocessableEntity && isSMERoute(k.route):
		return ErrSMEDisabled
	case status == http.StatusTooManyRequests:
		return ErrRateLimited
	case status >= 400 && status < 500:
		return ErrBadRequest
	default:
		return ErrServer
	}
}

func isSMERoute(route string) bool {
	return strings.HasPrefix(route, "/tags/{tagId}/subject-matter-experts")
}

// capString cuts s to at most n bytes without splitting a UTF-8 sequence.
func capString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut > n-4 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

const redacted = "[REDACTED]"

// minScrubbed is the shortest token scrub looks for in error texts.
const minScrubbed = 8

// redact removes the token from text that came from the server: a proxy
// or a misbehaving server may echo the Authorization header back.
func (c *Client) redact(s string) string {
	return strings.ReplaceAll(s, c.token, redacted)
}

func (c *Client) redactProblem(p *ProblemDetails) *ProblemDetails {
	for _, f := range []*string{p.Type, p.Title, p.Detail, p.Instance} {
		if f != nil {
			*f = c.redact(*f)
		}
	}
	return p
}

// redactedError hides the token in the text of an error that did not come
// from checkResponse (transport errors), keeping it unwrappable.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// scrub is applied to every error a public method returns.
// Tokens shorter than minScrubbed are left alone: no real token is that
// short, and replacing a two-letter test token would mangle route names.
func (c *Client) scrub(err error) error {
	if err == nil || len(c.token) < minScrubbed || !strings.Contains(err.Error(), c.token) {
		return err
	}
	return &redactedError{msg: c.redact(err.Error()), err: err}
}

// transportError is a request that got no HTTP answer: a connection error
// or the per-attempt timeout. For a write that was sent it is ambiguous:
// the server may have applied it (see OutcomeUnknown).
type transportError struct {
	method, route string
	err           error
	sent          bool // the server may have received the request
}

func (e *transportError) Error() string {
	return fmt.Sprintf("teams: %s %s: %v", e.method, e.route, e.err)
}
func (e *transportError) Unwrap() error { return e.err }

// IgnoredUsersError is a write the API accepted (2xx) whose answer, which
// lists the members after it, lacks user ids the write sent. REFERENCE.md
// §9.5 leaves open whether an unknown user id is refused or ignored; an id
// ignored would otherwise read as added, run after run.
type IgnoredUsersError struct {
	Method, Route string
	IDs           []int
}

func (e *IgnoredUsersError) Error() string {
	return fmt.Sprintf("teams: %s %s: the API accepted the write, but its answer lacks user %s: those accounts may be gone, and were not added",
		e.Method, e.Route, strings.Trim(fmt.Sprint(e.IDs), "[]"))
}

// CheckAdded returns an *IgnoredUsersError when after, the member ids a
// write's answer lists, lacks some of sent. A nil after (an answer without
// the list) says nothing either way; an empty one is a list.
func CheckAdded(method, route string, sent, after []int) error {
	if after == nil {
		return nil
	}
	have := make(map[int]bool, len(after))
	for _, id := range after {
		have[id] = true
	}
	var missing []int
	for _, id := range sent {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &IgnoredUsersError{Method: method, Route: route, IDs: missing}
}

// UnknownUsers returns those of sent, the user ids of a write the API
// refused (or accepted while ignoring some: IgnoredUsersError), that the refusal says may not exist. REFERENCE.md §9.5 leaves
// open whether an unknown user id is answered 404 or 400: a 404 may be
// about any of them (or the group or tag itself), so it gives all of sent;
// a 400 gives the ids its text names beside the word "user" ("User 13 not
// found"), and nothing when it names none (a body refused for another
// reason says nothing about the ids). Any other error gives nil.
func UnknownUsers(err error, sent []int) []int {
	var ignored *IgnoredUsersError
	if errors.As(err, &ignored) {
		return slices.DeleteFunc(slices.Clone(sent), func(id int) bool { return !slices.Contains(ignored.IDs, id) })
	}
	var e *Error
	if len(sent) == 0 || !errors.As(err, &e) {
		return nil
	}
	switch e.Kind {
	case ErrNotFound:
		return slices.Clone(sent)
	case ErrBadRequest:
	default:
		return nil
	}
	text := e.Body
	if e.Problem != nil {
		for _, f := range []*string{e.Problem.Title, e.Problem.Detail} {
			if f != nil {
				text += " " + *f
			}
		}
	}
	if !strings.Contains(strings.ToLower(text), "user") {
		return nil
	}
	named := map[int]bool{}
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return r < '0' || r > '9' }) {
		if n, err := strconv.Atoi(w); err == nil {
			named[n] = true
		}
	}
	var out []int
	for _, id := range sent {
		if named[id] {
			out = append(out, id)
		}
	}
	return out
}
