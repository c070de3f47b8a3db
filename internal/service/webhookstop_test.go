package service

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
	"github.com/parleyhq/parley/internal/webhook"
)

// TestWebhooks_CutOffAtTheStopIsDueAgainAtOnce: an attempt still under way
// when the stop's time is up is cut off, recorded as no attempt, since
// what became of it is not known, and its delivery is due again at once,
// not at the end of its lease: the next worker, here or on another node,
// sends it straight away, with its webhook-id.
func TestWebhooks_CutOffAtTheStopIsDueAgainAtOnce(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			s := New(db, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{WebhooksAllowPrivate: true})
			var requests atomic.Int32
			ids := make(chan string, 10)
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body) // read whole, so that net/http sees the sender go away
				ids <- r.Header.Get("webhook-id")
				if requests.Add(1) == 1 {
					<-r.Context().Done() // the first is never answered
					return
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			defer rc.Close()
			users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
			endpoint := mustEndpoint(t, s, db, users["alice"].ID, rc.URL)
			bob := parley.NewContextWithCaller(context.Background(), &parley.Caller{User: users["bob"].Ref()})
			if _, _, err := s.SendMessage(bob, group, Draft{Text: "hello"}, ""); err != nil {
				t.Fatal(err)
			}

			w, ended := runWorker(s)
			id := nextSent(t, ids)
			stop, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			w.Stop(stop)
			<-ended
			d := endpointDeliveries(t, db, endpoint)[0]
			if d.ID != id || d.State != parley.DeliveryPending || len(d.Attempts) != 0 || d.NextAttemptAt == nil || d.NextAttemptAt.After(s.Now()) {
				t.Fatalf("cut off at the stop: %+v; want %s pending, due now, with no attempt", d, id)
			}

			w, ended = runWorker(s)
			defer func() { w.Stop(context.Background()); <-ended }()
			if again := nextSent(t, ids); again != id {
				t.Fatalf("sent %q after the stop; want %q again", again, id)
			}
			waitForDelivery(t, db, endpoint, parley.DeliverySucceeded)
		})
	}
}

// TestWebhooks_TakenAsTheWorkerStopsIsDueAgainAtOnce: deliveries a worker
// took as its stop began are not sent, since the stop would not wait
// for them, but given back, due again at once rather than at the end of
// their lease.
func TestWebhooks_TakenAsTheWorkerStopsIsDueAgainAtOnce(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			taken, proceed := make(chan struct{}), make(chan struct{})
			var holding atomic.Bool
			holding.Store(true)
			hold := func(tx parley.Tx) parley.Tx { return heldTakeTx{tx, &holding, taken, proceed} }
			s := New(hookedStore{db, hold}, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{WebhooksAllowPrivate: true})
			ids := make(chan string, 10)
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ids <- r.Header.Get("webhook-id")
				w.WriteHeader(http.StatusNoContent)
			}))
			defer rc.Close()
			users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
			endpoint := mustEndpoint(t, s, db, users["alice"].ID, rc.URL)
			bob := parley.NewContextWithCaller(context.Background(), &parley.Caller{User: users["bob"].Ref()})

			w, ended := runWorker(s)
			if _, _, err := s.SendMessage(bob, group, Draft{Text: "hello"}, ""); err != nil {
				t.Fatal(err)
			}
			<-taken
			stopped := make(chan struct{})
			go func() { w.Stop(context.Background()); close(stopped) }()
			time.Sleep(300 * time.Millisecond) // for Stop to begin: the take holds up nothing it does
			close(proceed)
			<-stopped
			<-ended
			if len(ids) != 0 {
				t.Fatalf("sent %q, taken as the stop began", <-ids)
			}
			d := endpointDeliveries(t, db, endpoint)[0]
			if d.State != parley.DeliveryPending || len(d.Attempts) != 0 || d.NextAttemptAt == nil || d.NextAttemptAt.After(s.Now()) {
				t.Fatalf("taken as the stop began: %+v; want pending, due now, with no attempt", d)
			}

			w, ended = runWorker(s)
			defer func() { w.Stop(context.Background()); <-ended }()
			if sent := nextSent(t, ids); sent != d.ID {
				t.Fatalf("sent %q after the stop; want %q", sent, d.ID)
			}
			waitForDelivery(t, db, endpoint, parley.DeliverySucceeded)
		})
	}
}

// heldTakeTx holds the first write that takes deliveries, while holding
// is set, once it took them: it tells taken, and goes on, to its commit,
// at proceed.
type heldTakeTx struct {
	parley.Tx
	holding        *atomic.Bool
	taken, proceed chan struct{}
}

func (t heldTakeTx) TakeDueWebhooks(ctx context.Context, now, leaseUntil time.Time, take parley.WebhookTake) ([]*parley.DueWebhook, error) {
	due, err := t.Tx.TakeDueWebhooks(ctx, now, leaseUntil, take)
	if err == nil && len(due) > 0 && t.holding.CompareAndSwap(true, false) {
		close(t.taken)
		<-t.proceed
	}
	return due, err
}

// runWorker runs a webhook worker of s, which Stop stops; ended is closed
// when its run has.
func runWorker(s *Service) (w *webhook.Worker, ended <-chan struct{}) {
	w = &webhook.Worker{Queue: s, Sender: webhook.NewSender(s.Guard()), Log: slog.New(slog.DiscardHandler)}
	done := make(chan struct{})
	go func() { w.Run(context.Background()); close(done) }()
	return w, done
}

// waitForDelivery waits for the endpoint's newest delivery to be in state.
func waitForDelivery(t *testing.T, db *sqlstore.DB, endpoint, state string) {
	t.Helper()
	for range 2000 {
		if d := endpointDeliveries(t, db, endpoint)[0]; d.State == state {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the delivery is not %s: %+v", state, endpointDeliveries(t, db, endpoint)[0])
}
