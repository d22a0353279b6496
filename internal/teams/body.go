package teams

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// A reader decodes one 2xx answer as it streams in. It returns a
// *shapeError when the answer is not what the operation must get, and
// any other error when the body could not be read.
type reader func(r io.Reader) error

// shapeError is an answer that arrived whole but does not hold what it
// must: empty, not JSON, not an object, items null, a member missing.
type shapeError struct{ reason string }

func (e *shapeError) Error() string { return e.reason }

func shapeErrorf(format string, a ...any) error { return &shapeError{fmt.Sprintf(format, a...)} }

// jsonError keeps I/O errors as they are and makes malformed JSON a
// shapeError.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return shapeErrorf("the answer is not valid JSON: %v", err)
	case errors.As(err, &typ):
		return shapeErrorf("the answer has %s where %s belongs", typ.Value, jsonPath(typ))
	}
	return err
}

func jsonPath(e *json.UnmarshalTypeError) string {
	if e.Field != "" {
		return e.Field
	}
	return "a " + e.Type.String()
}

// firstByte returns the first byte of the body that is not white space,
// left unread; io.EOF for an empty body.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if !strings.ContainsRune(" \t\r\n", rune(b)) {
			return b, br.UnreadByte()
		}
	}
}

// openJSON checks that the body starts with open ('{' or '[') and returns
// a decoder at its start.
func openJSON(r io.Reader, open byte) (*json.Decoder, error) {
	br := bufio.NewReader(r)
	b, err := firstByte(br)
	kind := map[byte]string{'{': "object", '[': "array"}[open]
	switch {
	case err == io.EOF:
		return nil, shapeErrorf("the answer is empty")
	case err != nil:
		return nil, err
	case b != open:
		return nil, shapeErrorf("the answer is not a JSON %s", kind)
	}
	return json.NewDecoder(br), nil
}

// readObject returns a reader of a JSON object into v, checked by check
// ("" when v is usable, else what is missing).
func readObject[T any](v *T, check func(*T) string) reader {
	return func(r io.Reader) error {
		dec, err := openJSON(r, '{')
		if err != nil {
			return err
		}
		var fresh T // a retried attempt starts from nothing
		if err := dec.Decode(&fresh); err != nil {
			return jsonError(err)
		}
		if check != nil {
			if missing := check(&fresh); missing != "" {
				return shapeErrorf("the answer has %s", missing)
			}
		}
		*v = fresh
		return nil
	}
}

// readArray returns a reader of a bare JSON array into v.
func readArray[T any](v *[]T) reader {
	return func(r io.Reader) error {
		dec, err := openJSON(r, '[')
		if err != nil {
			return err
		}
		out := []T{}
		if err := dec.Decode(&out); err != nil {
			return jsonError(err)
		}
		*v = out
		return nil
	}
}

// envelope is the paging envelope of one page; nil: the member was
// missing or null.
type envelope struct {
	TotalCount *int
	PageSize   *int
	Page       *int
	TotalPages *int
	items      string // "" when items was an array, else "missing" or "null"
}

// readPage returns a reader of one list page: the envelope's numbers into
// env and the items into items, decoded one at a time from the stream so
// that the page's JSON is never held whole.
func readPage[T any](env *envelope, items *[]T) reader {
	return func(r io.Reader) error {
		dec, err := openJSON(r, '{')
		if err != nil {
			return err
		}
		*env, *items = envelope{items: "missing"}, nil
		if _, err := dec.Token(); err != nil { // '{'
			return jsonError(err)
		}
		for dec.More() {
			if err := readMember(dec, env, items); err != nil {
				return jsonError(err)
			}
		}
		_, err = dec.Token() // '}'
		return jsonError(err)
	}
}

// readMember reads one member of the envelope.
func readMember[T any](dec *json.Decoder, env *envelope, items *[]T) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	key, _ := tok.(string)
	var num **int
	switch {
	case strings.EqualFold(key, "items"):
		return readItems(dec, env, items)
	case strings.EqualFold(key, "totalCount"):
		num = &env.TotalCount
	case strings.EqualFold(key, "pageSize"):
		num = &env.PageSize
	case strings.EqualFold(key, "page"):
		num = &env.Page
	case strings.EqualFold(key, "totalPages"):
		num = &env.TotalPages
	default:
		var skip json.RawMessage
		return dec.Decode(&skip)
	}
	return dec.Decode(num)
}

// readItems reads the items array one item at a time.
func readItems[T any](dec *json.Decoder, env *envelope, items *[]T) error {
	tok, err := dec.Token()
	switch {
	case err != nil:
		return err
	case tok == nil:
		env.items = "null"
		return nil
	case tok != json.Delim('['):
		return shapeErrorf("items is not an array")
	}
	env.items = ""
	*items = []T{}
	for dec.More() {
		var it T
		if err := dec.Decode(&it); err != nil {
			return err
		}
		*items = append(*items, it)
	}
	_, err = dec.Token() // ']'
	return err
}

// limitReader ends a body at the client's answer limit with a
// *TooLargeError.
type limitReader struct {
	r    io.Reader
	left int64
	err  *TooLargeError
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return l.probe()
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// probe tells a body of exactly the limit (EOF next) from a larger one.
func (l *limitReader) probe() (int, error) {
	if l.left < 0 {
		return 0, l.err
	}
	var one [1]byte
	for {
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.left = -1
			return 0, l.err
		}
		if err != nil {
			return 0, err
		}
	}
}
