// Package adtest is an in-process LDAP server that behaves like Active
// Directory where it matters to syncd, for tests: range retrieval of large
// member attributes ("member;range=0-1499"), a 1,000-entry page cap with
// RFC 2696 paging (plain searches past it fail with sizeLimitExceeded), the
// in-chain matching rule 1.2.840.113556.1.4.1941 on memberOf, the bitwise
// rule 1.2.840.113556.1.4.803, binary objectGUID/objectSid values and fault
// injection. It is built on github.com/vjeantet/ldapserver for connections
// and binds; search results are encoded here because they need response
// controls.
package adtest

import (
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
	"github.com/lor00x/goldap/message"
	"github.com/vjeantet/ldapserver"

	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
)

func init() { ldapserver.Logger = log.New(io.Discard, "", 0) }

// Matching rules Active Directory implements and syncd uses.
const (
	RuleInChain = "1.2.840.113556.1.4.1941"
	RuleBitAnd  = "1.2.840.113556.1.4.803"
)

// Fault lets a test answer a search with a failure instead of data.
type Fault struct {
	Code     int    // LDAP result code to answer with (0: none)
	Referral string // answer with this continuation reference, then success
	// Referrals answers with these continuation references after the
	// entries (as Active Directory does from a domain root).
	Referrals []string
	// OmitAttributes answers with the entries but none of their attributes
	// (a server that stops handing over a range).
	OmitAttributes bool
	// Empty answers success with no entries (a server that does not know a
	// matching rule and says nothing, as OpenLDAP does).
	Empty bool
}

// Server is a running AD-like server.
type Server struct {
	URL    string
	BindDN string
	BindPW string
	// MaxPageSize caps entries per page and per plain search (AD: 1000).
	MaxPageSize int
	// RangeSize is how many values of a multi-valued attribute one answer
	// holds before range retrieval is needed (AD: 1500).
	RangeSize int
	// RootDSE is the entry a base search of "" returns: by default the
	// supportedCapabilities of Active Directory.
	RootDSE *ldap.Entry

	mu       sync.Mutex
	entries  []*ldap.Entry
	canon    []string // canonical DNs of entries
	byDN     map[string]*ldap.Entry
	pages    map[string][]*ldap.Entry // results of paged searches in progress
	searches int
	fault    func(base, filter string, attrs []string) Fault
	srv      *ldapserver.Server
	writeMu  sync.Mutex
}

// Start serves entries on a free loopback port until the test ends.
// Attribute names of entries must be lower-case.
func Start(tb testing.TB, entries []*ldap.Entry) *Server {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := backend.Addr().String()
	backend.Close()
	s := &Server{URL: "ldap://" + l.Addr().String(), BindDN: "CN=svc-syncd,OU=Service,DC=corp,DC=example",
		BindPW: "ad-secret", MaxPageSize: 1000, RangeSize: 1500, byDN: map[string]*ldap.Entry{},
		RootDSE: &ldap.Entry{Attrs: map[string][]string{
			"supportedcapabilities": {"1.2.840.113556.1.4.800", "1.2.840.113556.1.4.1670", "1.2.840.113556.1.4.1791"},
			"defaultnamingcontext":  {"DC=corp,DC=example"},
		}}}
	s.SetEntries(entries)
	mux := ldapserver.NewRouteMux()
	mux.Bind(s.handleBind)
	mux.Search(s.handleSearch)
	mux.NotFound(func(w ldapserver.ResponseWriter, m *ldapserver.Message) {
		w.Write(ldapserver.NewResponse(ldapserver.LDAPResultUnwillingToPerform))
	})
	s.srv = ldapserver.NewServer()
	s.srv.Handle(mux)
	go func() { _ = s.srv.ListenAndServe(addr) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("adtest: server did not start: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Clients only ever reach the server through the proxy; closing it ends
	// every session. ldapserver's own Stop races with its accept loop (and
	// its listener cannot be closed without crashing that loop), so the
	// backend is left idle until the test binary exits.
	slapdtest.Serve(tb, l, func(c net.Conn) { proxyConn(c, addr) })
	return s
}

// SetEntries replaces the directory's content.
func (s *Server) SetEntries(entries []*ldap.Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = entries
	s.canon = make([]string, len(entries))
	s.pages = map[string][]*ldap.Entry{}
	s.byDN = make(map[string]*ldap.Entry, len(entries))
	for i, e := range entries {
		s.canon[i] = directory.CanonicalDN(e.DN)
		s.byDN[s.canon[i]] = e
	}
}

// SetFault installs fn, asked before each search is answered (nil: none).
func (s *Server) SetFault(fn func(base, filter string, attrs []string) Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = fn
}

// Searches returns how many searches were answered.
func (s *Server) Searches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.searches
}

func (s *Server) handleBind(w ldapserver.ResponseWriter, m *ldapserver.Message) {
	r := m.GetBindRequest()
	name, pw := string(r.Name()), ""
	if p, ok := r.Authentication().(message.OCTETSTRING); ok {
		pw = string(p)
	}
	code := ldapserver.LDAPResultSuccess
	if name != "" && (!strings.EqualFold(name, s.BindDN) || pw != s.BindPW) {
		code = ldapserver.LDAPResultInvalidCredentials
	}
	w.Write(ldapserver.NewBindResponse(code))
}

// request is a decoded search request.
type request struct {
	id       int64
	base     string
	scope    int
	filter   *ber.Packet
	attrs    []string
	paged    bool
	pageSize int
	cookie   string
}

func (s *Server) handleSearch(_ ldapserver.ResponseWriter, m *ldapserver.Message) {
	raw := append([]byte(nil), m.Client.GetRaw()...)
	conn := m.Client.GetConn()
	req, err := decodeSearch(raw)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.searches++
	s.mu.Unlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	out := &responder{conn: conn, id: req.id}
	s.answer(out, req)
}

func (s *Server) answer(out *responder, req *request) {
	filterStr, _ := goldap.DecompileFilter(withoutDNAttributes(req.filter))
	var f Fault
	s.mu.Lock()
	hook := s.fault
	s.mu.Unlock()
	if hook != nil {
		f = hook(req.base, filterStr, req.attrs)
	}
	if f.Code != 0 {
		out.done(f.Code, "injected fault", nil)
		return
	}
	if f.Referral != "" {
		out.referral(f.Referral)
	}
	if f.Empty {
		out.done(ldapserver.LDAPResultSuccess, "", []goldap.Control{goldap.NewControlPaging(0)})
		return
	}
	if req.scope == goldap.ScopeBaseObject && req.base != "" && !s.exists(req.base) {
		out.done(ldapserver.LDAPResultNoSuchObject, "no such object", nil)
		return
	}
	if f.OmitAttributes {
		req.attrs = []string{"1.1"}
	}
	s.mu.Lock()
	key := fmt.Sprintf("%s|%d|%s|%q", req.base, req.scope, filterStr, req.attrs)
	matches, ok := s.pages[key]
	if !ok || req.cookie == "" {
		matches = s.match(req)
		s.pages[key] = matches
	}
	s.mu.Unlock()
	if req.paged {
		s.answerPage(out, req, matches, f.Referrals)
		return
	}
	for _, ref := range f.Referrals {
		out.referral(ref)
	}
	code := ldapserver.LDAPResultSuccess
	if len(matches) > s.MaxPageSize {
		matches, code = matches[:s.MaxPageSize], ldapserver.LDAPResultSizeLimitExceeded
	}
	for _, e := range matches {
		out.entry(e.DN, s.attributes(e, req.attrs))
	}
	out.done(code, "", nil)
}

func (s *Server) answerPage(out *responder, req *request, matches []*ldap.Entry, refs []string) {
	size := req.pageSize
	if size <= 0 || size > s.MaxPageSize {
		size = s.MaxPageSize
	}
	from := 0
	if req.cookie != "" {
		n, err := strconv.Atoi(req.cookie)
		if err != nil || n > len(matches) {
			out.done(ldapserver.LDAPResultUnwillingToPerform, "paged results cookie is invalid", nil)
			return
		}
		from = n
	}
	to := min(from+size, len(matches))
	for _, e := range matches[from:to] {
		out.entry(e.DN, s.attributes(e, req.attrs))
	}
	next := ""
	if to < len(matches) {
		next = strconv.Itoa(to)
	} else {
		for _, ref := range refs { // on the last page, as AD sends them
			out.referral(ref)
		}
	}
	pc := goldap.NewControlPaging(0)
	pc.SetCookie([]byte(next))
	out.done(ldapserver.LDAPResultSuccess, "", []goldap.Control{pc})
}

func (s *Server) exists(dn string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byDN[directory.CanonicalDN(dn)] != nil
}

// match returns the entries in scope that satisfy the filter, in order.
func (s *Server) match(req *request) []*ldap.Entry {
	var out []*ldap.Entry
	m, err := newMatcher(s, req.filter)
	if err != nil {
		return nil
	}
	if req.scope == goldap.ScopeBaseObject && req.base == "" {
		if s.RootDSE != nil {
			out = append(out, s.RootDSE)
		}
		return out
	}
	if req.scope == goldap.ScopeBaseObject {
		if e := s.byDN[directory.CanonicalDN(req.base)]; e != nil && m.match(e) {
			out = append(out, e)
		}
		return out
	}
	base := directory.CanonicalDN(req.base)
	for i, e := range s.entries {
		if inScope(s.canon[i], base, req.scope) && m.match(e) {
			out = append(out, e)
		}
	}
	return out
}

// attributes selects the requested attributes, applying range retrieval
// to values past RangeSize.
func (s *Server) attributes(e *ldap.Entry, want []string) map[string][]string {
	out := map[string][]string{}
	all := len(want) == 0 || (len(want) == 1 && want[0] == "*")
	for name, vals := range e.Attrs {
		if all {
			s.put(out, name, vals, 0)
		}
	}
	for _, w := range want {
		lw := strings.ToLower(w)
		attr, spec, ranged := strings.Cut(lw, ";range=")
		vals, ok := e.Attrs[attr]
		if !ok || all {
			continue
		}
		from := 0
		if ranged {
			lo, _, _ := strings.Cut(spec, "-")
			from, _ = strconv.Atoi(lo)
		}
		s.put(out, attr, vals, from)
	}
	return out
}

func (s *Server) put(out map[string][]string, attr string, vals []string, from int) {
	if len(vals) <= s.RangeSize && from == 0 {
		out[attr] = vals
		return
	}
	from = min(from, len(vals))
	to := min(from+s.RangeSize, len(vals))
	hi := strconv.Itoa(to - 1)
	if to == len(vals) {
		hi = "*"
	}
	out[fmt.Sprintf("%s;range=%d-%s", attr, from, hi)] = vals[from:to]
}

func inScope(dn, base string, scope int) bool {
	if scope == goldap.ScopeSingleLevel {
		i := strings.Index(dn, ",")
		return i >= 0 && dn[i+1:] == base
	}
	return dn == base || strings.HasSuffix(dn, ","+base)
}

// SetRangeSize changes how many values of an attribute one answer holds
// (Active Directory's MaxValRange) for the searches that follow.
func (s *Server) SetRangeSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.RangeSize = n
}
