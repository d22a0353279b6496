package metrics

import (
	"strconv"
	"time"
)

// Routes are the Teams API route templates the client reports (relative to
// the base URL). Anything else is counted as "other" so that a URL with an
// id in it can never become a label value.
var routes = []string{
	"/users", "/users/{userId}", "/users/me", "/users/by-email/{email}",
	"/users/by-external-id/{externalId}",
	"/user-groups", "/user-groups/{userGroupId}", "/user-groups/{userGroupId}/members",
	"/user-groups/{userGroupId}/members/{userId}",
	"/tags", "/tags/{tagId}", "/tags/{tagId}/subject-matter-experts",
	"/tags/{tagId}/subject-matter-experts/users", "/tags/{tagId}/subject-matter-experts/user-groups",
	"/tags/{tagId}/subject-matter-experts/users/{userId}",
	"/tags/{tagId}/subject-matter-experts/user-groups/{userGroupId}",
}

var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

var limiters = []string{"burst", "bucket"}

// TeamsHook observes the Teams API client. It implements the client's Hook
// interface (Request, ThrottleWait, RateLimit).
type TeamsHook struct{ m *Metrics }

// TeamsHook returns the observer to pass as teams.Options.Hook.
func (m *Metrics) TeamsHook() TeamsHook { return TeamsHook{m: m} }

// Request counts one HTTP request; code 0 means no response (transport error).
func (h TeamsHook) Request(method, route string, code int, d time.Duration) {
	route = bounded(route, routes)
	h.m.requests.WithLabelValues(bounded(method, methods), route, statusLabel(code)).Inc()
	h.m.requestDuration.WithLabelValues(route).Observe(d.Seconds())
}

// ThrottleWait adds time spent pacing requests or honouring Retry-After.
func (h TeamsHook) ThrottleWait(d time.Duration) {
	if d > 0 {
		h.m.throttleWait.Add(d.Seconds())
	}
}

// RateLimit records what a rate limiter ("burst" or "bucket") has left.
func (h TeamsHook) RateLimit(limiter string, remaining int) {
	h.m.rateLimitRemaining.WithLabelValues(bounded(limiter, limiters)).Set(float64(remaining))
}

func statusLabel(code int) string {
	if code < 100 || code > 599 {
		return "error"
	}
	return strconv.Itoa(code)
}
