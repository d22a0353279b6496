package slapdtest

import (
	"net"
	"sync"
	"testing"
)

// Serve hands each connection accepted on l to handle, on its own
// goroutine, until the test ends; then it closes l and every connection
// and waits for the handlers. The proxies here and the tests' scripted
// servers share it.
func Serve(tb testing.TB, l net.Listener, handle func(net.Conn)) {
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	tb.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { handle(c) })
		}
	})
}
