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
	// follows each, and takes due deliveries as take bounds them, each for
	// one worker of all nodes', in one write. An error means the results
	// were not recorded: the worker passes them to its next exchange.
	ExchangeWebhooks(ctx context.Context, results []Result, take parley.WebhookTake) ([]*Job, error)
	// WebhooksWaiting is ready when this node enqueued deliveries.
	WebhooksWaiting() <-chan struct{}
}

// Tuning of a worker.
const (
	// PollInterval is how often a worker with nothing to do looks for
	// deliveries that came due, or that another node enqueued.
	PollInterval = time.Second
	// Slots is how many deliveries a worker has in flight at most.
	Slots = 512
	// PerEndpoint is how many deliveries of one endpoint a worker has in
	// flight at most. An endpoint that answers only at the send's timeout,
	// or that has a backlog of thousands, holds that many slots, and the
	// endpoints of one owner's apps together no more than PerOwner.
	PerEndpoint = 32
	// PerOwner is how many deliveries of the endpoints of one owner's apps
	// (the member who registered them; an app registered for no one owns
	// itself), all together, a worker has in flight at most: a member
	// whose endpoints all hang holds an eighth of the slots, however many
	// apps and endpoints they register (any member may), and it takes
	// Slots/PerOwner such members to hold up every other one.
	PerOwner = Slots / 8
	// batch is how many deliveries one exchange takes at most, which
	// bounds the write that takes them.
	batch = 128
)

// Worker delivers webhooks until its context ends.
type Worker struct {
	Queue  Queue
	Sender *Sender
	Log    *slog.Logger
}

// Run takes, sends and records deliveries until ctx ends. It keeps up to
// Slots deliveries in flight, at most PerEndpoint of each endpoint and
// PerOwner of the endpoints of each owner's apps together, and
// records each one's result as soon as it is in, taking more in the same
// write: an endpoint that answers only at the send's timeout holds the
// slots of its own deliveries, not the rest, as it would if each exchange
// waited for its slowest or deliveries were taken oldest first whatever
// their endpoint or owner. Results a write failed to record are recorded by the
// next. Deliveries whose results are not recorded, as when it ends, are
// left to their lease: another attempt, here or on another node, makes
// them.
func (w *Worker) Run(ctx context.Context) {
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	done := make(chan Result, Slots) // room for every delivery in flight
	inFlight := 0
	ofEndpoint := map[string]int{} // deliveries in flight, by endpoint
	ofOwner := map[string]int{}    // and by owner
	var results []Result
	collect := func(r Result) {
		results, inFlight = append(results, r), inFlight-1
		release(ofEndpoint, r.Job.EndpointID)
		release(ofOwner, r.Job.Owner)
	}
	for ctx.Err() == nil {
		if len(results) > 0 || inFlight < Slots {
			take := parley.WebhookTake{Limit: min(batch, Slots-inFlight), PerEndpoint: PerEndpoint, InFlight: ofEndpoint,
				PerOwner: PerOwner, InFlightByOwner: ofOwner}
			jobs, err := w.Queue.ExchangeWebhooks(ctx, results, take)
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
				ofEndpoint[j.EndpointID]++
				ofOwner[j.Owner]++
				go func() { done <- w.Sender.Send(ctx, j) }()
			}
		}
		// Wait for a result or, with room for more, for deliveries to come
		// due; then take every other result already in.
		var waiting <-chan struct{}
		if inFlight < Slots {
			waiting = w.Queue.WebhooksWaiting()
		}
		select {
		case r := <-done:
			collect(r)
		case <-waiting:
		case <-tick.C:
		case <-ctx.Done():
		}
		for more := true; more; {
			select {
			case r := <-done:
				collect(r)
			default:
				more = false
			}
		}
	}
}

// release counts one delivery of key's fewer in flight.
func release(inFlight map[string]int, key string) {
	if inFlight[key]--; inFlight[key] <= 0 {
		delete(inFlight, key)
	}
}
