package daemon

import (
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/scimserver"
)

// Receivers are the SCIM 2.0 endpoints of the scim_receiver sources,
// mounted at /scim/<name>/v2/ on server.listen. A stored change asks for a
// run after the source's sync_delay (a Debouncer).
//
// The scimserver handler takes its token when it is built, so a reload
// builds each endpoint's handler again over the same open store and swaps
// it in: the new token is required from the next request on and the old
// one refused. The server's routes are fixed at start, so a receiver added
// by a reload waits for a restart; one removed stops answering at once.
type Receivers struct {
	log    *zap.Logger
	byName map[string]*receiver
}

// receiver is one mounted endpoint.
type receiver struct {
	name    string
	store   *scimserver.Store
	deb     *Debouncer
	current atomic.Pointer[http.Handler]
	metrics metrics.SCIMReceiver
}

// NewReceivers opens the store of each scim_receiver source of cfg, and
// exports its metrics on m from what the store holds. trigger starts a run
// (a Daemon's Trigger).
func NewReceivers(cfg *config.Config, trigger func() (<-chan struct{}, error), m *metrics.Metrics, log *zap.Logger) (*Receivers, error) {
	rs := &Receivers{log: log, byName: map[string]*receiver{}}
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
			return nil, err
		}
		users, groups := store.Size()
		r := &receiver{name: src.Name, store: store,
			deb:     NewDebouncer(trigger, receiverDelay(rc), log.With(zap.String("source", src.Name))),
			metrics: m.SCIMReceiver(src.Name, store.LastChange(), users, groups)}
		r.set(rc, log)
		rs.byName[src.Name] = r
	}
	return rs, nil
}

// Resume asks for a run, after each receiver's sync_delay, for every
// receiver that stored a change since the start of the last successful
// run (zero: none is known). A push acknowledged just before syncd
// stopped, its run not yet started or cut short, is otherwise applied
// only at the next scheduled run when no run starts with the daemon.
func (rs *Receivers) Resume(since time.Time) {
	if rs == nil {
		return
	}
	// The store keeps its last change to the second: a push in the same
	// second as the run's start counts as after it (one run too many at
	// worst).
	since = since.Truncate(time.Second)
	for name, r := range rs.byName {
		if last := r.store.LastChange(); !last.IsZero() && !last.Before(since) {
			rs.log.Info("SCIM changes received since the last successful run: a run follows",
				zap.String("source", name), zap.Time("last_change", last))
			r.deb.Poke()
		}
	}
}

// Handlers are the endpoints to mount, by route pattern.
func (rs *Receivers) Handlers() map[string]http.Handler {
	out := make(map[string]http.Handler, len(rs.byName))
	for name, r := range rs.byName {
		out["/scim/"+name+"/v2/"] = r
	}
	return out
}

// Reload applies a reloaded configuration: tokens and sync delays at once.
func (rs *Receivers) Reload(cfg *config.Config) {
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

// set builds the handler for rc (nil: the source is no longer configured).
func (r *receiver) set(rc *config.SCIMReceiver, log *zap.Logger) {
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "this SCIM receiver is no longer configured", http.StatusNotFound)
	})
	if rc != nil {
		r.deb.SetDelay(receiverDelay(rc))
		h = scimserver.NewHandler(r.name, r.store, rc.Token.Reveal(), r.deb.Poke, log)
	}
	r.current.Store(&h)
}

// receiverDelay is the source's sync_delay; a zero one (written out as
// 0) takes the default too.
func receiverDelay(rc *config.SCIMReceiver) time.Duration {
	if d := rc.SyncDelay.Std(); d > 0 {
		return d
	}
	return config.DefaultSyncDelay
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
