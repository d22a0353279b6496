package ldap

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
)

// fakeServer is a scripted LDAP server on a loopback port, for what real
// servers rarely do on demand: long-form lengths, intermediate responses,
// notices of disconnection, stalls, oversize or mismatched messages. Each
// request is handed to the handler, which writes the answer (or nothing).
type fakeServer struct {
	url   string
	long  bool        // encode every length in the 4-byte long form
	tls   *tls.Config // StartTLS, or TLS from the start with ldaps
	ldaps bool

	mu    sync.Mutex
	ops   []string   // "bind", "starttls", "search <base>", "unbind" in arrival order
	conns [][]string // the same per connection, in the order they were accepted
}

// fakeRequest is one decoded request.
type fakeRequest struct {
	id     int64
	op     byte
	base   string // searches
	attrs  []string
	cookie []byte // paging cookie of a search
	paged  bool
}

// fakeConn answers one client.
type fakeConn struct {
	s    *fakeServer
	conn net.Conn
	r    *wireConn // used to read the client's messages
	n    int       // its number, in the order accepted
}

func startFake(t *testing.T, s *fakeServer, handle func(c *fakeConn, req fakeRequest)) *fakeServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.url = "ldap://" + l.Addr().String()
	if s.ldaps {
		s.url = "ldaps://" + l.Addr().String()
		l = tls.NewListener(l, s.tls)
	}
	slapdtest.Serve(t, l, func(c net.Conn) { s.serve(c, handle) })
	return s
}

func (s *fakeServer) serve(c net.Conn, handle func(*fakeConn, fakeRequest)) {
	defer c.Close()
	fc := &fakeConn{s: s, conn: c, r: newWireConn(c, time.Hour), n: s.accepted()}
	for {
		req, err := fc.read()
		if err != nil {
			return
		}
		if req.op == appExtendedRequest && s.tls != nil && !s.ldaps {
			fc.record("starttls")
			fc.write(s.msg(req.id, s.result(appExtendedResp, 0, "")))
			t := tls.Server(c, s.tls)
			if t.Handshake() != nil {
				return
			}
			fc.conn, fc.r = t, newWireConn(t, time.Hour)
			continue
		}
		switch req.op {
		case appBindRequest:
			fc.record("bind")
		case appSearchRequest:
			fc.record("search " + req.base)
		case appUnbindRequest:
			fc.record("unbind")
			return
		}
		handle(fc, req)
	}
}

func (s *fakeServer) accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns = append(s.conns, nil)
	return len(s.conns) - 1
}

func (c *fakeConn) record(op string) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.ops = append(c.s.ops, op)
	c.s.conns[c.n] = append(c.s.conns[c.n], op)
}

// seenOn returns the operations of each connection.
func (s *fakeServer) seenOn() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]string, len(s.conns))
	for i, ops := range s.conns {
		out[i] = slices.Clone(ops)
	}
	return out
}

func (s *fakeServer) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ops...)
}

func (c *fakeConn) read() (fakeRequest, error) {
	msg, err := c.r.readMessage()
	if err != nil {
		return fakeRequest{}, err
	}
	var req fakeRequest
	if req.id, err = msg.int(tagInteger); err != nil {
		return req, err
	}
	req.op = msg.peek()
	op, err := msg.sub(req.op)
	if err != nil {
		return req, err
	}
	if req.op == appSearchRequest {
		base, _ := op.bytes(tagOctetString)
		req.base = string(base)
		for range 6 { // scope, deref, size, time, typesOnly, filter
			op.off = skip(op)
		}
		if list, err := op.sub(tagSequence); err == nil {
			for list.more() {
				a, _ := list.bytes(tagOctetString)
				req.attrs = append(req.attrs, string(a))
			}
		}
	}
	if msg.more() && msg.peek() == ctxControls {
		ctrls, _ := msg.sub(ctxControls)
		req.paged = true
		req.cookie, _, _ = pagingCookie(ctrls)
	}
	return req, nil
}

// skip returns the offset after the next element of r, whatever its tag.
func skip(r *berReader) int {
	t := r.peek()
	if _, err := r.next(t); err != nil {
		return len(r.b)
	}
	return r.off
}

func (c *fakeConn) write(b ...[]byte) {
	for _, m := range b {
		if _, err := c.conn.Write(m); err != nil {
			return
		}
	}
}

// tlv encodes like the package's tlv, in the long form when s.long.
func (s *fakeServer) tlv(tag byte, content ...[]byte) []byte {
	if !s.long {
		return tlv(tag, content...)
	}
	n := 0
	for _, c := range content {
		n += len(c)
	}
	out := []byte{tag, 0x84, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	for _, c := range content {
		out = append(out, c...)
	}
	return out
}

func (s *fakeServer) msg(id int64, op []byte, controls ...[]byte) []byte {
	parts := [][]byte{berInt(tagInteger, id), op}
	if len(controls) > 0 {
		parts = append(parts, s.tlv(ctxControls, controls...))
	}
	return s.tlv(tagSequence, parts...)
}

func (s *fakeServer) result(tag byte, code int, diag string) []byte {
	return s.tlv(tag, berInt(tagEnumerated, int64(code)), s.tlv(tagOctetString), s.tlv(tagOctetString, []byte(diag)))
}

// entry encodes a SearchResultEntry; attrs alternate name, value.
func (s *fakeServer) entry(dn string, attrs ...string) []byte {
	var list []byte
	for i := 0; i+1 < len(attrs); i += 2 {
		list = append(list, s.tlv(tagSequence, s.tlv(tagOctetString, []byte(attrs[i])),
			s.tlv(tagSet, s.tlv(tagOctetString, []byte(attrs[i+1]))))...)
	}
	return s.tlv(appSearchEntry, s.tlv(tagOctetString, []byte(dn)), s.tlv(tagSequence, list))
}

// pagingResponse is the paged-results control of a SearchResultDone, marked
// not critical explicitly (some servers spell out the default).
func (s *fakeServer) pagingResponse(cookie []byte) []byte {
	val := s.tlv(tagSequence, berInt(tagInteger, 0), s.tlv(tagOctetString, cookie))
	return s.tlv(tagSequence, s.tlv(tagOctetString, []byte(oidPaging)), s.tlv(tagBoolean, []byte{0}), s.tlv(tagOctetString, val))
}

// Directory served by fakeDirectory: users user0..userN-1 under
// ou=people,dc=x and one group "all" with every user under ou=groups,dc=x.
const (
	fakeUsers  = "ou=people,dc=x"
	fakeGroups = "ou=groups,dc=x"
)

func fakeUserDN(i int) string { return fmt.Sprintf("uid=user%d,%s", i, fakeUsers) }

// fakeDirectory answers binds and searches, two users per page. hook, when
// not nil, may answer a user page itself (page is its index) and returns
// whether it did.
func fakeDirectory(users int, hook func(c *fakeConn, req fakeRequest, page int) bool) func(*fakeConn, fakeRequest) {
	return func(c *fakeConn, req fakeRequest) {
		s := c.s
		switch req.op {
		case appBindRequest:
			c.write(s.msg(req.id, s.result(appBindResponse, 0, "")))
		case appSearchRequest:
			if req.base == fakeGroups {
				var attrs []string
				for i := range users {
					attrs = append(attrs, "member", fakeUserDN(i))
				}
				c.write(s.msg(req.id, s.entry("cn=all,"+fakeGroups, append([]string{"cn", "all"}, attrs...)...)),
					s.msg(req.id, s.result(appSearchDone, 0, ""), s.pagingResponse(nil)))
				return
			}
			from, _ := strconv.Atoi(string(req.cookie))
			if hook != nil && hook(c, req, from/2) {
				return
			}
			to := min(from+2, users)
			for i := from; i < to; i++ {
				c.write(s.msg(req.id, s.entry(fakeUserDN(i), "entryUUID", strconv.Itoa(i), "mail", fmt.Sprintf("User%d@X.org", i))))
			}
			next := ""
			if to < users {
				next = strconv.Itoa(to)
			}
			c.write(s.msg(req.id, s.result(appSearchDone, 0, ""), s.pagingResponse([]byte(next))))
		}
	}
}

// fakeTLS returns server TLS settings with a certificate for names, and
// the path of a PEM file of the CA that signed it.
func fakeTLS(t *testing.T, names ...string) (*tls.Config, string) {
	t.Helper()
	ca, caKey, caDER, err := slapdtest.NewCA("fake CA")
	if err != nil {
		t.Fatal(err)
	}
	der, key, err := slapdtest.IssueServerCert(ca, caKey, names...)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, caFile
}
