package dump

import (
	"bufio"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/syncd/syncd/internal/termsafe"
)

// writer gathers output in the free space of a 64 KiB bufio.Writer: the
// renderers append to b and commit after each small piece (a member),
// so a dump of a million memberships makes a write call per 64 KiB, not
// one per line or value, and allocates nothing per value. The first
// error is kept.
type writer struct {
	bw  *bufio.Writer
	b   []byte
	err error
}

// minRoom is the free space below which the buffer is written out before
// the next piece: a member is a few hundred bytes, so a piece nearly
// always fits without append growing b elsewhere.
const minRoom = 4 << 10

func newWriter(w io.Writer) *writer {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &writer{bw: bw, b: bw.AvailableBuffer()}
}

// commit hands what was appended to the bufio.Writer and makes room.
func (w *writer) commit() {
	if w.err == nil {
		_, w.err = w.bw.Write(w.b)
	}
	if w.err == nil && w.bw.Available() < minRoom {
		w.err = w.bw.Flush()
	}
	w.b = w.bw.AvailableBuffer()
}

// printf appends a line of directory data, every text argument escaped
// (termsafe), and commits it.
func (w *writer) printf(format string, args ...any) {
	w.b = fmt.Appendf(w.b, format, termsafe.Args(args...)...)
	w.commit()
}

// close commits and flushes, and returns the first error.
func (w *writer) close() error {
	w.commit()
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	return w.err
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json
// writes it with HTML escaping on (its default): <, > and & as \u003c,
// \u003e and \u0026, control characters as \b \f \n \r \t or \u00XX,
// bytes that are not UTF-8 as \ufffd, U+2028 and U+2029 as \u2028 and
// \u2029 (TestWriteJSONSameAsEncoder, FuzzJSONString).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += n
			continue
		}
		i += n
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
