package sync

import (
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/state"
)

// approvals are the unexpired approvals of held changes to this engine's
// Teams site: the plan lets exactly those changes through the budgets.
func (e *Engine) approvals(now time.Time) map[string]state.Approval {
	all := e.store.Approvals(now)
	target := e.target()
	for id, a := range all {
		if a.Target != target {
			delete(all, id)
		}
	}
	return all
}

// tidyAudit, at the start of an applying run (which holds the writer
// lock), logs and forgets the approvals that expired unused and rotates
// the audit log. Neither failing stops the run: an expired approval is
// never used, and a log not rotated only grows.
func (e *Engine) tidyAudit(now time.Time) {
	gone, err := e.store.ExpireApprovals(now)
	if err != nil {
		e.log.Warn("cannot record the approvals that expired", errField(err))
	}
	for _, a := range gone {
		e.log.Info("approval expired unused", zap.String("change_id", a.ID), zap.String("approved_by", a.By),
			zap.Time("expired", a.Expires))
	}
	retention := e.cfg.Sync.AuditRetention.Std()
	if retention <= 0 { // a Config not made by config.Load: never the whole log
		retention = config.DefaultAuditRetention.Std()
	}
	r, err := e.store.RotateAudit(now, retention)
	if err != nil {
		e.log.Warn("cannot rotate the audit log", errField(err))
	}
	if r.Rotated != "" || len(r.Deleted) > 0 {
		e.log.Info("audit log rotated", zap.String("segment", r.Rotated), zap.Strings("deleted", r.Deleted),
			zap.Int("compressed", len(r.Compressed)))
	}
}
