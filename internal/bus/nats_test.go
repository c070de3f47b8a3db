package bus_test

import (
	"context"
	"crypto/rand"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

func TestNATS_Contract(t *testing.T) {
	url := apptest.NATS(t)
	testBus(t, func(t *testing.T, buffer int) (node, node) {
		opts := natsOptions(t, url)
		opts.Buffer = buffer
		return mustNATS(t, url, opts), mustNATS(t, url, opts)
	})
}

// A node cut off from NATS for less than the stream keeps events gets,
// once back, every event published meanwhile, in order.
func TestNATS_ResumesAfterReconnectWithoutLoss(t *testing.T) {
	url := apptest.NATS(t)
	opts := natsOptions(t, url)
	a := mustNATS(t, url, opts)
	cut := newCutter(t, url)
	b := mustNATS(t, cut.URL(), opts)
	sub := mustSubscribe(t, b, "alice")

	cut.Down()
	for i := range 20 {
		ev := parley.NewEvent(parley.EventMessageCreated, "t1", map[string]int{"i": i})
		ev.Seq = int64(i)
		mustPublish(t, a, []string{"alice"}, ev)
	}
	time.Sleep(500 * time.Millisecond)
	cut.Up()
	for i := range 20 {
		// The client tries again every 2s or so: the first event may wait
		// that long, and longer on a busy machine.
		if got := mustReceiveWithin(t, sub, 3*waitFor); got.Seq != int64(i) {
			t.Fatalf("event %d after the reconnect has seq %d", i, got.Seq)
		}
	}
	if sub.Dropped() {
		t.Fatal("the subscription was dropped though nothing was lost")
	}
}

// A node cut off for longer than the stream keeps events ends its
// subscriptions as dropped, so their clients reconnect and catch up,
// rather than going on as if nothing was missed.
func TestNATS_LostEventsEndSubscriptions(t *testing.T) {
	url := apptest.NATS(t)
	opts := natsOptions(t, url)
	opts.MaxAge = time.Second
	a := mustNATS(t, url, opts)
	cut := newCutter(t, url)
	b := mustNATS(t, cut.URL(), opts)
	sub := mustSubscribe(t, b, "alice")

	cut.Down()
	mustPublish(t, a, []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "lost", map[string]string{}))
	time.Sleep(3 * opts.MaxAge)
	cut.Up()
	select {
	case <-sub.Done():
	case <-time.After(3 * waitFor):
		t.Fatal("the subscription went on after events for it were lost")
	}
	if !sub.Dropped() {
		t.Fatal("the subscription ended but not as dropped")
	}
	// A new subscription on the node receives again.
	again := mustSubscribe(t, b, "alice")
	mustPublish(t, a, []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "again", map[string]string{}))
	if got := mustReceive(t, again); got.ThreadID != "again" {
		t.Fatalf("the new subscription got %s first", got.ThreadID)
	}
}

// An event a node cannot publish, cut off from NATS, reaches no node. No
// subscription may go on as if nothing was missed: the node's own end at
// once, as dropped, and every other node's once it can publish again.
func TestNATS_UnpublishedEventsEndSubscriptions(t *testing.T) {
	url := apptest.NATS(t)
	opts := natsOptions(t, url)
	cut := newCutter(t, url)
	a := mustNATS(t, cut.URL(), opts)
	b := mustNATS(t, url, opts)
	onA, onB := mustSubscribe(t, a, "alice"), mustSubscribe(t, b, "alice")

	cut.Down()
	if err := a.Publish(context.Background(), []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "lost", map[string]string{})); err == nil {
		t.Fatal("Publish cut off from NATS succeeded")
	}
	mustEndDropped(t, onA, "the publishing node's subscription")
	select {
	case ev := <-onB.C():
		t.Fatalf("the other node delivered %s, which was never published", ev.ThreadID)
	case <-onB.Done():
		t.Fatal("the other node ended its subscription before it could know of the loss")
	default:
	}

	cut.Up()
	mustEndDropped(t, onB, "the other node's subscription")
	// New subscriptions receive again, on either node, and are not ended.
	again := mustSubscribe(t, b, "alice")
	mustPublishOnceBack(t, a, parley.NewEvent(parley.EventThreadUpdated, "again", map[string]string{}))
	if got := mustReceiveWithin(t, again, 6*waitFor); got.ThreadID != "again" {
		t.Fatalf("the new subscription got %s first", got.ThreadID)
	}
	if again.Dropped() {
		t.Fatal("a subscription made after the loss was dropped")
	}
}

// With the install's store, an event a node cannot publish, cut off from
// NATS, is kept in the store's outbox instead, and every node's relay
// hands it to the subscriptions it holds: it reaches them all, late, also
// once the node that kept it has stopped, and none is dropped.
func TestNATS_UnpublishedEventsReachEveryNodeThroughTheStore(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		url := apptest.NATS(t)
		opts := natsOptions(t, url)
		opts.Store = db
		cut := newCutter(t, url)
		a := mustNATS(t, cut.URL(), opts)
		b := mustNATS(t, url, opts)
		relayA, relayB := mustRelay(t, db, a), mustRelay(t, db, b)
		onA, onB := mustSubscribe(t, a, "alice"), mustSubscribe(t, b, "alice")

		cut.Down()
		if err := a.Publish(context.Background(), []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "kept", map[string]string{})); err != nil {
			t.Fatalf("Publish cut off from NATS, with a store to keep the event: %v", err)
		}
		if got := mustReceiveRelayed(t, relayA, onA); got.ThreadID != "kept" {
			t.Fatalf("the keeping node's subscription got %s", got.ThreadID)
		}
		a.Close() // before NATS is back
		if got := mustReceiveRelayed(t, relayB, onB); got.ThreadID != "kept" || onB.Dropped() {
			t.Fatalf("the other node's subscription got %s (dropped: %v)", got.ThreadID, onB.Dropped())
		}
	})
}

// An event that is a moment's signal, someone typing, that a node cut
// off from NATS cannot publish is dropped: it is kept for no relay, to
// show after the message that followed it, and its loss ends no
// subscription on any node, as the loss of an event that mattered does.
func TestNATS_APassingEventLostIsDropped(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		url := apptest.NATS(t)
		opts := natsOptions(t, url)
		opts.Store = db
		cut := newCutter(t, url)
		a := mustNATS(t, cut.URL(), opts)
		b := mustNATS(t, url, opts)
		relayB := mustRelay(t, db, b)
		onA, onB := mustSubscribe(t, a, "alice"), mustSubscribe(t, b, "alice")

		cut.Down()
		typing := parley.NewEvent(parley.EventThreadTyping, "typing", parley.ThreadTyping{ThreadID: "typing"})
		if err := a.Publish(context.Background(), []string{"alice"}, typing); err != nil {
			t.Fatalf("Publish of a passing event cut off from NATS: %v", err)
		}
		for range 10 { // as each server runs its relay, every second
			if err := relayB.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			select {
			case ev := <-onB.C():
				t.Fatalf("the other node relayed %s, kept while NATS was out of reach", ev.Type)
			case <-time.After(50 * time.Millisecond):
			}
		}
		cut.Up()
		mustPublishOnceBack(t, a, parley.NewEvent(parley.EventThreadUpdated, "after", map[string]string{}))
		for name, sub := range map[string]parley.Subscription{"the publishing node's": onA, "the other node's": onB} {
			if got := mustReceiveWithin(t, sub, 6*waitFor); got.ThreadID != "after" || sub.Dropped() {
				t.Errorf("%s subscription got %s first (dropped: %v); want the event after the typing", name, got.ThreadID, sub.Dropped())
			}
		}
	})
}

// An event kept in the store while its node was cut off from NATS reaches
// each node once: nothing of it is held for NATS meanwhile, to reach the
// stream once the node is back, after the events published since (a
// message created and then deleted while NATS was out of reach would be
// created again on every screen, its text with it).
func TestNATS_AKeptEventComesOnceWhenNATSIsBack(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		url := apptest.NATS(t)
		opts := natsOptions(t, url)
		opts.Store = db
		cut := newCutter(t, url)
		a := mustNATS(t, cut.URL(), opts)
		b := mustNATS(t, url, opts)
		relayB := mustRelay(t, db, b)
		onB := mustSubscribe(t, b, "alice")

		cut.Down()
		for deadline := time.Now().Add(waitFor); a.Connected(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the node did not find NATS gone")
			}
		}
		for _, what := range []string{"created", "deleted"} {
			mustPublish(t, a, []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, what, map[string]string{}))
			if got := mustReceiveRelayed(t, relayB, onB); got.ThreadID != what {
				t.Fatalf("relayed %s, want %s", got.ThreadID, what)
			}
		}
		cut.Up()
		mustPublishOnceBack(t, a, parley.NewEvent(parley.EventThreadUpdated, "after", map[string]string{}))
		if got := mustReceiveWithin(t, onB, 6*waitFor); got.ThreadID != "after" {
			t.Fatalf("once NATS was back, the other node delivered %s again", got.ThreadID)
		}
	})
}

// An event published as its node stops, after its bus closed, is kept in
// the store for every node's relay, not queued for a writer that has
// ended.
func TestNATS_AnEventPublishedAsTheNodeStopsIsKept(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		url := apptest.NATS(t)
		opts := natsOptions(t, url)
		opts.Store = db
		a, b := mustNATS(t, url, opts), mustNATS(t, url, opts)
		relayB := mustRelay(t, db, b)
		onB := mustSubscribe(t, b, "alice")

		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		mustPublish(t, a, []string{"alice"}, parley.NewEvent(parley.EventThreadUpdated, "late", map[string]string{}))
		if got := mustReceiveRelayed(t, relayB, onB); got.ThreadID != "late" || onB.Dropped() {
			t.Fatalf("the other node's subscription got %s (dropped: %v)", got.ThreadID, onB.Dropped())
		}
	})
}

// mustRelay starts the outbox's relay of a node on the store.
func mustRelay(tb testing.TB, db parley.Store, node *bus.NATS) *bus.Relay {
	tb.Helper()
	r, err := bus.StartRelay(context.Background(), db, node, quiet, time.Now)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// mustReceiveRelayed runs the relay, as each server does every second,
// until sub receives an event, and returns it.
func mustReceiveRelayed(tb testing.TB, r *bus.Relay, sub parley.Subscription) parley.Event {
	tb.Helper()
	for deadline := time.Now().Add(waitFor); time.Now().Before(deadline); {
		if err := r.Run(context.Background()); err != nil {
			tb.Fatal(err)
		}
		select {
		case ev := <-sub.C():
			return ev
		case <-time.After(50 * time.Millisecond):
		}
	}
	tb.Fatal("no kept event was relayed")
	return parley.Event{}
}

// mustEndDropped waits for sub to end as dropped.
func mustEndDropped(tb testing.TB, sub parley.Subscription, what string) {
	tb.Helper()
	select {
	case <-sub.Done():
	case <-time.After(6 * waitFor):
		tb.Fatalf("%s went on after an event for it was lost", what)
	}
	if !sub.Dropped() {
		tb.Fatalf("%s ended but not as dropped", what)
	}
}

// A node whose connection to NATS stops carrying anything without being
// closed (the NATS host died, the network drops every packet) finds it
// lost by its pings, within a few PingIntervals: its publishes then fail
// at once rather than each waiting for an ack that cannot come.
func TestNATS_SilentLossFoundByPings(t *testing.T) {
	url := apptest.NATS(t)
	opts := natsOptions(t, url)
	opts.PingInterval = 200 * time.Millisecond
	cut := newCutter(t, url)
	b := mustNATS(t, cut.URL(), opts)

	cut.Stall()
	ev := parley.NewEvent(parley.EventThreadUpdated, "t1", map[string]string{})
	for deadline := time.Now().Add(30 * time.Second); ; {
		err := b.Publish(context.Background(), []string{"alice"}, ev)
		if err != nil && strings.Contains(err.Error(), "out of reach") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a node whose connection went silent still waits for each publish's ack (last: %v)", err)
		}
	}
}

// A recipient list too long for one message is split; each member still
// gets the event once.
func TestNATS_ManyRecipients(t *testing.T) {
	url := apptest.NATS(t)
	opts := natsOptions(t, url)
	a, b := mustNATS(t, url, opts), mustNATS(t, url, opts)
	to := make([]string, 2500)
	for i := range to {
		to[i] = rand.Text()
	}
	first, last := mustSubscribe(t, b, to[0]), mustSubscribe(t, b, to[len(to)-1])
	mustPublish(t, a, to, parley.NewEvent(parley.EventThreadUpdated, "t1", map[string]string{}))
	mustPublish(t, a, to, parley.NewEvent(parley.EventThreadUpdated, "t2", map[string]string{}))
	for _, s := range []parley.Subscription{first, last} {
		if got := mustReceive(t, s).ThreadID + mustReceive(t, s).ThreadID; got != "t1t2" {
			t.Fatalf("got %s, want t1 then t2", got)
		}
	}
}

// natsOptions returns options naming a stream and subject of the test's
// own, removed when it ends.
func natsOptions(tb testing.TB, url string) bus.NATSOptions {
	tb.Helper()
	id := strings.ToUpper(rand.Text()[:12])
	opts := bus.NATSOptions{Stream: "TEST_" + id, Subject: "test." + id}
	tb.Cleanup(func() {
		nc, err := nats.Connect(url)
		if err != nil {
			tb.Errorf("remove stream: %v", err)
			return
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, opts.Stream); err != nil {
			tb.Errorf("remove stream %s: %v", opts.Stream, err)
		}
	})
	return opts
}

func mustNATS(tb testing.TB, url string, opts bus.NATSOptions) *bus.NATS {
	tb.Helper()
	b, err := bus.NewNATS(context.Background(), url, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// cutter is a loopback TCP proxy to a NATS server that can cut its
// clients off, as a network failure would, and let them back.
type cutter struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	down    bool
	stalled bool
	conns   []net.Conn
}

func newCutter(tb testing.TB, url string) *cutter {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	c := &cutter{ln: ln, target: strings.TrimPrefix(url, "nats://")}
	go c.serve()
	tb.Cleanup(func() {
		ln.Close()
		c.Down()
	})
	return c
}

// URL is the proxy's NATS URL.
func (c *cutter) URL() string { return "nats://" + c.ln.Addr().String() }

// Down closes every connection through the proxy and refuses new ones.
func (c *cutter) Down() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = true
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// Up lets clients connect again, and carries their bytes again.
func (c *cutter) Up() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down, c.stalled = false, false
}

// Stall stops carrying bytes either way, on every connection through the
// proxy and on new ones, without closing any: as a NATS host that died,
// or a network that drops every packet, looks to its clients.
func (c *cutter) Stall() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stalled = true
}

// pipe carries what src sends to dst, but drops it while the proxy is
// stalled.
func (c *cutter) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		c.mu.Lock()
		stalled := c.stalled
		c.mu.Unlock()
		if n > 0 && !stalled {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (c *cutter) serve() {
	for {
		client, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		if c.down {
			c.mu.Unlock()
			client.Close()
			continue
		}
		server, err := net.Dial("tcp", c.target)
		if err != nil {
			c.mu.Unlock()
			client.Close()
			continue
		}
		c.conns = append(c.conns, client, server)
		c.mu.Unlock()
		go c.pipe(server, client)
		go c.pipe(client, server)
	}
}
