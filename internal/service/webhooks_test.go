package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
	"github.com/parleyhq/parley/internal/webhook"
)

// TestWebhookEvents_TrustedBriefly: a node skips looking for endpoints to
// tell only while it read, recently, that none subscribes to the event; an
// endpoint made after that read is active only after the node reads again
// or stops trusting the read.
func TestWebhookEvents_TrustedBriefly(t *testing.T) {
	h := newWebhooks(false)
	readAt := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	if !h.mayHave(parley.WebhookMessageCreated, readAt) {
		t.Fatal("skipped before any read")
	}
	h.events, h.readAt = map[string]bool{parley.WebhookGrantRevoked: true}, readAt
	if h.mayHave(parley.WebhookMessageCreated, readAt.Add(time.Second)) {
		t.Fatal("looked for endpoints of an event none subscribes to")
	}
	if !h.mayHave(parley.WebhookGrantRevoked, readAt.Add(time.Second)) {
		t.Fatal("skipped an event endpoints subscribe to")
	}
	if !h.mayHave(parley.WebhookMessageCreated, readAt.Add(webhookEventsFresh)) || !h.mayHave(parley.WebhookMessageCreated, readAt.Add(-time.Second)) {
		t.Fatal("trusted a read that is too old, or from the future")
	}
	// An endpoint made just after the read is active only once the read is
	// no longer trusted.
	if madeJustAfter := readAt.Add(time.Microsecond); madeJustAfter.Add(parley.WebhookActivation).Before(readAt.Add(webhookEventsFresh)) {
		t.Fatal("an endpoint could be active while a read from before it is trusted")
	}
}

// TestWebhooks_LoggedForThoseInTheThreadAtTheMessage: a delivery about a
// message is logged, at its first attempt, for those who were in the
// thread when the message was sent: carol, who left before the attempt,
// learns that the app was told of a message sent while she was there.
func TestWebhooks_LoggedForThoseInTheThreadAtTheMessage(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			s := New(db, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{})
			ctx := context.Background()
			users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
			as := func(name string) context.Context {
				return parley.NewContextWithCaller(ctx, &parley.Caller{User: users[name].Ref()})
			}
			mustEndpoint(t, s, db, users["alice"].ID, "https://hooks.example/in")
			m, _, err := s.SendMessage(as("bob"), group, Draft{Text: "while carol is here"}, "")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.LeaveThread(as("carol"), group); err != nil {
				t.Fatal(err)
			}
			if jobs, err := s.ExchangeWebhooks(ctx, nil, parley.WebhookTake{Limit: 10}); err != nil || len(jobs) != 1 {
				t.Fatalf("due: %d, %v", len(jobs), err)
			}
			for _, name := range []string{"alice", "bob", "carol"} {
				page, err := s.AccessLog(as(name), AccessLogQuery{Limit: 20})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(page.Entries, func(e *parley.AccessEntry) bool { return slices.Contains(e.MessageIDs, m.ID) }) {
					t.Errorf("%s's access log lacks the delivery of the message sent while they were in the thread", name)
				}
			}
		})
	}
}

// mustEndpoint stores an endpoint at url, active already and subscribed to
// events, or else to message.created, of the app the member's first grant
// is for, and returns its ID.
func mustEndpoint(t *testing.T, s *Service, db parley.Store, userID, url string, events ...string) string {
	t.Helper()
	return mustEndpointOf(t, s, db, grantedApp(t, db, userID), url, events...)
}

// mustEndpointOf is mustEndpoint for the app clientID.
func mustEndpointOf(t *testing.T, s *Service, db parley.Store, clientID, url string, events ...string) string {
	t.Helper()
	ctx := context.Background()
	sealer, err := s.sealer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := s.Now()
	id := parley.NewID()
	if events == nil {
		events = []string{parley.WebhookMessageCreated}
	}
	err = db.Write(ctx, func(tx parley.Tx) error {
		e := &parley.WebhookEndpoint{ID: id, ClientID: clientID, URL: url,
			Events: events, Created: now.Add(-time.Hour), ActiveFrom: now.Add(-time.Minute)}
		return tx.CreateWebhookEndpoint(ctx, e, sealer.Seal(e.ID, []byte("a key of thirty-two bytes, or so")))
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// mustGrantedApp stores an app, named name, and the member's grant of it,
// with scopes, reaching the thread; it returns the app's client ID.
func mustGrantedApp(t *testing.T, db parley.Store, name, userID, threadID string, scopes ...parley.Scope) string {
	t.Helper()
	return mustOwnedGrantedApp(t, db, name, "", userID, threadID, scopes...)
}

// mustOwnedGrantedApp is mustGrantedApp of an app the member ownerID
// registered ("" for no one).
func mustOwnedGrantedApp(t *testing.T, db parley.Store, name, ownerID, userID, threadID string, scopes ...parley.Scope) string {
	t.Helper()
	ctx := context.Background()
	now := parley.Now()
	app := &parley.App{ClientID: parley.NewID(), Name: name, RedirectURIs: []string{"https://app.example/cb"},
		ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: now, OwnerID: ownerID}
	g := &parley.Grant{ID: parley.NewID(), UserID: userID, ClientID: app.ClientID,
		Scopes: append(parley.Scopes{parley.ScopeOpenID}, scopes...), ThreadScope: parley.ThreadScopeSelected,
		CreatedAt: now, UpdatedAt: now}
	err := db.Write(ctx, func(tx parley.Tx) error {
		if err := tx.CreateApp(ctx, app, []byte("secret")); err != nil {
			return err
		}
		if err := tx.CreateGrant(ctx, g); err != nil {
			return err
		}
		_, err := tx.AddGrantThread(ctx, parley.GrantThread{GrantID: g.ID, ThreadID: threadID})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return app.ClientID
}

// laterClock is the wall clock moved on by what Advance added.
type laterClock struct{ offset atomic.Int64 }

func (c *laterClock) Now() time.Time { return parley.Now().Add(time.Duration(c.offset.Load())) }

func (c *laterClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// recordLostTx makes each write that records attempts fail once it has
// run, while losing is set, as a write lost to a dropped connection or a
// full disk does: nothing of it is kept, the deliveries it took neither,
// however often the store runs it. lost counts the writes so lost.
type recordLostTx struct {
	parley.Tx
	losing *atomic.Bool
	lost   *atomic.Int32
}

func (t recordLostTx) RecordWebhookResults(ctx context.Context, results []parley.WebhookResult) error {
	if err := t.Tx.RecordWebhookResults(ctx, results); err != nil || len(results) == 0 || !t.losing.Load() {
		return err
	}
	t.lost.Add(1)
	return errors.New("the write was lost")
}

// startWorker runs a webhook worker of s until stop is called.
func startWorker(s *Service, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		(&webhook.Worker{Queue: s, Sender: webhook.NewSender(s.Guard()), Log: log}).Run(ctx)
		close(stopped)
	}()
	return func() { cancel(); <-stopped }
}

// grantedApp returns the client ID of the app the member's first grant is
// for.
func grantedApp(t *testing.T, db parley.Store, userID string) string {
	t.Helper()
	return firstGrant(t, db, userID).ClientID
}

// firstGrant returns the member's first grant.
func firstGrant(t *testing.T, db parley.Store, userID string) *parley.Grant {
	t.Helper()
	ctx := context.Background()
	var g *parley.Grant
	if err := db.Read(ctx, func(tx parley.Tx) error {
		grants, err := tx.FindUserGrants(ctx, userID)
		if err == nil {
			g = grants[0]
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return g
}

// eventTypes returns the types of the events jobs deliver, in order.
func eventTypes(t *testing.T, jobs []*webhook.Job) []string {
	t.Helper()
	var events []string
	for _, j := range jobs {
		var body struct{ Type string }
		if err := json.Unmarshal(j.Body, &body); err != nil {
			t.Fatal(err)
		}
		events = append(events, body.Type)
	}
	return events
}

// endpointDeliveries reads the endpoint's newest deliveries.
func endpointDeliveries(t *testing.T, db parley.Store, endpoint string) []*parley.WebhookDelivery {
	t.Helper()
	ctx := context.Background()
	var list []*parley.WebhookDelivery
	if err := db.Read(ctx, func(tx parley.Tx) (err error) {
		list, err = tx.FindWebhookDeliveries(ctx, endpoint, "", 10)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return list
}

// nextSent waits for the webhook-id of the next delivery a receiver got.
func nextSent(t *testing.T, ids <-chan string) string {
	t.Helper()
	select {
	case id := <-ids:
		return id
	case <-time.After(20 * time.Second):
		t.Fatal("nothing was sent")
		return ""
	}
}

// TestWebhooks_RecordedByTheNextWriteWhenItsRecordIsLost: when the write
// that records an attempt fails, the delivery worker records it with its
// next write, and the endpoint, which answered, is not sent the delivery
// again. A worker that stops with an attempt unrecorded (its node was
// stopped, or killed) leaves the delivery to its lease: it is sent again
// once the lease ends, with the same webhook-id, by which the receiver
// drops the repeat: delivery stays at least once, and what the receiver
// tells apart as once.
func TestWebhooks_RecordedByTheNextWriteWhenItsRecordIsLost(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			var losing atomic.Bool
			var lost atomic.Int32
			losing.Store(true)
			clock := &laterClock{}
			log := slog.New(slog.DiscardHandler)
			s := New(hookedStore{db, func(tx parley.Tx) parley.Tx { return recordLostTx{tx, &losing, &lost} }}, bus.NewMemory(64), log,
				Options{Clock: clock, WebhooksAllowPrivate: true})
			ids := make(chan string, 10)
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ids <- r.Header.Get("webhook-id")
				w.WriteHeader(http.StatusNoContent)
			}))
			defer rc.Close()
			users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
			endpoint := mustEndpoint(t, s, db, users["alice"].ID, rc.URL)
			bob := parley.NewContextWithCaller(context.Background(), &parley.Caller{User: users["bob"].Ref()})
			next := func() string { t.Helper(); return nextSent(t, ids) }
			delivery := func() *parley.WebhookDelivery { t.Helper(); return endpointDeliveries(t, db, endpoint)[0] }
			waitForLoss := func() {
				t.Helper()
				for lost.Store(0); lost.Load() == 0; {
					time.Sleep(10 * time.Millisecond)
				}
				if d := delivery(); len(d.Attempts) != 0 {
					t.Fatalf("after the record of its attempt was lost: %+v", d)
				}
			}
			waitForRecord := func(id string) {
				t.Helper()
				for range 2000 {
					if d := delivery(); len(d.Attempts) == 1 {
						if d.ID != id || d.State != parley.DeliverySucceeded || len(ids) != 0 {
							t.Fatalf("recorded: %+v, and %d more requests", d, len(ids))
						}
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
				t.Fatal("the attempt is not recorded")
			}

			// The record lost, then written by the next exchange.
			if _, _, err := s.SendMessage(bob, group, Draft{Text: "hello"}, ""); err != nil {
				t.Fatal(err)
			}
			stop := startWorker(s, log)
			first := next()
			waitForLoss()
			losing.Store(false)
			waitForRecord(first)
			stop()

			// The worker stopped with the record lost: the delivery is sent
			// again once its lease ends, with its webhook-id.
			if _, _, err := s.SendMessage(bob, group, Draft{Text: "again"}, ""); err != nil {
				t.Fatal(err)
			}
			losing.Store(true)
			stop = startWorker(s, log)
			defer func() { stop() }()
			second := next()
			waitForLoss()
			stop()
			losing.Store(false)
			stop = startWorker(s, log)
			clock.Advance(webhookLease + time.Second)
			s.WakeWebhooks()
			if again := next(); again != second {
				t.Fatalf("sent again with webhook-id %q, first with %q", again, second)
			}
			waitForRecord(second)
		})
	}
}

// TestWebhooks_LoggedOnceWhenTakenAgain: a delivery taken for its first
// attempt whose result is never recorded (its node was stopped, or killed,
// with the attempt under way) is taken again once its lease ends, on any
// node; the members' access logs hold its first attempt once, not once
// for each time it was taken.
func TestWebhooks_LoggedOnceWhenTakenAgain(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			clock := &laterClock{}
			s := New(db, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{Clock: clock})
			ctx := context.Background()
			users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
			bob := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["bob"].Ref()})
			mustEndpoint(t, s, db, users["alice"].ID, "https://hooks.example/in")
			m, _, err := s.SendMessage(bob, group, Draft{Text: "hello"}, "")
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if jobs, err := s.ExchangeWebhooks(ctx, nil, parley.WebhookTake{Limit: 10}); err != nil || len(jobs) != 1 {
					t.Fatalf("due: %d, %v", len(jobs), err)
				}
				clock.Advance(webhookLease + time.Second)
			}
			if told := timesTold(t, s, bob, m.ID); told != 1 {
				t.Fatalf("bob's access log holds the app's being told of the message %d times, want once", told)
			}
		})
	}
}

// TestWebhooks_LoggedOnceWhateverTheEndpoints: an app told of an event
// about a message at each of its endpoints subscribed to it learns of it
// once, and the access log says so once, for each event.
func TestWebhooks_LoggedOnceWhateverTheEndpoints(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			s := New(db, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{})
			ctx := context.Background()
			users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
			bob := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["bob"].Ref()})
			for _, url := range []string{"https://hooks.example/in", "https://hooks.example/archive", "https://backup.example/in"} {
				mustEndpoint(t, s, db, users["alice"].ID, url, parley.WebhookMessageCreated, parley.WebhookMessageEdited)
			}
			m, _, err := s.SendMessage(bob, group, Draft{Text: "hello"}, "")
			if err != nil {
				t.Fatal(err)
			}
			exchange := func(limit int) {
				t.Helper()
				if _, err := s.ExchangeWebhooks(ctx, nil, parley.WebhookTake{Limit: limit}); err != nil {
					t.Fatal(err)
				}
			}
			// One endpoint's delivery now, the others' in a later exchange.
			exchange(1)
			exchange(10)
			if told := timesTold(t, s, bob, m.ID); told != 1 {
				t.Fatalf("bob's access log holds the app's being told of the message at 3 endpoints %d times, want once", told)
			}
			for _, text := range []string{"hello again", "hello, third time"} {
				if _, err := s.EditMessage(bob, m.ID, text); err != nil {
					t.Fatal(err)
				}
				exchange(10)
			}
			if told := timesTold(t, s, bob, m.ID); told != 3 {
				t.Fatalf("bob's access log holds the app's being told of the message, sent and edited twice, %d times, want 3", told)
			}
		})
	}
}

// timesTold counts the entries of the member's access log saying that an
// app was told of the message.
func timesTold(t *testing.T, s *Service, member context.Context, messageID string) int {
	t.Helper()
	page, err := s.AccessLog(member, AccessLogQuery{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	told := 0
	for _, e := range page.Entries {
		if e.ClientID != "" && slices.Contains(e.MessageIDs, messageID) {
			told++
		}
	}
	return told
}

// logReadsFailingStore is a node's store whose LogReads fails once each
// time fail is set, as a write lost to a dropped connection does.
type logReadsFailingStore struct {
	parley.Store
	fail *atomic.Bool
}

func (s logReadsFailingStore) LogReads(ctx context.Context, records []parley.AccessRecord) error {
	if s.fail.CompareAndSwap(true, false) {
		return errors.New("the write was lost")
	}
	return s.Store.LogReads(ctx, records)
}

// TestWebhooks_AttemptRecordedOnceWhenTheNextDeliveriesFail: the write
// that records an attempt's result also takes the next due deliveries;
// when making those ready fails after that write (here, logging the app's
// being told of their message), the attempt stays recorded once, and the
// deliveries taken are left to their lease, then sent.
func TestWebhooks_AttemptRecordedOnceWhenTheNextDeliveriesFail(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			var fail atomic.Bool
			clock := &laterClock{}
			log := slog.New(slog.DiscardHandler)
			s := New(logReadsFailingStore{db, &fail}, bus.NewMemory(64), log, Options{Clock: clock, WebhooksAllowPrivate: true})
			// Another node sends the next message: its sending wakes that
			// node's workers, not this one's, which takes it with the first
			// one's result.
			other := New(db, bus.NewMemory(64), log, Options{Clock: clock})
			users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
			bob := parley.NewContextWithCaller(context.Background(), &parley.Caller{User: users["bob"].Ref()})
			got := make(chan string, 10)
			var underWay sync.Once
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				underWay.Do(func() {
					// While the first is under way, the next message is
					// sent, due when the first's result is recorded, and
					// its logging is to fail then. The failure is set
					// first: a poll of the worker's taking the next in the
					// moment between would log it, and leave the failure
					// to no one.
					fail.Store(true)
					if _, _, err := other.SendMessage(bob, group, Draft{Text: "the next"}, ""); err != nil {
						t.Error(err)
					}
				})
				got <- r.Header.Get("webhook-id")
				w.WriteHeader(http.StatusNoContent)
			}))
			defer rc.Close()
			endpoint := mustEndpoint(t, s, db, users["alice"].ID, rc.URL)
			defer startWorker(s, log)()
			next := func() string { t.Helper(); return nextSent(t, got) }
			if _, _, err := s.SendMessage(bob, group, Draft{Text: "the first"}, ""); err != nil {
				t.Fatal(err)
			}
			first := next()
			for deadline := time.Now().Add(10 * time.Second); fail.Load(); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the next delivery's logging never came, to fail")
				}
			}
			clock.Advance(webhookLease + time.Second)
			s.WakeWebhooks()
			second := next()
			for range 2000 {
				list := endpointDeliveries(t, db, endpoint)
				attempts := map[string]int{}
				for _, d := range list {
					attempts[d.ID] = len(d.Attempts)
				}
				if attempts[second] == 1 {
					if attempts[first] != 1 || len(list) != 2 {
						t.Fatalf("attempts %v; want one each of %s and %s", attempts, first, second)
					}
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Fatal("the second delivery's attempt is not recorded")
		})
	}
}

// afterTargetsTx runs a hook after the transaction finds the endpoints to
// tell of an event (FindWebhookTargets).
type afterTargetsTx struct {
	parley.Tx
	afterTargets func()
}

func (t afterTargetsTx) FindWebhookTargets(ctx context.Context, event, threadID string, at time.Time) ([]parley.WebhookTarget, error) {
	list, err := t.Tx.FindWebhookTargets(ctx, event, threadID, at)
	t.afterTargets()
	return list, err
}

// TestNodes_SendDuringEndpointDeletion: a member's message sent on one
// node while another deletes an endpoint that was to hear of it, between
// the send's finding the endpoint and its queuing the delivery, is sent:
// the delivery to the deleted endpoint is left out, where its foreign key
// failed the send with a 500 on PostgreSQL.
func TestNodes_SendDuringEndpointDeletion(t *testing.T) {
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	users, group, _ := appInGroup(t, nodes[0], parley.ScopeMessagesRead)
	endpoint := mustEndpoint(t, New(nodes[0], bus.NewMemory(16), log, Options{}), nodes[0], users["alice"].ID, "https://hooks.example/in")
	deleting, deleted := atOnce(func() error {
		return nodes[1].Write(ctx, func(tx parley.Tx) error { return tx.DeleteWebhookEndpoint(ctx, endpoint) })
	})
	a := New(hookedStore{nodes[0], func(tx parley.Tx) parley.Tx { return afterTargetsTx{tx, deleting} }}, bus.NewMemory(16), log, Options{})
	bob := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["bob"].Ref()})
	m, _, err := a.SendMessage(bob, group, Draft{Text: "sent as the endpoint goes"}, "")
	if err != nil {
		t.Fatalf("the send during the endpoint's deletion: %v", err)
	}
	if err := deleted(); err != nil {
		t.Fatalf("delete the endpoint: %v", err)
	}
	if list := endpointDeliveries(t, nodes[0], endpoint); len(list) != 0 {
		t.Fatalf("deliveries %+v to the deleted endpoint", list)
	}
	var page []*parley.Message
	if err := nodes[1].Read(ctx, func(tx parley.Tx) (err error) {
		page, err = tx.FindMessages(ctx, parley.MessageFilter{ThreadID: group, Limit: 10})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(page) != 1 || page[0].ID != m.ID {
		t.Fatalf("the thread holds %+v; want the message sent", page)
	}
}

// An endpoint whose run of failures a success ended is not disabled by a
// failure of a delivery taken before that success was recorded, which
// carries the run as it was then: the failure comes after a success, and
// disabling cannot be undone.
func TestWebhooks_ARecoveredEndpointIsNotDisabledByTheRunItEnded(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			clock := &laterClock{}
			s := New(db, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{Clock: clock})
			ctx := context.Background()
			users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
			bob := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["bob"].Ref()})
			endpoint := mustEndpoint(t, s, db, users["alice"].ID, "https://hooks.example/in")
			send := func() {
				t.Helper()
				if _, _, err := s.SendMessage(bob, group, Draft{Text: "x"}, ""); err != nil {
					t.Fatal(err)
				}
			}
			exchange := func(results []webhook.Result, limit int) []*webhook.Job {
				t.Helper()
				jobs, err := s.ExchangeWebhooks(ctx, results, parley.WebhookTake{Limit: limit})
				if err != nil {
					t.Fatal(err)
				}
				return jobs
			}
			answered := func(status int, jobs ...*webhook.Job) []webhook.Result {
				var rs []webhook.Result
				for _, j := range jobs {
					rs = append(rs, webhook.Result{Job: j, StatusCode: status})
				}
				return rs
			}
			// A run of failures, kept up every 12 hours, to just before it
			// would disable the endpoint.
			start := s.Now()
			for s.Now().Sub(start) < parley.WebhookDisableAfter-12*time.Hour {
				send()
				exchange(answered(http.StatusInternalServerError, exchange(nil, 100)...), 0)
				clock.Advance(12 * time.Hour)
			}
			clock.Advance(start.Add(parley.WebhookDisableAfter - 10*time.Second).Sub(s.Now()))
			exchange(nil, 100) // the retries due, taken and left in flight
			send()
			a := exchange(nil, 100)
			clock.Advance(11 * time.Second)
			send()
			b := exchange(nil, 100)
			if len(a) != 1 || len(b) != 1 {
				t.Fatalf("took %d and %d deliveries, want 1 each", len(a), len(b))
			}
			exchange(answered(http.StatusNoContent, a...), 0)
			exchange(answered(http.StatusInternalServerError, b...), 0)
			var e *parley.WebhookEndpoint
			if err := db.Read(ctx, func(tx parley.Tx) (err error) { e, err = tx.FindWebhookEndpoint(ctx, endpoint); return err }); err != nil {
				t.Fatal(err)
			}
			if e.DisabledAt != nil {
				t.Fatalf("the endpoint, which answered a delivery at %s, was disabled (%q) by one failure after it", a[0].At.Format(time.RFC3339), e.DisabledReason)
			}
		})
	}
}

// TestWebhooks_AFailuresCauseIsLoggedNotRecorded: an attempt that got no
// answer is recorded for the endpoint's owner in Parley's words alone; Go's
// error behind them, which may tell of the server's network, goes to the
// server's log, at debug.
func TestWebhooks_AFailuresCauseIsLoggedNotRecorded(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			var logged lockedBuffer
			log := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
			s := New(db, bus.NewMemory(64), log, Options{Clock: &laterClock{}})
			ctx := context.Background()
			users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
			bob := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["bob"].Ref()})
			endpoint := mustEndpoint(t, s, db, users["alice"].ID, "https://hooks.example/in")
			if _, _, err := s.SendMessage(bob, group, Draft{Text: "x"}, ""); err != nil {
				t.Fatal(err)
			}
			jobs, err := s.ExchangeWebhooks(ctx, nil, parley.WebhookTake{Limit: 10})
			if err != nil || len(jobs) != 1 {
				t.Fatalf("took %d deliveries (%v), want 1", len(jobs), err)
			}
			cause := errors.New("dial tcp 10.1.2.3:443: connect: connection refused")
			failed := []webhook.Result{{Job: jobs[0], Err: webhook.ErrConnect, Cause: cause}}
			if _, err := s.ExchangeWebhooks(ctx, failed, parley.WebhookTake{}); err != nil {
				t.Fatal(err)
			}
			d := endpointDeliveries(t, db, endpoint)[0]
			if len(d.Attempts) != 1 || d.Attempts[0].Error != webhook.ErrConnect.Error() {
				t.Errorf("recorded attempts %+v, want one that says only %q", d.Attempts, webhook.ErrConnect)
			}
			if line := logged.String(); !strings.Contains(line, "level=DEBUG") || !strings.Contains(line, "10.1.2.3:443") ||
				!strings.Contains(line, endpoint) {
				t.Errorf("logged %q, want the cause at debug with the endpoint", line)
			}
		})
	}
}

// lockedBuffer is a log's output, written by any goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestWebhooks_AHangingEndpointHoldsUpNoOther: an endpoint that takes
// deliveries and never answers holds its share of the worker's slots, not
// all of them: another endpoint's delivery, due behind a backlog of the
// hanging one's larger than every slot, is sent while the hanging one's
// still wait for their answers.
func TestWebhooks_AHangingEndpointHoldsUpNoOther(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			s, db, alice, send := bobSending(t, engine)
			hangs, hanging := hangingReceiver(t)
			answers, answered := answeringReceiver(t)

			mustEndpoint(t, s, db, alice, hangs.URL)
			for range webhook.Slots + 8 {
				send()
			}
			mustEndpoint(t, s, db, alice, answers.URL)
			send()
			stop := startWorker(s, slog.New(slog.DiscardHandler))
			defer stop()
			select {
			case <-answered:
			case <-time.After(10 * time.Second): // well within the hanging deliveries' timeout
				t.Fatalf("another endpoint's delivery waited behind the %d the hanging endpoint holds", hanging.Load())
			}
			if n := hanging.Load(); n > webhook.PerEndpoint {
				t.Errorf("the hanging endpoint holds %d deliveries, more than its share of %d", n, webhook.PerEndpoint)
			}
		})
	}
}

// TestWebhooks_OneMembersAppsHoldUpNoOtherApp: any member may register
// apps, as many as they like, each with its most endpoints. Three apps
// alice registered, whose every endpoint takes deliveries and never
// answers, hold together her one share of the worker's slots, not all of
// them, though their endpoints' shares would fill every slot: carol's
// app's delivery, due behind their backlogs, is sent while theirs still
// wait for their answers.
func TestWebhooks_OneMembersAppsHoldUpNoOtherApp(t *testing.T) {
	const apps = 3
	if apps*parley.MaxWebhookEndpoints*webhook.PerEndpoint < webhook.Slots {
		t.Fatal("the apps' endpoints, each at its share, no longer fill a worker: this test proves nothing")
	}
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			s := New(db, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{WebhooksAllowPrivate: true})
			users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
			hangs, hanging := hangingReceiver(t)
			answers, answered := answeringReceiver(t)

			for i := range apps {
				app := mustOwnedGrantedApp(t, db, fmt.Sprintf("Listener %d", i), users["alice"].ID, users["alice"].ID, group, parley.ScopeMessagesRead)
				for range parley.MaxWebhookEndpoints {
					mustEndpointOf(t, s, db, app, hangs.URL)
				}
			}
			bob := parley.NewContextWithCaller(context.Background(), &parley.Caller{User: users["bob"].Ref()})
			send := func() {
				t.Helper()
				if _, _, err := s.SendMessage(bob, group, Draft{Text: "x"}, ""); err != nil {
					t.Fatal(err)
				}
			}
			for range webhook.PerEndpoint + 1 {
				send()
			}
			mustEndpointOf(t, s, db, mustGrantedApp(t, db, "Movie Club", users["carol"].ID, group, parley.ScopeMessagesRead), answers.URL)
			send()
			stop := startWorker(s, slog.New(slog.DiscardHandler))
			defer stop()
			select {
			case <-answered:
			case <-time.After(10 * time.Second): // well within the hanging deliveries' timeout
				t.Fatalf("carol's app's delivery waited behind the %d alice's apps hold", hanging.Load())
			}
			if n := hanging.Load(); n > webhook.PerOwner {
				t.Errorf("alice's apps hold %d deliveries, more than her share of %d", n, webhook.PerOwner)
			}
		})
	}
}

// TestWebhooks_AnEndpointGetsItsSlotsBack: an endpoint's share of the
// worker's slots is given back as its deliveries are answered, so that an
// endpoint sent more than its share is sent every one.
func TestWebhooks_AnEndpointGetsItsSlotsBack(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			s, db, alice, send := bobSending(t, engine)
			const sent = 3 * webhook.PerEndpoint
			ids := make(chan string, sent)
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ids <- r.Header.Get("webhook-id")
				w.WriteHeader(http.StatusNoContent)
			}))
			defer rc.Close()
			mustEndpoint(t, s, db, alice, rc.URL)
			for range sent {
				send()
			}
			stop := startWorker(s, slog.New(slog.DiscardHandler))
			defer stop()
			got := map[string]bool{}
			for len(got) < sent {
				got[nextSent(t, ids)] = true
			}
		})
	}
}

// bobSending is the world of appInGroup on engine, with a service that may
// deliver webhooks to loopback, alice's ID (the app's grant is hers), and
// a send of bob's into the group.
func bobSending(t *testing.T, engine string) (s *Service, db *sqlstore.DB, alice string, send func()) {
	db = sqlstoretest.Open(t, engine)
	s = New(db, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{WebhooksAllowPrivate: true})
	users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
	bob := parley.NewContextWithCaller(context.Background(), &parley.Caller{User: users["bob"].Ref()})
	return s, db, users["alice"].ID, func() {
		t.Helper()
		if _, _, err := s.SendMessage(bob, group, Draft{Text: "x"}, ""); err != nil {
			t.Fatal(err)
		}
	}
}

// reinstateDuringScreenTx runs reinstate once, right after the worker's
// screen, a read apart from the write that then holds what it screened,
// looked up the targets of a delivery, and found the app suspended.
type reinstateDuringScreenTx struct {
	parley.Tx
	armed     *atomic.Bool
	reinstate func()
}

func (t reinstateDuringScreenTx) FindWebhookTargets(ctx context.Context, event, threadID string, at time.Time) ([]parley.WebhookTarget, error) {
	list, err := t.Tx.FindWebhookTargets(ctx, event, threadID, at)
	if t.armed.CompareAndSwap(true, false) {
		t.reinstate()
	}
	return list, err
}

// TestWebhooks_ReinstatedWhileScreenedIsSent: an operator on another node
// reinstates an app after the worker's screen found it suspended and
// before the worker holds the message.deleted it screened, whose release
// therefore found nothing held. The worker does not hold it then: taken
// again when its lease ends, it is sent, not left held for ever.
func TestWebhooks_ReinstatedWhileScreenedIsSent(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		log := slog.New(slog.DiscardHandler)
		clock := &laterClock{}
		other := New(db, bus.NewMemory(64), log, Options{Clock: clock})
		var armed atomic.Bool
		var clientID string
		s := New(hookedStore{db, func(tx parley.Tx) parley.Tx {
			return reinstateDuringScreenTx{tx, &armed, func() {
				if _, err := other.ReinstateApp(ConsoleContext(ctx), clientID); err != nil {
					t.Errorf("reinstate: %v", err)
				}
			}}
		}}, bus.NewMemory(64), log, Options{Clock: clock})
		users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
		mustEndpoint(t, s, db, users["alice"].ID, "https://hooks.example/in", parley.WebhookMessageDeleted)
		clientID = grantedApp(t, db, users["alice"].ID)
		bob := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["bob"].Ref()})
		m, _, err := s.SendMessage(bob, group, Draft{Text: "something bob regrets"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.SuspendApp(ConsoleContext(ctx), clientID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteMessage(bob, m.ID); err != nil {
			t.Fatal(err)
		}
		armed.Store(true)
		if jobs, err := s.ExchangeWebhooks(ctx, nil, parley.WebhookTake{Limit: 10}); err != nil || len(jobs) != 0 {
			t.Fatalf("while suspended: jobs %v, %v; want none", jobs, err)
		}
		if armed.Load() {
			t.Fatal("the screen never ran")
		}
		clock.Advance(webhookLease + time.Second)
		jobs, err := s.ExchangeWebhooks(ctx, nil, parley.WebhookTake{Limit: 10})
		if err != nil || len(jobs) != 1 {
			t.Fatalf("once the lease ended, the reinstated app's message.deleted: jobs %v, %v; want it sent", jobs, err)
		}
	})
}

// TestWebhooks_ReportHeldWhileSuspended: a report.shares whose first
// attempt failed is not retried while an operator has its app suspended,
// as a suspended app is sent nothing; it is sent once the app is
// reinstated.
func TestWebhooks_ReportHeldWhileSuspended(t *testing.T) {
	t.Parallel()
	db := sqlstoretest.Open(t, "sqlite")
	ctx := context.Background()
	clock := &laterClock{}
	s := New(db, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{Clock: clock})
	long := s.Now().Add(-60 * 24 * time.Hour)
	app := &parley.App{ClientID: "pc_" + parley.NewID(), Name: "Films", RedirectURIs: []string{"https://films.example/cb"},
		ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: long}
	sealer, err := s.sealer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := &parley.WebhookEndpoint{ID: parley.NewID(), ClientID: app.ClientID, URL: "https://films.example/hooks",
		Events: []string{parley.WebhookReportShares}, Created: long, ActiveFrom: long}
	if err := db.Write(ctx, func(tx parley.Tx) error {
		if err := tx.CreateApp(ctx, app, nil); err != nil {
			return err
		}
		return tx.CreateWebhookEndpoint(ctx, e, sealer.Seal(e.ID, []byte("a key of thirty-two bytes, or so")))
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.SendFortnightReports(ctx); n != 1 || err != nil {
		t.Fatalf("sent %d reports, %v", n, err)
	}
	jobs, err := s.ExchangeWebhooks(ctx, nil, parley.WebhookTake{Limit: 10})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs %v, %v", jobs, err)
	}
	if _, err := s.ExchangeWebhooks(ctx, []webhook.Result{{Job: jobs[0], StatusCode: 503}}, parley.WebhookTake{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SuspendApp(ConsoleContext(ctx), app.ClientID); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if jobs, err = s.ExchangeWebhooks(ctx, nil, parley.WebhookTake{Limit: 10}); err != nil || len(jobs) != 0 {
		t.Fatalf("while the app is suspended, its report's retry: jobs %d, %v; want none", len(jobs), err)
	}
	if _, err := s.ReinstateApp(ConsoleContext(ctx), app.ClientID); err != nil {
		t.Fatal(err)
	}
	if jobs, err = s.ExchangeWebhooks(ctx, nil, parley.WebhookTake{Limit: 10}); err != nil || len(jobs) != 1 {
		t.Fatalf("once the app is reinstated, its report: jobs %d, %v; want it sent", len(jobs), err)
	}
}

// TestWebhooks_HeldForADeletedAppWithdrawn: what was held for a suspended
// app (a message.deleted, a thread.closed_to_apps) is withdrawn when an
// operator deletes the app, whose grant.revoked is all it is told then;
// nothing is left pending for an app no one can reinstate.
func TestWebhooks_HeldForADeletedAppWithdrawn(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := New(db, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{})
		users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
		endpoint := mustEndpoint(t, s, db, users["alice"].ID, "https://hooks.example/in",
			parley.WebhookMessageDeleted, parley.WebhookThreadClosed, parley.WebhookGrantRevoked)
		clientID := grantedApp(t, db, users["alice"].ID)
		bob := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["bob"].Ref()})
		m, _, err := s.SendMessage(bob, group, Draft{Text: "something bob regrets"}, "")
		if err != nil {
			t.Fatal(err)
		}
		sent := func(when string, want ...string) {
			t.Helper()
			jobs, err := s.ExchangeWebhooks(ctx, nil, parley.WebhookTake{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var results []webhook.Result
			for _, j := range jobs {
				results = append(results, webhook.Result{Job: j, StatusCode: 204})
			}
			if events := eventTypes(t, jobs); !slices.Equal(events, want) {
				t.Fatalf("%s, sent %v; want %v", when, events, want)
			}
			if _, err := s.ExchangeWebhooks(ctx, results, parley.WebhookTake{}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.SuspendApp(ConsoleContext(ctx), clientID); err != nil {
			t.Fatal(err)
		}
		sent("once suspended", parley.WebhookGrantRevoked)
		if err := s.DeleteMessage(bob, m.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetThreadAppAccess(bob, group, false); err != nil {
			t.Fatal(err)
		}
		sent("while suspended")
		if _, err := s.DeleteApp(ConsoleContext(ctx), clientID); err != nil {
			t.Fatal(err)
		}
		sent("once deleted", parley.WebhookGrantRevoked)
		for _, d := range endpointDeliveries(t, db, endpoint) {
			if d.State == parley.DeliveryPending {
				t.Errorf("the deleted app's %s is pending still", d.Event)
			}
		}
	})
}

// TestWebhooks_ThreadClosedNotRetriedOnceTheGrantEnds: a
// thread.closed_to_apps whose first attempt failed is withdrawn, not tried
// again, once the member revoked the grant it names: the grant.revoked
// told the app to forget the member, and nothing about them follows it.
func TestWebhooks_ThreadClosedNotRetriedOnceTheGrantEnds(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		clock := &laterClock{}
		s := New(db, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{Clock: clock})
		users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
		endpoint := mustEndpoint(t, s, db, users["alice"].ID, "https://hooks.example/in", parley.WebhookThreadClosed)
		alice := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["alice"].Ref()})
		bob := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["bob"].Ref()})
		if _, err := s.SetThreadAppAccess(bob, group, false); err != nil {
			t.Fatal(err)
		}
		jobs, err := s.ExchangeWebhooks(ctx, nil, parley.WebhookTake{Limit: 10})
		if err != nil || len(jobs) != 1 {
			t.Fatalf("bob closed the group: jobs %v, %v; want its thread.closed_to_apps", eventTypes(t, jobs), err)
		}
		if _, err := s.ExchangeWebhooks(ctx, []webhook.Result{{Job: jobs[0], StatusCode: 503}}, parley.WebhookTake{}); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeGrant(alice, firstGrant(t, db, users["alice"].ID).ID); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
		jobs, err = s.ExchangeWebhooks(ctx, nil, parley.WebhookTake{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if events := eventTypes(t, jobs); len(events) != 0 {
			t.Fatalf("after alice revoked the grant, sent %v about her; want nothing", events)
		}
		if d := endpointDeliveries(t, db, endpoint)[0]; d.State != parley.DeliveryWithdrawn {
			t.Errorf("the retry is %s; want withdrawn", d.State)
		}
	})
}

// TestWebhooks_HeldThreadClosedWithdrawnWhenTheGrantEndsFirst: a
// thread.closed_to_apps held while its app is suspended is withdrawn, not
// sent, at the reinstatement when the grant ended meanwhile
// (docs/partners.md).
func TestWebhooks_HeldThreadClosedWithdrawnWhenTheGrantEndsFirst(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := New(db, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{})
		users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
		endpoint := mustEndpoint(t, s, db, users["alice"].ID, "https://hooks.example/in", parley.WebhookThreadClosed)
		grant := firstGrant(t, db, users["alice"].ID)
		alice := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["alice"].Ref()})
		bob := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["bob"].Ref()})
		if _, err := s.SuspendApp(ConsoleContext(ctx), grant.ClientID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetThreadAppAccess(bob, group, false); err != nil {
			t.Fatal(err)
		}
		if jobs, err := s.ExchangeWebhooks(ctx, nil, parley.WebhookTake{Limit: 10}); err != nil || len(jobs) != 0 {
			t.Fatalf("while suspended: jobs %v, %v; want it held", eventTypes(t, jobs), err)
		}
		if err := s.RevokeGrant(alice, grant.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReinstateApp(ConsoleContext(ctx), grant.ClientID); err != nil {
			t.Fatal(err)
		}
		jobs, err := s.ExchangeWebhooks(ctx, nil, parley.WebhookTake{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if events := eventTypes(t, jobs); len(events) != 0 {
			t.Fatalf("reinstated, the grant revoked meanwhile: sent %v; want it withdrawn", events)
		}
		if d := endpointDeliveries(t, db, endpoint)[0]; d.State != parley.DeliveryWithdrawn {
			t.Errorf("the held delivery is %s; want withdrawn", d.State)
		}
	})
}

// TestWebhooks_NarrowedTellsOnlyOfThreadsTheGrantReaches: taking
// messages.read out of a grant of thread scope all tells its app, as
// thread.closed_to_apps narrowed, of each thread the grant reaches still;
// not of a thread a participant closed to apps before the member connected
// the app, which the grant never reached and the app never heard of.
func TestWebhooks_NarrowedTellsOnlyOfThreadsTheGrantReaches(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := New(db, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{})
		users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
		alice := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["alice"].Ref()})
		bob := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["bob"].Ref()})
		if _, err := s.SetThreadAppAccess(bob, group, false); err != nil {
			t.Fatal(err)
		}
		// alice is in another group, with carol, and her grant becomes one
		// for every conversation, the first group closed already.
		now := parley.Now()
		other := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "h", CreatedBy: users["alice"].ID,
			LastActivityAt: now, CreatedAt: now}
		g := firstGrant(t, db, users["alice"].ID)
		if err := db.Write(ctx, func(tx parley.Tx) error {
			if err := tx.CreateThread(ctx, other); err != nil {
				return err
			}
			for _, name := range []string{"alice", "carol"} {
				if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: other.ID, UserID: users[name].ID, JoinedAt: now}); err != nil {
					return err
				}
			}
			if err := tx.RemoveGrantThread(ctx, g.ID, group); err != nil {
				return err
			}
			g.ThreadScope = parley.ThreadScopeAll
			return tx.UpdateGrant(ctx, g)
		}); err != nil {
			t.Fatal(err)
		}
		mustEndpoint(t, s, db, users["alice"].ID, "https://hooks.example/in", parley.WebhookThreadClosed)
		if _, _, err := s.NarrowGrant(alice, g.ID, GrantNarrowing{Scopes: []string{string(parley.ScopeOpenID)}}); err != nil {
			t.Fatal(err)
		}
		jobs, err := s.ExchangeWebhooks(ctx, nil, parley.WebhookTake{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var told []string
		for _, j := range jobs {
			var body struct{ Data parley.WebhookThread }
			if err := json.Unmarshal(j.Body, &body); err != nil {
				t.Fatal(err)
			}
			told = append(told, body.Data.ThreadID)
		}
		if !slices.Equal(told, []string{other.ID}) {
			t.Fatalf("narrowed, the app was told of threads %v; want only %s (the group %s was closed to apps before it was connected)",
				told, other.ID, group)
		}
	})
}

// hangingReceiver is a webhook receiver that takes each delivery and never
// answers, until the test ends, and the count of deliveries it holds.
func hangingReceiver(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hanging atomic.Int32
	release := make(chan struct{})
	hangs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hanging.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hangs.Close)
	t.Cleanup(func() { close(release) }) // before Close, which waits for the handlers
	return hangs, &hanging
}

// answeringReceiver is a webhook receiver that answers each delivery at
// once, and signals on its channel that one came.
func answeringReceiver(t *testing.T) (*httptest.Server, <-chan struct{}) {
	answered := make(chan struct{}, 1)
	answers := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case answered <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(answers.Close)
	return answers, answered
}
