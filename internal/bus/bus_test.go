package bus_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
)

// node is a bus as a server holds it.
type node interface {
	parley.Bus
	Close() error
}

// newNodes returns two nodes of one bus, whose subscriptions buffer up to
// buffer events: what either publishes, both deliver. One process has one
// node, so the in-process bus returns the same node twice.
type newNodes func(t *testing.T, buffer int) (a, b node)

func TestMemory_Contract(t *testing.T) {
	testBus(t, func(t *testing.T, buffer int) (node, node) {
		b := bus.NewMemory(buffer)
		t.Cleanup(func() { b.Close() })
		return b, b
	})
}

// waitFor is how long a test waits for an event that should come.
const waitFor = 5 * time.Second

// testBus holds a bus to parley.Bus's contract.
func testBus(t *testing.T, nodes newNodes) {
	t.Run("PublishReachesEveryConnectionOfTheMember", func(t *testing.T) {
		a, b := nodes(t, 8)
		subs := []parley.Subscription{mustSubscribe(t, a, "alice"), mustSubscribe(t, b, "alice"), mustSubscribe(t, b, "alice")}
		ev := parley.NewEvent(parley.EventReadUpdated, "t1", parley.ReadUpdated{ThreadID: "t1", UserID: "alice", Seq: 3})
		mustPublish(t, a, []string{"alice"}, ev)
		for i, s := range subs {
			if got := mustReceive(t, s); got.Type != ev.Type || got.ThreadID != ev.ThreadID || string(got.Data) != string(ev.Data) {
				t.Errorf("connection %d got %+v, want %+v", i, got, ev)
			}
		}
	})
	t.Run("SeqMessageIDAndReadersTravelWithTheEvent", func(t *testing.T) {
		a, b := nodes(t, 8)
		sub := mustSubscribe(t, b, "alice")
		ev := parley.NewEvent(parley.EventMessageCreated, "t1", map[string]string{"id": "m1"})
		ev.Seq, ev.MessageID, ev.Readers = 7, "m1", []string{"alice", "bob"}
		mustPublish(t, a, []string{"alice"}, ev)
		if got := mustReceive(t, sub); got.Seq != 7 || got.MessageID != "m1" || !slices.Equal(got.Readers, ev.Readers) {
			t.Fatalf("got seq %d, message %q, readers %q; want 7, m1, %q", got.Seq, got.MessageID, got.Readers, ev.Readers)
		}
	})
	t.Run("PublishOutlivesItsContext", func(t *testing.T) {
		// The change an event tells of is stored before it is published:
		// a caller that has gone away does not take the event with it.
		a, b := nodes(t, 8)
		sub := mustSubscribe(t, b, "alice")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := a.Publish(ctx, []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "t1", map[string]string{})); err != nil {
			t.Fatal(err)
		}
		mustReceive(t, sub)
	})
	t.Run("OtherMembersGetNothing", func(t *testing.T) {
		a, b := nodes(t, 8)
		bob := mustSubscribe(t, b, "bob")
		mustPublish(t, a, []string{"alice", "carol"}, parley.NewEvent(parley.EventThreadUpdated, "t1", map[string]string{}))
		// Events reach each member in order, so bob's first event is the
		// one published to him after alice's.
		mustPublish(t, a, []string{"bob"}, parley.NewEvent(parley.EventThreadUpdated, "t2", map[string]string{}))
		if got := mustReceive(t, bob); got.ThreadID != "t2" {
			t.Fatalf("bob got the event about %s, meant for alice and carol", got.ThreadID)
		}
	})
	t.Run("EachMemberGetsEventsInPublishOrder", func(t *testing.T) {
		a, b := nodes(t, 64)
		alice, bob := mustSubscribe(t, b, "alice"), mustSubscribe(t, a, "bob")
		const n = 50
		for i := range n {
			to := []string{"alice"}
			if i%2 == 0 {
				to = append(to, "bob")
			}
			ev := parley.NewEvent(parley.EventMessageCreated, "t1", map[string]int{"i": i})
			ev.Seq = int64(i)
			// Alternate the publishing node: order is per member, whoever publishes.
			mustPublish(t, []node{a, b}[i%2], to, ev)
		}
		for i := range n {
			if got := mustReceive(t, alice); got.Seq != int64(i) {
				t.Fatalf("alice's event %d has seq %d", i, got.Seq)
			}
		}
		for i := 0; i < n; i += 2 {
			if got := mustReceive(t, bob); got.Seq != int64(i) {
				t.Fatalf("bob's event %d has seq %d", i/2, got.Seq)
			}
		}
	})
	t.Run("SlowSubscriberDropped", func(t *testing.T) {
		a, b := nodes(t, 2)
		slow := mustSubscribe(t, b, "alice")
		keeping := mustSubscribe(t, b, "bob")
		ev := parley.NewEvent(parley.EventThreadUpdated, "t1", map[string]string{})
		for range 3 {
			mustPublish(t, a, []string{"alice"}, ev)
		}
		select {
		case <-slow.Done():
		case <-time.After(waitFor):
			t.Fatal("a subscriber three events behind with room for two was not dropped")
		}
		n := 0
		for range slow.C() {
			n++
		}
		if n != 2 || !slow.Dropped() || !slow.Slow() {
			t.Fatalf("slow subscriber got %d events, dropped=%v, slow=%v; want 2 then dropped as slow", n, slow.Dropped(), slow.Slow())
		}
		// Publishing after the drop neither blocks nor panics, and others
		// go on receiving.
		mustPublish(t, a, []string{"alice", "bob"}, ev)
		mustReceive(t, keeping)
	})
	t.Run("SubscriberBehindWithinItsBufferGetsEveryEvent", func(t *testing.T) {
		// A subscription's buffer is taken only as its subscriber falls
		// behind; however much of it is taken, nothing is lost.
		const buffer = 100
		a, b := nodes(t, buffer)
		behind := mustSubscribe(t, b, "alice")
		for i := range buffer {
			ev := parley.NewEvent(parley.EventMessageCreated, "t1", map[string]int{"i": i})
			ev.Seq = int64(i)
			mustPublish(t, a, []string{"alice"}, ev)
		}
		for i := range buffer {
			if got := mustReceive(t, behind); got.Seq != int64(i) {
				t.Fatalf("event %d has seq %d", i, got.Seq)
			}
		}
		// Caught up, it goes on receiving.
		mustPublish(t, a, []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "after", map[string]string{}))
		if got := mustReceive(t, behind); got.ThreadID != "after" || behind.Dropped() {
			t.Fatalf("after catching up: got %s, dropped=%v", got.ThreadID, behind.Dropped())
		}
	})
	t.Run("SubscriberBeyondItsBufferDropped", func(t *testing.T) {
		// However far behind, a subscriber gets its events in order from
		// the first, and at the first it missed, its subscription ends as
		// dropped: a gap is never silent.
		const buffer = 100
		a, b := nodes(t, buffer)
		slow := mustSubscribe(t, b, "alice")
		for i := range buffer + 1 {
			ev := parley.NewEvent(parley.EventMessageCreated, "t1", map[string]int{"i": i})
			ev.Seq = int64(i)
			mustPublish(t, a, []string{"alice"}, ev)
		}
		select {
		case <-slow.Done():
		case <-time.After(waitFor):
			t.Fatalf("a subscriber %d events behind with room for %d was not dropped", buffer+1, buffer)
		}
		n := 0
		for ev := range slow.C() {
			if ev.Seq != int64(n) {
				t.Fatalf("event %d has seq %d", n, ev.Seq)
			}
			n++
		}
		if n > buffer || !slow.Dropped() {
			t.Fatalf("got %d events, dropped=%v; want at most %d, then dropped", n, slow.Dropped(), buffer)
		}
	})
	t.Run("CloseWhileBehind", func(t *testing.T) {
		// Closing a subscription that holds undelivered events lets them go.
		a, b := nodes(t, 100)
		behind := mustSubscribe(t, b, "alice")
		for range 50 {
			mustPublish(t, a, []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "t1", map[string]string{}))
		}
		mustReceive(t, behind)
		behind.Close()
		for range behind.C() {
		}
		if behind.Dropped() {
			t.Fatal("a subscription its subscriber closed counts as dropped")
		}
		mustPublish(t, a, []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "t1", map[string]string{}))
	})
	t.Run("AfterEndRunsOnceTheSubscriptionEnds", func(t *testing.T) {
		a, b := nodes(t, 2)
		slow, closed, kept := mustSubscribe(t, b, "alice"), mustSubscribe(t, b, "bob"), mustSubscribe(t, b, "bob")
		ran := make(chan string, 3)
		slow.AfterEnd(func() { ran <- "dropped" })
		closed.AfterEnd(func() { ran <- "closed" })
		stop := kept.AfterEnd(func() { ran <- "stopped" })
		for range 3 {
			mustPublish(t, a, []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "t1", map[string]string{}))
		}
		closed.Close()
		got := map[string]bool{}
		for range 2 {
			select {
			case name := <-ran:
				got[name] = true
			case <-time.After(waitFor):
				t.Fatalf("ran only %v", got)
			}
		}
		if !got["dropped"] || !got["closed"] {
			t.Fatalf("ran %v, want dropped and closed", got)
		}
		if !stop() {
			t.Fatal("stop did not stop f of a subscription still going")
		}
		kept.Close()
		select {
		case name := <-ran:
			t.Fatalf("%s ran after stop", name)
		case <-time.After(100 * time.Millisecond):
		}
	})
	// A node that missed events itself ends its subscriptions, all of
	// them, as dropped, but not as slow: their consumers were not behind.
	t.Run("DropHereEndsThisNodesSubscriptionsAsDroppedNotSlow", func(t *testing.T) {
		a, b := nodes(t, 8)
		onB := []parley.Subscription{mustSubscribe(t, b, "alice"), mustSubscribe(t, b, "bob")}
		b.(bus.Local).DropHere()
		for i, s := range onB {
			select {
			case <-s.Done():
			case <-time.After(waitFor):
				t.Fatalf("subscription %d outlived DropHere", i)
			}
			if !s.Dropped() || s.Slow() {
				t.Errorf("subscription %d: dropped=%v, slow=%v; want dropped, not slow", i, s.Dropped(), s.Slow())
			}
		}
		// The node takes subscriptions again at once.
		again := mustSubscribe(t, b, "alice")
		mustPublish(t, a, []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "t1", map[string]string{}))
		mustReceive(t, again)
	})
	t.Run("CloseEndsTheSubscriptionOnly", func(t *testing.T) {
		a, b := nodes(t, 8)
		closed, open := mustSubscribe(t, b, "alice"), mustSubscribe(t, b, "alice")
		closed.Close()
		select {
		case <-closed.Done():
		default:
			t.Fatal("Done is not closed after Close")
		}
		if _, ok := <-closed.C(); ok || closed.Dropped() {
			t.Fatalf("a closed subscription delivers, or counts as dropped (%v)", closed.Dropped())
		}
		mustPublish(t, a, []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "t1", map[string]string{}))
		mustReceive(t, open)
		closed.Close() // twice is harmless
	})
	t.Run("BusCloseEndsItsSubscriptions", func(t *testing.T) {
		_, b := nodes(t, 8)
		sub := mustSubscribe(t, b, "alice")
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-sub.Done():
		case <-time.After(waitFor):
			t.Fatal("the subscription outlived its bus")
		}
		if sub.Dropped() {
			t.Fatal("a subscription ended by Close counts as dropped")
		}
		sub.Close()
		// A connection opened as the server stops is refused, not left
		// open with nothing to end it.
		if late, err := b.Subscribe(context.Background(), "alice"); err == nil {
			late.Close()
			t.Fatal("a closed bus took a subscription")
		}
	})
}

func mustSubscribe(tb testing.TB, b parley.Bus, userID string) parley.Subscription {
	tb.Helper()
	s, err := b.Subscribe(context.Background(), userID)
	if err != nil {
		tb.Fatalf("subscribe %s: %v", userID, err)
	}
	tb.Cleanup(s.Close)
	return s
}

func mustPublish(tb testing.TB, b parley.Bus, userIDs []string, ev parley.Event) {
	tb.Helper()
	if err := b.Publish(context.Background(), userIDs, ev); err != nil {
		tb.Fatalf("publish: %v", err)
	}
}

func mustReceive(tb testing.TB, s parley.Subscription) parley.Event {
	tb.Helper()
	return mustReceiveWithin(tb, s, waitFor)
}

func mustReceiveWithin(tb testing.TB, s parley.Subscription, waitFor time.Duration) parley.Event {
	tb.Helper()
	select {
	case ev, ok := <-s.C():
		if !ok {
			tb.Fatalf("subscription ended (dropped=%v) before the event came", s.Dropped())
		}
		return ev
	case <-time.After(waitFor):
		tb.Fatalf("no event within %s", waitFor)
	}
	return parley.Event{}
}
