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
	// follows each, and takes due deliveries as take bounds them, each for
	// one worker of all nodes', in one write. An error means the results
	// were not recorded: the worker passes them to its next exchange.
	ExchangeWebhooks(ctx context.Context, results []Result, take parley.WebhookTake) ([]*Job, error)
	// ReturnWebhooks records the results of a stopping worker's attempts,
	// as ExchangeWebhooks does, and makes the deliveries of unfinished,
	// taken and not attempted to the end, due again at once, in one
	// write. An error means none of it was done.
	ReturnWebhooks(ctx context.Context, results []Result, unfinished []*Job) error
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

// returnTimeout bounds the write with which a stopping worker records
// its last results and gives back what it did not send: the stop's own
// deadline may have passed.
const returnTimeout = 5 * time.Second

// Worker delivers webhooks until it is stopped or its context ends. One
// worker may Run several times at once, all stopped together by Stop.
type Worker struct {
	Queue  Queue
	Sender *Sender
	Log    *slog.Logger

	once sync.Once
	// mu orders the starts of runs with Stop: no run starts once Stop
	// began waiting for them.
	mu sync.Mutex
	// stopping ends when Stop is called; sending, the context of the
	// attempts, when Stop's ctx ends, cutting off those under way.
	stopping, sending context.Context
	stop, cut         context.CancelFunc
	runs              sync.WaitGroup
}

// start readies the worker's stop, once.
func (w *Worker) start() {
	w.once.Do(func() {
		w.stopping, w.stop = context.WithCancel(context.Background())
		w.sending, w.cut = context.WithCancel(context.Background())
	})
}

// Stop stops the worker's runs: they take no more deliveries, and let the
// attempts under way finish, until ctx ends, when those still going are
// cut off. Each run then records every result it has, and gives back the
// deliveries it took but did not attempt to the end, due again at once, so
// that no endpoint that answered is sent a delivery again for want of its
// record, and none waits for a lease to end to be sent. Stop returns when
// every run has ended; a run started after it ends at once.
func (w *Worker) Stop(ctx context.Context) {
	w.start()
	w.mu.Lock()
	w.stop()
	w.mu.Unlock()
	ended := make(chan struct{})
	go func() { w.runs.Wait(); close(ended) }()
	select {
	case <-ended:
		return
	case <-ctx.Done():
		w.cut()
	}
	<-ended
}

// Run takes, sends and records deliveries until Stop, or until ctx ends,
// which stops it as a Stop whose time is up. It keeps up to Slots
// deliveries in flight, at most PerEndpoint of each endpoint and PerOwner
// of the endpoints of each owner's apps together, and records each one's
// result as soon as it is in, taking more in the same write: an endpoint
// that answers only at the send's timeout holds the slots of its own
// deliveries, not the rest, as it would if each exchange waited for its
// slowest or deliveries were taken oldest first whatever their endpoint or
// owner. Results a write failed to record are recorded by the next.
// Deliveries whose results are never recorded, as when the process dies,
// or the stop's last write fails, are left to their lease: another
// attempt, here or on another node, makes them.
func (w *Worker) Run(ctx context.Context) {
	w.start()
	w.mu.Lock()
	if w.stopping.Err() != nil {
		w.mu.Unlock()
		return
	}
	w.runs.Add(1)
	w.mu.Unlock()
	defer w.runs.Done()
	sending, cut := context.WithCancel(w.sending)
	defer cut()
	defer context.AfterFunc(ctx, cut)()

	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	done := make(chan Result, Slots) // room for every delivery in flight
	inFlight := 0
	ofEndpoint := map[string]int{} // deliveries in flight, by endpoint
	ofOwner := map[string]int{}    // and by owner
	var results []Result
	var unfinished []*Job // taken, and not attempted to the end
	cutOff := 0
	collect := func(r Result) {
		inFlight--
		release(ofEndpoint, r.Job.EndpointID)
		release(ofOwner, r.Job.Owner)
		if r.StatusCode == 0 && errors.Is(r.Cause, context.Canceled) {
			unfinished, cutOff = append(unfinished, r.Job), cutOff+1 // by the stop
			return
		}
		results = append(results, r)
	}
	running := func() bool { return ctx.Err() == nil && w.stopping.Err() == nil }
	for running() {
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
			if !running() {
				unfinished = append(unfinished, jobs...) // taken as the stop began
				break
			}
			for _, j := range jobs {
				inFlight++
				ofEndpoint[j.EndpointID]++
				ofOwner[j.Owner]++
				go func() { done <- w.Sender.Send(sending, j) }()
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
		case <-w.stopping.Done():
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
	// Stopped: the attempts under way end, by themselves or cut off.
	for inFlight > 0 {
		collect(<-done)
	}
	if cutOff > 0 {
		w.Log.Warn("webhook attempts still under way at the end of the stop were cut off: their deliveries are due again at once", "attempts", cutOff)
	}
	w.giveBack(ctx, results, unfinished)
}

// giveBack records a stopped run's last results and gives back the
// deliveries it did not attempt to the end, in a write of its own, which
// the run's ended context does not cancel.
func (w *Worker) giveBack(ctx context.Context, results []Result, unfinished []*Job) {
	if len(results) == 0 && len(unfinished) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), returnTimeout)
	defer cancel()
	if err := w.Queue.ReturnWebhooks(ctx, results, unfinished); err != nil {
		w.Log.Error("return webhooks at stop", "err", err, "results", len(results), "unfinished", len(unfinished))
	}
}

// release counts one delivery of key's fewer in flight.
func release(inFlight map[string]int, key string) {
	if inFlight[key]--; inFlight[key] <= 0 {
		delete(inFlight, key)
	}
}
