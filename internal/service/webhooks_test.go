package service

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
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
			users, group, _ := appInGroup(t, db)
			as := func(name string) context.Context {
				return parley.NewContextWithCaller(ctx, &parley.Caller{User: users[name].Ref()})
			}
			sealer, err := s.sealer(ctx)
			if err != nil {
				t.Fatal(err)
			}
			now := s.Now()
			err = db.Write(ctx, func(tx parley.Tx) error {
				grants, err := tx.FindUserGrants(ctx, users["alice"].ID)
				if err != nil {
					return err
				}
				e := &parley.WebhookEndpoint{ID: parley.NewID(), ClientID: grants[0].ClientID, URL: "https://hooks.example/in",
					Events: []string{parley.WebhookMessageCreated}, Created: now.Add(-time.Hour), ActiveFrom: now.Add(-time.Minute)}
				return tx.CreateWebhookEndpoint(ctx, e, sealer.Seal(e.ID, []byte("a key of thirty-two bytes, or so")))
			})
			if err != nil {
				t.Fatal(err)
			}
			m, _, err := s.SendMessage(as("bob"), group, "while carol is here", "")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.LeaveThread(as("carol"), group); err != nil {
				t.Fatal(err)
			}
			if jobs, err := s.ExchangeWebhooks(ctx, nil, 10); err != nil || len(jobs) != 1 {
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
