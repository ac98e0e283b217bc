package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"steward/internal/android"
)

// queueCollector reports, at scrape time, the device command queue by state (in every tenant) and the
// push sender's counters, so that a queue that grows without bound shows on a dashboard.
type queueCollector struct {
	counts   func(ctx context.Context) (map[string]int, error)
	push     func() android.PushStats // nil without a push service
	commands *prometheus.Desc
	pushes   *prometheus.Desc
	queued   *prometheus.Desc
}

func newQueueCollector(counts func(ctx context.Context) (map[string]int, error), push func() android.PushStats) *queueCollector {
	return &queueCollector{counts: counts, push: push,
		commands: prometheus.NewDesc("steward_device_commands", "Device commands stored, by status.", []string{"status"}, nil),
		pushes:   prometheus.NewDesc("steward_push_wakes_total", "Push wake-ups by outcome.", []string{"outcome"}, nil),
		queued:   prometheus.NewDesc("steward_push_wakes_queued", "Push wake-ups waiting to be sent.", nil, nil),
	}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.commands
	ch <- c.pushes
	ch <- c.queued
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if counts, err := c.counts(ctx); err == nil {
		for status, n := range counts {
			ch <- prometheus.MustNewConstMetric(c.commands, prometheus.GaugeValue, float64(n), status)
		}
	}
	if c.push == nil {
		return
	}
	s := c.push()
	ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(s.Queued))
	for outcome, n := range map[string]int64{"sent": s.Sent, "dropped": s.Dropped, "unregistered": s.Unregistered} {
		ch <- prometheus.MustNewConstMetric(c.pushes, prometheus.CounterValue, float64(n), outcome)
	}
}
