package slapdtest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// KillingProxy returns an ldap:// URL of a loopback proxy to the server
// that kills slapd (SIGKILL) once afterBytes bytes of answers have passed
// through: a server crash in the middle of a read.
func (s *Server) KillingProxy(tb testing.TB, afterBytes int64) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	target := s.URL[len("ldap://"):]
	var passed atomic.Int64
	var wg sync.WaitGroup
	tb.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.pipe(c, target, afterBytes, &passed)
			}()
		}
	}()
	return "ldap://" + l.Addr().String()
}

func (s *Server) pipe(client net.Conn, target string, afterBytes int64, passed *atomic.Int64) {
	defer client.Close()
	server, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() { _, _ = io.Copy(server, client); server.Close() }()
	buf := make([]byte, 4096)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
			if passed.Add(int64(n)) >= afterBytes {
				s.Kill()
			}
		}
		if err != nil {
			return
		}
	}
}
