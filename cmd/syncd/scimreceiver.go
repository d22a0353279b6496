package main

import (
	"errors"
	"fmt"
	"net/http"
	gosync "sync"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/scimserver"
)

// defaultSCIMSyncDelay gathers a burst of SCIM changes into one run.
const defaultSCIMSyncDelay = 30 * time.Second

// scimReceivers builds the SCIM 2.0 endpoints of scim_receiver sources,
// mounted at /scim/<name>/v2/ on server.listen. A stored change asks for a
// run after the source's sync_delay.
func scimReceivers(cfg *config.Config, d *daemon.Daemon, log *zap.Logger) (map[string]http.Handler, error) {
	handlers := map[string]http.Handler{}
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
		delay := rc.SyncDelay.Std()
		if delay <= 0 {
			delay = defaultSCIMSyncDelay
		}
		deb := &debouncer{delay: delay, trigger: d.Trigger, log: log.With(zap.String("source", src.Name))}
		handlers["/scim/"+src.Name+"/v2/"] = scimserver.NewHandler(src.Name, store, rc.Token.Reveal(), deb.poke, log)
	}
	return handlers, nil
}

// debouncer starts one run delay after the last poke; while a run is going
// it tries again a delay later.
type debouncer struct {
	delay   time.Duration
	trigger func() (<-chan struct{}, error)
	log     *zap.Logger
	mu      gosync.Mutex
	timer   *time.Timer
}

func (b *debouncer) poke() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer != nil {
		b.timer.Stop()
	}
	b.timer = time.AfterFunc(b.delay, b.fire)
}

func (b *debouncer) fire() {
	_, err := b.trigger()
	switch {
	case errors.Is(err, daemon.ErrBusy):
		b.poke()
	case err == nil:
		b.log.Info("run started after SCIM changes")
	}
}
