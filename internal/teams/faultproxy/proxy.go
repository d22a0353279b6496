// Package faultproxy puts a misbehaving network and API between a Teams API
// client and an API fake (the emulator package or any http.Handler), so
// that tests in any package can check what a client makes of empty
// answers, short or shifting pages, lost answers to writes, 5xx, resets,
// redirects and oversized answers.
//
// A Proxy is an http.Handler; serve it with httptest.NewServer (faults that
// reset or hold a connection need a real one). Rules pick requests by
// method, route and page, and by their ordinal among the requests the rule
// matches; the first rule that applies to a request injects its Fault.
//
//	p := faultproxy.New(emulator,
//		faultproxy.Rule{Method: "GET", Path: "/user-groups", Page: 2, Fault: faultproxy.NullItems()},
//		faultproxy.Rule{Method: "POST", Path: "/user-groups", Fault: faultproxy.LoseAnswer()},
//	)
//	srv := httptest.NewServer(p)
//
// The proxy works on the JSON of API v3 (the paging envelope of
// REFERENCE.md §4: totalCount, pageSize, page, totalPages, items), not on
// the client's types, so it cannot share a client's mistakes.
package faultproxy

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Fault answers one request in place of the API. next is the API (seen
// through the deletions Hide made); a fault may forward to it, before or
// after misbehaving.
type Fault func(w http.ResponseWriter, r *http.Request, next http.Handler)

// Rule says which requests get a fault.
type Rule struct {
	// Method matches the request method; "" matches any.
	Method string
	// Path is the route below the base URL, "/user-groups/*/members"
	// style: it matches the end of the request path segment by segment,
	// "*" matching any one segment. "" matches any path.
	Path string
	// Page, when > 0, matches only requests for that page (the page query
	// parameter; a list request without one is page 1).
	Page int
	// Nth is the first matching request the fault applies to, counting
	// from 1; 0 means the first.
	Nth int
	// Times is how many matching requests get the fault from Nth on:
	// 0 means one, a negative number every one.
	Times int
	// Fault is what those requests get.
	Fault Fault
}

// Proxy forwards requests to an API handler and injects faults.
type Proxy struct {
	next http.Handler

	mu      sync.Mutex
	rules   []*rule
	hidden  map[string]map[int]bool // collection path -> ids deleted through Hide
	applied int
	log     []string

	// inflight counts the requests being handled; idle is signalled when
	// it drops to zero. Not a WaitGroup: a request may arrive while Wait
	// waits (a client's transport sending one after its caller gave up).
	imu      sync.Mutex
	inflight int
	idle     *sync.Cond
}

type rule struct {
	Rule
	seen int // matching requests so far
}

// New returns a proxy in front of next with the given rules.
func New(next http.Handler, rules ...Rule) *Proxy {
	p := &Proxy{next: next, hidden: map[string]map[int]bool{}}
	p.idle = sync.NewCond(&p.imu)
	p.Add(rules...)
	return p
}

// Add appends rules; they apply to requests from now on.
func (p *Proxy) Add(rules ...Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range rules {
		p.rules = append(p.rules, &rule{Rule: r})
	}
}

// Applied is the number of requests that got a fault so far.
func (p *Proxy) Applied() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.applied
}

// Log lists the requests seen, "METHOD PATH?QUERY", with " FAULT" after
// those that got one.
func (p *Proxy) Log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

// Wait blocks until every request the proxy is handling has been
// answered or forwarded: a write held or delayed by a fault has landed.
func (p *Proxy) Wait() {
	p.imu.Lock()
	defer p.imu.Unlock()
	for p.inflight > 0 {
		p.idle.Wait()
	}
}

func (p *Proxy) begin() {
	p.imu.Lock()
	p.inflight++
	p.imu.Unlock()
}

func (p *Proxy) end() {
	p.imu.Lock()
	if p.inflight--; p.inflight == 0 {
		p.idle.Broadcast()
	}
	p.imu.Unlock()
}

// ServeHTTP applies the first rule that matches r, else forwards r.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.begin()
	defer p.end()
	v := view{p}
	if f := p.match(r); f != nil {
		f(w, r, v)
		return
	}
	v.ServeHTTP(w, r)
}

// match counts r against every rule and returns the fault of the first
// that applies, or nil.
func (p *Proxy) match(r *http.Request) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	entry := r.Method + " " + r.URL.RequestURI()
	var found Fault
	for _, ru := range p.rules {
		if !ru.matches(r) {
			continue
		}
		ru.seen++
		if found == nil && ru.due() {
			found = ru.Fault
		}
	}
	if found != nil {
		p.applied++
		entry += " FAULT"
	}
	p.log = append(p.log, entry)
	return found
}

func (ru *rule) matches(r *http.Request) bool {
	if ru.Method != "" && !strings.EqualFold(ru.Method, r.Method) {
		return false
	}
	if ru.Page > 0 && pageOf(r) != ru.Page {
		return false
	}
	return pathMatches(ru.Path, r.URL.Path)
}

// due tells whether the request just counted gets the fault.
func (ru *rule) due() bool {
	first := max(ru.Nth, 1)
	if ru.seen < first {
		return false
	}
	return ru.Times < 0 || ru.seen < first+max(ru.Times, 1)
}

// pathMatches matches pattern against the last segments of path.
func pathMatches(pattern, path string) bool {
	if pattern == "" {
		return true
	}
	want := strings.Split(strings.Trim(pattern, "/"), "/")
	got := strings.Split(strings.Trim(path, "/"), "/")
	if len(got) < len(want) {
		return false
	}
	got = got[len(got)-len(want):]
	for i, w := range want {
		if w != "*" && !strings.EqualFold(w, got[i]) {
			return false
		}
	}
	return true
}

// pageOf is the page a request asks for; 1 when it does not say.
func pageOf(r *http.Request) int {
	for k, v := range r.URL.Query() {
		if strings.EqualFold(k, "page") && len(v) > 0 {
			if n, err := strconv.Atoi(v[0]); err == nil {
				return n
			}
		}
	}
	return 1
}
