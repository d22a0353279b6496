package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// series returns the gathered series of the family name whose labels are
// exactly labels, or nil.
func series(tb testing.TB, g prometheus.Gatherer, name string, labels map[string]string) *dto.Metric {
	tb.Helper()
	for _, mf := range gather(tb, g) {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if sameLabels(m.GetLabel(), labels) {
				return m
			}
		}
	}
	return nil
}

func gather(tb testing.TB, g prometheus.Gatherer) []*dto.MetricFamily {
	tb.Helper()
	mfs, err := g.Gather()
	if err != nil {
		tb.Fatalf("gather: %v", err)
	}
	return mfs
}

func sameLabels(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, lp := range got {
		if v, ok := want[lp.GetName()]; !ok || v != lp.GetValue() {
			return false
		}
	}
	return true
}

// value is the value of a counter or gauge series, -1 when there is none.
func value(tb testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	tb.Helper()
	m := series(tb, g, name, labels)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	tb.Fatalf("%s is neither a counter nor a gauge", name)
	return 0
}

func histogramCount(tb testing.TB, g prometheus.Gatherer, name string, labels map[string]string) uint64 {
	tb.Helper()
	m := series(tb, g, name, labels)
	if m == nil || m.Histogram == nil {
		return 0
	}
	return m.Histogram.GetSampleCount()
}

func countSeries(tb testing.TB, g prometheus.Gatherer, name string) int {
	tb.Helper()
	for _, mf := range gather(tb, g) {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}
