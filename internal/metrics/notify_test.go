package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/syncd/syncd/internal/metrics"
)

func TestNotifications(t *testing.T) {
	if _, err := metrics.NewNotifications(nil); err == nil {
		t.Error("NewNotifications(nil) accepted no registry")
	}
	reg := prometheus.NewRegistry()
	n, err := metrics.NewNotifications(reg)
	if err != nil {
		t.Fatal(err)
	}
	sent := map[string]string{"result": metrics.NotificationSent}
	failed := map[string]string{"result": metrics.NotificationFailed}
	if got := value(t, reg, "syncd_notifications_total", failed); got != 0 {
		t.Errorf("failed before any message = %v, want a series at 0", got)
	}
	n.Sent()
	n.Sent()
	n.Failed()
	if got := value(t, reg, "syncd_notifications_total", sent); got != 2 {
		t.Errorf("sent = %v, want 2", got)
	}
	if got := value(t, reg, "syncd_notifications_total", failed); got != 1 {
		t.Errorf("failed = %v, want 1", got)
	}
	if got := testutil.CollectAndCount(reg, "syncd_notifications_total"); got != 2 {
		t.Errorf("series = %d, want 2 (sent, failed)", got)
	}
	if _, err := metrics.NewNotifications(reg); err == nil {
		t.Error("registering twice on one registry did not fail")
	}
}
