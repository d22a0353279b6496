package teams

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Sentinels of the errors that say what a caller may conclude from a
// failed read or write, for errors.Is.
var (
	// ErrIncomplete: a read did not provably return everything (see
	// IncompleteError). Nothing may be created or removed on its evidence.
	ErrIncomplete = errors.New("not complete")
	// ErrUnconfirmed: a write was accepted (2xx) but its answer could not
	// be read (see UnconfirmedError).
	ErrUnconfirmed = errors.New("the API accepted the write but its answer could not be read; read again to confirm")
	// ErrGroupExists: CreateUserGroup refused to create a group whose name
	// is already taken (see GroupExistsError).
	ErrGroupExists = errors.New("a user group of that name already exists")
	// ErrTooLarge: an answer was larger than the client accepts (see
	// TooLargeError).
	ErrTooLarge = errors.New("answer too large")
)

// IncompleteError is a read whose answer does not provably hold
// everything: a 200 without a JSON object, a listing whose items are
// missing or null, whose pages do not add up to its totalCount, or whose
// totalCount changed while it was read (read again from page 1 a few
// times first). errors.Is(err, ErrIncomplete) holds.
type IncompleteError struct {
	Method string
	Route  string // route template, e.g. "/user-groups"
	// Listing names what was read, in words: "user groups", "users",
	// "tags", "a tag's SMEs", "a user group", ...
	Listing string
	// Page is the page that showed the problem; 0 for a single object.
	Page int
	// Reason says what was inconsistent, with the counts.
	Reason string
	// Reads is how many times the listing was read from page 1.
	Reads int
}

func (e *IncompleteError) Error() string {
	var b strings.Builder
	what := "listing of"
	if !isListRoute(e.Route) {
		what = "answer with"
	}
	fmt.Fprintf(&b, "teams: %s %s: the Teams %s %s was not complete", e.Method, e.Route, what, e.Listing)
	if e.Page > 0 {
		fmt.Fprintf(&b, " (page %d)", e.Page)
	}
	fmt.Fprintf(&b, ": %s", e.Reason)
	if e.Reads > 1 {
		fmt.Fprintf(&b, " (read %d times)", e.Reads)
	}
	return b.String()
}

func (e *IncompleteError) Unwrap() error { return ErrIncomplete }

// UnconfirmedError is a write the API accepted (2xx) whose answer was
// empty, not JSON, cut off or without what it must hold. The write may
// well have been applied; only a read can tell. With Status 0 it is a
// create refused because an earlier one of the name is in that state.
// errors.Is(err, ErrUnconfirmed) holds, and OutcomeUnknown(err).
type UnconfirmedError struct {
	Method string
	Route  string
	Status int
	Reason string // what was wrong with the answer
	Err    error  // the underlying error, if any
}

func (e *UnconfirmedError) Error() string {
	if e.Status == 0 { // refused before sending, see CreateUserGroup
		return fmt.Sprintf("teams: %s %s: %s", e.Method, e.Route, e.Reason)
	}
	return fmt.Sprintf("teams: %s %s: %d, but %s: %v", e.Method, e.Route, e.Status, e.Reason, ErrUnconfirmed)
}

func (e *UnconfirmedError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrUnconfirmed}
	}
	return []error{ErrUnconfirmed, e.Err}
}

// GroupExistsError is a create refused because groups of that name
// (compared case-insensitively) exist: in the client's latest complete
// listing, or, after a create whose answer was lost, more than one new one.
type GroupExistsError struct {
	Name string
	IDs  []int // the groups of that name, ascending
}

func (e *GroupExistsError) Error() string {
	ids := make([]string, len(e.IDs))
	for i, id := range e.IDs {
		ids[i] = strconv.Itoa(id)
	}
	word := "id"
	if len(ids) > 1 {
		word = "ids"
	}
	return fmt.Sprintf("teams: create user group %q: %v (%s %s)", e.Name, ErrGroupExists, word, strings.Join(ids, ", "))
}

func (e *GroupExistsError) Unwrap() error { return ErrGroupExists }

// TooLargeError is an answer cut off at the client's size limit, which
// comes from the process's memory limit when one is set (see
// Options.MaxResponseBytes). errors.Is(err, ErrTooLarge) holds.
type TooLargeError struct {
	Method string
	Route  string
	Limit  int64  // bytes
	Source string // why the limit is what it is, and how to raise it
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("teams: %s %s: the answer is larger than %s, the most one answer may hold (%s)",
		e.Method, e.Route, mib(e.Limit), e.Source)
}

func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// OutcomeUnknown tells whether a failed write may or may not have been
// applied: a transport error or timeout after the request may have been
// sent, a 5xx answer to a write, or an unreadable answer (ErrUnconfirmed).
// It is false for nil, for reads, and for failures that prove the write
// was not applied: a clear 4xx, a 429, a 3xx, an error before sending
// (connection refused, context done before sending). A caller records
// such a write as "unknown" and reads before deciding anything on it.
func OutcomeUnknown(err error) bool {
	switch e := err.(type) {
	case nil:
		return false
	case *transportError:
		return e.method != http.MethodGet && e.sent
	case *Error:
		return e.Method != http.MethodGet && e.Status >= 500
	case *UnconfirmedError:
		return true
	}
	if err == ErrUnconfirmed {
		return true
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return OutcomeUnknown(u.Unwrap())
	case interface{ Unwrap() []error }:
		return slices.ContainsFunc(u.Unwrap(), OutcomeUnknown)
	}
	return false
}

// listingNames says what a route reads, for IncompleteError.
var listingNames = map[string]string{
	routeUsers:           "users",
	routeUser:            "a user",
	routeMe:              "the token's user",
	routeUserByEmail:     "a user by e-mail",
	routeUsersByExternal: "users by external id",
	routeGroups:          "user groups",
	routeGroup:           "a user group",
	routeTags:            "tags",
	routeTag:             "a tag",
	routeSMEs:            "a tag's SMEs",
}

func isListRoute(route string) bool {
	return route == routeUsers || route == routeGroups || route == routeTags
}

func listingOf(route string) string {
	if n, ok := listingNames[route]; ok {
		return n
	}
	return route
}
