package ldap

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// The reader speaks the few LDAPv3 operations it needs (bind, StartTLS,
// search with paging, unbind) itself. go-ldap decodes every response into a
// generic BER tree, copying each element into its parents; for a directory
// read that was most of the CPU time, so search results are decoded here
// straight into Entry values. go-ldap still compiles filters and parses DNs.

// BER tags of the LDAP messages used (RFC 4511).
const (
	tagBoolean     = 0x01
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagEnumerated  = 0x0a
	tagSequence    = 0x30
	tagSet         = 0x31

	appBindRequest     = 0x60
	appBindResponse    = 0x61
	appUnbindRequest   = 0x42
	appSearchRequest   = 0x63
	appSearchEntry     = 0x64
	appSearchDone      = 0x65
	appSearchReference = 0x73
	appExtendedRequest = 0x77
	appExtendedResp    = 0x78
	appIntermediate    = 0x79

	ctxControls   = 0xa0
	ctxSimpleAuth = 0x80
	ctxExtName    = 0x80

	oidPaging   = "1.2.840.113556.1.4.319"
	oidStartTLS = "1.3.6.1.4.1.1466.20037"

	maxMessage = 64 << 20 // a single LDAP message larger than this is refused
)

// ResultError is a non-success LDAP result.
type ResultError struct {
	Code int
	Diag string
}

func (e *ResultError) Error() string {
	name := goldap.LDAPResultCodeMap[uint16(e.Code)]
	if name == "" {
		name = "Unknown"
	}
	if e.Diag == "" {
		return fmt.Sprintf("LDAP Result Code %d %q", e.Code, name)
	}
	return fmt.Sprintf("LDAP Result Code %d %q: %s", e.Code, name, e.Diag)
}

// Result codes the reader looks at.
const (
	resultSuccess      = 0
	resultSizeLimit    = 4 // sizeLimitExceeded: the server stopped handing over entries
	resultReferral     = 10
	resultAdminLimit   = 11 // adminLimitExceeded: OpenLDAP's answer to a page over size.pr
	resultNoSuchObject = 32
)

// wireConn is one LDAP connection.
type wireConn struct {
	conn    net.Conn
	br      *bufio.Reader
	id      int64
	timeout time.Duration
	tls     bool // the connection is encrypted
	buf     []byte
	names   map[string]string // interned lower-case attribute names
	// broken is the transport or framing failure that left the stream at
	// an unknown position; every later request fails with it rather than
	// read the rest of an earlier answer as its own.
	broken error
}

func newWireConn(c net.Conn, timeout time.Duration) *wireConn {
	return &wireConn{conn: c, br: bufio.NewReaderSize(c, 64<<10), timeout: timeout, names: map[string]string{}}
}

// hostPort returns the address to dial for a URL: its port, else the
// scheme's (389, or 636 for ldaps); IPv6 literals keep their brackets.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "389"
		if strings.EqualFold(u.Scheme, "ldaps") {
			port = "636"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// dialWire opens a TCP connection, with TLS for ldaps://.
func dialWire(ctx context.Context, u *url.URL, timeout time.Duration, tc *tls.Config) (*wireConn, error) {
	d := &net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", hostPort(u))
	if err != nil {
		return nil, err
	}
	w := newWireConn(c, timeout)
	if strings.EqualFold(u.Scheme, "ldaps") {
		if err := w.upgradeTLS(ctx, tc); err != nil {
			c.Close()
			return nil, err
		}
	}
	return w, nil
}

func (w *wireConn) upgradeTLS(ctx context.Context, tc *tls.Config) error {
	t := tls.Client(w.conn, tc)
	hctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	if err := t.HandshakeContext(hctx); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	w.conn = t
	w.br = bufio.NewReaderSize(t, 64<<10)
	w.tls = true
	return nil
}

func (w *wireConn) close() error {
	_ = w.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = w.conn.Write(w.envelope(tlv(appUnbindRequest), nil))
	return w.conn.Close()
}

// startTLS upgrades the connection with the StartTLS extended operation.
func (w *wireConn) startTLS(ctx context.Context, tc *tls.Config) error {
	req := tlv(appExtendedRequest, tlv(ctxExtName, []byte(oidStartTLS)))
	if err := w.send(req, nil); err != nil {
		return err
	}
	if _, err := w.readResult(appExtendedResp); err != nil {
		return err
	}
	return w.upgradeTLS(ctx, tc)
}

// bind does a simple bind.
func (w *wireConn) bind(dn, password string) error {
	req := tlv(appBindRequest, berInt(tagInteger, 3), tlv(tagOctetString, []byte(dn)), tlv(ctxSimpleAuth, []byte(password)))
	if err := w.send(req, nil); err != nil {
		return err
	}
	_, err := w.readResult(appBindResponse)
	return err
}

// readResult reads one response with an LDAPResult and returns its body.
func (w *wireConn) readResult(want byte) (*berReader, error) {
	tag, body, _, err := w.readResponse()
	if err != nil {
		return nil, err
	}
	if tag != want {
		return nil, w.fail(fmt.Errorf("unexpected response (tag %#x)", tag))
	}
	return body, resultOf(body)
}

// resultOf decodes resultCode, matchedDN and diagnosticMessage.
func resultOf(r *berReader) error {
	code, err := r.int(tagEnumerated)
	if err != nil {
		return err
	}
	if _, err := r.bytes(tagOctetString); err != nil {
		return err
	}
	diag, err := r.bytes(tagOctetString)
	if err != nil {
		return err
	}
	if code != resultSuccess {
		return &ResultError{Code: int(code), Diag: string(diag)}
	}
	return nil
}

// page is what the end of one search request said.
type page struct {
	refs   []string // continuation references met
	paged  bool     // the result carried a paged-results control
	cookie []byte   // its cookie: empty when the search is complete
}

// searchPage sends one search request and hands each entry to each. It
// returns the referrals met and the paging state of the result. A page left
// unfinished (an entry that does not decode, each refusing one) leaves its
// remaining answers on the wire, so the connection is not used again.
// With reuse, every entry is decoded into the same Entry (query.passing).
func (w *wireConn) searchPage(req []byte, controls []byte, each func(*Entry) error, reuse bool) (page, error) {
	if err := w.send(req, controls); err != nil {
		return page{}, err
	}
	p, done, err := w.readPage(each, reuse)
	if err != nil && !done {
		_ = w.fail(err)
	}
	return p, err
}

// readPage reads the answers to one search request; done tells whether the
// SearchResultDone was read.
func (w *wireConn) readPage(each func(*Entry) error, reuse bool) (p page, done bool, err error) {
	var spare *Entry
	for {
		tag, body, ctrls, err := w.readResponse()
		if err != nil {
			return p, false, err
		}
		switch tag {
		case appSearchEntry:
			e, err := w.decodeEntryInto(body, spare)
			if err != nil {
				return p, false, err
			}
			if err := each(e); err != nil {
				return p, false, err
			}
			if reuse {
				spare = e
			}
		case appSearchReference:
			for body.more() {
				u, err := body.bytes(tagOctetString)
				if err != nil {
					return p, false, err
				}
				p.refs = append(p.refs, string(u))
			}
		case appSearchDone:
			if err := resultOf(body); err != nil {
				return p, true, err
			}
			p.cookie, p.paged, err = pagingCookie(ctrls)
			return p, true, err
		case appIntermediate:
			// RFC 4511 4.13: sent only for controls or extensions the
			// client asked for; syncd asks for none, so one carries
			// nothing it needs.
		default:
			return p, false, fmt.Errorf("unexpected response to a search (tag %#x)", tag)
		}
	}
}

// decodeEntry turns a SearchResultEntry into an Entry. Attribute names are
// lower-cased and interned. The entry is copied out of the read buffer
// once: the DN and the values are substrings of that copy, and the values
// of all attributes share one slice, so an entry costs a few allocations
// instead of one per value (a group of thousands of members). Each
// attribute's values are capped to their own part of that slice: appending
// to them (range retrieval) never overwrites the next attribute's.
func (w *wireConn) decodeEntry(r *berReader) (*Entry, error) { return w.decodeEntryInto(r, nil) }

// decodeEntryInto is decodeEntry into e, its map cleared, when e is not
// nil.
func (w *wireConn) decodeEntryInto(r *berReader, e *Entry) (*Entry, error) {
	src := string(r.b)
	str := func(v []byte) string {
		// v is a two-index slice of r.b's array: its offset in r.b is
		// the difference of their capacities.
		off := cap(r.b) - cap(v)
		return src[off : off+len(v)]
	}
	dn, err := r.bytes(tagOctetString)
	if err != nil {
		return nil, err
	}
	attrs, err := r.sub(tagSequence)
	if err != nil {
		return nil, err
	}
	n, err := countValues(*attrs)
	if err != nil {
		return nil, err
	}
	all := make([]string, 0, n)
	if e == nil {
		e = &Entry{Attrs: make(map[string][]string, 4)}
	}
	clear(e.Attrs)
	e.DN = str(dn)
	for attrs.more() {
		a, err := attrs.sub(tagSequence)
		if err != nil {
			return nil, err
		}
		name, err := a.bytes(tagOctetString)
		if err != nil {
			return nil, err
		}
		set, err := a.sub(tagSet)
		if err != nil {
			return nil, err
		}
		start := len(all)
		for set.more() {
			v, err := set.bytes(tagOctetString)
			if err != nil {
				return nil, err
			}
			all = append(all, str(v))
		}
		var vals []string
		if len(all) > start {
			vals = all[start:len(all):len(all)]
		}
		n := w.name(name)
		if prev, ok := e.Attrs[n]; ok {
			vals = append(prev, vals...) // a name met twice keeps both lists
		}
		e.Attrs[n] = vals
	}
	return e, nil
}

// countValues counts the attribute values of an entry's attribute list
// (walked on a copy of its reader), to allocate them in one slice.
func countValues(attrs berReader) (int, error) {
	n := 0
	for attrs.more() {
		a, err := attrs.sub(tagSequence)
		if err != nil {
			return 0, err
		}
		if _, err := a.bytes(tagOctetString); err != nil {
			return 0, err
		}
		set, err := a.sub(tagSet)
		if err != nil {
			return 0, err
		}
		for set.more() {
			if _, err := set.bytes(tagOctetString); err != nil {
				return 0, err
			}
			n++
		}
	}
	return n, nil
}

func (w *wireConn) name(b []byte) string {
	if n, ok := w.names[string(b)]; ok {
		return n
	}
	n := strings.ToLower(string(b))
	if len(w.names) < 1024 {
		w.names[string(b)] = n
	}
	return n
}

// pagingCookie finds the paged-results control among the response controls
// and returns its cookie; found is false when there is none.
func pagingCookie(ctrls *berReader) (cookie []byte, found bool, err error) {
	if ctrls == nil {
		return nil, false, nil
	}
	for ctrls.more() {
		c, err := ctrls.sub(tagSequence)
		if err != nil {
			return nil, false, err
		}
		oid, err := c.bytes(tagOctetString)
		if err != nil {
			return nil, false, err
		}
		if string(oid) != oidPaging {
			continue
		}
		if c.peek() == tagBoolean {
			if _, err := c.bytes(tagBoolean); err != nil {
				return nil, false, err
			}
		}
		val, err := c.bytes(tagOctetString)
		if err != nil {
			return nil, false, err
		}
		v, err := (&berReader{b: val}).sub(tagSequence)
		if err != nil {
			return nil, false, err
		}
		if _, err := v.int(tagInteger); err != nil {
			return nil, false, err
		}
		cookie, err := v.bytes(tagOctetString)
		return append([]byte(nil), cookie...), true, err
	}
	return nil, false, nil
}

// searchRequest encodes a SearchRequest.
func searchRequest(base string, scope int, timeLimit int, filter []byte, attrs []string) []byte {
	var al []byte
	for _, a := range attrs {
		al = append(al, tlv(tagOctetString, []byte(a))...)
	}
	return tlv(appSearchRequest,
		tlv(tagOctetString, []byte(base)),
		berInt(tagEnumerated, int64(scope)),
		berInt(tagEnumerated, int64(goldap.NeverDerefAliases)),
		berInt(tagInteger, 0),
		berInt(tagInteger, int64(timeLimit)),
		tlv(tagBoolean, []byte{0}),
		filter,
		tlv(tagSequence, al))
}

// pagingControl encodes the RFC 2696 control, not critical, so a server
// without paging answers in full or with a size limit error.
func pagingControl(size int, cookie []byte) []byte {
	val := tlv(tagSequence, berInt(tagInteger, int64(size)), tlv(tagOctetString, cookie))
	return tlv(tagSequence, tlv(tagOctetString, []byte(oidPaging)), tlv(tagOctetString, val))
}

// send writes one request (with optional encoded controls). The request's
// deadline covers its whole answer: a server that stalls mid-answer fails
// the request instead of hanging it.
func (w *wireConn) send(op []byte, controls []byte) error {
	if w.broken != nil {
		return w.broken
	}
	if err := w.conn.SetDeadline(time.Now().Add(w.timeout)); err != nil {
		return w.fail(err)
	}
	if _, err := w.conn.Write(w.envelope(op, controls)); err != nil {
		return w.fail(fmt.Errorf("send request: %w", err))
	}
	return nil
}

// fail marks the connection unusable and returns err.
func (w *wireConn) fail(err error) error {
	if w.broken == nil {
		w.broken = err
	}
	return err
}

func (w *wireConn) envelope(op []byte, controls []byte) []byte {
	w.id++
	parts := [][]byte{berInt(tagInteger, w.id), op}
	if len(controls) > 0 {
		parts = append(parts, tlv(ctxControls, controls))
	}
	return tlv(tagSequence, parts...)
}

// readResponse reads the next message of the current request and returns
// the protocol op's tag, its content and the controls (nil when none). The
// deadline of the request applies: a server that stops answering fails the
// read instead of hanging it.
func (w *wireConn) readResponse() (byte, *berReader, *berReader, error) {
	tag, op, ctrls, err := w.decodeResponse()
	if err != nil {
		return 0, nil, nil, w.fail(err)
	}
	return tag, op, ctrls, nil
}

func (w *wireConn) decodeResponse() (byte, *berReader, *berReader, error) {
	if w.broken != nil {
		return 0, nil, nil, w.broken
	}
	msg, err := w.readMessage()
	if err != nil {
		return 0, nil, nil, err
	}
	id, err := msg.int(tagInteger)
	if err != nil {
		return 0, nil, nil, err
	}
	tag := msg.peek()
	op, err := msg.sub(tag)
	if err != nil {
		return 0, nil, nil, err
	}
	if id == 0 && tag == appExtendedResp {
		// Notice of disconnection: the server is closing the session.
		err := resultOf(op)
		return 0, nil, nil, fmt.Errorf("server ended the connection: %w", errors.Join(err, io.ErrUnexpectedEOF))
	}
	if id != w.id {
		return 0, nil, nil, fmt.Errorf("response to message %d while waiting for %d", id, w.id)
	}
	var ctrls *berReader
	if msg.more() && msg.peek() == ctxControls {
		if ctrls, err = msg.sub(ctxControls); err != nil {
			return 0, nil, nil, err
		}
	}
	return tag, op, ctrls, nil
}

// readMessage reads one whole LDAPMessage into the connection's buffer and
// returns a reader over its content.
func (w *wireConn) readMessage() (*berReader, error) {
	tag, err := w.br.ReadByte()
	if err != nil {
		return nil, connErr(err)
	}
	if tag != tagSequence {
		return nil, fmt.Errorf("malformed LDAP message (tag %#x)", tag)
	}
	n, err := readLength(w.br)
	if err != nil {
		return nil, connErr(err)
	}
	if n > maxMessage {
		return nil, fmt.Errorf("LDAP message of %d bytes is too large", n)
	}
	if cap(w.buf) < n {
		w.buf = make([]byte, n)
	}
	w.buf = w.buf[:n]
	if _, err := io.ReadFull(w.br, w.buf); err != nil {
		return nil, connErr(err)
	}
	return &berReader{b: w.buf}, nil
}

// errClosed is the server closing the connection before its answer ended.
var errClosed = errors.New("connection closed by the server before the answer was complete")

// connErr names a transport failure in the middle of a request.
func connErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errClosed
	}
	return fmt.Errorf("connection failed before the answer was complete: %w", err)
}

func readLength(r io.ByteReader) (int, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	if b < 0x80 {
		return int(b), nil
	}
	n := int(b & 0x7f)
	if n == 0 || n > 4 {
		return 0, fmt.Errorf("unsupported BER length form %#x", b)
	}
	l := 0
	for range n {
		c, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		l = l<<8 | int(c)
	}
	return l, nil
}

// berReader walks the elements of one constructed BER value.
type berReader struct {
	b   []byte
	off int
}

var errBER = errors.New("malformed BER in LDAP response")

func (r *berReader) more() bool { return r.off < len(r.b) }

func (r *berReader) peek() byte {
	if r.off < len(r.b) {
		return r.b[r.off]
	}
	return 0
}

// next returns the next element, which must carry tag.
func (r *berReader) next(tag byte) ([]byte, error) {
	if r.off+2 > len(r.b) || r.b[r.off] != tag {
		return nil, errBER
	}
	p := r.off + 1
	l := int(r.b[p])
	p++
	if l >= 0x80 {
		n := l & 0x7f
		if n == 0 || n > 4 || p+n > len(r.b) {
			return nil, errBER
		}
		l = 0
		for _, c := range r.b[p : p+n] {
			l = l<<8 | int(c)
		}
		p += n
	}
	if l < 0 || p+l > len(r.b) {
		return nil, errBER
	}
	r.off = p + l
	return r.b[p : p+l], nil
}

func (r *berReader) bytes(tag byte) ([]byte, error) { return r.next(tag) }

func (r *berReader) sub(tag byte) (*berReader, error) {
	b, err := r.next(tag)
	if err != nil {
		return nil, err
	}
	return &berReader{b: b}, nil
}

func (r *berReader) int(tag byte) (int64, error) {
	b, err := r.next(tag)
	if err != nil || len(b) == 0 || len(b) > 8 {
		return 0, errBER
	}
	v := int64(int8(b[0])) // sign-extend
	for _, c := range b[1:] {
		v = v<<8 | int64(c)
	}
	return v, nil
}

// tlv encodes one BER element.
func tlv(tag byte, content ...[]byte) []byte {
	n := 0
	for _, c := range content {
		n += len(c)
	}
	out := make([]byte, 0, n+6)
	out = append(out, tag)
	out = appendLength(out, n)
	for _, c := range content {
		out = append(out, c...)
	}
	return out
}

func appendLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x100:
		return append(b, 0x81, byte(n))
	case n < 0x10000:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// berInt encodes a two's-complement integer in the fewest bytes.
func berInt(tag byte, v int64) []byte {
	n := 1
	for n < 8 && (v >= 1<<(8*n-1) || v < -(1<<(8*n-1))) {
		n++
	}
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return tlv(tag, b)
}
