package dump

import (
	"bufio"
	"fmt"
	"io"

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
