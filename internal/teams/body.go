package teams

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// readObject returns a reader of a JSON object into v, checked by check
// ("" when v is usable, else what is missing).
func readObject[T any](v *T, check func(*T) string) reader {
	return func(r io.Reader) error {
		s := newScanner(r)
		defer s.release()
		if err := s.start('{'); err != nil {
			return err
		}
		var fresh T // a retried attempt starts from nothing
		if err := decodeValue(s, &fresh); err != nil {
			return err
		}
		if err := s.done(); err != nil {
			return err
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
		s := newScanner(r)
		defer s.release()
		if err := s.start('['); err != nil {
			return err
		}
		out := []T{}
		if err := readSlice(s, &out); err != nil {
			return err
		}
		if err := s.done(); err != nil {
			return err
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
// env and the items into items, read one at a time from the stream (by
// decode, or when it is nil as decodeValue reads them) so that the
// page's JSON is never held whole.
func readPage[T any](env *envelope, items *[]T, decode func(*scanner, *T) error) reader {
	if decode == nil {
		decode = decodeValue[T]
	}
	return func(r io.Reader) error {
		s := newScanner(r)
		defer s.release()
		if err := s.start('{'); err != nil {
			return err
		}
		*env, *items = envelope{items: "missing"}, nil
		err := s.object(envelopeFields, func(f int) error {
			return readMember(s, f, env, items, decode)
		})
		if err != nil {
			return err
		}
		return s.done()
	}
}

var envelopeFields = []string{"items", "totalCount", "pageSize", "page", "totalPages"}

// readMember reads the field envelopeFields[f] of the envelope.
func readMember[T any](s *scanner, f int, env *envelope, items *[]T, decode func(*scanner, *T) error) error {
	switch f {
	case 0:
		return readItems(s, env, items, decode)
	case 1:
		return s.readIntPtr(&env.TotalCount)
	case 2:
		return s.readIntPtr(&env.PageSize)
	case 3:
		return s.readIntPtr(&env.Page)
	}
	return s.readIntPtr(&env.TotalPages)
}

// readItems reads the items array one item at a time.
func readItems[T any](s *scanner, env *envelope, items *[]T, decode func(*scanner, *T) error) error {
	c, err := s.peek()
	switch {
	case err != nil:
		return err
	case c == 'n':
		env.items = "null"
		*items = nil
		return s.null()
	case c != '[':
		return shapeErrorf("items is not an array")
	}
	env.items = ""
	*items = []T{}
	_, err = s.array(func() error {
		var it T
		if err := decode(s, &it); err != nil {
			return err
		}
		*items = append(*items, it)
		return nil
	})
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
