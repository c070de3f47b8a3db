package webhook

import (
	"context"
	"log/slog"
	"time"

	"github.com/parleyhq/parley"
)

// Queue is where a worker takes deliveries from and records attempts to:
// the service, over the store's outbox.
type Queue interface {
	// ExchangeWebhooks records the results of attempts, planning what
	// follows each, and takes up to limit due deliveries, each for one
	// worker of all nodes', in one write. An error means the results were
	// not recorded: the worker passes them to its next exchange.
	ExchangeWebhooks(ctx context.Context, results []Result, limit int) ([]*Job, error)
	// WebhooksWaiting is ready when this node enqueued deliveries.
	WebhooksWaiting() <-chan struct{}
}

// Tuning of a worker.
const (
	// PollInterval is how often a worker with nothing to do looks for
	// deliveries that came due, or that another node enqueued.
	PollInterval = time.Second
	// batch is how many deliveries a worker has in flight at most.
	batch = 128
)

// Worker delivers webhooks until its context ends.
type Worker struct {
	Queue  Queue
	Sender *Sender
	Log    *slog.Logger
}

// Run takes, sends and records deliveries until ctx ends. It keeps up to
// batch deliveries in flight, and records each one's result as soon as it
// is in, taking more in the same write: an endpoint that answers only at
// the send's timeout holds the slots of its own deliveries, not the whole
// batch, as it would if each batch waited for its slowest. (Deliveries are
// taken oldest first whatever their endpoint, so enough such deliveries,
// a backlog of hundreds, still fill every slot until their timeouts; a
// cap per endpoint that keeps PostgreSQL's throughput is yet to be
// found.) Results a write failed to
// record are recorded by the next. Deliveries whose results are not
// recorded, as when it ends, are left to their lease: another attempt,
// here or on another node, makes them.
func (w *Worker) Run(ctx context.Context) {
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	done := make(chan Result, batch) // room for every delivery in flight
	inFlight := 0
	var results []Result
	for ctx.Err() == nil {
		if len(results) > 0 || inFlight < batch {
			jobs, err := w.Queue.ExchangeWebhooks(ctx, results, batch-inFlight)
			if parley.WorthLogging(ctx, err) {
				w.Log.Error("deliver webhooks", "err", err)
			}
			if err == nil {
				// Else they are recorded by the next exchange: the
				// endpoint answered, and is not to be sent the
				// delivery again for want of its record.
				results = nil
			}
			for _, j := range jobs {
				inFlight++
				go func() { done <- w.Sender.Send(ctx, j) }()
			}
		}
		// Wait for a result or, with room for more, for deliveries to come
		// due; then take every other result already in.
		var waiting <-chan struct{}
		if inFlight < batch {
			waiting = w.Queue.WebhooksWaiting()
		}
		select {
		case r := <-done:
			results, inFlight = append(results, r), inFlight-1
		case <-waiting:
		case <-tick.C:
		case <-ctx.Done():
		}
		for more := true; more; {
			select {
			case r := <-done:
				results, inFlight = append(results, r), inFlight-1
			default:
				more = false
			}
		}
	}
}
