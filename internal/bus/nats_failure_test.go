package bus_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/bus"
)

// A stream deleted behind the nodes' backs (an operator's mistake, or a
// NATS server that restarted without its storage) is made anew by the next
// Publish, with its sequence starting again at 1. The nodes must not go on
// waiting, silently, for the sequence they had reached on the old one:
// events on the new stream reach their subscriptions, or the
// subscriptions end as dropped so their clients catch up, and a new
// subscription receives what is published from then on.
func TestNATS_StreamRecreatedBehindTheNodes(t *testing.T) {
	url := apptest.NATS(t)
	opts := natsOptions(t, url)
	a := mustNATS(t, url, opts)
	var logged apptest.SyncBuffer
	opts.Log = slog.New(slog.NewTextHandler(&logged, nil))
	b := mustNATS(t, url, opts)
	defer func() { t.Log(logged.String()) }()
	sub := mustSubscribe(t, b, "alice")
	for range 5 {
		mustPublish(t, a, []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "before", map[string]string{}))
		mustReceive(t, sub)
	}

	deleteStream(t, url, opts.Stream)
	mustPublish(t, a, []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "after", map[string]string{}))
	mustGoOnAfterStreamLost(t, a, b, sub)
}

func deleteStream(tb testing.TB, url, stream string) {
	tb.Helper()
	js := mustJetStream(tb, url)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := js.DeleteStream(ctx, stream); err != nil {
		tb.Fatal(err)
	}
}

// What an operator set on the stream beside the nodes' own settings (in a
// NATS cluster, its replicas: one NATS server here, so its description and
// its window for duplicates stand in for them) outlives a node's start; the settings the
// nodes rely on are brought back.
func TestNATS_AStartKeepsWhatTheOperatorSetOnTheStream(t *testing.T) {
	ctx := context.Background()
	url := apptest.NATS(t)
	opts := natsOptions(t, url)
	mustNATS(t, url, opts)
	js := mustJetStream(t, url)
	config := func() jetstream.StreamConfig {
		t.Helper()
		s, err := js.Stream(ctx, opts.Stream)
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo().Config
	}
	cfg := config()
	cfg.Description, cfg.Duplicates, cfg.MaxAge = "Parley's events, by the operator", 7*time.Second, time.Hour
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}

	mustNATS(t, url, opts)
	got := config()
	if got.Description != cfg.Description || got.Duplicates != cfg.Duplicates {
		t.Errorf("after a node's start the stream's description is %q and its window for duplicates %s; want the operator's", got.Description, got.Duplicates)
	}
	if got.MaxAge != bus.DefaultMaxAge || len(got.Subjects) != 1 || got.Subjects[0] != opts.Subject {
		t.Errorf("after a node's start the stream keeps events %s, on %q; want %s on %q", got.MaxAge, got.Subjects, bus.DefaultMaxAge, opts.Subject)
	}
}

// A NATS server that restarts on its storage: each node reconnects and
// delivers what is published from then on. Publish fails while it is down,
// and a subscription then ends as dropped
// (TestNATS_UnpublishedEventsEndSubscriptions); it never goes on without
// the event unknowingly.
func TestNATS_ServerRestart(t *testing.T) {
	srv := apptest.StartNATSServer(t)
	opts := bus.NATSOptions{}
	a, b := mustNATS(t, srv.URL(), opts), mustNATS(t, srv.URL(), opts)
	sub := mustSubscribe(t, b, "alice")
	mustPublish(t, a, []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "before", map[string]string{}))
	mustReceive(t, sub)

	srv.Stop()
	start := time.Now()
	err := a.Publish(context.Background(), []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "during", map[string]string{}))
	t.Logf("Publish while NATS was down: %v after %s", err, time.Since(start).Round(time.Millisecond))
	srv.Start()
	if err != nil {
		mustEndDropped(t, sub, "a subscription that missed an event")
		sub = mustSubscribe(t, b, "alice")
	}
	mustPublishOnceBack(t, a, parley.NewEvent(parley.EventThreadUpdated, "after", map[string]string{}))
	for {
		got := mustReceiveWithin(t, sub, 6*waitFor)
		t.Logf("received %s", got.ThreadID)
		if got.ThreadID == "after" {
			break
		}
	}
	if sub.Dropped() {
		t.Fatal("dropped")
	}
}

// A NATS server that restarts without its storage (in a container without
// a volume, say) has lost the stream: the nodes must find out and go on,
// not wait silently for sequence numbers the new stream reaches only
// after as many events as the old one held.
func TestNATS_ServerRestartWithoutStorage(t *testing.T) {
	srv := apptest.StartNATSServer(t)
	opts := bus.NATSOptions{}
	a, b := mustNATS(t, srv.URL(), opts), mustNATS(t, srv.URL(), opts)
	sub := mustSubscribe(t, b, "alice")
	for range 5 {
		mustPublish(t, a, []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "before", map[string]string{}))
		mustReceive(t, sub)
	}

	srv.Stop()
	srv.LoseStorage()
	srv.Start()
	mustPublishOnceBack(t, a, parley.NewEvent(parley.EventThreadUpdated, "after", map[string]string{}))
	mustGoOnAfterStreamLost(t, a, b, sub)
}

// mustGoOnAfterStreamLost checks what node b does once the stream it
// followed is lost and made anew by a's publishing an event to alice about
// thread "after": sub, alice's subscription on b from before, receives that
// event or ends as dropped, never waits silently; and a new subscription on
// b receives what a publishes from then on.
func mustGoOnAfterStreamLost(tb testing.TB, a, b parley.Bus, sub parley.Subscription) {
	tb.Helper()
	select {
	case ev, ok := <-sub.C():
		if ok && ev.ThreadID != "after" {
			tb.Fatalf("got %s, want after", ev.ThreadID)
		}
		if !ok && !sub.Dropped() {
			tb.Fatal("the subscription ended but not as dropped")
		}
	case <-time.After(6 * waitFor):
		tb.Fatal("after the stream was lost and made anew, the node neither delivered its events nor dropped its subscriptions")
	}
	again := mustSubscribe(tb, b, "alice")
	mustPublish(tb, a, []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "again", map[string]string{}))
	for mustReceiveWithin(tb, again, 6*waitFor).ThreadID != "again" {
	}
}

// mustJetStream connects to the NATS server at url apart from any node, as
// an operator's tool would, until the test ends.
func mustJetStream(tb testing.TB, url string) jetstream.JetStream {
	tb.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return js
}

// mustPublishOnceBack publishes ev to alice through b once b is back in
// touch with NATS: a Publish before would fail, or with a store be kept
// for the relays.
func mustPublishOnceBack(tb testing.TB, b *bus.NATS, ev parley.Event) {
	tb.Helper()
	for deadline := time.Now().Add(6 * waitFor); !b.Connected(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatal("the node did not reconnect to NATS")
		}
	}
	mustPublish(tb, b, []string{"alice"}, ev)
}
