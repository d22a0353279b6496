package metrics

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Notification results, the values of syncd_notifications_total{result}.
const (
	NotificationSent   = "sent"   // a webhook accepted the message
	NotificationFailed = "failed" // it did not, after the retries
)

// Notifications counts the messages sent to webhooks about runs
// (DESIGN.md §9). It is apart from Metrics because a one-shot `syncd sync`
// sends notifications too, without the daemon's other collectors.
type Notifications struct {
	total *prometheus.CounterVec
}

// NewNotifications registers syncd_notifications_total on reg, which is
// required, with both results at zero so that an alert on failures sees
// the series before the first one.
func NewNotifications(reg prometheus.Registerer) (*Notifications, error) {
	if reg == nil {
		return nil, errors.New("metrics: a Registerer is required")
	}
	n := &Notifications{total: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "notifications_total",
		Help: "Messages about runs sent to webhooks (one per event per webhook), by result: sent, or failed after the retries.",
	}, []string{"result"})}
	if err := reg.Register(n.total); err != nil {
		return nil, fmt.Errorf("metrics: register: %w", err)
	}
	n.total.WithLabelValues(NotificationSent)
	n.total.WithLabelValues(NotificationFailed)
	return n, nil
}

// Sent counts a message a webhook accepted.
func (n *Notifications) Sent() { n.total.WithLabelValues(NotificationSent).Inc() }

// Failed counts a message that was not delivered.
func (n *Notifications) Failed() { n.total.WithLabelValues(NotificationFailed).Inc() }
