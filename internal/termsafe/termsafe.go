// Package termsafe makes text read from a directory, an identity provider
// or the Teams API safe to print on a terminal. A name or e-mail address
// holding an escape sequence could otherwise recolour the output, move the
// cursor, rewrite earlier lines, set the window title, or (with Unicode
// bidirectional overrides) show one name while spelling another.
//
// The characters are shown escaped, not dropped, so that an operator sees
// that the directory holds something odd and can find the entry. JSON
// output needs none of this: encoding/json escapes control characters.
package termsafe

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// String returns s with every character that a terminal would act on
// instead of showing written as a Go-style escape: C0 controls (line
// breaks and tabs included: inside a value they are not layout), DEL and
// C1 controls as \x1b or \u009b, Unicode bidirectional controls
// (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and the line and
// paragraph separators as \u202e, and bytes that are not UTF-8 as \xff
// (a lone 0x9b byte is CSI on a terminal in 8-bit mode). Backslashes are
// left alone: distinguished names escape with them, and operators copy
// those names from the output.
func String(s string) string {
	if safe(s) {
		return s
	}
	return string(Append(make([]byte, 0, len(s)+8), s))
}

// Append appends String(s) to dst. Printers of many values (a directory
// dump) escape into one reused buffer with it instead of a string each.
func Append(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		if printableASCII(s[i]) { // most of any directory: copy the run
			j := i + 1
			for j < len(s) && printableASCII(s[j]) {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = fmt.Appendf(dst, `\x%02x`, s[i])
		case r < 0x80 && unsafeRune(r):
			dst = fmt.Appendf(dst, `\x%02x`, r)
		case unsafeRune(r):
			dst = fmt.Appendf(dst, `\u%04x`, r)
		default:
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return dst
}

// printableASCII reports a byte that is a whole character a terminal
// shows as it is: space to tilde.
func printableASCII(c byte) bool { return c >= 0x20 && c < 0x7f }

// Strings applies String to each element, in a new slice.
func Strings(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = String(s)
	}
	return out
}

// Fprintf is fmt.Fprintf whose string, error, fmt.Stringer and []string
// arguments pass through String first; the format itself is trusted.
// Printers of directory data use it so that no field is forgotten.
func Fprintf(w interface{ Write([]byte) (int, error) }, format string, args ...any) (int, error) {
	return fmt.Fprintf(w, format, Args(args...)...)
}

// Args returns args with each text argument made safe (see Fprintf).
func Args(args ...any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch x := a.(type) {
		case string:
			out[i] = String(x)
		case []string:
			out[i] = Strings(x)
		case error:
			out[i] = String(x.Error())
		case fmt.Stringer:
			out[i] = String(x.String())
		default:
			out[i] = a
		}
	}
	return out
}

func safe(s string) bool {
	for i := 0; i < len(s); i++ {
		if !printableASCII(s[i]) {
			return safeRunes(s[i:])
		}
	}
	return true
}

func safeRunes(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || unsafeRune(r) {
			return false
		}
	}
	return true
}

// unsafeRune: Cc (C0, DEL, C1), the Bidi_Control property, U+2028, U+2029.
// A literal U+FFFD is shown as it is; only an invalid byte is escaped.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}
