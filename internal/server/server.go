// Package server is the daemon's HTTP face: metrics, health and readiness,
// the latest report, and a way to run a sync now. No endpoint reveals a
// secret: reports carry none and the sync token is only ever compared.
//
// /metrics, /healthz and /readyz are open (probes and Prometheus need
// them) and carry no personal data. POST /sync and /reports/latest (which
// names people) are open only on a loopback address without a token;
// anywhere else they need the bearer token, and without one configured
// they are refused. access.go has the rules, including what keeps a web
// page in the operator's browser from using the loopback exception.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/ration"
	"github.com/syncd/syncd/internal/report"
)

// Scheduler is what the server needs of the daemon.
type Scheduler interface {
	Trigger() (<-chan struct{}, error) // daemon.ErrBusy while a run is going
	Ready() (bool, string)
	Latest() *report.Report
}

// Options are the server's dependencies; Logger, Gatherer and Scheduler are required.
type Options struct {
	Logger    *zap.Logger
	Gatherer  prometheus.Gatherer
	Scheduler Scheduler
	// Listen is server.listen. Unless its host is a loopback address,
	// POST /sync and /reports/latest need SyncToken (and are refused
	// without one); empty counts as every interface.
	Listen string
	// PublicURL is server.public_url: set to another host than this one,
	// people reach syncd through a proxy, and the loopback exception
	// ends (a proxy on this host makes every request come from loopback).
	PublicURL string
	// SyncToken, when set, must come as "Authorization: Bearer <token>" on
	// POST /sync and /reports/latest. SetSyncToken replaces it.
	SyncToken string
	// Handlers are mounted as they are, e.g. a SCIM receiver at "/scim/entra/v2/".
	Handlers map[string]http.Handler
	// WaitLimit bounds POST /sync?wait=1; default 10 minutes.
	WaitLimit time.Duration
	// Pprof mounts Go's profiler at /debug/pprof/, guarded as
	// /reports/latest is (server.pprof).
	Pprof bool
	// MaxConns caps the connections Serve serves at once; default
	// DefaultMaxConns. More wait until one closes.
	MaxConns int
	// Console, when set, serves the web console at / and POST /approve
	// (console.go); without it / lists the endpoints.
	Console Console
	// Now is the clock wrong tokens are rationed by; nil: time.Now.
	Now func() time.Time
}

// Server serves the daemon's endpoints.
type Server struct {
	o        Options
	loopback bool                        // served without a token to local users (access.go)
	remote   string                      // why not, when not
	creds    atomic.Pointer[credentials] // nil: no token configured
	formKey  [32]byte                    // signs the console's CSRF tokens (session.go)
	guesses  *ration.Guesses             // wrong tokens allowed (guesses.go)
	mux      *http.ServeMux
	renders  chan struct{} // one report render at a time (renderTurn)
}

// New checks the options and builds the routes.
func New(o Options) (*Server, error) {
	switch {
	case o.Logger == nil:
		return nil, errors.New("server: a Logger is required")
	case o.Gatherer == nil:
		return nil, errors.New("server: a Gatherer is required")
	case o.Scheduler == nil:
		return nil, errors.New("server: a Scheduler is required")
	}
	if o.WaitLimit <= 0 {
		o.WaitLimit = 10 * time.Minute
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	s := &Server{o: o, guesses: ration.New(o.Now), mux: http.NewServeMux(), renders: make(chan struct{}, 1)}
	s.loopback, s.remote = LocalOnly(o.Listen, o.PublicURL)
	_, _ = rand.Read(s.formKey[:])
	s.SetSyncToken(o.SyncToken)
	s.routes()
	return s, nil
}

// SetSyncToken replaces the bearer token (a reloaded configuration): the
// new one is required from the next request on, the old one refused. ""
// removes it. Only its hash (and a key derived from it for the console's
// session cookies, which a new token ends) is kept.
func (s *Server) SetSyncToken(token string) {
	if token == "" {
		s.creds.Store(nil)
		return
	}
	s.creds.Store(newCredentials(token))
}

func (s *Server) routes() {
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.o.Gatherer, promhttp.HandlerOpts{
		ErrorLog: zap.NewStdLog(s.o.Logger), ErrorHandling: promhttp.ContinueOnError,
	}))
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /reports/latest", s.guard("GET /reports/latest", http.HandlerFunc(s.latest)))
	s.mux.Handle("POST /sync", s.guard("POST /sync", http.HandlerFunc(s.sync)))
	if s.o.Console != nil {
		s.consoleRoutes()
	} else {
		s.mux.Handle("GET /{$}", s.localNames("GET /", http.HandlerFunc(s.index)))
	}
	if s.o.Pprof {
		s.profiler()
	}
	// Mounted handlers (the SCIM receivers) check their own bearer token
	// on every request, and sit behind a reverse proxy that passes the
	// public host name: the Host rule is not theirs.
	for pattern, h := range s.o.Handlers {
		s.mux.Handle(pattern, h)
	}
}

// Handler returns the routes, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.mux }

// HTTPServer returns an http.Server with the timeouts syncd uses.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second, // POST /sync?wait=1 extends its own deadline
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          zap.NewStdLog(s.o.Logger.Named("http")),
	}
}

// Serve answers on ln until ctx ends, then shuts down gracefully (bounded).
// At most Options.MaxConns connections are served at once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := s.HTTPServer()
	hs.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	errc := make(chan error, 1)
	limited := newLimitListener(ln, s.o.MaxConns)
	hs.ConnState = limited.connState
	go func() { errc <- hs.Serve(limited) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil {
		hs.Close()
	}
	return nil
}

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "syncd\n\nGET  /metrics\nGET  /healthz\nGET  /readyz\nGET  /reports/latest[?format=json|text|markdown|html]\n"+
		"POST /sync[?wait=1]  (with Authorization: Bearer <token>, or without a token on loopback: Content-Type: application/json)\n")
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	plain(w, http.StatusOK, "ok")
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if ok, why := s.o.Scheduler.Ready(); !ok {
		plain(w, http.StatusServiceUnavailable, "not ready: "+why)
		return
	}
	plain(w, http.StatusOK, "ready")
}

func (s *Server) latest(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "html"
	}
	if !report.ValidFormat(format) {
		plain(w, http.StatusBadRequest, "unknown format "+quote(format)+": use html, json, text or markdown")
		return
	}
	if !s.renderTurn(r) {
		return
	}
	defer s.renderDone()
	rep := s.o.Scheduler.Latest()
	if rep == nil {
		plain(w, http.StatusNotFound, "no report yet: no run has finished")
		return
	}
	w.Header().Set("Content-Type", contentTypes[format])
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if format == "html" {
		// frame-ancestors: no other site may frame the report.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'")
	}
	if err := report.Render(w, rep, format); err != nil {
		s.o.Logger.Warn("render latest report", zap.String("format", format), zap.Error(err))
	}
}

var contentTypes = map[string]string{
	"html":     "text/html; charset=utf-8",
	"json":     "application/json",
	"text":     "text/plain; charset=utf-8",
	"markdown": "text/markdown; charset=utf-8",
}

func (s *Server) sync(w http.ResponseWriter, r *http.Request) {
	done, err := s.o.Scheduler.Trigger()
	switch {
	case errors.Is(err, daemon.ErrBusy):
		plain(w, http.StatusConflict, "a sync run is already going")
		return
	case err != nil:
		plain(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	s.o.Logger.Info("sync requested over HTTP", zap.String("remote", r.RemoteAddr))
	if !wantWait(r) {
		w.Header().Set("Location", "/reports/latest")
		plain(w, http.StatusAccepted, "sync started")
		return
	}
	s.waitAndReport(w, r, done)
}

// waitAndReport answers POST /sync?wait=1 with the run's report as JSON.
func (s *Server) waitAndReport(w http.ResponseWriter, r *http.Request, done <-chan struct{}) {
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.o.WaitLimit + 5*time.Second))
	select {
	case <-done:
	case <-r.Context().Done():
		return
	case <-time.After(s.o.WaitLimit):
		plain(w, http.StatusAccepted, "sync still going; see /reports/latest later")
		return
	}
	rep := s.o.Scheduler.Latest()
	if l, ok := s.o.Scheduler.(lastRunner); ok {
		// The run's own outcome, not the latest report's: a run that
		// made none leaves an older one there.
		last := l.Last()
		rep = last.Report
		w.Header().Set("Syncd-Exit-Code", strconv.Itoa(last.ExitCode))
		w.Header().Set("Syncd-Result", exitcode.Result(last.ExitCode))
	}
	if rep == nil {
		plain(w, http.StatusInternalServerError, "the run produced no report; see the logs")
		return
	}
	if !s.renderTurn(r) {
		return
	}
	defer s.renderDone()
	w.Header().Set("Content-Type", contentTypes["json"])
	report.Render(w, rep, "json")
}

// renderTurn waits for the report renders before this request's to end
// (false: the client went away first). Reports are rendered one at a
// time: the JSON form of a first apply of 10,000 groups allocates about
// 200 MB and is held until the client has read it, so a few views at once
// could take the daemon past its memory limit. A client that stops
// reading holds the turn for at most the server's write timeout.
func (s *Server) renderTurn(r *http.Request) bool {
	select {
	case s.renders <- struct{}{}:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (s *Server) renderDone() { <-s.renders }

// lastRunner is a Scheduler that tells how its last run ended (the
// daemon's does): POST /sync?wait=1 answers with that run's exit code in
// Syncd-Exit-Code and Syncd-Result (success, held, failure), as the JSON
// report (the contract's) has no field for it.
type lastRunner interface{ Last() daemon.LastRun }

func wantWait(r *http.Request) bool {
	v := r.URL.Query().Get("wait")
	return v == "1" || v == "true"
}

func plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// profiler mounts Go's profiler (server.pprof) behind the same guard as
// the report: a profile shows memory, which may hold names and e-mails.
func (s *Server) profiler() {
	s.mux.Handle("GET /debug/pprof/", s.guard("GET /debug/pprof/", http.HandlerFunc(pprof.Index)))
	for name, h := range map[string]http.HandlerFunc{"cmdline": pprof.Cmdline, "profile": pprof.Profile,
		"symbol": pprof.Symbol, "trace": pprof.Trace} {
		route := "GET /debug/pprof/" + name
		s.mux.Handle(route, s.guard(route, h))
	}
}
