package teams

import (
	"encoding/binary"
	"io"
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

// The scanner's tokens: literals, numbers and strings, and the readers of
// the fields the models have (int, *int, string, *string).

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
	if n, ok := s.plainInt(); ok {
		*v = n
		return nil
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

// plainInt reads the number at s.i when it is a plain non-negative
// integer of at most 18 digits whose end is in the buffer (ids, counts:
// nearly every number an answer has), without the number grammar's
// byte-by-byte states; else it reads nothing. The byte after it must be
// one that may follow a value, as number would leave for the container.
func (s *scanner) plainInt() (int, bool) {
	b := s.buf[s.i:s.n]
	n, k := 0, 0
	for k < len(b) && k < 19 && b[k] >= '0' && b[k] <= '9' {
		n = n*10 + int(b[k]-'0')
		k++
	}
	if k == 0 || k == 19 || k == len(b) || (b[0] == '0' && k > 1) {
		return 0, false
	}
	switch b[k] {
	case ',', '}', ']', ' ', '\n', '\t', '\r':
		s.i += k
		return n, true
	}
	return 0, false
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

// readBool reads a bool field as encoding/json does: null leaves it as
// it was, another kind of value is a type error.
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

// readString reads a string field; null leaves it as it was.
func (s *scanner) readString(v *string) error {
	if ok, err := s.begins('"', "string"); !ok {
		return err
	}
	b, err := s.stringBytes()
	if err != nil {
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

// checkString checks a string field (or null) without keeping it.
func (s *scanner) checkString() error {
	if ok, err := s.begins('"', "string"); !ok {
		return err
	}
	return s.skipString()
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
