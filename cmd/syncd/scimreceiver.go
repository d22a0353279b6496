package main

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	gosync "sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/scimserver"
)

// defaultSCIMSyncDelay gathers a burst of SCIM changes into one run.
const defaultSCIMSyncDelay = 30 * time.Second

// receivers are the SCIM 2.0 endpoints of scim_receiver sources, mounted at
// /scim/<name>/v2/ on server.listen. A stored change asks for a run after
// the source's sync_delay.
//
// The scimserver handler takes its token when it is built, so a reload
// builds each endpoint's handler again over the same open store and swaps
// it in: the new token is required from the next request on and the old
// one refused. The server's routes are fixed at start, so a receiver added
// by a reload waits for a restart; one removed stops answering at once.
type receivers struct {
	log     *zap.Logger
	trigger func() (<-chan struct{}, error)
	byName  map[string]*receiver
}

// receiver is one mounted endpoint.
type receiver struct {
	name    string
	store   *scimserver.Store
	deb     *debouncer
	current atomic.Pointer[http.Handler]
	metrics metrics.SCIMReceiver
}

// ServeHTTP serves a request and counts it: by result, the time of an
// accepted push, and the store's size after a write.
func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	(*r.current.Load()).ServeHTTP(sw, req)
	r.metrics.Request(req.Method, sw.status, time.Now())
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		r.metrics.Store(r.store.Size())
	}
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// set builds the handler for rc (nil: the source is no longer configured).
func (r *receiver) set(rc *config.SCIMReceiver, log *zap.Logger) {
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "this SCIM receiver is no longer configured", http.StatusNotFound)
	})
	if rc != nil {
		r.deb.setDelay(receiverDelay(rc))
		h = scimserver.NewHandler(r.name, r.store, rc.Token.Reveal(), r.deb.poke, log)
	}
	r.current.Store(&h)
}

func receiverDelay(rc *config.SCIMReceiver) time.Duration {
	if d := rc.SyncDelay.Std(); d > 0 {
		return d
	}
	return defaultSCIMSyncDelay
}

// newReceivers opens the store of each scim_receiver source of cfg, and
// exports its metrics on m from what the store holds.
func newReceivers(cfg *config.Config, trigger func() (<-chan struct{}, error), m *metrics.Metrics, log *zap.Logger) (*receivers, error) {
	rs := &receivers{log: log, trigger: trigger, byName: map[string]*receiver{}}
	for _, src := range cfg.Sources {
		rc := src.SCIMReceiver
		if rc == nil {
			continue
		}
		if cfg.Sync.StateDir == "" {
			return nil, fmt.Errorf("scim receiver %q: sync.state_dir is required to store what it receives", src.Name)
		}
		store, err := scimserver.OpenStore(scimserver.StorePath(cfg.Sync.StateDir, src.Name))
		if err != nil {
			return nil, &stateError{err} // a damaged or unreadable file: exit 1, not 2
		}
		users, groups := store.Size()
		r := &receiver{name: src.Name, store: store,
			deb:     &debouncer{trigger: trigger, log: log.With(zap.String("source", src.Name))},
			metrics: m.SCIMReceiver(src.Name, store.LastChange(), users, groups)}
		r.set(rc, log)
		rs.byName[src.Name] = r
	}
	return rs, nil
}

// handlers are the endpoints to mount, by route pattern.
func (rs *receivers) handlers() map[string]http.Handler {
	out := make(map[string]http.Handler, len(rs.byName))
	for name, r := range rs.byName {
		out["/scim/"+name+"/v2/"] = r
	}
	return out
}

// reload applies a reloaded configuration: tokens and sync delays at once.
func (rs *receivers) reload(cfg *config.Config) {
	seen := map[string]bool{}
	var added []string
	for _, src := range cfg.Sources {
		if src.SCIMReceiver == nil {
			continue
		}
		seen[src.Name] = true
		r, ok := rs.byName[src.Name]
		if !ok {
			added = append(added, src.Name)
			continue
		}
		r.set(src.SCIMReceiver, rs.log)
	}
	for name, r := range rs.byName {
		if !seen[name] {
			r.set(nil, rs.log)
			rs.log.Warn("SCIM receiver removed by the reload: it no longer answers", zap.String("source", name))
		}
	}
	if len(added) > 0 {
		slices.Sort(added)
		rs.log.Warn("new SCIM receivers are served only after a restart", zap.Strings("sources", added))
	}
}

// debouncer starts one run delay after the last poke; while a run is going
// it tries again a delay later. A steady stream of changes (an identity
// provider's first cycle pushes for minutes) postpones the run at most
// maxWaitFactor delays after the first change not yet synced.
type debouncer struct {
	trigger func() (<-chan struct{}, error)
	log     *zap.Logger
	mu      gosync.Mutex
	delay   time.Duration
	timer   *time.Timer
	first   time.Time // first poke since the last run started; zero when none
}

const maxWaitFactor = 10

func (b *debouncer) setDelay(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.delay = d
}

func (b *debouncer) poke() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.first.IsZero() {
		b.first = now
	}
	wait := b.delay
	if deadline := b.first.Add(maxWaitFactor * b.delay); now.Add(wait).After(deadline) {
		wait = max(0, deadline.Sub(now))
	}
	if b.timer != nil {
		b.timer.Stop()
	}
	b.timer = time.AfterFunc(wait, b.fire)
}

func (b *debouncer) fire() {
	b.mu.Lock()
	b.first = time.Time{}
	b.mu.Unlock()
	_, err := b.trigger()
	switch {
	case errors.Is(err, daemon.ErrBusy):
		b.poke()
	case err == nil:
		b.log.Info("run started after SCIM changes")
	}
}
