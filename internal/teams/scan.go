package teams

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// scanner reads one JSON answer as it streams in, in a single pass,
// without reflection: a page of 100 user groups of 100 members is over
// 2 MB, and a site of 10,000 groups sends 230 MB of it every run, which
// encoding/json reads twice (once to find the end of each value, once to
// decode it), several times slower (BenchmarkReadGroupsPage). It accepts exactly what
// encoding/json accepts (RFC 8259, at most maxDepth levels of nesting)
// and decodes as it does: object keys match field names
// case-insensitively, unknown members are checked and skipped, null
// leaves a field as it was, a later duplicate member wins, invalid UTF-8
// becomes U+FFFD. Its errors are those of readers: a *shapeError for an
// answer that is not JSON or has a value of the wrong kind, io.ErrUnexpectedEOF
// for one that ends early, and the body's own read errors unchanged.
type scanner struct {
	r     io.Reader
	buf   []byte
	i, n  int   // next byte to read, end of the bytes read
	keep  int   // bytes from keep on stay in buf when it is refilled
	rerr  error // what the body's last Read returned, once it returned an error
	depth int
	// capturing: a value is being skipped and recorded from keep on
	// (capture), so keep must not move.
	capturing bool
	// typeErr is the first value of the wrong kind met; decoding goes
	// on, so that a syntax error or a cut-off answer after it still wins,
	// as in encoding/json.
	typeErr error
	// levels are the objects and arrays being read, outermost first,
	// each with the field of its member being read (for typeErr).
	levels  []level
	scratch []byte // a string with escapes, decoded
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

const scanBufSize = 32 << 10

// scanBufs keeps the buffers of finished reads for the next: a sync
// reads thousands of answers.
var scanBufs = sync.Pool{New: func() any { return new([scanBufSize]byte) }}

// newScanner returns a scanner of r; release gives its buffer back.
func newScanner(r io.Reader) *scanner {
	return &scanner{r: r, buf: scanBufs.Get().(*[scanBufSize]byte)[:]}
}

// release ends the read: nothing read may be used after it but what was
// copied out (every decoded value is).
func (s *scanner) release() {
	if cap(s.buf) == scanBufSize { // not one grown for a large token
		scanBufs.Put((*[scanBufSize]byte)(s.buf[:scanBufSize]))
	}
	s.buf = nil
}

// syntaxError is the error of bytes that are not JSON.
func (s *scanner) syntaxError(format string, a ...any) error {
	return shapeErrorf("the answer is not valid JSON: %s", fmt.Sprintf(format, a...))
}

// unexpected is the error of byte c where what was expected is not.
func (s *scanner) unexpected(c byte, what string) error {
	return s.syntaxError("invalid character %s %s", quoteChar(c), what)
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	q := strconv.Quote(string(rune(c)))
	return "'" + q[1:len(q)-1] + "'"
}

// fill reads more of the body, keeping buf[keep:]. It returns
// io.ErrUnexpectedEOF at the end of the body (every caller needs more),
// or the body's read error.
func (s *scanner) fill() error {
	if s.rerr != nil {
		if s.rerr == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return s.rerr
	}
	if s.keep > 0 {
		copy(s.buf, s.buf[s.keep:s.n])
		s.n -= s.keep
		s.i -= s.keep
		s.keep = 0
	}
	if s.n == len(s.buf) {
		// One token (or a captured value) larger than the buffer.
		s.buf = append(s.buf, make([]byte, len(s.buf))...)
	}
	for range 100 { // as bufio: a reader that gives nothing, again and again, is broken
		m, err := s.r.Read(s.buf[s.n:])
		s.n += m
		if err != nil {
			s.rerr = err
		}
		switch {
		case m > 0:
			return nil
		case err == io.EOF:
			return io.ErrUnexpectedEOF
		case err != nil:
			return err
		}
	}
	s.rerr = io.ErrNoProgress
	return s.rerr
}

// begin marks the start of a token: what is before it may be dropped.
func (s *scanner) begin() {
	if !s.capturing {
		s.keep = s.i
	}
}

// peek skips white space and returns the next byte, unread.
func (s *scanner) peek() (byte, error) {
	if s.i < s.n {
		if c := s.buf[s.i]; c > ' ' {
			if !s.capturing {
				s.keep = s.i
			}
			return c, nil
		}
	}
	return s.peekSlow()
}

func (s *scanner) peekSlow() (byte, error) {
	for {
		for s.i < s.n {
			switch c := s.buf[s.i]; c {
			case ' ', '\t', '\r', '\n':
				s.i++
			default:
				s.begin()
				return c, nil
			}
		}
		s.begin()
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
}

// start checks that the answer begins with open ('{' or '[').
func (s *scanner) start(open byte) error {
	c, err := s.peek()
	kind := map[byte]string{'{': "object", '[': "array"}[open]
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) && s.rerr == io.EOF && s.n == s.i:
		return shapeErrorf("the answer is empty")
	case err != nil:
		return err
	case c != open:
		return shapeErrorf("the answer is not a JSON %s", kind)
	}
	return nil
}

// done returns the first value of the wrong kind the answer had.
func (s *scanner) done() error { return s.typeErr }

// wrongKind records a value of the wrong kind for the member being
// decoded and skips it.
func (s *scanner) wrongKind(want string) error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	got := map[byte]string{'{': "object", '[': "array", '"': "string", 't': "bool", 'f': "bool"}[c]
	if got == "" {
		got = "number"
		if raw, err := s.number(); err != nil {
			return err
		} else if s.typeErr == nil {
			got = "number " + string(raw)
		}
	} else if err := s.skip(); err != nil {
		return err
	}
	s.kindError(got, want)
	return nil
}

// kindError records the first value of the wrong kind.
func (s *scanner) kindError(got, want string) {
	if s.typeErr == nil {
		s.typeErr = shapeErrorf("the answer has %s where %s belongs", got, s.field(want))
	}
}

// field names the member being read, as encoding/json does: the fields
// of the objects it is in, joined by dots.
func (s *scanner) field(want string) string {
	var out []byte
	for _, l := range s.levels[:s.depth] {
		if l.field == "" {
			continue
		}
		if len(out) > 0 {
			out = append(out, '.')
		}
		out = append(out, l.field...)
	}
	if len(out) == 0 {
		return "a " + want
	}
	return string(out)
}

// level is one object or array being read.
type level struct {
	field string // the field being read, in an object
}

// enter goes one level deeper, into an object or an array.
func (s *scanner) enter() error {
	if s.depth++; s.depth > maxDepth {
		return s.syntaxError("exceeded max depth")
	}
	if len(s.levels) < s.depth {
		s.levels = append(s.levels, level{})
	}
	s.levels[s.depth-1].field = ""
	return nil
}

// fieldIndex returns the index of the field of fields that key names, as
// encoding/json matches them (exactly, else case-insensitively), or -1.
func fieldIndex(key []byte, fields []string) int {
	for i, f := range fields {
		if string(key) == f {
			return i
		}
	}
	for i, f := range fields {
		if strings.EqualFold(string(key), f) {
			return i
		}
	}
	return -1
}

// key reads an object key and returns the index of the field it names.
func (s *scanner) key(fields []string) (int, error) {
	if f := s.plainKey(fields); f >= 0 {
		return f, nil
	}
	start, simple, err := s.scanString()
	if err != nil {
		return -1, err
	}
	key := s.buf[start : s.i-1]
	if !simple {
		s.scratch = unquote(s.scratch[:0], key)
		key = s.scratch
	}
	return fieldIndex(key, fields), nil
}

// plainKey reads the key at s.i when it is one of fields exactly, as
// answers write them, closing quote in the buffer, and returns the
// field's index; else -1, having read nothing. A group listing has seven
// keys per member, a million members at the scale syncd is measured at:
// comparing them in place skips checking each for escapes and UTF-8
// first. An exact match is the one encoding/json takes too.
func (s *scanner) plainKey(fields []string) int {
	rest := s.buf[s.i+1 : s.n]
	for i, f := range fields {
		if len(rest) > len(f) && rest[len(f)] == '"' && string(rest[:len(f)]) == f {
			s.i += len(f) + 2
			return i
		}
	}
	return -1
}

// begins tells whether the next value opens with open, as the kind the
// caller reads. A null is read, and is no such value; any other kind is
// an error naming kind.
func (s *scanner) begins(open byte, kind string) (bool, error) {
	c, err := s.peek()
	switch {
	case err != nil:
		return false, err
	case c == 'n':
		return false, s.null()
	case c != open:
		return false, s.wrongKind(kind)
	}
	return true, nil
}

// object reads an object: for each member whose key names one of fields,
// member is called with the field's index and must read the value; the
// other members are checked and skipped. A null is no object: it is read
// and member is never called.
func (s *scanner) object(fields []string, member func(field int) error) error {
	if ok, err := s.begins('{', "object"); !ok {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	s.i++
	c, err := s.peek()
	if err != nil {
		return err
	}
	if c == '}' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if c != '"' {
			return s.unexpected(c, "looking for beginning of object key string")
		}
		f, err := s.key(fields)
		if err != nil {
			return err
		}
		if c, err = s.peek(); err != nil {
			return err
		}
		if c != ':' {
			return s.unexpected(c, "after object key")
		}
		s.i++
		if f >= 0 {
			s.levels[s.depth-1].field = fields[f]
			err = member(f)
		} else {
			s.levels[s.depth-1].field = ""
			err = s.skip()
		}
		if err != nil {
			return err
		}
		if c, err = s.peek(); err != nil {
			return err
		}
		switch c {
		case ',':
			s.i++
			if c, err = s.peek(); err != nil {
				return err
			}
		case '}':
			s.i++
			s.depth--
			return nil
		default:
			return s.unexpected(c, "after object key:value pair")
		}
	}
}

// array reads an array element by element: elem must read each one. It
// returns false for a null, which is no array.
func (s *scanner) array(elem func() error) (bool, error) {
	if ok, err := s.begins('[', "array"); !ok {
		return false, err
	}
	if err := s.enter(); err != nil {
		return false, err
	}
	s.i++
	c, err := s.peek()
	if err != nil {
		return false, err
	}
	if c == ']' {
		s.i++
		s.depth--
		return true, nil
	}
	for {
		if err := elem(); err != nil {
			return false, err
		}
		if c, err = s.peek(); err != nil {
			return false, err
		}
		switch c {
		case ',':
			s.i++
			if _, err := s.peek(); err != nil {
				return false, err
			}
		case ']':
			s.i++
			s.depth--
			return true, nil
		default:
			return false, s.unexpected(c, "after array element")
		}
	}
}

// skip reads any one value and checks it.
func (s *scanner) skip() error {
	if end, ok := skipValue(s.buf[:s.n], s.i, maxDepth-s.depth); ok {
		s.i = end
		s.begin() // the value is done with: the bytes before it may go
		return nil
	}
	c, err := s.peek()
	if err != nil {
		return err
	}
	switch {
	case c == '{':
		return s.object(nil, nil)
	case c == '[':
		_, err := s.array(s.skip)
		return err
	case c == '"':
		return s.skipString()
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := s.number()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.unexpected(c, "looking for beginning of value")
}

// capture skips one value and returns its bytes (valid until the next
// read), for the types decoded by encoding/json.
func (s *scanner) capture() ([]byte, error) {
	if _, err := s.peek(); err != nil {
		return nil, err
	}
	s.capturing = true
	err := s.skip()
	s.capturing = false
	if err != nil {
		return nil, err
	}
	return s.buf[s.keep:s.i], nil
}
