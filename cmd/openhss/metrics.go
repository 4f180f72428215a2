package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry"
)

// syncMetrics exports registry sync outcomes to Prometheus.
type syncMetrics struct {
	runs     *prometheus.CounterVec
	changes  *prometheus.CounterVec
	duration prometheus.Histogram
}

var _ registry.Metrics = (*syncMetrics)(nil)

func newSyncMetrics(reg prometheus.Registerer) *syncMetrics {
	m := &syncMetrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openhss_registry_syncs_total",
			Help: "Registry connection syncs by result (success, fail).",
		}, []string{"result"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openhss_registry_sync_tags_total",
			Help: "Tags seen by syncs, by what happened to their rows (added, moved, removed, unchanged).",
		}, []string{"change"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "openhss_registry_sync_duration_seconds",
			Help:    "Time to sync one registry connection.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
	}
	reg.MustRegister(m.runs, m.changes, m.duration)
	return m
}

func (m *syncMetrics) SyncDone(_ int64, res inventory.SyncResult, err error, d time.Duration) {
	result := "success"
	if err != nil {
		result = "fail"
	}
	m.runs.WithLabelValues(result).Inc()
	for change, n := range map[string]int{"added": res.Added, "moved": res.Moved, "removed": res.Removed, "unchanged": res.Unchanged} {
		m.changes.WithLabelValues(change).Add(float64(n))
	}
	m.duration.Observe(d.Seconds())
}
