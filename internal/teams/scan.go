package teams

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner reads one JSON answer as it streams in, in a single pass,
// without reflection: a page of 100 user groups of 100 members is over
// 2 MB, and a site of 10,000 groups sends 230 MB of it every run, which
// encoding/json reads twice (once to find the end of each value, once to
// decode it) at a tenth of the speed. It accepts exactly what
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
	// each with the key of its member being read (for typeErr); their
	// buffers are reused.
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

// object reads an object: for each member whose key names one of fields,
// member is called with the field's index and must read the value; the
// other members are checked and skipped. A null is no object: it is read
// and member is never called.
func (s *scanner) object(fields []string, member func(field int) error) error {
	c, err := s.peek()
	switch {
	case err != nil:
		return err
	case c == 'n':
		return s.null()
	case c != '{':
		return s.wrongKind("object")
	}
	if err := s.enter(); err != nil {
		return err
	}
	s.i++
	if c, err = s.peek(); err != nil {
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
	c, err := s.peek()
	switch {
	case err != nil:
		return false, err
	case c == 'n':
		return false, s.null()
	case c != '[':
		return false, s.wrongKind("array")
	}
	if err := s.enter(); err != nil {
		return false, err
	}
	s.i++
	if c, err = s.peek(); err != nil {
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

func (s *scanner) null() error { return s.literal("null") }

// literal reads true, false or null.
func (s *scanner) literal(word string) error {
	for k := 0; k < len(word); k++ {
		if s.i == s.n {
			if err := s.fill(); err != nil {
				return err
			}
		}
		if c := s.buf[s.i]; c != word[k] {
			return s.unexpected(c, "in literal "+word+" (expecting "+quoteChar(word[k])+")")
		}
		s.i++
	}
	return nil // what follows is its container's to check ("nullx")
}

// number reads a number and returns its bytes (valid until the next
// read). What follows it is its container's to check ("1x").
func (s *scanner) number() ([]byte, error) {
	s.begin()
	from := s.i - s.keep
	st := numStart
	for {
		if s.i == s.n {
			if err := s.fill(); err != nil {
				if err == io.ErrUnexpectedEOF && s.rerr == io.EOF && numEnds[st] {
					return s.buf[s.keep+from : s.i], nil
				}
				return nil, err
			}
		}
		c := s.buf[s.i]
		switch next := numNext(st, c); next {
		case numDone:
			return s.buf[s.keep+from : s.i], nil
		case numBad:
			return nil, s.unexpected(c, "in numeric literal")
		default:
			st = next
			s.i++
		}
	}
}

// The states of the number grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
const (
	numStart = iota
	numMinus
	numZero
	numInt
	numDot
	numFrac
	numE
	numESign
	numExp
	numDone // the byte is not part of the number
	numBad  // the byte cannot follow
)

// numEnds tells the states a number may end in.
var numEnds = [...]bool{numZero: true, numInt: true, numFrac: true, numExp: true, numDone: false, numBad: false}

func numNext(st int, c byte) int {
	digit := c >= '0' && c <= '9'
	switch st {
	case numStart:
		switch {
		case c == '-':
			return numMinus
		case c == '0':
			return numZero
		case digit:
			return numInt
		}
		return numBad
	case numMinus:
		switch {
		case c == '0':
			return numZero
		case digit:
			return numInt
		}
		return numBad
	case numZero, numInt:
		switch {
		case digit && st == numInt:
			return numInt
		case digit:
			return numBad // a leading zero
		case c == '.':
			return numDot
		case c == 'e' || c == 'E':
			return numE
		}
	case numDot:
		if digit {
			return numFrac
		}
		return numBad
	case numFrac:
		switch {
		case digit:
			return numFrac
		case c == 'e' || c == 'E':
			return numE
		}
	case numE:
		switch {
		case c == '+' || c == '-':
			return numESign
		case digit:
			return numExp
		}
		return numBad
	case numESign:
		if digit {
			return numExp
		}
		return numBad
	case numExp:
		if digit {
			return numExp
		}
	}
	return numDone
}

// readInt reads a number into an int field, as encoding/json does: a
// fraction, an exponent or a value out of range is of the wrong kind, a
// null leaves it as it was.
func (s *scanner) readInt(v *int) error {
	c, err := s.peek()
	switch {
	case err != nil:
		return err
	case c == 'n':
		return s.null()
	case c != '-' && (c < '0' || c > '9'):
		return s.wrongKind("int")
	}
	raw, err := s.number()
	if err != nil {
		return err
	}
	n, ok := parseInt(raw)
	if !ok {
		s.kindError("number "+string(raw), "int")
		return nil
	}
	*v = n
	return nil
}

// parseInt parses a number the scanner checked; false when it has a
// fraction or an exponent, or does not fit an int.
func parseInt(raw []byte) (int, bool) {
	neg := raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
	}
	var u uint64
	for _, c := range digits {
		if c < '0' || c > '9' || u > (math.MaxUint64-9)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case !neg && u <= math.MaxInt:
		return int(u), true
	case neg && u <= -math.MinInt:
		return int(-u), true
	}
	return 0, false
}

// readIntPtr reads a number into a *int field: null makes it nil.
func (s *scanner) readIntPtr(v **int) error {
	if c, err := s.peek(); err != nil || c == 'n' {
		if err == nil {
			*v = nil
			err = s.null()
		}
		return err
	}
	n := new(int)
	if *v != nil {
		n = *v
	}
	before := s.typeErr
	if err := s.readInt(n); err != nil {
		return err
	}
	if s.typeErr == before {
		*v = n
	}
	return nil
}

// readString reads a string field; null leaves it as it was.
func (s *scanner) readString(v *string) error {
	c, err := s.peek()
	switch {
	case err != nil:
		return err
	case c == 'n':
		return s.null()
	case c != '"':
		return s.wrongKind("string")
	}
	var b []byte
	if b, err = s.stringBytes(); err != nil {
		return err
	}
	*v = string(b)
	return nil
}

// readStringPtr reads a *string field: null makes it nil.
func (s *scanner) readStringPtr(v **string) error {
	if c, err := s.peek(); err != nil || c == 'n' {
		if err == nil {
			*v = nil
			err = s.null()
		}
		return err
	}
	var str string
	before := s.typeErr
	if err := s.readString(&str); err != nil {
		return err
	}
	if s.typeErr == before {
		*v = &str
	}
	return nil
}

// readBool reads a bool field; null leaves it as it was.
func (s *scanner) readBool(v *bool) error {
	c, err := s.peek()
	switch {
	case err != nil:
		return err
	case c == 'n':
		return s.null()
	case c == 't':
		*v = true
		return s.literal("true")
	case c == 'f':
		*v = false
		return s.literal("false")
	}
	return s.wrongKind("bool")
}

// plain tells the bytes a string holds as they are: not the quote, the
// backslash, a control character (not allowed) or a byte of a
// multi-byte UTF-8 sequence (checked apart).
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// skipPlain returns the index of the first byte of buf from i on that is
// not plain, or len(buf): eight bytes at a time while none of them is.
func skipPlain(buf []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(buf); i += 8 {
		w := binary.LittleEndian.Uint64(buf[i:])
		quote, backslash := w^(ones*'"'), w^(ones*'\\')
		special := (quote - ones) &^ quote         // a zero byte: '"'
		special |= (backslash - ones) &^ backslash // a zero byte: '\\'
		special |= (w - ones*0x20) &^ w            // a byte below 0x20
		if (special|w)&highs != 0 {                // ... or one of 0x80 and above
			break
		}
	}
	for i < len(buf) && plain[buf[i]] {
		i++
	}
	return i
}

// stringBytes reads a string and returns it decoded, in a buffer valid
// until the next read: the bytes of the answer themselves when it has no
// escape and is valid UTF-8.
func (s *scanner) stringBytes() ([]byte, error) {
	start, simple, err := s.scanString()
	if err != nil {
		return nil, err
	}
	raw := s.buf[start : s.i-1]
	if simple {
		return raw, nil
	}
	s.scratch = unquote(s.scratch[:0], raw)
	return s.scratch, nil
}

func (s *scanner) skipString() error {
	_, _, err := s.scanString()
	return err
}

// scanString reads a string and checks it: it returns where its bytes
// start in buf (they end before the closing quote at s.i-1), and whether
// they hold no escape and only valid UTF-8.
func (s *scanner) scanString() (start int, simple bool, err error) {
	s.begin()
	s.i++ // the opening quote
	from := s.i - s.keep
	simple = true
	utf8Start := -1 // where the bytes not yet checked for UTF-8 start, relative to keep
	for {
		s.i = skipPlain(s.buf[:s.n], s.i)
		if s.i == s.n {
			if err := s.fill(); err != nil {
				return 0, false, err
			}
			continue
		}
		switch c := s.buf[s.i]; {
		case c == '"':
			s.i++
			start = s.keep + from
			if simple && utf8Start >= 0 && !utf8.Valid(s.buf[s.keep+utf8Start:s.i-1]) {
				simple = false
			}
			return start, simple, nil
		case c == '\\':
			simple = false
			if err := s.escape(); err != nil {
				return 0, false, err
			}
		case c < 0x20:
			return 0, false, s.unexpected(c, "in string literal")
		default: // c >= 0x80
			if utf8Start < 0 {
				utf8Start = s.i - s.keep
			}
			s.i++
		}
	}
}

// escape checks the escape sequence at s.i and moves past it.
func (s *scanner) escape() error {
	need := func(k int) error {
		for s.n-s.i < k {
			if err := s.fill(); err != nil {
				return err
			}
		}
		return nil
	}
	if err := need(2); err != nil {
		return err
	}
	switch c := s.buf[s.i+1]; c {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i += 2
		return nil
	case 'u':
		s.i += 2
		for k := 0; k < 4; k++ {
			if err := need(1); err != nil {
				return err
			}
			if h := s.buf[s.i]; !isHex(h) {
				return s.unexpected(h, "in \\u hexadecimal character escape")
			}
			s.i++
		}
		return nil
	default:
		return s.unexpected(c, "in string escape code")
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// unquote appends the decoded form of a checked string's bytes to dst,
// as encoding/json decodes it: escapes resolved, a lone surrogate and
// each byte of invalid UTF-8 replaced by U+FFFD.
func unquote(dst, raw []byte) []byte {
	for k := 0; k < len(raw); {
		c := raw[k]
		switch {
		case c == '\\':
			var r rune
			r, k = unescape(raw, k)
			dst = utf8.AppendRune(dst, r)
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			k++
		default:
			r, size := utf8.DecodeRune(raw[k:])
			dst = utf8.AppendRune(dst, r) // RuneError for a bad byte
			k += size
		}
	}
	return dst
}

// unescape decodes the escape at raw[k] and returns its rune and where
// the bytes after it start.
func unescape(raw []byte, k int) (rune, int) {
	switch raw[k+1] {
	case 'b':
		return '\b', k + 2
	case 'f':
		return '\f', k + 2
	case 'n':
		return '\n', k + 2
	case 'r':
		return '\r', k + 2
	case 't':
		return '\t', k + 2
	case 'u':
		r := hex4(raw[k+2 : k+6])
		k += 6
		if utf16.IsSurrogate(r) {
			if k+6 <= len(raw) && raw[k] == '\\' && raw[k+1] == 'u' {
				if r2 := utf16.DecodeRune(r, hex4(raw[k+2:k+6])); r2 != utf8.RuneError {
					return r2, k + 6
				}
			}
			return utf8.RuneError, k
		}
		return r, k
	}
	return rune(raw[k+1]), k + 2 // " \ /
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
