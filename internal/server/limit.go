package server

import (
	"net"
	"net/http"
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
//
// A keep-alive connection waiting between requests holds its slot too:
// when every slot is taken, one such idle connection is closed to make
// room (its client opens another when it has a request), so that
// connections left open and silent, by careless clients or on purpose,
// cannot keep the probes and /metrics out until the idle timeout.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once

	mu   sync.Mutex
	idle map[*limitConn]struct{} // served connections waiting for their next request
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), closed: make(chan struct{}), idle: map[*limitConn]struct{}{}}
}

// connState is the http.Server's ConnState hook: it tells which
// connections are idle.
func (l *limitListener) connState(c net.Conn, st http.ConnState) {
	lc, ok := c.(*limitConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if st == http.StateIdle {
		l.idle[lc] = struct{}{}
	} else {
		delete(l.idle, lc)
	}
}

// closeIdle closes one idle connection, if there is one; its slot comes
// free as it closes.
func (l *limitListener) closeIdle() {
	l.mu.Lock()
	var victim *limitConn
	for c := range l.idle {
		victim = c
		delete(l.idle, c)
		break
	}
	l.mu.Unlock()
	if victim != nil {
		victim.Close()
	}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	default:
		l.closeIdle()
		select {
		case l.slots <- struct{}{}:
		case <-l.closed:
			return nil, net.ErrClosed
		}
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
