package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/notify"
	"github.com/syncd/syncd/internal/state"
	engine "github.com/syncd/syncd/internal/sync"
)

// notifyGrace bounds how long a stopping daemon lets notifications still
// being sent go on (the run's own grace comes first; systemd and
// Kubernetes allow 30 s in all).
const notifyGrace = 5 * time.Second

// newNotifier builds the notifier; the state store's run history tells it
// how the runs before this process ended ("recovered").
func newNotifier(log *zap.Logger, reg prometheus.Registerer, store *state.Store) (*notify.Notifier, error) {
	o := notify.Options{Logger: log.Named("notify"), Registerer: reg}
	if store != nil {
		o.History = store
	}
	return notify.New(o)
}

// afterRun hands each daemon run to the notifier, which sends in the
// background: the next run and a stop do not wait for a webhook. The
// daemon's /reports/latest shows this run's report, hence the link.
func (p *daemonParts) afterRun(e daemon.Ended) {
	run := notify.Run{ExitCode: e.ExitCode, Err: e.Err, ReportURL: notify.ReportURL(e.Config.Server.PublicURL)}
	if e.Result != nil {
		run.Report = e.Result.Report
	}
	p.notifier.Enqueue(e.Config.Notify.Webhooks, run)
}

// notify tells the webhooks about a one-shot run before the command exits,
// within the notifier's budget. No link: the daemon's /reports/latest
// does not show a one-shot run's report. Its counter is not exported
// (there is no /metrics); failures are in the log.
func (w *wiring) notify(ctx context.Context, res *engine.Result) {
	if len(w.cfg.Notify.Webhooks) == 0 || res == nil {
		return
	}
	n, err := newNotifier(w.log, prometheus.NewRegistry(), w.store)
	if err != nil {
		w.log.Warn("notifications not sent", zap.Error(err))
		return
	}
	n.Notify(ctx, w.cfg.Notify.Webhooks, notify.Run{Report: res.Report, ExitCode: res.ExitCode})
}
