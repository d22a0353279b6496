package teams

// skipValue is skip's fast path for a value already whole in the buffer:
// a create's answer lists the new group's members, which syncd checks but
// does not keep (a cold apply reads 200 MB of them), and the scanner's
// general path calls a function per value, key and separator.
//
// It returns the end of the JSON value at buf[i:] (after any white space
// before it) and true when that value is valid and ends inside buf,
// nested at most maxFastNest levels deep. Otherwise it returns false and
// the caller reads the value the general way, which fills the buffer or
// names the error: false never means the value is invalid, only that
// this path could not tell. room is how many levels of nesting the
// scanner has left (maxDepth less those it is in).
func skipValue(buf []byte, i, room int) (int, bool) {
	var open [maxFastNest]byte // '{' or '[' of each level being skipped
	depth := 0
	for {
		// A value is due.
		i = skipSpace(buf, i)
		if i >= len(buf) {
			return 0, false
		}
		ok := true
		switch c := buf[i]; c {
		case '{', '[':
			if depth == maxFastNest || depth >= room {
				return 0, false
			}
			if i = skipSpace(buf, i+1); i >= len(buf) {
				return 0, false
			}
			if buf[i] == c+2 { // '}' and ']' are '{' and '[' plus two
				i++
				break
			}
			open[depth] = c
			depth++
			if c == '{' {
				if i, ok = skipKey(buf, i); !ok {
					return 0, false
				}
			}
			continue
		case '"':
			i, ok = skipStringAt(buf, i)
		case 't':
			i, ok = skipWord(buf, i, "true")
		case 'f':
			i, ok = skipWord(buf, i, "false")
		case 'n':
			i, ok = skipWord(buf, i, "null")
		default:
			i, ok = skipNumber(buf, i)
		}
		if !ok {
			return 0, false
		}
		// A value ended: close the levels it ends, up to the next value.
		for {
			if depth == 0 {
				return i, true
			}
			if i = skipSpace(buf, i); i >= len(buf) {
				return 0, false
			}
			c, in := buf[i], open[depth-1]
			if c == in+2 {
				depth--
				i++
				continue
			}
			if c != ',' {
				return 0, false
			}
			i++
			if in == '{' {
				if i, ok = skipKey(buf, skipSpace(buf, i)); !ok {
					return 0, false
				}
			}
			break
		}
	}
}

// maxFastNest is how deep skipValue follows a value; deeper ones take the
// general path (an answer of the API nests four levels).
const maxFastNest = 32

func skipSpace(buf []byte, i int) int {
	for i < len(buf) {
		switch buf[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// skipKey skips an object's key at buf[i] and the colon after it.
func skipKey(buf []byte, i int) (int, bool) {
	if i >= len(buf) || buf[i] != '"' {
		return 0, false
	}
	i, ok := skipStringAt(buf, i)
	if !ok {
		return 0, false
	}
	if i = skipSpace(buf, i); i >= len(buf) || buf[i] != ':' {
		return 0, false
	}
	return i + 1, true
}

// skipStringAt skips the string whose quote is at buf[i]. As the general
// path and encoding/json, it accepts invalid UTF-8 (decoding replaces it).
func skipStringAt(buf []byte, i int) (int, bool) {
	i++
	for {
		if i = skipPlain(buf, i); i >= len(buf) {
			return 0, false
		}
		switch c := buf[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			n, ok := skipEscape(buf, i)
			if !ok {
				return 0, false
			}
			i = n
		case c < 0x20:
			return 0, false
		default: // a byte of a multi-byte sequence
			i++
		}
	}
}

// skipEscape skips the escape sequence whose backslash is at buf[i].
func skipEscape(buf []byte, i int) (int, bool) {
	if i+1 >= len(buf) {
		return 0, false
	}
	switch buf[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 2, true
	case 'u':
		if i+6 > len(buf) {
			return 0, false
		}
		for _, h := range buf[i+2 : i+6] {
			if !isHex(h) {
				return 0, false
			}
		}
		return i + 6, true
	}
	return 0, false
}

// skipWord skips the literal word at buf[i].
func skipWord(buf []byte, i int, word string) (int, bool) {
	if len(buf)-i < len(word) || string(buf[i:i+len(word)]) != word {
		return 0, false
	}
	return i + len(word), true
}

// skipNumber skips the number at buf[i]. A number that reaches the end
// of buf may go on in the bytes not read yet: false.
func skipNumber(buf []byte, i int) (int, bool) {
	st := numStart
	for ; i < len(buf); i++ {
		switch next := numNext(st, buf[i]); next {
		case numDone:
			return i, numEnds[st]
		case numBad:
			return 0, false
		default:
			st = next
		}
	}
	return 0, false
}
