package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SCIM request results, the values of syncd_scim_requests_total{result}.
const (
	SCIMSuccess      = "success"      // 2xx: read or stored
	SCIMUnauthorized = "unauthorized" // 401: a missing or wrong bearer token
	SCIMRejected     = "rejected"     // another 4xx: a request the receiver refused
	SCIMError        = "error"        // 5xx: the receiver failed
)

var scimResults = []string{SCIMSuccess, SCIMUnauthorized, SCIMRejected, SCIMError}

// scimCollectors are the metrics of the SCIM receivers, by source name
// (the configured scim_receiver sources: a bounded set).
type scimCollectors struct {
	requests *prometheus.CounterVec
	lastPush *prometheus.GaugeVec
	users    *prometheus.GaugeVec
	groups   *prometheus.GaugeVec
}

func newSCIMCollectors() scimCollectors {
	return scimCollectors{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "scim_requests_total",
			Help: "Requests to a SCIM receiver by result: success (2xx), unauthorized (401), rejected (other 4xx), error (5xx).",
		}, []string{"source", "result"}),
		lastPush: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "scim_last_push_timestamp_seconds",
			Help: "Unix time of the last change an identity provider pushed to a SCIM receiver and it accepted; 0 before the first.",
		}, []string{"source"}),
		users: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "scim_users",
			Help: "Users a SCIM receiver holds (inactive ones included).",
		}, []string{"source"}),
		groups: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "scim_groups",
			Help: "Groups a SCIM receiver holds.",
		}, []string{"source"}),
	}
}

func (c scimCollectors) list() []prometheus.Collector {
	return []prometheus.Collector{c.requests, c.lastPush, c.users, c.groups}
}

// SCIMReceiver observes the SCIM receiver of one source.
type SCIMReceiver struct {
	m      *Metrics
	source string
}

// SCIMReceiver returns the observer of the receiver named source and
// creates its series: the request counts at zero, the last push at
// lastPush (zero: never), the store at its size, so that alerts and
// rate() see them from the start.
func (m *Metrics) SCIMReceiver(source string, lastPush time.Time, users, groups int) SCIMReceiver {
	r := SCIMReceiver{m: m, source: source}
	for _, res := range scimResults {
		m.scim.requests.WithLabelValues(source, res)
	}
	g := m.scim.lastPush.WithLabelValues(source)
	if !lastPush.IsZero() {
		g.Set(unixSeconds(lastPush))
	}
	r.Store(users, groups)
	return r
}

// Request counts one answered request. A write (POST, PUT, PATCH, DELETE)
// answered 2xx is a push: its time becomes the last push.
func (r SCIMReceiver) Request(method string, code int, at time.Time) {
	res := scimResult(code)
	r.m.scim.requests.WithLabelValues(r.source, res).Inc()
	if res == SCIMSuccess && isWrite(method) {
		r.m.scim.lastPush.WithLabelValues(r.source).Set(unixSeconds(at))
	}
}

// Store records the receiver's size.
func (r SCIMReceiver) Store(users, groups int) {
	r.m.scim.users.WithLabelValues(r.source).Set(float64(users))
	r.m.scim.groups.WithLabelValues(r.source).Set(float64(groups))
}

func scimResult(code int) string {
	switch {
	case code >= 200 && code < 300:
		return SCIMSuccess
	case code == http.StatusUnauthorized:
		return SCIMUnauthorized
	case code >= 400 && code < 500:
		return SCIMRejected
	}
	return SCIMError
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}
