package service

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// The streams of one session share one entry, which goes with the last of
// them, so that a node keeps no session its streams no longer hold; ending
// the session ends every stream of it, and a stream opened with the session
// afterwards has an entry of its own, which the old streams' closing does
// not drop. A session ends by its timer at its expiry, and by the sweep
// once the service's clock is past it.
func TestStreamSessions(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	session := func(hash string, expiresAt time.Time) *parley.Caller {
		return &parley.Caller{User: parley.UserRef{ID: "m"}, SessionTokenHash: []byte(hash), SessionExpiresAt: expiresAt}
	}
	ann := session("ann", now.Add(time.Hour))
	var w streamSessions

	phone, laptop := w.join(ann, now), w.join(ann, now)
	if phone != laptop || len(w.open) != 1 {
		t.Fatalf("two streams of one session: entries %p and %p, %d watched", phone, laptop, len(w.open))
	}
	w.leave(phone)
	w.leave(laptop)
	if len(w.open) != 0 {
		t.Fatalf("%d sessions watched after their streams closed", len(w.open))
	}

	phone, laptop = w.join(ann, now), w.join(ann, now)
	w.end(phone, errSessionEnded)
	if !ended(laptop) || len(w.open) != 0 {
		t.Fatalf("after the session ended: the other stream ended %v, %d watched", ended(laptop), len(w.open))
	}
	late := w.join(ann, now)
	if late == phone || ended(late) {
		t.Fatal("a stream opened after the session's entry ended shares the ended entry")
	}
	w.leave(phone)
	w.leave(laptop)
	if w.open["ann"] != late {
		t.Fatal("the old streams' closing dropped the new entry")
	}
	w.leave(late)

	expiring := w.join(session("bob", now.Add(time.Millisecond)), now)
	select {
	case <-expiring.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("a session's streams did not end at its expiry")
	}
	past := w.join(session("cat", now.Add(time.Hour)), now)
	lasting := w.endExpired(now.Add(time.Hour))
	if !ended(past) || len(lasting) != 0 {
		t.Fatalf("the sweep past the expiry: ended %v, %d left to ask about", ended(past), len(lasting))
	}
}

// ended reports whether the session's streams were told it ended.
func ended(ss *streamSession) bool {
	select {
	case <-ss.ended:
		return true
	default:
		return false
	}
}

// TestSubscribe_SessionEndedBeforeTheStream: a session looked up afresh,
// not from the node's cache, and signed out before the stream subscribed
// to the bus (so that the stream never hears its sessions.ended event),
// opens no stream: the store is asked after the subscription, on both
// engines.
func TestSubscribe_SessionEndedBeforeTheStream(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			s := New(db, bus.NewMemory(16), slog.New(slog.DiscardHandler), Options{})
			ctx := context.Background()
			now := parley.Now()
			u := &parley.User{ID: parley.NewID(), Username: "ann", DisplayName: "Ann", CreatedAt: now}
			token := sessionTokenPrefix + "stream-test-token"
			err := db.Write(ctx, func(tx parley.Tx) error {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
				return tx.CreateSession(ctx, &parley.Session{TokenHash: parley.HashToken(token), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
			})
			if err != nil {
				t.Fatal(err)
			}
			c, err := s.Authenticate(ctx, token) // looked up, as the cache is empty
			if err != nil {
				t.Fatal(err)
			}
			ctx = parley.NewContextWithCaller(ctx, c)
			if err := s.SignOut(ctx); err != nil {
				t.Fatal(err)
			}
			e, err := s.Subscribe(ctx)
			if err == nil {
				e.Close()
				t.Fatal("a stream opened with a session signed out before it subscribed")
			}
			if parley.ErrorCode(err) != parley.EUNAUTHORIZED {
				t.Fatalf("Subscribe = %v, want EUNAUTHORIZED", err)
			}
			if len(s.streamSessions.open) != 0 {
				t.Errorf("%d sessions watched after the stream was refused", len(s.streamSessions.open))
			}
		})
	}
}

// A member who signs out of many sessions at once tells every node in
// events of at most sessionsPerEvent sessions each, which NATS takes, and
// names every one of them.
func TestSignOutOthers_ManySessionsInEventsOfBoundedSize(t *testing.T) {
	db := sqlstoretest.Open(t, "sqlite")
	s := New(db, bus.NewMemory(16), slog.New(slog.DiscardHandler), Options{})
	ctx := context.Background()
	now := parley.Now()
	u := &parley.User{ID: parley.NewID(), Username: "ann", DisplayName: "Ann", CreatedAt: now}
	const others = 2*sessionsPerEvent + 500
	err := db.Write(ctx, func(tx parley.Tx) error {
		if err := tx.CreateUser(ctx, u, "hash"); err != nil {
			return err
		}
		for i := range others + 1 {
			token := fmt.Sprintf("%ssession-%d", sessionTokenPrefix, i)
			if err := tx.CreateSession(ctx, &parley.Session{TokenHash: parley.HashToken(token), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Authenticate(ctx, sessionTokenPrefix+"session-0")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := s.bus.Subscribe(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if n, err := s.SignOutOthers(parley.NewContextWithCaller(ctx, c)); err != nil || n != others {
		t.Fatalf("SignOutOthers = %d, %v; want %d", n, err, others)
	}
	named := map[string]bool{}
	for len(named) < others {
		select {
		case ev := <-sub.C():
			var ended parley.SessionsEnded
			if err := json.Unmarshal(ev.Data, &ended); ev.Type != parley.EventSessionsEnded || err != nil {
				t.Fatalf("event %s: %v", ev.Type, err)
			}
			if len(ended.TokenHashes) > sessionsPerEvent || len(ev.Data) > 64<<10 {
				t.Fatalf("one sessions.ended names %d sessions in %d bytes", len(ended.TokenHashes), len(ev.Data))
			}
			for _, h := range ended.TokenHashes {
				named[string(h)] = true
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the events named %d of the %d sessions ended", len(named), others)
		}
	}
}
