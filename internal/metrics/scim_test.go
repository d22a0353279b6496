package metrics_test

import (
	"testing"
	"time"
)

func TestSCIMReceiver(t *testing.T) {
	m, reg := mustNew(t)
	r := m.SCIMReceiver("entra", time.Time{}, 3, 1)
	for _, res := range []string{"success", "unauthorized", "rejected", "error"} {
		if series(t, reg, "syncd_scim_requests_total", map[string]string{"source": "entra", "result": res}) == nil {
			t.Errorf("no series for result %s before the first request", res)
		}
	}
	last := func() float64 {
		return series(t, reg, "syncd_scim_last_push_timestamp_seconds", map[string]string{"source": "entra"}).GetGauge().GetValue()
	}
	if got := last(); got != 0 {
		t.Errorf("last push before any: %v, want 0", got)
	}
	at := time.Unix(1_700_000_000, 0)
	r.Request("GET", 200, at)   // a read: no push
	r.Request("POST", 401, at)  // refused
	r.Request("PATCH", 400, at) // refused
	r.Request("PUT", 500, at)   // failed
	if got := last(); got != 0 {
		t.Errorf("last push after reads and refusals: %v, want 0", got)
	}
	r.Request("PATCH", 204, at)
	if got := last(); got != float64(at.Unix()) {
		t.Errorf("last push = %v, want %d", got, at.Unix())
	}
	for res, want := range map[string]float64{"success": 2, "unauthorized": 1, "rejected": 1, "error": 1} {
		got := series(t, reg, "syncd_scim_requests_total", map[string]string{"source": "entra", "result": res}).GetCounter().GetValue()
		if got != want {
			t.Errorf("requests{result=%q} = %v, want %v", res, got, want)
		}
	}
	r.Store(40, 5)
	if u := series(t, reg, "syncd_scim_users", map[string]string{"source": "entra"}).GetGauge().GetValue(); u != 40 {
		t.Errorf("users = %v, want 40", u)
	}
	if g := series(t, reg, "syncd_scim_groups", map[string]string{"source": "entra"}).GetGauge().GetValue(); g != 5 {
		t.Errorf("groups = %v, want 5", g)
	}
	// A restart restores the last push from the store.
	m2, reg2 := mustNew(t)
	m2.SCIMReceiver("okta", at, 0, 0)
	if got := series(t, reg2, "syncd_scim_last_push_timestamp_seconds", map[string]string{"source": "okta"}).GetGauge().GetValue(); got != float64(at.Unix()) {
		t.Errorf("restored last push = %v, want %d", got, at.Unix())
	}
}
