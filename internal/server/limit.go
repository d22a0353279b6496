package server

import (
	"net"
	"sync"
)

// DefaultMaxConns is how many connections the server serves at once when
// Options.MaxConns is not set: far more than Prometheus, the probes, an
// operator and an identity provider's pushes need together, few enough
// that a flood of connections cannot grow the heap without bound.
const DefaultMaxConns = 64

// limitListener hands out at most cap(slots) connections at a time; Accept
// waits for one to close, and the kernel's listen backlog holds the rest.
// Waiting, not refusing, lets a probe that arrives during a burst succeed
// a moment later.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), closed: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
}

// Close also ends an Accept waiting for a free slot.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// limitConn gives its slot back when closed, once however often Close is
// called.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
