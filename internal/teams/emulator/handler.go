package emulator

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// call is one request being served: where it came in and who sent it.
type call struct {
	e     *Emulator
	site  string // siteURL, once computed
	w     http.ResponseWriter
	r     *http.Request
	team  string   // "" for the Enterprise main site
	base  string   // path prefix of the base URL form, e.g. "/v3/teams/acme"
	route string   // route template, e.g. "/user-groups/{userGroupId}"
	args  []string // raw (still escaped) path segments in the {…} positions
	token SeedToken
}

// route is one operation the emulator serves.
type route struct {
	method   string
	template string
	need     perm
	handle   func(e *Emulator, c *call)
}

// perm is what a token needs for an operation (REFERENCE.md §2.2).
type perm int

const (
	anyone    perm = iota // any valid token of the team
	groupsW               // a write token of an admin: user groups
	smesW                 // a write token of an admin or a moderator: SMEs
	adminRead             // an admin's token: /users/manage
)

func (p perm) write() bool { return p == groupsW || p == smesW }

// routes lists every operation, in the route templates shared with the
// client's hooks and metrics.
var routes = []route{
	{"GET", "/users", anyone, (*Emulator).listUsers},
	{"GET", "/users/me", anyone, (*Emulator).me},
	{"GET", "/users/manage", adminRead, (*Emulator).manageUsers},
	{"GET", "/users/by-email/{email}", anyone, (*Emulator).userByEmail},
	{"GET", "/users/by-external-id/{externalId}", anyone, (*Emulator).usersByExternalID},
	{"GET", "/users/{userId}", anyone, (*Emulator).getUser},
	{"GET", "/user-groups", anyone, (*Emulator).listGroups},
	{"POST", "/user-groups", groupsW, (*Emulator).createGroup},
	{"GET", "/user-groups/{userGroupId}", anyone, (*Emulator).getGroup},
	{"PUT", "/user-groups/{userGroupId}", groupsW, (*Emulator).replaceGroup},
	{"POST", "/user-groups/{userGroupId}/members", groupsW, (*Emulator).addMembers},
	{"DELETE", "/user-groups/{userGroupId}/members/{userId}", groupsW, (*Emulator).removeMember},
	{"GET", "/tags", anyone, (*Emulator).listTags},
	{"GET", "/tags/{tagId}", anyone, (*Emulator).getTag},
	{"GET", "/tags/{tagId}/subject-matter-experts", anyone, (*Emulator).getSMEs},
	{"PUT", "/tags/{tagId}/subject-matter-experts", smesW, (*Emulator).replaceSMEs},
	{"POST", "/tags/{tagId}/subject-matter-experts/users", smesW, (*Emulator).addSMEUsers},
	{"POST", "/tags/{tagId}/subject-matter-experts/user-groups", smesW, (*Emulator).addSMEGroups},
	{"DELETE", "/tags/{tagId}/subject-matter-experts/users/{userId}", smesW, (*Emulator).removeSMEUser},
	{"DELETE", "/tags/{tagId}/subject-matter-experts/user-groups/{userGroupId}", smesW, (*Emulator).removeSMEGroup},
}

// refuses says why the call's token may not do what rt needs, or "".
// The texts are those the spec gives for 403: "Forbidden", and for a
// group create "Inadequate permissions".
func (e *Emulator) refuses(c *call, need perm) (title, detail string) {
	t := c.token
	switch {
	case need.write() && !t.Write:
		return "Forbidden", "This access token does not allow write access."
	case need == groupsW && !t.Admin && !e.permissive:
		return "Inadequate permissions", "Only admins can manage user groups."
	case need == smesW && !t.Admin && !t.Moderator && !e.permissive:
		return "Inadequate permissions", "Only admins and moderators can manage subject matter experts."
	case need == adminRead && !t.Admin:
		return "Forbidden", "Only admins can manage users."
	}
	return "", ""
}

// ServeHTTP answers one API request. The steps follow what a request to
// the real service meets: the throttle and the infrastructure (faults)
// first, then routing, authentication, permissions and the operation.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	c := &call{e: e, w: sw, r: r}
	defer func() { e.record(r, c.route, sw.status()) }()
	if !e.delay(r.Context()) {
		sw.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if r.Header.Get("Origin") != "" {
		setCORS(sw.Header())
		if r.Method == http.MethodOptions {
			sw.WriteHeader(http.StatusNoContent)
			return
		}
	}
	rest, ok := c.splitBase()
	candidates := matchRoutes(rest, c)
	if e.throttled(c) || e.injectFault(c) {
		return
	}
	if !ok || len(candidates) == 0 {
		// An unknown URL: ASP.NET answers 404 with no body, which tells
		// clients "bad URL" apart from a JSON "object not found".
		sw.WriteHeader(http.StatusNotFound)
		return
	}
	if !e.authenticate(c) {
		return
	}
	rt, ok := pickMethod(candidates, r.Method)
	if !ok {
		methodNotAllowed(c, candidates)
		return
	}
	if title, detail := e.refuses(c, rt.need); title != "" {
		c.problem(http.StatusForbidden, title, detail)
		return
	}
	if rt.need.write() && e.loseResponse() {
		// Apply the write, then lose the answer on the way back.
		c.w = &discardWriter{header: http.Header{}}
		rt.handle(e, c)
		c.w = sw
		badGateway(sw)
		return
	}
	rt.handle(e, c)
}

// splitBase recognises the three base URL forms and returns the path
// below the base. Literal segments match case-insensitively, as ASP.NET
// routing does, and one trailing slash is ignored.
func (c *call) splitBase() (rest []string, ok bool) {
	p := strings.TrimSuffix(c.r.URL.EscapedPath(), "/")
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	is := func(i int, lit string) bool { return len(segs) > i && strings.EqualFold(segs[i], lit) }
	teamAt := -1 // index of the {team} segment, if any
	switch {
	case is(0, "v3") && is(1, "teams"):
		teamAt = 2 // Business: /v3/teams/{team}
	case is(0, "api") && is(1, "v3") && is(2, "teams") && len(segs) >= 5:
		teamAt = 3 // Enterprise private team: /api/v3/teams/{team}
	case is(0, "api") && is(1, "v3"):
		c.base = "/" + strings.Join(segs[:2], "/") // Enterprise main site
		return segs[2:], true
	default:
		return nil, false
	}
	if len(segs) <= teamAt+1 || segs[teamAt] == "" {
		return nil, false
	}
	c.team = unescape(segs[teamAt])
	c.base = "/" + strings.Join(segs[:teamAt+1], "/")
	return segs[teamAt+1:], true
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// matchRoutes returns the routes whose template matches the path, all
// with the same template (literal segments win over parameters, so
// /users/me is never /users/{userId}). It sets c.route and c.args.
func matchRoutes(rest []string, c *call) []route {
	if rest == nil {
		return nil
	}
	best, bestScore := "", -1
	var bestArgs []string
	for _, rt := range routes {
		if args, score, ok := matchTemplate(rt.template, rest); ok && score > bestScore {
			best, bestScore, bestArgs = rt.template, score, args
		}
	}
	var out []route
	for _, rt := range routes {
		if rt.template == best {
			out = append(out, rt)
		}
	}
	c.route, c.args = best, bestArgs
	return out
}

// matchTemplate matches path segments against a template; score counts
// the literal segments.
func matchTemplate(tmpl string, segs []string) (args []string, score int, ok bool) {
	parts := strings.Split(strings.TrimPrefix(tmpl, "/"), "/")
	if len(parts) != len(segs) {
		return nil, 0, false
	}
	for i, p := range parts {
		switch {
		case strings.HasPrefix(p, "{"):
			if segs[i] == "" {
				return nil, 0, false
			}
			args = append(args, segs[i])
		case strings.EqualFold(p, segs[i]):
			score++
		default:
			return nil, 0, false
		}
	}
	return args, score, true
}

func pickMethod(candidates []route, method string) (route, bool) {
	for _, rt := range candidates {
		if rt.method == method {
			return rt, true
		}
	}
	return route{}, false
}

// methodNotAllowed answers a method the route does not have, such as
// DELETE /user-groups/{id}: the API cannot delete groups. ASP.NET endpoint
// routing answers a known path with an unknown method 405, with an Allow
// header and no body.
func methodNotAllowed(c *call, candidates []route) {
	methods := make([]string, 0, len(candidates))
	for _, rt := range candidates {
		methods = append(methods, rt.method)
	}
	c.w.Header().Set("Allow", strings.Join(methods, ", "))
	c.w.WriteHeader(http.StatusMethodNotAllowed)
}

// authenticate checks the bearer token and its team. Failures are 401
// text/plain, as the spec says for every operation.
func (e *Emulator) authenticate(c *call) bool {
	auth := c.r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(auth, " ")
	e.mu.Lock()
	t, ok := e.tokens[strings.TrimSpace(tok)]
	e.mu.Unlock()
	if !strings.EqualFold(scheme, "Bearer") || !ok || !strings.EqualFold(t.Team, c.team) {
		c.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		c.w.WriteHeader(http.StatusUnauthorized)
		c.w.Write([]byte("Invalid access token"))
		return false
	}
	c.token = t
	return true
}

// bearer returns the presented token (valid or not): the throttle key.
func bearer(r *http.Request) string {
	_, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.TrimSpace(tok)
}

// delay waits the configured latency; false if the client gave up.
func (e *Emulator) delay(ctx context.Context) bool {
	if e.opt.Latency <= 0 {
		return true
	}
	t := time.NewTimer(e.opt.Latency)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// throttled accounts the request against its token's limits, sets the
// throttle headers and answers 429 when a limit is exhausted.
func (e *Emulator) throttled(c *call) bool {
	now := e.opt.Now()
	key := bearer(c.r)
	e.mu.Lock()
	l, ok := e.limits[key]
	if !ok {
		l = newLimiter(e.opt, now)
		e.limits[key] = l
	}
	b := l.take(e.opt, now, e.opt.NoThrottle)
	e.mu.Unlock()
	h := c.w.Header()
	h.Set("x-burst-throttle-calls-left", strconv.Itoa(b.burstLeft))
	h.Set("x-burst-throttle-seconds-until-full", strconv.Itoa(b.burstSecondsUntilFull))
	h.Set("x-token-bucket-calls-left", strconv.Itoa(b.bucketLeft))
	h.Set("x-token-bucket-seconds-until-full", strconv.Itoa(b.bucketSecondsUntilFull))
	h.Set("x-token-bucket-seconds-until-next-refill", strconv.Itoa(b.bucketSecondsToNext))
	if b.retryAfter == 0 {
		return false
	}
	h.Set("Retry-After", strconv.Itoa(b.retryAfter))
	c.problem(http.StatusTooManyRequests, "Too many requests",
		"Rate limit exceeded; retry after "+strconv.Itoa(b.retryAfter)+" seconds.")
	return true
}

// injectFault answers 500, 502 or 503 without applying, at FaultRate.
func (e *Emulator) injectFault(c *call) bool {
	e.mu.Lock()
	hit := e.faultRate > 0 && e.rng.Float64() < e.faultRate
	kind := 0
	if hit {
		kind = e.rng.IntN(3)
	}
	e.mu.Unlock()
	if !hit {
		return false
	}
	switch kind {
	case 0:
		c.w.WriteHeader(http.StatusInternalServerError)
	case 1:
		badGateway(c.w)
	default:
		c.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		c.w.WriteHeader(http.StatusServiceUnavailable)
		c.w.Write([]byte("Service Unavailable"))
	}
	return true
}

func (e *Emulator) loseResponse() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lostRate > 0 && e.rng.Float64() < e.lostRate
}

// badGateway is what a proxy in front of the API answers when the
// upstream connection breaks.
func badGateway(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadGateway)
	w.Write([]byte("Bad Gateway"))
}

func setCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
	h.Set("Access-Control-Expose-Headers", "Retry-After, x-burst-throttle-calls-left, x-burst-throttle-seconds-until-full, "+
		"x-token-bucket-calls-left, x-token-bucket-seconds-until-full, x-token-bucket-seconds-until-next-refill")
}

func (e *Emulator) record(r *http.Request, route string, status int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, Request{Method: r.Method, Path: r.URL.Path, Route: route, Status: status, Time: e.opt.Now()})
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch:
		e.writes++
	}
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// discardWriter swallows the answer of a write whose response is lost.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
