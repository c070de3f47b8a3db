package httpapi

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the server's Prometheus collectors, on a registry of their own.
type Metrics struct {
	Registry      *prometheus.Registry
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	websockets    prometheus.Gauge
	messagesSent  prometheus.Counter
	eventsDropped prometheus.Counter
	rateLimited   *prometheus.CounterVec
}

// NewMetrics returns the collectors registered on a new registry, with the
// Go runtime's and the process's.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "parley_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		websockets: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_websockets_open", Help: "Realtime connections open now.",
		}),
		messagesSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_messages_sent_total", Help: "Messages stored, not counting idempotent replays.",
		}),
		eventsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_realtime_slow_disconnects_total", Help: "Realtime connections cut off for not keeping up.",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_rate_limited_total", Help: "Requests refused by a rate limit, by policy (app or member).",
		}, []string{"policy"}),
	}
	m.Registry.MustRegister(m.requests, m.duration, m.websockets, m.messagesSent, m.eventsDropped, m.rateLimited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
