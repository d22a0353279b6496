package slapdtest

import (
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// KillingProxy returns an ldap:// URL of a loopback proxy to the server
// that kills slapd (SIGKILL) once afterBytes bytes of answers have passed
// through: a server crash in the middle of a read.
func (s *Server) KillingProxy(tb testing.TB, afterBytes int64) string {
	return s.proxy(tb, 0, func(passed int64) {
		if passed >= afterBytes {
			s.Kill()
		}
	})
}

// StallingProxy returns an ldap:// URL of a loopback proxy that stops
// reading the server's answers for pause once afterBytes bytes have passed
// (once per connection), then relays the rest: a network or server that
// stalls in the middle of a page. Its small receive buffer makes slapd
// itself wait to write, so slapd's own time limit can run out meanwhile.
func (s *Server) StallingProxy(tb testing.TB, afterBytes int64, pause time.Duration) string {
	var stalled atomic.Bool
	return s.proxy(tb, 4096, func(passed int64) {
		if passed >= afterBytes && stalled.CompareAndSwap(false, true) {
			time.Sleep(pause)
		}
	})
}

// proxy relays clients to the server; before each chunk of answer goes on
// it calls at with the bytes passed so far, that chunk included (on the
// relaying goroutine: a pause there stops the flow). rcvBuf, when
// positive, caps the socket receive buffer towards slapd.
func (s *Server) proxy(tb testing.TB, rcvBuf int, at func(passed int64)) string {
	var passed atomic.Int64
	return s.relayed(tb, rcvBuf, false, func(n int) (int, bool) {
		at(passed.Add(int64(n)))
		return n, false
	})
}

// CuttingProxy returns an ldap:// URL of a loopback proxy that cuts the
// connection it is relaying once afterBytes bytes of answers have passed
// through it in all, wherever that falls (inside a message, a page, an
// entry), with a TCP RST when rst, else a plain close. It cuts once:
// later connections are relayed whole, as after a network blip, for a
// client that connects again.
func (s *Server) CuttingProxy(tb testing.TB, afterBytes int64, rst bool) string {
	var mu sync.Mutex
	left, done := afterBytes, false
	return s.relayed(tb, 0, rst, func(n int) (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if done || int64(n) < left {
			left -= int64(n)
			return n, false
		}
		done = true
		return int(left), true
	})
}

// BlinkingProxy returns an ldap:// URL of a loopback proxy to the server,
// and a function that arms one cut: the next chunk of answer on any
// connection is relayed up to a random byte, then the connection is
// reset, as a network blip in the middle of a message would. A client
// following a change feed through it loses the message under way and must
// get it again after it connects again.
func (s *Server) BlinkingProxy(tb testing.TB) (url string, blink func()) {
	addr, blink := Blinking(tb, s.URL[len("ldap://"):])
	return "ldap://" + addr, blink
}

// Blinking is BlinkingProxy to any TCP address host:port (TLS passes
// through it untouched): it listens on the same host, on a port of its
// own, so that a certificate for the host still verifies.
func Blinking(tb testing.TB, target string) (addr string, blink func()) {
	tb.Helper()
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		tb.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		tb.Fatal(err)
	}
	var armed atomic.Bool
	pass := func(n int) (int, bool) {
		if !armed.CompareAndSwap(true, false) {
			return n, false
		}
		return rand.IntN(n), true
	}
	Serve(tb, l, func(c net.Conn) { relay(c, target, 0, true, pass) })
	return l.Addr().String(), func() { armed.Store(true) }
}

// relayed starts a loopback proxy to the server and returns its URL; pass
// says, for each chunk of n bytes of answer, how many to relay and
// whether to cut the connection then (with a RST when rst).
func (s *Server) relayed(tb testing.TB, rcvBuf int, rst bool, pass func(n int) (int, bool)) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	target := s.URL[len("ldap://"):]
	Serve(tb, l, func(c net.Conn) { relay(c, target, rcvBuf, rst, pass) })
	return "ldap://" + l.Addr().String()
}

func relay(client net.Conn, target string, rcvBuf int, rst bool, pass func(n int) (int, bool)) {
	defer client.Close()
	d := net.Dialer{}
	if rcvBuf > 0 {
		// Set before connecting, so the window is small from the start.
		d.Control = func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvBuf)
			})
		}
	}
	server, err := d.Dial("tcp", target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() { _, _ = io.Copy(server, client); server.Close() }()
	buf := make([]byte, 4096)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			k, cut := pass(n)
			if _, werr := client.Write(buf[:k]); werr != nil {
				return
			}
			if cut {
				if tc, ok := client.(*net.TCPConn); ok && rst {
					_ = tc.SetLinger(0)
				}
				return
			}
		}
		if err != nil {
			return
		}
	}
}
