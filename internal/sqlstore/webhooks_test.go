package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// newWebhookEndpoint stores an app and an endpoint of it subscribed to
// message.created.
func newWebhookEndpoint(tb testing.TB, db *sqlstore.DB) *parley.WebhookEndpoint {
	tb.Helper()
	return ownedWebhookEndpoint(tb, db, "")
}

// ownedWebhookEndpoint stores a new app registered by the member ownerID
// ("" for no one), with one endpoint, and returns the endpoint.
func ownedWebhookEndpoint(tb testing.TB, db *sqlstore.DB, ownerID string) *parley.WebhookEndpoint {
	tb.Helper()
	ctx := context.Background()
	now := parley.Now()
	app := &parley.App{ClientID: "pc_" + parley.NewID(), Name: "Movie Club", RedirectURIs: []string{"https://m.example/cb"},
		ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: now, OwnerID: ownerID}
	e := &parley.WebhookEndpoint{ID: parley.NewID(), ClientID: app.ClientID, URL: "https://m.example/hooks",
		Events: []string{parley.WebhookMessageCreated}, Created: now, ActiveFrom: now.Add(parley.WebhookActivation)}
	if err := db.Write(ctx, func(tx parley.Tx) error {
		if err := tx.CreateApp(ctx, app, nil); err != nil {
			return err
		}
		return tx.CreateWebhookEndpoint(ctx, e, []byte("sealed"))
	}); err != nil {
		tb.Fatal(err)
	}
	return e
}

// webhookDeliveries reads the endpoint's newest deliveries, with their
// attempts.
func webhookDeliveries(t *testing.T, db *sqlstore.DB, endpointID string) []*parley.WebhookDelivery {
	t.Helper()
	var list []*parley.WebhookDelivery
	mustWrite(t, db, func(tx parley.Tx) (err error) {
		list, err = tx.FindWebhookDeliveries(context.Background(), endpointID, "", 10)
		return err
	})
	return list
}

// failingSince reads when the endpoint's run of failures began; nil when
// it is not failing.
func failingSince(t *testing.T, db *sqlstore.DB, endpointID string) *time.Time {
	t.Helper()
	var e *parley.WebhookEndpoint
	mustWrite(t, db, func(tx parley.Tx) (err error) {
		e, err = tx.FindWebhookEndpoint(context.Background(), endpointID)
		return err
	})
	return e.FailingSince
}

// TestWebhooks_OutboxFollowsItsWrite: a delivery enqueued in a write that
// fails is never sent; one enqueued in a write that commits is.
func TestWebhooks_OutboxFollowsItsWrite(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testWebhooks_OutboxFollowsItsWrite)
}

func testWebhooks_OutboxFollowsItsWrite(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	e := newWebhookEndpoint(t, db)
	now := parley.Now()
	delivery := func(id string) parley.NewWebhookDelivery {
		return parley.NewWebhookDelivery{ID: id, EndpointID: e.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`),
			Readers: []string{"alice", "bob"}, CreatedAt: now}
	}
	failed := errors.New("the change failed")
	err := db.Write(ctx, func(tx parley.Tx) error {
		if err := tx.EnqueueWebhooks(ctx, []parley.NewWebhookDelivery{delivery("msg_rolled_back")}); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatal(err)
	}
	mustWrite(t, db, func(tx parley.Tx) error {
		return tx.EnqueueWebhooks(ctx, []parley.NewWebhookDelivery{delivery("msg_committed")})
	})
	var due []*parley.DueWebhook
	mustWrite(t, db, func(tx parley.Tx) (err error) {
		due, err = tx.TakeDueWebhooks(ctx, now, now.Add(time.Minute), parley.WebhookTake{Limit: 10})
		return err
	})
	if len(due) != 1 || due[0].ID != "msg_committed" || due[0].URL != e.URL || string(due[0].Secret) != "sealed" || due[0].AppName != "Movie Club" ||
		!slices.Equal(due[0].Readers, []string{"alice", "bob"}) {
		t.Fatalf("due %+v", due)
	}
	// Taken, it is not due again until its lease ends.
	mustWrite(t, db, func(tx parley.Tx) (err error) {
		due, err = tx.TakeDueWebhooks(ctx, now.Add(59*time.Second), now.Add(2*time.Minute), parley.WebhookTake{Limit: 10})
		return err
	})
	if len(due) != 0 {
		t.Fatalf("taken again within its lease: %+v", due)
	}
	mustWrite(t, db, func(tx parley.Tx) (err error) {
		due, err = tx.TakeDueWebhooks(ctx, now.Add(time.Minute), now.Add(2*time.Minute), parley.WebhookTake{Limit: 10})
		return err
	})
	if len(due) != 1 {
		t.Fatalf("an attempt that recorded nothing is not made again after its lease: %+v", due)
	}
}

// TestWebhooks_TakeHoldsEachEndpointToItsShare: a take passes over the
// deliveries of an endpoint the taker has its share of in flight, however
// long that endpoint's backlog, and takes the next endpoints' instead; what
// it passes over stays due for a take with room.
func TestWebhooks_TakeHoldsEachEndpointToItsShare(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testWebhooks_TakeHoldsEachEndpointToItsShare)
}

func testWebhooks_TakeHoldsEachEndpointToItsShare(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	slow, quiet, full := newWebhookEndpoint(t, db), newWebhookEndpoint(t, db), newWebhookEndpoint(t, db)
	now := parley.Now()
	// slow's backlog is due first, then quiet's, then full's.
	var ds []parley.NewWebhookDelivery
	enqueue := func(e *parley.WebhookEndpoint, n int) {
		for i := range n {
			ds = append(ds, parley.NewWebhookDelivery{ID: fmt.Sprintf("%s_%02d", e.ID, i), EndpointID: e.ID,
				Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now.Add(time.Duration(len(ds)) * time.Millisecond)})
		}
	}
	enqueue(slow, 10)
	enqueue(quiet, 2)
	enqueue(full, 1)
	mustWrite(t, db, func(tx parley.Tx) error { return tx.EnqueueWebhooks(ctx, ds) })
	take := func(take parley.WebhookTake) map[string]int {
		t.Helper()
		var due []*parley.DueWebhook
		mustWrite(t, db, func(tx parley.Tx) (err error) {
			due, err = tx.TakeDueWebhooks(ctx, now.Add(time.Second), now.Add(time.Hour), take)
			return err
		})
		names := map[string]string{slow.ID: "slow", quiet.ID: "quiet", full.ID: "full"}
		taken := map[string]int{}
		for _, d := range due {
			taken[names[d.EndpointID]]++
		}
		return taken
	}
	got := take(parley.WebhookTake{Limit: 5, PerEndpoint: 3, InFlight: map[string]int{slow.ID: 1, full.ID: 3}})
	if want := map[string]int{"slow": 2, "quiet": 2}; !maps.Equal(got, want) {
		t.Fatalf("with 1 of slow's and 3 of full's in flight, of 3 each, took %v; want 2 of slow's and quiet's 2", got)
	}
	got = take(parley.WebhookTake{Limit: 10, PerEndpoint: 3})
	if want := map[string]int{"slow": 3, "full": 1}; !maps.Equal(got, want) {
		t.Fatalf("with nothing in flight, took %v; want 3 of slow's passed over and full's", got)
	}
	got = take(parley.WebhookTake{Limit: 10})
	if want := map[string]int{"slow": 5}; !maps.Equal(got, want) {
		t.Fatalf("with no share, took %v; want the rest of slow's", got)
	}
}

// TestWebhooks_TakeHoldsEachOwnerToItsShare: a take passes over the
// deliveries of every endpoint of every app of a member the taker has
// their share of in flight, all together, however many apps and endpoints
// they registered and however long their backlogs, and takes others'
// instead; an app registered for no one is its own owner. What it passes
// over stays due for a take with room.
func TestWebhooks_TakeHoldsEachOwnerToItsShare(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testWebhooks_TakeHoldsEachOwnerToItsShare)
}

func testWebhooks_TakeHoldsEachOwnerToItsShare(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	mallory := mustUsers(t, db, "mallory")[0]
	spam, spam2 := ownedWebhookEndpoint(t, db, mallory), ownedWebhookEndpoint(t, db, mallory) // two apps of hers
	other := newWebhookEndpoint(t, db)
	now := parley.Now()
	// Mallory's two apps' backlogs are due first, then other's.
	var ds []parley.NewWebhookDelivery
	for _, e := range []*parley.WebhookEndpoint{spam, spam2, spam, spam2, spam, spam2, other} {
		ds = append(ds, parley.NewWebhookDelivery{ID: fmt.Sprintf("%s_%02d", e.ID, len(ds)), EndpointID: e.ID,
			Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now.Add(time.Duration(len(ds)) * time.Millisecond)})
	}
	mustWrite(t, db, func(tx parley.Tx) error { return tx.EnqueueWebhooks(ctx, ds) })
	names := map[string]string{spam.ID: "spam", spam2.ID: "spam2", other.ID: "other"}
	take := func(take parley.WebhookTake) map[string]int {
		t.Helper()
		var due []*parley.DueWebhook
		mustWrite(t, db, func(tx parley.Tx) (err error) {
			due, err = tx.TakeDueWebhooks(ctx, now.Add(time.Second), now.Add(time.Hour), take)
			return err
		})
		taken := map[string]int{}
		for _, d := range due {
			taken[names[d.EndpointID]]++
			if want := map[string]string{"spam": mallory, "spam2": mallory, "other": other.ClientID}[names[d.EndpointID]]; d.Owner != want {
				t.Errorf("a delivery of %s's is owned by %q; want %q", names[d.EndpointID], d.Owner, want)
			}
		}
		return taken
	}
	got := take(parley.WebhookTake{Limit: 10, PerEndpoint: 3, PerOwner: 3, InFlightByOwner: map[string]int{mallory: 3}})
	if want := map[string]int{"other": 1}; !maps.Equal(got, want) {
		t.Fatalf("with 3 of mallory's in flight, of 3, took %v; want other's alone", got)
	}
	got = take(parley.WebhookTake{Limit: 10, PerEndpoint: 3, PerOwner: 4, InFlightByOwner: map[string]int{mallory: 1}})
	if want := map[string]int{"spam": 2, "spam2": 1}; !maps.Equal(got, want) {
		t.Fatalf("with 1 of mallory's in flight, of 4, took %v; want her 3 oldest, of either app", got)
	}
	got = take(parley.WebhookTake{Limit: 10, PerEndpoint: 3, PerOwner: 4})
	if want := map[string]int{"spam": 1, "spam2": 2}; !maps.Equal(got, want) {
		t.Fatalf("with nothing in flight, took %v; want the rest of mallory's", got)
	}
}

// TestWebhooks_EachDeliveryTakenOnce: of many writes taking due deliveries
// at once, each delivery goes to exactly one.
func TestWebhooks_EachDeliveryTakenOnce(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testWebhooks_EachDeliveryTakenOnce)
}

func testWebhooks_EachDeliveryTakenOnce(t *testing.T, db *sqlstore.DB) {
	e := newWebhookEndpoint(t, db)
	now := parley.Now()
	ds := enqueueMany(t, db, e, 300, now)
	taken := takeConcurrently(t, db, now, parley.WebhookTake{Limit: 7})
	mustBeTakenOnce(t, taken, ds)
}

// TestWebhooks_EachDeliveryTakenOnceBehindAFullEndpoint: so too while an
// endpoint has its share in flight, when takes read endpoint by endpoint;
// the full endpoint's deliveries wait.
func TestWebhooks_EachDeliveryTakenOnceBehindAFullEndpoint(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testWebhooks_EachDeliveryTakenOnceBehindAFullEndpoint)
}

func testWebhooks_EachDeliveryTakenOnceBehindAFullEndpoint(t *testing.T, db *sqlstore.DB) {
	full := newWebhookEndpoint(t, db)
	now := parley.Now()
	enqueueMany(t, db, full, 50, now.Add(-time.Minute))
	var ds []parley.NewWebhookDelivery
	for range 3 {
		ds = append(ds, enqueueMany(t, db, newWebhookEndpoint(t, db), 100, now)...)
	}
	taken := takeConcurrently(t, db, now, parley.WebhookTake{Limit: 7, PerEndpoint: 1000, InFlight: map[string]int{full.ID: 1000}})
	mustBeTakenOnce(t, taken, ds)
}

// TestWebhooks_EachDeliveryTakenOnceBehindAFullOwner: so too while an
// owner has their share in flight; all their endpoints' deliveries wait.
func TestWebhooks_EachDeliveryTakenOnceBehindAFullOwner(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testWebhooks_EachDeliveryTakenOnceBehindAFullOwner)
}

func testWebhooks_EachDeliveryTakenOnceBehindAFullOwner(t *testing.T, db *sqlstore.DB) {
	owner := mustUsers(t, db, "mallory")[0]
	full := ownedWebhookEndpoint(t, db, owner)
	now := parley.Now()
	enqueueMany(t, db, full, 50, now.Add(-time.Minute))
	enqueueMany(t, db, ownedWebhookEndpoint(t, db, owner), 50, now.Add(-time.Minute))
	var ds []parley.NewWebhookDelivery
	for range 3 {
		ds = append(ds, enqueueMany(t, db, newWebhookEndpoint(t, db), 100, now)...)
	}
	taken := takeConcurrently(t, db, now, parley.WebhookTake{Limit: 7, PerEndpoint: 32, PerOwner: 1000, InFlightByOwner: map[string]int{owner: 1000}})
	mustBeTakenOnce(t, taken, ds)
}

// enqueueMany enqueues n deliveries to the endpoint, due at due, and
// returns them.
func enqueueMany(t *testing.T, db *sqlstore.DB, e *parley.WebhookEndpoint, n int, due time.Time) []parley.NewWebhookDelivery {
	ds := make([]parley.NewWebhookDelivery, n)
	for i := range ds {
		ds[i] = parley.NewWebhookDelivery{ID: fmt.Sprintf("%s_%04d", e.ID, i), EndpointID: e.ID, Event: parley.WebhookMessageCreated,
			Payload: []byte(`{}`), CreatedAt: due}
	}
	mustWrite(t, db, func(tx parley.Tx) error { return tx.EnqueueWebhooks(context.Background(), ds) })
	return ds
}

// takeConcurrently has 8 writers take due deliveries as take says, at
// once, each until it takes none, and counts how often each was taken.
func takeConcurrently(t *testing.T, db *sqlstore.DB, now time.Time, take parley.WebhookTake) map[string]int {
	ctx := context.Background()
	var mu sync.Mutex
	taken := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				var due []*parley.DueWebhook
				err := db.Write(ctx, func(tx parley.Tx) (err error) {
					due, err = tx.TakeDueWebhooks(ctx, now, now.Add(time.Hour), take)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				if len(due) == 0 {
					return
				}
				mu.Lock()
				for _, d := range due {
					taken[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return taken
}

// mustBeTakenOnce checks that each of the deliveries was taken once, and
// nothing else.
func mustBeTakenOnce(t *testing.T, taken map[string]int, ds []parley.NewWebhookDelivery) {
	t.Helper()
	if len(taken) != len(ds) {
		t.Fatalf("%d deliveries taken, want the %d", len(taken), len(ds))
	}
	for _, d := range ds {
		if k := taken[d.ID]; k != 1 {
			t.Fatalf("%s taken %d times", d.ID, k)
		}
	}
}

// TestWebhooks_AttemptsRecorded: every attempt is kept in order; a
// disabled endpoint's deliveries are no longer due.
func TestWebhooks_AttemptsRecorded(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testWebhooks_AttemptsRecorded)
}

func testWebhooks_AttemptsRecorded(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	e := newWebhookEndpoint(t, db)
	now := parley.Now()
	mustWrite(t, db, func(tx parley.Tx) error {
		return tx.EnqueueWebhooks(ctx, []parley.NewWebhookDelivery{
			{ID: "msg_a", EndpointID: e.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now},
			{ID: "msg_b", EndpointID: e.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now},
		})
	})
	retry := now.Add(5 * time.Second)
	mustWrite(t, db, func(tx parley.Tx) error {
		return tx.RecordWebhookResults(ctx, []parley.WebhookResult{
			{DeliveryID: "msg_a", EndpointID: e.ID, Attempt: parley.WebhookAttempt{At: now, StatusCode: 500, LatencyMS: 3, Error: "the endpoint answered 500"}, NextAttemptAt: &retry, LeaseUntil: now},
			{DeliveryID: "msg_a", EndpointID: e.ID, Attempt: parley.WebhookAttempt{At: retry, StatusCode: 200, LatencyMS: 2, Succeeded: true}, LeaseUntil: retry},
			{DeliveryID: "msg_b", EndpointID: e.ID, Attempt: parley.WebhookAttempt{At: retry, StatusCode: 410}, Disable: "the endpoint answered 410 Gone", LeaseUntil: now},
		})
	})
	var list []*parley.WebhookDelivery
	var got *parley.WebhookEndpoint
	mustWrite(t, db, func(tx parley.Tx) (err error) {
		if list, err = tx.FindWebhookDeliveries(ctx, e.ID, "", 10); err != nil {
			return err
		}
		got, err = tx.FindWebhookEndpoint(ctx, e.ID)
		return err
	})
	if len(list) != 2 || list[1].ID != "msg_a" || list[1].State != parley.DeliverySucceeded || len(list[1].Attempts) != 2 ||
		list[1].Attempts[0].StatusCode != 500 || list[1].Attempts[0].LatencyMS != 3 || !list[1].Attempts[1].Succeeded {
		t.Fatalf("deliveries %+v", list)
	}
	if list[0].State != parley.DeliveryFailed || list[0].NextAttemptAt != nil {
		t.Fatalf("delivery to a gone endpoint %+v", list[0])
	}
	// The failure and then the success in one batch end with the run of
	// failures over.
	if got.DisabledAt == nil || got.DisabledReason != "the endpoint answered 410 Gone" || got.FailingSince != nil {
		t.Fatalf("endpoint %+v", got)
	}
	err := db.Write(ctx, func(tx parley.Tx) error { return tx.RedeliverWebhook(ctx, e.ID, "msg_none", now) })
	if parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Fatalf("redeliver an unknown delivery: %v", err)
	}
}

// TestWebhooks_RunsOfFailures: an endpoint's run of failures goes on
// through retries up to a day apart, and is written as it moves on by an
// hour; a failure long after the run's latest starts a new run, and a
// success ends it. An attempt recorded after another write started or
// ended a run (taken before it) does not undo that write.
func TestWebhooks_RunsOfFailures(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := newWebhookEndpoint(t, db)
		t0 := parley.Now()
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.EnqueueWebhooks(ctx, []parley.NewWebhookDelivery{
				{ID: "msg_a", EndpointID: e.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: t0},
			})
		})
		run := func(since, latest time.Duration) *parley.WebhookFailures {
			return &parley.WebhookFailures{Since: t0.Add(since), Latest: t0.Add(latest)}
		}
		result := func(at time.Duration, succeeded bool, next *time.Time, taken *parley.WebhookFailures) parley.WebhookResult {
			a := parley.WebhookAttempt{At: t0.Add(at), StatusCode: 500}
			if succeeded {
				a.StatusCode, a.Succeeded = 200, true
			}
			return parley.WebhookResult{DeliveryID: "msg_a", EndpointID: e.ID, Attempt: a, NextAttemptAt: next, Failures: taken,
				LeaseUntil: t0.Add(at + time.Minute)}
		}
		// attempt takes msg_a at, as due then with the endpoint's run
		// want, and records its attempt, due again at next (nil: done).
		attempt := func(at time.Duration, succeeded bool, next *time.Time, want *parley.WebhookFailures) {
			t.Helper()
			var due []*parley.DueWebhook
			mustWrite(t, db, func(tx parley.Tx) (err error) {
				due, err = tx.TakeDueWebhooks(ctx, t0.Add(at), t0.Add(at+time.Minute), parley.WebhookTake{Limit: 10})
				return err
			})
			if len(due) != 1 || (due[0].Failures == nil) != (want == nil) || want != nil && *due[0].Failures != *want {
				t.Fatalf("taken at %v: %+v, want the run %+v", at, due, want)
			}
			mustWrite(t, db, func(tx parley.Tx) error {
				return tx.RecordWebhookResults(ctx, []parley.WebhookResult{result(at, succeeded, next, due[0].Failures)})
			})
		}
		due := func(d time.Duration) *time.Time { at := t0.Add(d); return &at }
		day, week := parley.MaxWebhookRetryAfter, 7*24*time.Hour

		attempt(0, false, due(5*time.Second), nil)
		attempt(5*time.Second, false, due(2*time.Hour), run(0, 0))
		attempt(2*time.Hour, false, due(2*time.Hour+day), run(0, 0))
		attempt(2*time.Hour+day, false, due(week), run(0, 2*time.Hour))
		attempt(week, false, due(week+5*time.Second), run(0, 2*time.Hour+day))
		if got := failingSince(t, db, e.ID); got == nil || !got.Equal(t0.Add(week)) {
			t.Fatalf("failing since %v after failures a week apart, want the second, at %v", got, t0.Add(week))
		}
		// A failure taken before the new run began, recorded after it.
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.RecordWebhookResults(ctx, []parley.WebhookResult{result(week+time.Minute, false, nil, run(0, 2*time.Hour+day))})
		})
		if got := failingSince(t, db, e.ID); got == nil || !got.Equal(t0.Add(week)) {
			t.Fatalf("failing since %v after a late failure, want %v", got, t0.Add(week))
		}
		attempt(week+5*time.Second, true, nil, run(week, week))
		if got := failingSince(t, db, e.ID); got != nil {
			t.Fatalf("failing since %v after a success", got)
		}
		// A failure taken before the success, recorded after it.
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.RecordWebhookResults(ctx, []parley.WebhookResult{result(week+2*time.Hour, false, nil, run(week, week))})
		})
		if got := failingSince(t, db, e.ID); got != nil {
			t.Fatalf("failing since %v after a late failure brought back a run a success ended", got)
		}
	})
}

// TestWebhooks_ResultsRecordedOnce: results passed again, as a worker
// does after a write whose commit it never heard of, are recorded once:
// no attempt is listed twice, and a success passed again does not end the
// run of failures that began after it. Nor does a success made before a
// run began, recorded after it, end that run.
func TestWebhooks_ResultsRecordedOnce(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testWebhooks_ResultsRecordedOnce)
}

func testWebhooks_ResultsRecordedOnce(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	e := newWebhookEndpoint(t, db)
	t0 := parley.Now()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	enqueue := func(id string, made time.Duration) {
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.EnqueueWebhooks(ctx, []parley.NewWebhookDelivery{
				{ID: id, EndpointID: e.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: at(made)}})
		})
	}
	// take takes the deliveries due at taken, as a worker does, and
	// returns each one's result of an attempt made then: a success, or a
	// failure due again 10 seconds later.
	take := func(taken time.Duration, succeeded bool) map[string]parley.WebhookResult {
		t.Helper()
		var due []*parley.DueWebhook
		mustWrite(t, db, func(tx parley.Tx) (err error) {
			due, err = tx.TakeDueWebhooks(ctx, at(taken), at(taken+time.Minute), parley.WebhookTake{Limit: 10})
			return err
		})
		results := map[string]parley.WebhookResult{}
		for _, d := range due {
			r := parley.WebhookResult{DeliveryID: d.ID, EndpointID: e.ID, Failures: d.Failures, LeaseUntil: at(taken + time.Minute),
				Attempt: parley.WebhookAttempt{At: at(taken), StatusCode: 200, Succeeded: true}}
			if !succeeded {
				next := at(taken + 10*time.Second)
				r.Attempt, r.NextAttemptAt = parley.WebhookAttempt{At: at(taken), StatusCode: 500, Error: "the endpoint answered 500"}, &next
			}
			results[d.ID] = r
		}
		return results
	}
	record := func(results ...parley.WebhookResult) {
		t.Helper()
		mustWrite(t, db, func(tx parley.Tx) error { return tx.RecordWebhookResults(ctx, results) })
	}

	enqueue("msg_a", 0)
	failed := take(0, false)["msg_a"]
	record(failed)
	enqueue("msg_c", time.Second)
	// msg_a and msg_c are taken while the endpoint fails since t0; msg_c's
	// success is recorded only at the end.
	second := take(10*time.Second, true)
	succeeded, late := second["msg_a"], second["msg_c"]
	if succeeded.Failures == nil || late.Failures == nil {
		t.Fatalf("taken %+v; want both with the run of failures since t0", second)
	}
	record(succeeded)
	if got := failingSince(t, db, e.ID); got != nil {
		t.Fatalf("failing since %v after a success", got)
	}
	enqueue("msg_b", 11*time.Second)
	record(take(15*time.Second, false)["msg_b"])
	record(failed, succeeded)
	if got := failingSince(t, db, e.ID); got == nil || !got.Equal(at(15*time.Second)) {
		t.Fatalf("failing since %v after results passed again; want the run msg_b began, since %v", got, at(15*time.Second))
	}
	record(late)
	if got := failingSince(t, db, e.ID); got == nil || !got.Equal(at(15*time.Second)) {
		t.Fatalf("failing since %v after a success made before the run; want the run msg_b began, since %v", got, at(15*time.Second))
	}
	list := webhookDeliveries(t, db, e.ID)
	got := map[string]string{}
	for _, d := range list {
		var codes []string
		for _, a := range d.Attempts {
			codes = append(codes, fmt.Sprint(a.StatusCode))
		}
		got[d.ID] = d.State + " " + strings.Join(codes, ",")
	}
	want := map[string]string{"msg_a": "succeeded 500,200", "msg_b": "pending 500", "msg_c": "succeeded 200"}
	if !maps.Equal(got, want) {
		t.Fatalf("deliveries (state, attempts' status codes) %v; want %v", got, want)
	}
}

// TestWebhooks_Withdrawn: a withdrawn delivery is taken no more, with no
// attempt recorded and its endpoint's health untouched, until redelivered.
func TestWebhooks_Withdrawn(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testWebhooks_Withdrawn)
}

func testWebhooks_Withdrawn(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	e := newWebhookEndpoint(t, db)
	now := parley.Now()
	mustWrite(t, db, func(tx parley.Tx) error {
		return tx.EnqueueWebhooks(ctx, []parley.NewWebhookDelivery{
			{ID: "msg_a", EndpointID: e.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now},
		})
	})
	take := func(at time.Time) []*parley.DueWebhook { return takeDue(t, db, at) }
	if due := take(now); len(due) != 1 {
		t.Fatalf("due %+v", due)
	}
	mustWrite(t, db, func(tx parley.Tx) error { return tx.WithdrawWebhooks(ctx, now.Add(time.Minute), []string{"msg_a"}) })
	if due := take(now.Add(48 * time.Hour)); len(due) != 0 {
		t.Fatalf("a withdrawn delivery taken again: %+v", due)
	}
	var list []*parley.WebhookDelivery
	var got *parley.WebhookEndpoint
	mustWrite(t, db, func(tx parley.Tx) (err error) {
		if list, err = tx.FindWebhookDeliveries(ctx, e.ID, "", 10); err != nil {
			return err
		}
		got, err = tx.FindWebhookEndpoint(ctx, e.ID)
		return err
	})
	if len(list) != 1 || list[0].State != parley.DeliveryWithdrawn || list[0].NextAttemptAt != nil || len(list[0].Attempts) != 0 {
		t.Fatalf("deliveries %+v", list)
	}
	if got.FailingSince != nil || got.DisabledAt != nil {
		t.Fatalf("endpoint %+v", got)
	}
	mustWrite(t, db, func(tx parley.Tx) error { return tx.RedeliverWebhook(ctx, e.ID, "msg_a", now.Add(time.Hour)) })
	if due := take(now.Add(time.Hour)); len(due) != 1 || due[0].Attempts != 0 {
		t.Fatalf("redelivered: %+v", due)
	}
}

// TestWebhooks_RedeliveredWhileTaken: a delivery redelivered while an
// attempt at it is under way stays redelivered: the attempt's result, or
// its withdrawal, joins its history but neither ends it nor puts its
// next attempt off.
func TestWebhooks_RedeliveredWhileTaken(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := newWebhookEndpoint(t, db)
		now := parley.Now()
		lease := now.Add(time.Minute)
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.EnqueueWebhooks(ctx, []parley.NewWebhookDelivery{
				{ID: "msg_a", EndpointID: e.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now},
				{ID: "msg_b", EndpointID: e.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now},
			})
		})
		take := func(at time.Time) []*parley.DueWebhook { return takeDue(t, db, at) }
		if due := take(now); len(due) != 2 {
			t.Fatalf("due %+v", due)
		}
		redelivered := now.Add(time.Second)
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, id := range []string{"msg_a", "msg_b"} {
				if err := tx.RedeliverWebhook(ctx, e.ID, id, redelivered); err != nil {
					return err
				}
			}
			return nil
		})
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.RecordWebhookResults(ctx, []parley.WebhookResult{{DeliveryID: "msg_a", EndpointID: e.ID, LeaseUntil: lease,
				Attempt: parley.WebhookAttempt{At: now, StatusCode: 500, Error: "the endpoint answered 500"}}}); err != nil {
				return err
			}
			return tx.WithdrawWebhooks(ctx, lease, []string{"msg_b"})
		})
		list := webhookDeliveries(t, db, e.ID)
		for _, d := range list {
			if d.State != parley.DeliveryPending || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(redelivered) {
				t.Errorf("%s, redelivered while taken, is %s, next attempt at %v; want pending at %v", d.ID, d.State, d.NextAttemptAt, redelivered)
			}
			if want := map[string]int{"msg_a": 1, "msg_b": 0}[d.ID]; len(d.Attempts) != want {
				t.Errorf("%s has %d attempts in its history, want %d", d.ID, len(d.Attempts), want)
			}
		}
		if due := take(redelivered); len(due) != 2 || due[0].Attempts != 0 || due[1].Attempts != 0 {
			t.Fatalf("the redelivered deliveries are not due afresh: %+v", due)
		}
	})
}

// TestWebhooks_ReturnedDueAtOnce: a delivery taken and given back unsent
// is due again when it is given back, not at the end of its lease, with
// no attempt; one attempted since it was taken, or taken again by another
// worker since, stays as that left it.
func TestWebhooks_ReturnedDueAtOnce(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := newWebhookEndpoint(t, db)
		now := parley.Now()
		lease := now.Add(time.Minute)
		mustWrite(t, db, func(tx parley.Tx) error {
			var ds []parley.NewWebhookDelivery
			for _, id := range []string{"msg_a", "msg_b", "msg_c"} {
				ds = append(ds, parley.NewWebhookDelivery{ID: id, EndpointID: e.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now})
			}
			return tx.EnqueueWebhooks(ctx, ds)
		})
		take := func(at time.Time) (ids []string) {
			for _, d := range takeDue(t, db, at) {
				ids = append(ids, d.ID)
			}
			slices.Sort(ids)
			return ids
		}
		if ids := take(now); !slices.Equal(ids, []string{"msg_a", "msg_b", "msg_c"}) {
			t.Fatalf("taken %v", ids)
		}
		// msg_b is attempted; msg_c is given back, and another worker takes
		// it.
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.RecordWebhookResults(ctx, []parley.WebhookResult{{DeliveryID: "msg_b", EndpointID: e.ID, LeaseUntil: lease,
				Attempt: parley.WebhookAttempt{At: now, StatusCode: 204, Succeeded: true}}})
		})
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.ReturnWebhooks(ctx, lease, now, []string{"msg_c"})
		})
		if ids := take(now.Add(time.Second)); !slices.Equal(ids, []string{"msg_c"}) {
			t.Fatalf("taken again: %v", ids)
		}
		returned := now.Add(2 * time.Second)
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.ReturnWebhooks(ctx, lease, returned, []string{"msg_a", "msg_b", "msg_c"})
		})
		for _, d := range webhookDeliveries(t, db, e.ID) {
			var want string
			switch d.ID {
			case "msg_a":
				want = fmt.Sprintf("pending at %v, 0 attempts", returned.UnixMicro())
			case "msg_b":
				want = "succeeded at <nil>, 1 attempts"
			case "msg_c":
				want = fmt.Sprintf("pending at %v, 0 attempts", now.Add(time.Second+time.Minute).UnixMicro())
			}
			at := "<nil>"
			if d.NextAttemptAt != nil {
				at = fmt.Sprint(d.NextAttemptAt.UnixMicro())
			}
			if got := fmt.Sprintf("%s at %s, %d attempts", d.State, at, len(d.Attempts)); got != want {
				t.Errorf("%s is %s; want %s", d.ID, got, want)
			}
		}
		if ids := take(returned); !slices.Equal(ids, []string{"msg_a"}) {
			t.Fatalf("due when it was given back: %v; want msg_a", ids)
		}
	})
}

// TestWebhooks_Subscriptions: which events endpoints subscribe to is known
// at once; an endpoint is told of events from its active_from on, moved
// later if need be, and a disabled one no longer.
func TestWebhooks_Subscriptions(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testWebhooks_Subscriptions)
}

func testWebhooks_Subscriptions(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	var events []string
	find := func(at time.Time, e *parley.WebhookEndpoint) []string {
		var ids []string
		mustWrite(t, db, func(tx parley.Tx) (err error) {
			if events, err = tx.FindWebhookEvents(ctx); err != nil {
				return err
			}
			if e != nil {
				ids, err = tx.FindWebhookSubscribers(ctx, e.ClientID, parley.WebhookMessageCreated, at)
			}
			return err
		})
		return ids
	}
	if find(parley.Now(), nil); len(events) != 0 {
		t.Fatalf("events %v with no endpoint", events)
	}
	e := newWebhookEndpoint(t, db)
	if ids := find(e.ActiveFrom.Add(-time.Microsecond), e); len(events) != 1 || events[0] != parley.WebhookMessageCreated || len(ids) != 0 {
		t.Fatalf("before active_from: events %v, subscribers %v", events, ids)
	}
	if ids := find(e.ActiveFrom, e); len(ids) != 1 || ids[0] != e.ID {
		t.Fatalf("at active_from: subscribers %v", ids)
	}
	later := e.ActiveFrom.Add(3 * time.Second)
	mustWrite(t, db, func(tx parley.Tx) error { return tx.SetWebhookActiveFrom(ctx, e.ID, later) })
	if ids := find(later.Add(-time.Microsecond), e); len(events) != 1 || len(ids) != 0 {
		t.Fatalf("before the active_from it was moved to: events %v, subscribers %v", events, ids)
	}
	if ids := find(later, e); len(ids) != 1 || ids[0] != e.ID {
		t.Fatalf("at the active_from it was moved to: subscribers %v", ids)
	}
	var stored *parley.WebhookEndpoint
	mustWrite(t, db, func(tx parley.Tx) (err error) { stored, err = tx.FindWebhookEndpoint(ctx, e.ID); return err })
	if !stored.ActiveFrom.Equal(later) {
		t.Fatalf("the endpoint's active_from %v, want %v", stored.ActiveFrom, later)
	}
	if err := db.Write(ctx, func(tx parley.Tx) error { return tx.SetWebhookActiveFrom(ctx, "no-such-endpoint", later) }); parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Fatalf("moving a missing endpoint's active_from: %v, want not found", err)
	}
	mustWrite(t, db, func(tx parley.Tx) error {
		if err := tx.EnqueueWebhooks(ctx, []parley.NewWebhookDelivery{{ID: "msg_x", EndpointID: e.ID, Event: parley.WebhookMessageCreated,
			Payload: []byte(`{}`), CreatedAt: e.Created}}); err != nil {
			return err
		}
		return tx.RecordWebhookResults(ctx, []parley.WebhookResult{{DeliveryID: "msg_x", EndpointID: e.ID,
			Attempt: parley.WebhookAttempt{At: e.Created, StatusCode: 410}, Disable: "the endpoint answered 410 Gone"}})
	})
	if ids := find(e.ActiveFrom, e); len(events) != 0 || len(ids) != 0 {
		t.Fatalf("disabled: events %v, subscribers %v", events, ids)
	}
}

// TestWebhooks_DisabledEndpointSentNothing: once an endpoint is disabled
// (here by a 410 Gone), none of its deliveries is taken, not even one
// enqueued after the disabling, as a write that found the endpoint enabled
// before the disabling committed enqueues on PostgreSQL; every one that was
// pending fails, but one in flight whose attempt succeeds.
func TestWebhooks_DisabledEndpointSentNothing(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testWebhooks_DisabledEndpointSentNothing)
}

func testWebhooks_DisabledEndpointSentNothing(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	e := newWebhookEndpoint(t, db)
	now := parley.Now()
	lease := now.Add(time.Minute)
	enqueue := func(ids ...string) {
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, id := range ids {
				err := tx.EnqueueWebhooks(ctx, []parley.NewWebhookDelivery{
					{ID: id, EndpointID: e.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now},
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	take := func(at time.Time) []*parley.DueWebhook { return takeDue(t, db, at) }
	record := func(id string, status int, disable string) {
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.RecordWebhookResults(ctx, []parley.WebhookResult{{DeliveryID: id, EndpointID: e.ID, LeaseUntil: lease,
				Attempt: parley.WebhookAttempt{At: now, StatusCode: status, Succeeded: status < 300}, Disable: disable}})
		})
	}
	deliveries := func() map[string]*parley.WebhookDelivery {
		byID := map[string]*parley.WebhookDelivery{}
		for _, d := range webhookDeliveries(t, db, e.ID) {
			byID[d.ID] = d
		}
		return byID
	}
	enqueue("msg_gone", "msg_flying_ok", "msg_flying_bad")
	if due := take(now); len(due) != 3 {
		t.Fatalf("due %+v", due)
	}
	record("msg_gone", 410, "the endpoint answered 410 Gone")
	for id, d := range deliveries() {
		if d.State != parley.DeliveryFailed || d.NextAttemptAt != nil {
			t.Errorf("%s, pending when its endpoint was disabled, is %s, due at %v; want failed, not due", id, d.State, d.NextAttemptAt)
		}
	}
	// The attempts in flight when the endpoint was disabled end.
	record("msg_flying_ok", 204, "")
	record("msg_flying_bad", 500, "")
	enqueue("msg_late")
	if due := take(now.Add(time.Hour)); len(due) != 0 {
		t.Fatalf("a disabled endpoint's deliveries taken: %+v", due)
	}
	want := map[string]struct {
		state    string
		attempts int
	}{
		"msg_gone":       {parley.DeliveryFailed, 1},
		"msg_flying_ok":  {parley.DeliverySucceeded, 1},
		"msg_flying_bad": {parley.DeliveryFailed, 1},
		"msg_late":       {parley.DeliveryFailed, 0},
	}
	got := deliveries()
	for id, w := range want {
		d := got[id]
		if d == nil || d.State != w.state || len(d.Attempts) != w.attempts || d.NextAttemptAt != nil {
			t.Errorf("%s is %+v; want %s with %d attempts, not due", id, d, w.state, w.attempts)
		}
	}
}

// duringEndpointDeletion runs write on the second node once a deletion of
// the endpoint on the first holds its locks, lets the deletion commit once
// write waits for it, and returns write's error.
func duringEndpointDeletion(t *testing.T, nodes [2]*sqlstore.DB, endpointID string, write func(parley.Tx) error) error {
	t.Helper()
	ctx := context.Background()
	deleting, release := make(chan struct{}), make(chan struct{})
	began := sync.OnceFunc(func() { close(deleting) })
	deleted := make(chan error, 1)
	go func() {
		deleted <- nodes[0].Write(ctx, func(tx parley.Tx) error {
			if err := tx.DeleteWebhookEndpoint(ctx, endpointID); err != nil {
				return err
			}
			began()
			<-release
			return nil
		})
	}()
	<-deleting
	written := make(chan error, 1)
	go func() { written <- nodes[1].Write(ctx, write) }()
	for waited := 0; ; waited++ {
		n, err := sqlstore.LockWaiters(ctx, nodes[1])
		if err != nil {
			close(release)
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if waited == 1000 {
			close(release)
			t.Fatal("the write never waited for the deletion")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if err := <-deleted; err != nil {
		t.Fatalf("delete the endpoint: %v", err)
	}
	return <-written
}

// TestWebhooks_EndpointDeletedWhileItsResultIsRecorded: on PostgreSQL, an
// endpoint deleted on one node while another records an attempt at one of
// its deliveries, whose lease the attempt lost (here to a redelivery),
// costs only that attempt's record: the batch's other results are
// recorded, not failed with it by the attempt's foreign key.
func TestWebhooks_EndpointDeletedWhileItsResultIsRecorded(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	gone, kept := newWebhookEndpoint(t, nodes[0]), newWebhookEndpoint(t, nodes[0])
	now := parley.Now()
	lease := now.Add(time.Minute)
	mustWrite(t, nodes[0], func(tx parley.Tx) error {
		return tx.EnqueueWebhooks(ctx, []parley.NewWebhookDelivery{
			{ID: "msg_gone", EndpointID: gone.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now},
			{ID: "msg_kept", EndpointID: kept.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now},
		})
	})
	mustWrite(t, nodes[1], func(tx parley.Tx) error {
		due, err := tx.TakeDueWebhooks(ctx, now, lease, parley.WebhookTake{Limit: 10})
		if err == nil && len(due) != 2 {
			err = fmt.Errorf("due %+v", due)
		}
		return err
	})
	mustWrite(t, nodes[0], func(tx parley.Tx) error { return tx.RedeliverWebhook(ctx, gone.ID, "msg_gone", now.Add(time.Second)) })

	attempt := parley.WebhookAttempt{At: now, StatusCode: 204, Succeeded: true}
	err := duringEndpointDeletion(t, nodes, gone.ID, func(tx parley.Tx) error {
		return tx.RecordWebhookResults(ctx, []parley.WebhookResult{
			{DeliveryID: "msg_gone", EndpointID: gone.ID, LeaseUntil: lease, Attempt: attempt},
			{DeliveryID: "msg_kept", EndpointID: kept.ID, LeaseUntil: lease, Attempt: attempt},
		})
	})
	if err != nil {
		t.Fatalf("record the results beside the deleted endpoint's: %v", err)
	}
	list := webhookDeliveries(t, nodes[1], kept.ID)
	if len(list) != 1 || list[0].State != parley.DeliverySucceeded || len(list[0].Attempts) != 1 {
		t.Fatalf("the delivery beside the deleted endpoint's: %+v", list)
	}
}

// TestWebhooks_NoDeliveryForAGoneEndpoint: a delivery whose endpoint was
// deleted after the write found it is left out, and the write goes on:
// the deliveries beside it are queued.
func TestWebhooks_NoDeliveryForAGoneEndpoint(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testWebhooks_NoDeliveryForAGoneEndpoint)
}

func testWebhooks_NoDeliveryForAGoneEndpoint(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	live, gone := newWebhookEndpoint(t, db), newWebhookEndpoint(t, db)
	now := parley.Now()
	mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteWebhookEndpoint(ctx, gone.ID) })
	mustWrite(t, db, func(tx parley.Tx) error {
		return tx.EnqueueWebhooks(ctx, []parley.NewWebhookDelivery{
			{ID: "msg_gone", EndpointID: gone.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now},
			{ID: "msg_live", EndpointID: live.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now},
		})
	})
	var due []*parley.DueWebhook
	mustWrite(t, db, func(tx parley.Tx) (err error) {
		due, err = tx.TakeDueWebhooks(ctx, now, now.Add(time.Minute), parley.WebhookTake{Limit: 10})
		return err
	})
	if len(due) != 1 || due[0].ID != "msg_live" {
		t.Fatalf("due %+v, want msg_live alone", due)
	}
}

// TestWebhooks_EndpointDeletedWhileADeliveryIsQueued: on PostgreSQL, an
// endpoint deleted on one node while a write on another queues a delivery
// to it, found before the deletion, leaves that delivery out: the write,
// a member's send among them, does not fail on the delivery's foreign key.
func TestWebhooks_EndpointDeletedWhileADeliveryIsQueued(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	gone := newWebhookEndpoint(t, nodes[0])
	now := parley.Now()

	err := duringEndpointDeletion(t, nodes, gone.ID, func(tx parley.Tx) error {
		return tx.EnqueueWebhooks(ctx, []parley.NewWebhookDelivery{{ID: "msg_late", EndpointID: gone.ID,
			Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now}})
	})
	if err != nil {
		t.Fatalf("queue a delivery to the endpoint being deleted: %v", err)
	}
	var due []*parley.DueWebhook
	mustWrite(t, nodes[1], func(tx parley.Tx) (err error) {
		due, err = tx.TakeDueWebhooks(ctx, now, now.Add(time.Minute), parley.WebhookTake{Limit: 10})
		return err
	})
	if len(due) != 0 {
		t.Fatalf("due %+v for a deleted endpoint", due)
	}
}

// TestWebhooks_HistoryDeletedOldestFirst: the history's deletion takes
// deliveries made before the time it is given that are done (succeeded,
// failed or withdrawn), oldest first, as many as it is allowed, with their
// attempts; a pending one stays however old, and so does every one made
// since.
func TestWebhooks_HistoryDeletedOldestFirst(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testWebhooks_HistoryDeletedOldestFirst)
}

func testWebhooks_HistoryDeletedOldestFirst(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	e := newWebhookEndpoint(t, db)
	now := parley.Now()
	// The deliveries are made a second apart, msg_a1 first; msg_c1 is made
	// at the cut and stays.
	ids := []string{"msg_a1", "msg_a2", "msg_a3", "msg_a4", "msg_c1"}
	mustWrite(t, db, func(tx parley.Tx) error {
		var ds []parley.NewWebhookDelivery
		for i, id := range ids {
			ds = append(ds, parley.NewWebhookDelivery{ID: id, EndpointID: e.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`),
				CreatedAt: now.Add(time.Duration(i) * time.Second)})
		}
		return tx.EnqueueWebhooks(ctx, ds)
	})
	cut := now.Add(4 * time.Second)
	taken := cut.Add(time.Second)
	lease := taken.Add(time.Minute)
	later := taken.Add(time.Hour)
	result := func(id string, status int, next *time.Time) parley.WebhookResult {
		return parley.WebhookResult{DeliveryID: id, EndpointID: e.ID, LeaseUntil: lease, NextAttemptAt: next,
			Attempt: parley.WebhookAttempt{At: taken, StatusCode: status, Succeeded: status < 300}}
	}
	mustWrite(t, db, func(tx parley.Tx) error {
		if _, err := tx.TakeDueWebhooks(ctx, taken, lease, parley.WebhookTake{Limit: 10}); err != nil {
			return err
		}
		if err := tx.RecordWebhookResults(ctx, []parley.WebhookResult{
			result("msg_a1", 204, nil), result("msg_a2", 400, nil), result("msg_a4", 500, &later), result("msg_c1", 204, nil),
		}); err != nil {
			return err
		}
		return tx.WithdrawWebhooks(ctx, lease, []string{"msg_a3"})
	})
	deleteBefore := func(limit int) int {
		var n int
		mustWrite(t, db, func(tx parley.Tx) (err error) {
			n, err = tx.DeleteWebhookHistory(ctx, cut, limit)
			return err
		})
		return n
	}
	if n := deleteBefore(2); n != 2 {
		t.Fatalf("deleted %d, want 2", n)
	}
	left := func() map[string]int {
		list := webhookDeliveries(t, db, e.ID)
		attempts := map[string]int{}
		for _, d := range list {
			attempts[d.ID] = len(d.Attempts)
		}
		return attempts
	}
	if got, want := left(), map[string]int{"msg_a3": 0, "msg_a4": 1, "msg_c1": 1}; !maps.Equal(got, want) {
		t.Fatalf("after deleting two, left %v (delivery: attempts); want %v", got, want)
	}
	if n := deleteBefore(10); n != 1 {
		t.Fatalf("deleted %d, want the withdrawn one", n)
	}
	if n := deleteBefore(10); n != 0 {
		t.Fatalf("deleted %d with nothing left to delete", n)
	}
	if got, want := left(), map[string]int{"msg_a4": 1, "msg_c1": 1}; !maps.Equal(got, want) {
		t.Fatalf("left %v; want the pending one and the one made at the cut, %v", got, want)
	}
}

// TestWebhooks_HistoryDeletedOnTwoNodesAtOnce: on PostgreSQL, two nodes
// deleting the history at once each delete deliveries the other does not
// hold, and neither waits for the other: between them, every one once.
func TestWebhooks_HistoryDeletedOnTwoNodesAtOnce(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	e := newWebhookEndpoint(t, nodes[0])
	now := parley.Now()
	lease := now.Add(time.Minute)
	var ds []parley.NewWebhookDelivery
	var results []parley.WebhookResult
	for i := range 4 {
		id := fmt.Sprintf("msg_%d", i)
		ds = append(ds, parley.NewWebhookDelivery{ID: id, EndpointID: e.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`),
			CreatedAt: now.Add(time.Duration(i-10) * time.Second)})
		results = append(results, parley.WebhookResult{DeliveryID: id, EndpointID: e.ID, LeaseUntil: lease,
			Attempt: parley.WebhookAttempt{At: now, StatusCode: 204, Succeeded: true}})
	}
	mustWrite(t, nodes[0], func(tx parley.Tx) error {
		if err := tx.EnqueueWebhooks(ctx, ds); err != nil {
			return err
		}
		if _, err := tx.TakeDueWebhooks(ctx, now, lease, parley.WebhookTake{Limit: 10}); err != nil {
			return err
		}
		return tx.RecordWebhookResults(ctx, results)
	})

	held, release := make(chan struct{}), make(chan struct{})
	hold := sync.OnceFunc(func() { close(held) })
	first := make(chan int, 1)
	go func() {
		var n int
		err := nodes[0].Write(ctx, func(tx parley.Tx) (err error) {
			if n, err = tx.DeleteWebhookHistory(ctx, now, 2); err == nil {
				hold()
				<-release
			}
			return err
		})
		if err != nil {
			t.Error(err)
			hold()
		}
		first <- n
	}()
	<-held
	second := make(chan int, 1)
	go func() {
		var n int
		if err := nodes[1].Write(ctx, func(tx parley.Tx) (err error) { n, err = tx.DeleteWebhookHistory(ctx, now, 10); return err }); err != nil {
			t.Error(err)
		}
		second <- n
	}()
	var n1 int
	select {
	case n1 = <-second:
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("the second node's deletion waited for the first's")
	}
	close(release)
	if n0 := <-first; n0 != 2 || n1 != 2 {
		t.Fatalf("the nodes deleted %d and %d; want 2 each", n0, n1)
	}
	left := webhookDeliveries(t, nodes[1], e.ID)
	if len(left) != 0 {
		t.Fatalf("left %+v", left)
	}
}

// TestWebhooks_AnEndpointsDeliveriesDeletedInBatches: an endpoint's
// deliveries are deleted as many at a time as allowed, with their
// attempts, and another endpoint's are left.
func TestWebhooks_AnEndpointsDeliveriesDeletedInBatches(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testWebhooks_AnEndpointsDeliveriesDeletedInBatches)
}

func testWebhooks_AnEndpointsDeliveriesDeletedInBatches(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	gone, kept := newWebhookEndpoint(t, db), newWebhookEndpoint(t, db)
	now := parley.Now()
	lease := now.Add(time.Minute)
	var ds []parley.NewWebhookDelivery
	for i := range 5 {
		ds = append(ds, parley.NewWebhookDelivery{ID: fmt.Sprintf("msg_gone_%d", i), EndpointID: gone.ID, Event: parley.WebhookMessageCreated,
			Payload: []byte(`{}`), CreatedAt: now})
	}
	ds = append(ds, parley.NewWebhookDelivery{ID: "msg_kept", EndpointID: kept.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now})
	mustWrite(t, db, func(tx parley.Tx) error {
		if err := tx.EnqueueWebhooks(ctx, ds); err != nil {
			return err
		}
		if _, err := tx.TakeDueWebhooks(ctx, now, lease, parley.WebhookTake{Limit: 10}); err != nil {
			return err
		}
		var results []parley.WebhookResult
		for _, d := range ds {
			results = append(results, parley.WebhookResult{DeliveryID: d.ID, EndpointID: d.EndpointID, LeaseUntil: lease,
				Attempt: parley.WebhookAttempt{At: now, StatusCode: 204, Succeeded: true}})
		}
		return tx.RecordWebhookResults(ctx, results)
	})
	for _, want := range []int{2, 2, 1, 0} {
		var n int
		mustWrite(t, db, func(tx parley.Tx) (err error) { n, err = tx.DeleteWebhookDeliveries(ctx, gone.ID, 2); return err })
		if n != want {
			t.Fatalf("deleted %d, want %d", n, want)
		}
	}
	for e, want := range map[*parley.WebhookEndpoint]int{gone: 0, kept: 1} {
		list := webhookDeliveries(t, db, e.ID)
		if len(list) != want || want == 1 && len(list[0].Attempts) != 1 {
			t.Fatalf("endpoint %s: left %+v; want %d", e.ID, list, want)
		}
	}
	// The endpoint, with nothing left of it, is deleted in a write of its own.
	mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteWebhookEndpoint(ctx, gone.ID) })
}

// takeDue takes, in a write of its own, up to 10 deliveries due at at,
// leased for a minute.
func takeDue(t *testing.T, db *sqlstore.DB, at time.Time) (due []*parley.DueWebhook) {
	t.Helper()
	mustWrite(t, db, func(tx parley.Tx) (err error) {
		due, err = tx.TakeDueWebhooks(context.Background(), at, at.Add(time.Minute), parley.WebhookTake{Limit: 10})
		return err
	})
	return due
}
