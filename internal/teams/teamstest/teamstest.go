// Package teamstest starts the Teams API v3 emulator (package emulator)
// on a real HTTP server for tests. It is the emulator's only link to
// testing and net/http/httptest, and is for tests only.
package teamstest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/syncd/syncd/internal/teams/emulator"
)

// NewServer starts an emulator on a real httptest server, closed by
// tb.Cleanup. The seed is not modified.
func NewServer(tb testing.TB, seed *emulator.Seed, o emulator.Options) (*emulator.Emulator, *httptest.Server) {
	tb.Helper()
	return start(tb, seed, o, httptest.NewServer)
}

// NewTLSServer is NewServer over HTTPS; srv.Client() trusts its
// certificate.
func NewTLSServer(tb testing.TB, seed *emulator.Seed, o emulator.Options) (*emulator.Emulator, *httptest.Server) {
	tb.Helper()
	return start(tb, seed, o, httptest.NewTLSServer)
}

func start(tb testing.TB, seed *emulator.Seed, o emulator.Options, serve func(http.Handler) *httptest.Server) (*emulator.Emulator, *httptest.Server) {
	tb.Helper()
	e, err := emulator.New(seed, o)
	if err != nil {
		tb.Fatalf("teamstest: %v", err)
	}
	srv := serve(e)
	tb.Cleanup(srv.Close)
	return e, srv
}
