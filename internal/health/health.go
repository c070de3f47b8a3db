// Package health tells an operator how the server's store is doing: whether
// the server is ready for traffic (the check behind /readyz), the gauges of
// its store and disk on /metrics, and a log line when the disk fills or
// the database goes out of reach, and when that ends.
package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/prometheus/client_golang/prometheus"
)

// Monitor watches a store and, on the embedded database, the disk under
// its data directory.
type Monitor struct {
	store *sqlstore.DB
	// dataDir is the embedded database's directory, whose file system's
	// free space counts; "" on PostgreSQL, whose disk is the database
	// server's, out of this server's sight.
	dataDir string
	// minFree is the free space under dataDir below which the server is
	// not ready.
	minFree uint64
	clock   parley.Clock
	log     *slog.Logger

	dbBytes, walBytes, diskFree, queued, oldestDue, full, refused, unreachable, unreached, queries *prometheus.Desc

	// mu guards probe, the write probe under way, if any: a write is not
	// cancelled once begun (the store finishes it whatever its caller
	// does), so Ready waits for it no longer than its own timeout, and
	// starts no other while it hangs. It guards last too, the last probe
	// to finish, whose result answers for probeReuse.
	mu    sync.Mutex
	probe *writeProbe
	last  *writeProbe
}

// writeProbe is one write probe: done is closed once err and at, when it
// finished, are set.
type writeProbe struct {
	done chan struct{}
	err  error
	at   time.Time
}

// probeReuse is how long a write probe's result, success or failure,
// answers Ready without another probe: /readyz is public and asks no
// credentials, and a probe writes, to a row every app's request reads.
// However often it is asked, the database is written at most once a
// probeReuse.
const probeReuse = time.Second

// errProbeTimedOut is the write probe's error when the database has not
// taken its write within the probe's time.
var errProbeTimedOut = errors.New("the write probe did not finish in time")

// checkWritable returns the result of the last write probe if it finished
// less than probeReuse ago; else it runs the store's write probe, or joins
// the one under way, and waits for it until ctx ends.
func (m *Monitor) checkWritable(ctx context.Context) error {
	m.mu.Lock()
	if l := m.last; l != nil {
		if age := m.clock.Now().Sub(l.at); age >= 0 && age < probeReuse {
			m.mu.Unlock()
			return l.err
		}
	}
	p := m.probe
	if p == nil {
		p = &writeProbe{done: make(chan struct{})}
		m.probe = p
		go func() {
			err := m.store.CheckWritable(context.WithoutCancel(ctx))
			m.mu.Lock()
			p.err, p.at = err, m.clock.Now()
			m.probe, m.last = nil, p
			m.mu.Unlock()
			close(p.done)
		}()
	}
	m.mu.Unlock()
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return errProbeTimedOut
	}
}

// New returns a monitor of store, whose data directory, on the embedded
// database, is dataDir ("" on PostgreSQL), and logs, once each, when a
// write is first refused for a full disk and when writes succeed again.
func New(store *sqlstore.DB, dataDir string, minFree uint64, clock parley.Clock, log *slog.Logger) *Monitor {
	m := &Monitor{
		store: store, dataDir: dataDir, minFree: minFree, clock: clock, log: log,
		dbBytes:   prometheus.NewDesc("parley_database_bytes", "Size of the database: the embedded database's file without its write-ahead log, or the whole PostgreSQL database.", nil, nil),
		walBytes:  prometheus.NewDesc("parley_database_wal_bytes", "Size of the embedded database's write-ahead log (not on PostgreSQL).", nil, nil),
		diskFree:  prometheus.NewDesc("parley_disk_free_bytes", "Space free to the server on the file system of its data directory (not on PostgreSQL).", nil, nil),
		queued:    prometheus.NewDesc("parley_webhook_queue_depth", "Webhook deliveries waiting to be sent, being sent or waiting to be tried again.", nil, nil),
		oldestDue: prometheus.NewDesc("parley_webhook_oldest_due_seconds", "How long the webhook delivery due longest has waited since it fell due; 0 when none is due.", nil, nil),
		full:      prometheus.NewDesc("parley_storage_full", "1 from a write refused because the disk was full until one succeeds with room on the disk again, else 0.", nil, nil),
		refused:   prometheus.NewDesc("parley_storage_full_refusals_total", "Writes refused because the disk was full.", nil, nil),
		queries:   prometheus.NewDesc("parley_database_queries_total", "Statements the server's reads ran on the database.", nil, nil),

		unreachable: prometheus.NewDesc("parley_database_unreachable", "1 from a call that could not reach PostgreSQL until one reaches it again, else 0 (always 0 on the embedded database).", nil, nil),
		unreached:   prometheus.NewDesc("parley_database_unreachable_refusals_total", "Calls that failed because PostgreSQL could not be reached.", nil, nil),
	}
	store.OnStorageFull(func(full bool) {
		if full {
			log.Error("the disk is full: writes are refused until space is freed", "data", dataDir)
		} else {
			log.Info("the disk has room again: writes succeed")
		}
	})
	store.OnDatabaseUnreachable(func(unreachable bool, cause error) {
		if unreachable {
			log.Error("the database cannot be reached: requests are answered 503 until it can", "err", cause)
		} else {
			log.Info("the database can be reached again")
		}
	})
	return m
}

// probeTimeout bounds each check of Ready and the reads of a scrape.
const probeTimeout = 5 * time.Second

// Ready reports whether the server may take traffic: the database takes a
// write (as a probe that finished less than probeReuse ago found), its
// schema is this binary's (not upgraded by a newer parley since this one
// started, which the error tells apart from a migration pending), and, on
// the embedded database, its disk has minFree bytes free. Its error says
// what is wrong, for the operator; the database's own errors are logged.
func (m *Monitor) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var errs []error
	if err := m.checkWritable(ctx); errors.Is(err, parley.ErrStorageFull) {
		errs = append(errs, errors.New("the database cannot be written: the disk is full"))
	} else if errors.Is(err, parley.ErrDatabaseUnreachable) {
		errs = append(errs, errors.New("the database cannot be reached"))
	} else if err != nil {
		m.log.Warn("readiness: the database cannot be written", "err", err)
		errs = append(errs, errors.New("the database cannot be written"))
	}
	if v, err := m.store.DatabaseSchema(ctx); errors.Is(err, parley.ErrDatabaseUnreachable) {
		errs = append(errs, errors.New("the database's schema version cannot be read"))
	} else if err != nil {
		m.log.Warn("readiness: the schema version cannot be read", "err", err)
		errs = append(errs, errors.New("the database's schema version cannot be read"))
	} else if want := sqlstore.SchemaVersion(); v > want {
		errs = append(errs, fmt.Errorf("the database was upgraded by a newer parley (schema %d; this one knows %d): upgrade this node", v, want))
	} else if v < want {
		errs = append(errs, fmt.Errorf("the database is at schema %d and this parley expects %d: a migration is pending", v, want))
	}
	if m.dataDir != "" {
		if free, err := sqlstore.DiskFree(m.dataDir); err != nil {
			m.log.Warn("readiness: free disk space cannot be read", "err", err)
			errs = append(errs, errors.New("the free space of the data directory's disk cannot be read"))
		} else if free < m.minFree {
			errs = append(errs, fmt.Errorf("the data directory's disk is nearly full: %d MiB free, under the %d MiB minimum", free>>20, m.minFree>>20))
		}
	}
	return errors.Join(errs...)
}

// Describe implements prometheus.Collector.
func (m *Monitor) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.dbBytes, m.walBytes, m.diskFree, m.queued, m.oldestDue, m.full, m.refused, m.unreachable, m.unreached, m.queries} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it reads the figures at each
// scrape. Those that cannot be read are left out, and the failure logged.
func (m *Monitor) Collect(ch chan<- prometheus.Metric) {
	full, refused := m.store.StorageFull()
	ch <- prometheus.MustNewConstMetric(m.full, prometheus.GaugeValue, boolValue(full))
	ch <- prometheus.MustNewConstMetric(m.refused, prometheus.CounterValue, float64(refused))
	unreachable, unreached := m.store.DatabaseUnreachable()
	ch <- prometheus.MustNewConstMetric(m.unreachable, prometheus.GaugeValue, boolValue(unreachable))
	ch <- prometheus.MustNewConstMetric(m.unreached, prometheus.CounterValue, float64(unreached))
	ch <- prometheus.MustNewConstMetric(m.queries, prometheus.CounterValue, float64(m.store.Queries()))
	if m.dataDir != "" {
		if free, err := sqlstore.DiskFree(m.dataDir); err != nil {
			m.log.Warn("metrics: free disk space", "err", err)
		} else {
			ch <- prometheus.MustNewConstMetric(m.diskFree, prometheus.GaugeValue, float64(free))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	now := m.clock.Now()
	s, err := m.store.Stats(ctx, now)
	if err != nil {
		if !errors.Is(err, parley.ErrDatabaseUnreachable) { // logged once, as it began
			m.log.Warn("metrics: store figures", "err", err)
		}
		return
	}
	ch <- prometheus.MustNewConstMetric(m.dbBytes, prometheus.GaugeValue, float64(s.DatabaseBytes))
	if m.dataDir != "" {
		ch <- prometheus.MustNewConstMetric(m.walBytes, prometheus.GaugeValue, float64(s.WALBytes))
	}
	ch <- prometheus.MustNewConstMetric(m.queued, prometheus.GaugeValue, float64(s.WebhooksQueued))
	var age time.Duration
	if !s.OldestDueWebhook.IsZero() {
		age = max(now.Sub(s.OldestDueWebhook), 0)
	}
	ch <- prometheus.MustNewConstMetric(m.oldestDue, prometheus.GaugeValue, age.Seconds())
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
