package httpapi

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
)

// Metrics are the server's Prometheus collectors, on a registry of their own.
type Metrics struct {
	Registry       *prometheus.Registry
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	websockets     prometheus.Gauge
	messagesSent   prometheus.Counter
	eventsDropped  prometheus.Counter
	rateLimited    *prometheus.CounterVec
	signInFailures *prometheus.CounterVec
}

// NewMetrics returns the collectors registered on a new registry, with the
// Go runtime's and the process's.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_http_requests_total", Help: "HTTP requests by route and status code: the API's, the OAuth provider's and the pages'.",
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
			Name: "parley_rate_limited_total", Help: "Requests refused by a rate limit, by policy: the API's app and member limits, and the server's own (see the README's Fair use).",
		}, []string{"policy"}),
		signInFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_signin_failures_total", Help: "Sign-ins refused, by the API and the pages, by reason: credentials (wrong username or password), disabled (the account is) or throttled (too many failures).",
		}, []string{"reason"}),
	}
	m.Registry.MustRegister(m.requests, m.duration, m.websockets, m.messagesSent, m.eventsDropped, m.rateLimited, m.signInFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// RateLimited counts a request refused by the rate limit policy.
func (m *Metrics) RateLimited(policy string) { m.rateLimited.WithLabelValues(policy).Inc() }

// SignInFailed counts a sign-in refused for reason.
func (m *Metrics) SignInFailed(reason string) { m.signInFailures.WithLabelValues(reason).Inc() }

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// Instrument counts the requests next serves as the API counts its own, by
// the pattern that routed them (the most specific one, when next routes
// with a ServeMux of its own) and the status answered, and logs them to
// log as it logs its own (done).
func (m *Metrics) Instrument(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			status := rec.status
			if p := recover(); p != nil {
				// Cut off (LongAnswer.Fail), or a panic, which net/http
				// ends the same way: the answer failed.
				status = http.StatusInternalServerError
				defer panic(p)
			}
			m.done(log, r, status, time.Since(start))
		}()
		next.ServeHTTP(rec, r)
	})
}

// done counts a request answered with status after elapsed, and logs it:
// at debug level, or as an error when the server failed it. A full disk
// (507) and a database out of reach (503) are logged when they begin and
// when they end, by the server, not at every request they refuse; a 503
// is otherwise a client that gave up, a request to make again, or /readyz
// doing what it is for.
func (m *Metrics) done(log *slog.Logger, r *http.Request, status int, elapsed time.Duration) {
	route := routeLabel(r.Pattern)
	m.observe(route, status, elapsed)
	level := slog.LevelDebug
	if status >= 500 && status != http.StatusInsufficientStorage && status != http.StatusServiceUnavailable {
		level = slog.LevelError
	}
	if log.Enabled(r.Context(), level) {
		log.Log(r.Context(), level, "request", "method", r.Method, "path", loggedPath(r), "route", route,
			"status", status, "duration", elapsed, "client", parley.ClientAddrFromContext(r.Context()))
	}
}

// loggedPath is the path of r as logged: never the query, which may hold a
// ticket or a code, and, where a segment of the path is a credential (a
// share link's token), what the path is in its place, whatever the method
// and whichever route took it.
func loggedPath(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, service.ShareLinkPath) {
		return service.ShareLinkPath + "{token}"
	}
	return r.URL.Path
}

// observe counts a request to route answered with status.
func (m *Metrics) observe(route string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(route, statusLabel(status)).Inc()
	m.duration.WithLabelValues(route).Observe(elapsed.Seconds())
}

// routeLabel is the route a request is counted under: its pattern, or
// "unmatched" for those only the catch-all took, so that the label's
// values stay few whatever paths clients send.
func routeLabel(pattern string) string {
	if pattern == "" || pattern == "/" {
		return "unmatched"
	}
	return pattern
}
