package bus_test

import (
	"context"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
)

func TestMemory_Publish(t *testing.T) {
	ctx := context.Background()
	b := bus.NewMemory(4)
	alice1, _ := b.Subscribe(ctx, "alice")
	alice2, _ := b.Subscribe(ctx, "alice")
	bob, _ := b.Subscribe(ctx, "bob")
	defer alice1.Close()
	defer alice2.Close()
	defer bob.Close()

	ev := parley.NewEvent(parley.EventReadUpdated, "t1", parley.ReadUpdated{ThreadID: "t1", UserID: "alice", Seq: 3})
	b.Publish(ctx, []string{"alice"}, ev)

	for i, s := range []parley.Subscription{alice1, alice2} {
		if got := <-s.C(); got.Type != ev.Type || string(got.Data) != string(ev.Data) {
			t.Errorf("alice connection %d got %+v, want %+v", i, got, ev)
		}
	}
	select {
	case got := <-bob.C():
		t.Fatalf("bob got %+v, an event for alice only", got)
	default:
	}
}

func TestMemory_SlowSubscriberDropped(t *testing.T) {
	ctx := context.Background()
	b := bus.NewMemory(2)
	slow, _ := b.Subscribe(ctx, "alice")
	defer slow.Close()
	ev := parley.NewEvent(parley.EventThreadUpdated, "t1", map[string]string{})
	for range 3 {
		b.Publish(ctx, []string{"alice"}, ev)
	}
	n := 0
	for range slow.C() {
		n++
	}
	<-slow.Done()
	if n != 2 || !slow.Dropped() {
		t.Fatalf("slow subscriber got %d events, dropped=%v; want 2 then dropped", n, slow.Dropped())
	}
	// Publishing after the drop neither blocks nor panics.
	b.Publish(ctx, []string{"alice"}, ev)
}
