package server

import (
	"net"
	"net/http"
	"sync"
	"time"
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
// A connection doing nothing holds its slot too: when every slot is taken,
// one is closed to make room, a keep-alive connection waiting between
// requests first (its client opens another when it has a request), else
// one opened silentAfter ago or more that has not sent a byte (a client
// sends its request as it connects). So connections left open and silent,
// by careless clients or on purpose, cannot keep the probes and /metrics
// out for the idle timeout, or for the header timeout again and again.
// One that sends a request slowly is bounded by the header timeout alone.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once

	mu    sync.Mutex
	conns map[*limitConn]http.ConnState // the connections open, by state
}

// silentAfter is how long a new connection may send nothing before it may
// be closed to make room.
const silentAfter = time.Second

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), closed: make(chan struct{}), conns: map[*limitConn]http.ConnState{}}
}

// connState is the http.Server's ConnState hook: it tells which
// connections are idle or silent.
func (l *limitListener) connState(c net.Conn, st http.ConnState) {
	lc, ok := c.(*limitConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if st == http.StateClosed || st == http.StateHijacked {
		delete(l.conns, lc)
	} else {
		l.conns[lc] = st
	}
}

// closeIdle closes one connection doing nothing (see limitListener), if
// there is one; its slot comes free as it closes.
func (l *limitListener) closeIdle() {
	l.mu.Lock()
	var victim *limitConn
	for c, st := range l.conns {
		if st == http.StateIdle {
			victim = c
			break
		}
		if st == http.StateNew && time.Since(c.opened) >= silentAfter {
			victim = c // unless an idle one turns up
		}
	}
	delete(l.conns, victim)
	l.mu.Unlock()
	if victim != nil {
		victim.Close()
	}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for taken := false; !taken; {
		select {
		case l.slots <- struct{}{}:
			taken = true
			continue
		default:
		}
		l.closeIdle()
		select {
		case l.slots <- struct{}{}:
			taken = true
		case <-l.closed:
			return nil, net.ErrClosed
		case <-time.After(silentAfter / 4): // a silent connection may have become closable
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, opened: time.Now(), release: func() { <-l.slots }}, nil
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
	opened  time.Time
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
