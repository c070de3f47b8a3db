package bus_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// A command's events reach every server of the store once, whole, through
// the outbox: a server's relay delivers each event kept since it started,
// never twice, and the store forgets an event once a server delivered it
// bus.OutboxKeep ago, by which time every server running has.
// The servers' clock is the test's: it moves only when the test says.
func TestOutbox_EachServerRelaysEachEventOnce(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		type delivery struct {
			to []string
			ev parley.Event
		}
		start := func(got *[]delivery) *bus.Relay {
			t.Helper()
			r, err := bus.StartRelay(ctx, db, &here{deliver: func(to []string, ev parley.Event) { *got = append(*got, delivery{to, ev}) }}, quiet, clock)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		var first, second []delivery
		mustRun := func(r *bus.Relay) {
			t.Helper()
			if err := r.Run(ctx); err != nil {
				t.Fatal(err)
			}
		}

		// Kept before a server starts: older than its streams.
		keepAsACommand(t, db, []string{"u1"}, parley.Event{ID: "e0", Type: "message.deleted"})
		nodeA := start(&first)
		ev := parley.Event{ID: "e1", Type: "message.deleted", ThreadID: "t1", Data: []byte(`{"id":"m1"}`), Seq: 7, MessageID: "m1",
			Readers: []string{"u1", "u2"}}
		keepAsACommand(t, db, []string{"u1", "u2"}, ev)
		now = now.Add(time.Second)
		mustRun(nodeA)
		mustRun(nodeA)
		if len(first) != 1 || !slices.Equal(first[0].to, []string{"u1", "u2"}) || first[0].ev.ID != "e1" || first[0].ev.Seq != 7 ||
			first[0].ev.MessageID != "m1" || !slices.Equal(first[0].ev.Readers, ev.Readers) || string(first[0].ev.Data) != `{"id":"m1"}` {
			t.Errorf("server A delivered %+v; want e1 once, whole", first)
		}
		// A server that starts now takes both as older than its streams.
		nodeB := start(&second)
		keepAsACommand(t, db, []string{"u3"}, parley.Event{ID: "e2", Type: "thread.updated"})
		now = now.Add(time.Second)
		mustRun(nodeB)
		mustRun(nodeA)
		if len(second) != 1 || second[0].ev.ID != "e2" || len(first) != 2 || first[1].ev.ID != "e2" {
			t.Errorf("after e2, server A delivered %+v and server B %+v", first, second)
		}

		// Server A found e0 when it started at 09:00:00, delivered e1 a
		// second later and e2 a second after that: each is removed a
		// minute after.
		now = now.Add(bus.OutboxKeep - 3*time.Second)
		mustRun(nodeA)
		if n := keptEvents(t, db); n != 3 {
			t.Errorf("at 09:00:59: %d events kept, want 3", n)
		}
		now = now.Add(2 * time.Second)
		mustRun(nodeA)
		if n := keptEvents(t, db); n != 1 {
			t.Errorf("at 09:01:01: %d events kept, want 1", n)
		}
		now = now.Add(time.Second)
		mustRun(nodeB)
		mustRun(nodeA)
		if n := keptEvents(t, db); n != 0 {
			t.Errorf("at 09:01:02: %d events kept", n)
		}
		if len(first) != 2 || len(second) != 1 {
			t.Errorf("relayed again: A %d, B %d", len(first), len(second))
		}
	})
}

// A command that publishes many events, such as the deletion of an
// account with many messages, keeps them a batch at a time as it goes,
// not one write each, nor all at its end.
func TestOutbox_KeepsEventsInBatches(t *testing.T) {
	db := sqlstoretest.Open(t, "sqlite")
	ctx := context.Background()
	command := bus.NewOutbox(db)
	for i := range 1001 {
		if err := command.Publish(ctx, []string{"u1"}, parley.Event{ID: fmt.Sprint(i), Type: "message.deleted"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := keptEvents(t, db); n != 1000 {
		t.Errorf("1,001 events published: %d kept before the command ends, want 1,000 (two batches)", n)
	}
	if err := command.Close(); err != nil {
		t.Fatal(err)
	}
	if n := keptEvents(t, db); n != 1001 {
		t.Errorf("%d kept once the command ended, want 1,001", n)
	}
}

// keptEvents is how many events the store's outbox keeps.
func keptEvents(t *testing.T, db *sqlstore.DB) int {
	t.Helper()
	var ids []int64
	err := db.Read(context.Background(), func(tx parley.Tx) (err error) {
		ids, err = tx.FindOutboxEventIDs(context.Background())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return len(ids)
}

// A burst larger than a run takes, such as the deletion of an account with
// many messages, is delivered over several runs, in the order it was
// kept; an event that cannot be read is reported once and skipped, and
// the others go on.
func TestRelay_BurstsAndEventsItCannotRead(t *testing.T) {
	db := sqlstoretest.Open(t, "sqlite")
	ctx := context.Background()
	var got []string
	relay, err := bus.StartRelay(ctx, db, &here{deliver: func(_ []string, ev parley.Event) { got = append(got, ev.ID) }}, quiet, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, func(tx parley.Tx) error { return tx.AddOutboxEvent(ctx, []byte("not an event")) }); err != nil {
		t.Fatal(err)
	}
	command := bus.NewOutbox(db)
	for i := range bus.RelayBatch {
		if err := command.Publish(ctx, []string{"u1"}, parley.Event{ID: fmt.Sprint(i), Type: "message.deleted"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := command.Close(); err != nil {
		t.Fatal(err)
	}
	if err := relay.Run(ctx); err == nil || !strings.Contains(err.Error(), "undecodable") {
		t.Errorf("the first run: %v, want the undecodable event reported", err)
	}
	if len(got) != bus.RelayBatch-1 || got[0] != "0" {
		t.Fatalf("the first run delivered %d events, want %d, from 0", len(got), bus.RelayBatch-1)
	}
	if err := relay.Run(ctx); err != nil {
		t.Errorf("the second run: %v", err)
	}
	if want := fmt.Sprint(bus.RelayBatch - 1); len(got) != bus.RelayBatch || got[len(got)-1] != want {
		t.Errorf("after the second run, %d events delivered, the last %s; want %d, the last %s", len(got), got[len(got)-1], bus.RelayBatch, want)
	}
	if err := relay.Run(ctx); err != nil || len(got) != bus.RelayBatch {
		t.Errorf("a third run: %v, %d events in all", err, len(got))
	}
}

// A removal that fails delivers nothing again: the events stay delivered
// until a later run removes them.
func TestRelay_FailedRemovalDeliversNothingAgain(t *testing.T) {
	db := sqlstoretest.Open(t, "sqlite")
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	store := &failing{Store: db}
	var got int
	relay, err := bus.StartRelay(ctx, store, &here{deliver: func([]string, parley.Event) { got++ }}, quiet, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	keepAsACommand(t, db, []string{"u1"}, parley.Event{ID: "e1", Type: "message.deleted"})
	if err := relay.Run(ctx); err != nil || got != 1 {
		t.Fatalf("first run: %v, %d delivered", err, got)
	}
	now = now.Add(bus.OutboxKeep)
	store.writes = true
	if err := relay.Run(ctx); err == nil {
		t.Error("a run whose removal failed reported no error")
	}
	store.writes = false
	if err := relay.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got != 1 || keptEvents(t, db) != 0 {
		t.Errorf("after a failed removal and a good one: delivered %d times, %d kept; want once, none", got, keptEvents(t, db))
	}
}

// failing is a store whose writes fail while writes is set, as when the
// database refuses them for a moment, and whose reads fail while reads is
// set, as when it is out of reach.
type failing struct {
	parley.Store
	reads, writes bool
}

func (s *failing) Write(ctx context.Context, fn func(parley.Tx) error) error {
	if s.writes {
		return fmt.Errorf("the database refuses writes for now")
	}
	return s.Store.Write(ctx, fn)
}

func (s *failing) Read(ctx context.Context, fn func(parley.Tx) error) error {
	if s.reads {
		return fmt.Errorf("the database is out of reach")
	}
	return s.Store.Read(ctx, fn)
}

// A server cut off from the database for bus.OutboxKeep or more may find
// that other servers removed events it never read: when it reads the
// outbox again, it ends its subscriptions as dropped, once, so that their
// clients catch up from the API; a relay that read it within OutboxKeep
// drops none, however long it has run.
func TestRelay_CutOffForOutboxKeepDropsThisServersSubscriptions(t *testing.T) {
	db := sqlstoretest.Open(t, "sqlite")
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	store := &failing{Store: db}
	var got []string
	node := &here{deliver: func(_ []string, ev parley.Event) { got = append(got, ev.ID) }}
	relay, err := bus.StartRelay(ctx, store, node, quiet, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		now = now.Add(bus.OutboxKeep - time.Second)
		if err := relay.Run(ctx); err != nil || node.drops != 0 {
			t.Fatalf("a run within OutboxKeep of the last: %v, %d drops; want none", err, node.drops)
		}
	}
	store.reads = true
	now = now.Add(time.Second)
	if err := relay.Run(ctx); err == nil {
		t.Fatal("a run whose read failed reported no error")
	}
	keepAsACommand(t, db, []string{"u1"}, parley.Event{ID: "e1", Type: "message.deleted"})
	now = now.Add(bus.OutboxKeep - time.Second) // OutboxKeep after the last read that succeeded
	store.reads = false
	if err := relay.Run(ctx); err != nil || node.drops != 1 || !slices.Equal(got, []string{"e1"}) {
		t.Fatalf("the first run after OutboxKeep unread: %v, %d drops, delivered %v; want one drop, then e1", err, node.drops, got)
	}
	now = now.Add(time.Second)
	if err := relay.Run(ctx); err != nil || node.drops != 1 {
		t.Fatalf("the run after: %v, %d drops; want still one", err, node.drops)
	}
}

// keepAsACommand keeps ev for the members in store's outbox, as a command
// run beside the servers does: when it ends, closing its bus.
func keepAsACommand(t *testing.T, store parley.Store, to []string, ev parley.Event) {
	t.Helper()
	command := bus.NewOutbox(store)
	if err := command.Publish(context.Background(), to, ev); err != nil {
		t.Fatal(err)
	}
	if err := command.Close(); err != nil {
		t.Fatal(err)
	}
}

// here is a server's own bus as a relay sees it.
type here struct {
	deliver func(userIDs []string, ev parley.Event)
	drops   int // how many times it was told to drop its subscriptions
}

func (h *here) DeliverHere(userIDs []string, ev parley.Event) { h.deliver(userIDs, ev) }
func (h *here) DropHere()                                     { h.drops++ }

// quiet is the relays' logger: what they log is not what these tests check.
var quiet = slog.New(slog.DiscardHandler)

// A read of the outbox that hangs for bus.OutboxKeep or more before it
// succeeds (a database cut off without an error, until the network
// heals) leaves a server as far behind as one whose reads failed: another
// server may remove, meanwhile, an event this server has not read yet,
// whether the hang is in its read of the events' IDs or in its read of
// the events. The server ends its subscriptions as dropped all the same.
func TestRelay_AReadThatHangsForOutboxKeepDropsThisServersSubscriptions(t *testing.T) {
	for name, stallOn := range map[string]int{"ReadOfIDs": 1, "ReadOfEvents": 2} {
		t.Run(name, func(t *testing.T) {
			db := sqlstoretest.Open(t, "sqlite")
			ctx := context.Background()
			now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			store := &stallingReads{Store: db}
			var got []string
			node := &here{deliver: func(_ []string, ev parley.Event) { got = append(got, ev.ID) }}
			relay, err := bus.StartRelay(ctx, store, node, quiet, clock)
			if err != nil {
				t.Fatal(err)
			}
			other, err := bus.StartRelay(ctx, db, &here{deliver: func([]string, parley.Event) {}}, quiet, clock)
			if err != nil {
				t.Fatal(err)
			}
			keepAsACommand(t, db, []string{"u1"}, parley.Event{ID: "e1", Type: "message.deleted"})
			now = now.Add(time.Second)
			if err := other.Run(ctx); err != nil {
				t.Fatal(err)
			}
			// This server runs a second later, and one of its reads hangs
			// while the other server, OutboxKeep on, removes e1.
			now = now.Add(time.Second)
			store.stallOn, store.stall = stallOn, func() {
				now = now.Add(bus.OutboxKeep)
				if err := other.Run(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := relay.Run(ctx); err != nil {
				t.Fatal(err)
			}
			if node.drops != 1 && !slices.Contains(got, "e1") {
				t.Fatalf("after a read that hung for OutboxKeep: %d drops, delivered %v; want e1 delivered or the subscriptions dropped", node.drops, got)
			}
		})
	}
}

// stallingReads is a store whose read number stallOn, counted from the
// first after stall is set, runs stall first, as a read that waits on a
// database out of reach before it succeeds.
type stallingReads struct {
	parley.Store
	stallOn int
	stall   func()
}

func (s *stallingReads) Read(ctx context.Context, fn func(parley.Tx) error) error {
	if s.stall != nil {
		if s.stallOn--; s.stallOn == 0 {
			stall := s.stall
			s.stall = nil
			stall()
		}
	}
	return s.Store.Read(ctx, fn)
}
