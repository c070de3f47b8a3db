package webhook

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/parleyhq/parley"
)

// Queue is where a worker takes deliveries from and records attempts to:
// the service, over the store's outbox.
type Queue interface {
	// ExchangeWebhooks records the results of attempts, planning what
	// follows each, and takes up to limit due deliveries, each for one
	// worker of all nodes', in one write.
	ExchangeWebhooks(ctx context.Context, results []Result, limit int) ([]*Job, error)
	// WebhooksWaiting is ready when this node enqueued deliveries.
	WebhooksWaiting() <-chan struct{}
}

// Tuning of a worker.
const (
	// PollInterval is how often a worker with nothing to do looks for
	// deliveries that came due, or that another node enqueued.
	PollInterval = time.Second
	// batch is how many deliveries a worker takes at once, and sends at
	// once.
	batch = 128
)

// Worker delivers webhooks until its context ends.
type Worker struct {
	Queue  Queue
	Sender *Sender
	Log    *slog.Logger
}

// Run takes, sends and records deliveries until ctx ends, recording each
// batch's results in the write that takes the next. Deliveries whose
// results are not recorded, as when it ends, are left to their lease:
// another attempt, here or on another node, makes them.
func (w *Worker) Run(ctx context.Context) {
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	var results []Result
	for ctx.Err() == nil {
		jobs, err := w.Queue.ExchangeWebhooks(ctx, results, batch)
		// A full disk is logged once, by the server, not at every poll.
		if err != nil && ctx.Err() == nil && !errors.Is(err, parley.ErrStorageFull) {
			w.Log.Error("deliver webhooks", "err", err)
		}
		results = nil
		if len(jobs) == 0 {
			select {
			case <-ctx.Done():
			case <-w.Queue.WebhooksWaiting():
			case <-tick.C:
			}
			continue
		}
		results = w.send(ctx, jobs)
	}
}

// send posts the jobs in parallel.
func (w *Worker) send(ctx context.Context, jobs []*Job) []Result {
	results := make([]Result, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() { results[i] = w.Sender.Send(ctx, j) })
	}
	wg.Wait()
	return results
}
