package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parleyhq/parley"
)

// Defaults of NATSOptions.
const (
	DefaultStream  = "PARLEY_EVENTS"
	DefaultSubject = "parley.events"
	// DefaultMaxAge is how long the stream keeps an event: long enough for
	// a node to ride out a NATS restart or a network blip without its
	// members missing anything, short enough that the stream stays small.
	DefaultMaxAge = 5 * time.Minute
)

// maxStreamBytes bounds the stream on disk whatever the rate of events; the
// oldest events go first.
const maxStreamBytes = 256 << 20

// maxRecipients is how many members one message names at most, keeping a
// message to many (a member's contacts, told of a new name) well under
// NATS's 1 MB payload limit.
const maxRecipients = 1000

// publishTimeout bounds how long Publish waits for the stream's ack.
const publishTimeout = 3 * time.Second

// checkEvery is how often a node checks that the stream it follows is
// still the one there (checkStream), besides on each reconnect and each
// failure of its consumer: a stream deleted and made anew while the node
// stayed connected may show no failure.
const checkEvery = 5 * time.Second

// DefaultPingInterval is how often a node asks NATS whether it is still
// there, by default. A connection that leaves maxPingsOut such questions
// unanswered is taken for lost: a NATS host that died, or a network that
// stopped carrying packets without closing the connection, is then found
// within about three intervals, not the NATS client's default of several
// minutes, during which every publish would wait out publishTimeout.
const DefaultPingInterval = 10 * time.Second

// maxPingsOut is how many unanswered pings make a connection lost.
const maxPingsOut = 2

// resyncType is the type of the bus's own envelope that ends every
// node's subscriptions, as dropped: a node that failed to publish events
// publishes it as soon as it can again (resync).
const resyncType = "bus.resync"

// NATSOptions configure a NATS bus. The zero value is the defaults.
type NATSOptions struct {
	// Stream and Subject name the JetStream stream and the one subject it
	// holds; every node of an install uses the same. Servers use the
	// defaults: two installs sharing a NATS server are kept apart by NATS
	// accounts, one each, as the README says.
	Stream, Subject string
	// Buffer is how many undelivered events a subscription may hold
	// before it is dropped as too slow; DefaultBuffer when 0.
	Buffer int
	// MaxAge is how long the stream keeps an event; DefaultMaxAge when 0.
	MaxAge time.Duration
	// PingInterval is how often the node pings NATS to find a silent
	// loss of the connection; DefaultPingInterval when 0.
	PingInterval time.Duration
	// Log receives the bus's connection changes and failures.
	Log *slog.Logger
	// Store, if set, is the install's store, whose outbox every server
	// relays to its streams (Relay): an event this node fails to publish
	// is kept there, to reach every node a second or so late rather than
	// none, even if this node stops before NATS is back. It is written in
	// the background, a few milliseconds after the failure: a node killed
	// in between takes the event with it.
	Store parley.Store
}

// NATS is a parley.Bus for several nodes over NATS JetStream: an event
// published on any node reaches the subscriptions held on every node,
// each member's events in the order they were published.
//
// Publish appends one message per event to a JetStream stream and returns
// once the stream acknowledged it. The message is a bus-private envelope
// carrying the whole event, Seq, MessageID and Readers included, and the
// IDs of the members it is for, so one acknowledged write serves a thread
// of any size.
// Each node reads the whole stream with one ordered consumer (ephemeral,
// flow-controlled, delivered in stream order) and hands each event to a
// Memory of its own, which delivers it to that node's subscriptions of
// the members named and drops the slow ones. Per-member subjects would not
// spare the nodes any traffic, since any node may hold any member, and
// would cost one write per recipient. Control events, such as
// grants.ended, travel the same way, so revoking a grant on one node ends
// the app's streams on every node.
//
// The stream keeps events on file for MaxAge: the stream and its events
// then survive a restart of the NATS server, and JetStream does not sync
// each message to disk, so file storage costs little over memory.
// Nothing needs an event for longer: each change is in the store already,
// and a client that reconnects reads what it missed through the API.
//
// Reconnects: the client reconnects for as long as it takes, and the
// ordered consumer then resumes from the first event this node has not
// seen, so a node that loses NATS for less than MaxAge misses nothing: its
// subscriptions just wait. If the stream no longer holds that event (the
// outage outlasted MaxAge, or the node fell that far behind), the node
// drops all its subscriptions, as too slow, so that their clients
// reconnect and catch up through the API instead of silently missing
// events. It finds that out when it reconnects, and otherwise from the
// sequence of the next event. A stream deleted and made anew (by hand, or
// by a NATS server that lost its storage) starts its sequence again: a
// node finds that out within checkEvery, by the stream's creation time,
// drops its subscriptions likewise and follows the new stream.
//
// An event a node fails to publish, while it cannot reach NATS, is kept in
// the store's outbox (NATSOptions.Store), which every server relays to its
// own streams within a second, as it does a command's events: it reaches
// every node late, whatever becomes of this node once it is written
// (NATSOptions.Store), and their clients, which
// fetch by seq what they lack, lose nothing. (An event whose publish
// failed only for its ack may then come twice.) If the store cannot keep
// it either, it reaches no node: Publish fails, and the service logs it.
// The node then ends its own subscriptions at once, as dropped, and once
// it can publish again it tells every node to end theirs likewise
// (resyncType), so that no client goes on unaware of what it missed: each
// reconnects and catches up through the API, as after any other loss.
type NATS struct {
	opts  NATSOptions
	nc    *nats.Conn
	local *Memory
	// checking is set while checkStream runs.
	checking atomic.Bool
	// stop ends the periodic check when the bus closes.
	stop chan struct{}
	// unpublished counts the events Publish failed to append.
	unpublished atomic.Uint64
	// missed is set when Publish failed, until every node was told to
	// end its subscriptions (resync).
	missed atomic.Bool
	// toKeep are the encoded events keep is to write to the store;
	// keepSoon wakes it, and kept is closed once it has ended. keepEnded
	// is set when keep took the last of them.
	keepMu    sync.Mutex
	toKeep    [][]byte
	keepEnded bool
	keepSoon  chan struct{}
	kept      chan struct{}

	mu      sync.Mutex
	js      jetstream.JetStream
	consume jetstream.ConsumeContext
	// gen counts the consumers this node started; receive ignores what
	// an earlier one still hands over.
	gen  uint64
	next uint64 // the stream sequence of the next event this node expects
	// checked is next as checkStream last left it.
	checked uint64
	// created is when the stream this node follows was made: a stream of
	// the same name made another time is another stream. It is zero while
	// the stream is gone.
	created time.Time
	closed  bool
}

var _ parley.Bus = (*NATS)(nil)

// envelope is an event as it crosses nodes: the members it is for, and the
// whole Event, with the fields Event keeps out of its JSON.
type envelope struct {
	To        []string        `json:"to"`
	ID        string          `json:"id,omitempty"`
	Type      string          `json:"type"`
	ThreadID  string          `json:"thread_id,omitempty"`
	Data      json.RawMessage `json:"data"`
	Seq       int64           `json:"seq,omitempty"`
	MessageID string          `json:"message_id,omitempty"`
	Readers   []string        `json:"readers,omitempty"`
}

// wrap is ev for the members userIDs, as it crosses nodes.
func wrap(userIDs []string, ev parley.Event) envelope {
	return envelope{To: userIDs, ID: ev.ID, Type: ev.Type, ThreadID: ev.ThreadID, Data: ev.Data,
		Seq: ev.Seq, MessageID: ev.MessageID, Readers: ev.Readers}
}

// event is the event the envelope carries.
func (env envelope) event() parley.Event {
	return parley.Event{ID: env.ID, Type: env.Type, ThreadID: env.ThreadID, Data: env.Data, Seq: env.Seq,
		MessageID: env.MessageID, Readers: env.Readers}
}

// NewNATS connects to the NATS server at url (nats://host:port, with
// credentials in the URL if the server wants them), creates or updates the
// stream, and starts receiving the events published from now on.
func NewNATS(ctx context.Context, url string, opts NATSOptions) (*NATS, error) {
	if opts.Stream == "" {
		opts.Stream = DefaultStream
	}
	if opts.Subject == "" {
		opts.Subject = DefaultSubject
	}
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = DefaultPingInterval
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	log := opts.Log
	b := &NATS{opts: opts, local: NewMemory(opts.Buffer), stop: make(chan struct{}), keepSoon: make(chan struct{}, 1), kept: make(chan struct{})}
	nc, err := nats.Connect(url,
		nats.Name("parley"),
		nats.MaxReconnects(-1),
		// Nothing is held for NATS while the node reconnects: a publish
		// fails at once, and its event goes to the store's outbox. Held,
		// it would reach the stream once the node is back, after its
		// outbox copy had been relayed and after the events published
		// since: every node would deliver it again, out of order (a
		// message deleted meanwhile, created anew).
		nats.ReconnectBufSize(-1),
		nats.PingInterval(opts.PingInterval),
		nats.MaxPingsOutstanding(maxPingsOut),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("bus: lost NATS; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("bus: reconnected to NATS", "server", nc.ConnectedServerId())
			go func() {
				b.checkStream()
				b.resync()
			}()
		}))
	if err != nil {
		return nil, fmt.Errorf("bus: connect to NATS: %w", err)
	}
	b.nc = nc
	if err := b.start(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	go b.checkPeriodically()
	if opts.Store != nil {
		go b.keep()
	} else {
		close(b.kept)
	}
	return b, nil
}

// checkPeriodically runs checkStream every checkEvery until the bus closes.
func (b *NATS) checkPeriodically() {
	t := time.NewTicker(checkEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if b.nc.IsConnected() {
				b.checkStream()
				b.resync()
			}
		case <-b.stop:
			return
		}
	}
}

// start creates the stream if need be and consumes it from its end.
func (b *NATS) start(ctx context.Context) error {
	js, err := jetstream.New(b.nc)
	if err != nil {
		return fmt.Errorf("bus: %w", err)
	}
	b.mu.Lock()
	b.js = js
	b.mu.Unlock()
	stream, err := b.ensureStream(ctx)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	info := stream.CachedInfo()
	return b.follow(ctx, info.Created, info.State.LastSeq+1)
}

// follow consumes the stream made at created from the sequence next on, in
// place of the consumer this node had, if any; b.mu must be held.
func (b *NATS) follow(ctx context.Context, created time.Time, next uint64) error {
	cons, err := b.js.OrderedConsumer(ctx, b.opts.Stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   next,
	})
	if err != nil {
		return fmt.Errorf("bus: consume stream %s: %w", b.opts.Stream, err)
	}
	gen := b.gen + 1
	cc, err := cons.Consume(func(msg jetstream.Msg) { b.receive(gen, msg) },
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			b.opts.Log.Warn("bus: consuming events", "err", err)
			// The stream may be gone, or another one in its place.
			go b.checkStream()
		}))
	if err != nil {
		return fmt.Errorf("bus: consume stream %s: %w", b.opts.Stream, err)
	}
	if old := b.consume; old != nil {
		// Stop may wait for the old consumer's attempts to follow a
		// stream that is gone; what it still hands over is ignored.
		go old.Stop()
	}
	b.consume, b.gen, b.next, b.created = cc, gen, next, created
	return nil
}

// ensureStream creates the stream, on file with one replica, or brings an
// existing one to the settings streamSettings insists on, keeping the
// rest of its configuration.
func (b *NATS) ensureStream(ctx context.Context) (jetstream.Stream, error) {
	s, err := b.js.Stream(ctx, b.opts.Stream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		// Nodes starting at once each make it, alike: NATS takes a
		// stream made again with the same configuration as made.
		cfg := jetstream.StreamConfig{Storage: jetstream.FileStorage, Replicas: 1}
		b.streamSettings(&cfg)
		s, err = b.js.CreateStream(ctx, cfg)
	case err == nil:
		cfg := s.CachedInfo().Config
		b.streamSettings(&cfg)
		s, err = b.js.UpdateStream(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("bus: create stream %s: %w", b.opts.Stream, err)
	}
	return s, nil
}

// streamSettings sets in cfg what the nodes rely on: the stream's name, its
// one subject, and how long and how much of it is kept. The rest is the
// operator's, kept through every node's start: in a NATS cluster above all
// the replicas (nats stream edit PARLEY_EVENTS --replicas 3), so that the
// stream outlives a NATS server.
func (b *NATS) streamSettings(cfg *jetstream.StreamConfig) {
	cfg.Name = b.opts.Stream
	cfg.Subjects = []string{b.opts.Subject}
	cfg.Retention = jetstream.LimitsPolicy
	cfg.MaxAge = b.opts.MaxAge
	cfg.MaxBytes = maxStreamBytes
	cfg.Discard = jetstream.DiscardOld
}

// Publish appends ev for the members to the stream and returns once the
// stream holds it; every node then delivers it to its subscriptions of
// those members. The change an event tells of is durable before it is
// published, so Publish waits for the ack up to publishTimeout even when
// ctx ends first. While the node is reconnecting to NATS it fails at
// once, so that a request publishing many events while NATS is out of
// reach is not held publishTimeout for each.
//
// When it fails, ev is kept in the store's outbox, for every server to
// relay, unless it is passing (parley.Event.Passing), which is dropped.
// When keeping it fails too, no node delivers ev: Publish ends this
// node's subscriptions, as dropped, and has every node end theirs once it
// can publish again (resync).
func (b *NATS) Publish(ctx context.Context, userIDs []string, ev parley.Event) error {
	var envs []envelope
	for to := range slices.Chunk(userIDs, maxRecipients) {
		envs = append(envs, wrap(to, ev))
	}
	entries, err := encode(envs)
	if err == nil {
		err = b.publish(ctx, ev.Type, entries)
	}
	if err == nil {
		return nil
	}
	b.unpublished.Add(1)
	if ev.Passing() {
		// Late, someone's typing would show after their message; lost,
		// it is missed by no one.
		return nil
	}
	if entries != nil && b.opts.Store != nil {
		kept := b.keepLater(ctx, entries)
		if kept == nil {
			b.opts.Log.Warn("bus: event to be kept for the servers' relays", "type", ev.Type, "err", err)
			return nil
		}
		err = errors.Join(err, kept)
	}
	b.unsent()
	return err
}

// encode is the envelopes as they travel, through NATS or the outbox; nil
// if one cannot be encoded.
func encode(envs []envelope) ([][]byte, error) {
	entries := make([][]byte, len(envs))
	for i, env := range envs {
		data, err := json.Marshal(env)
		if err != nil {
			return nil, fmt.Errorf("bus: encode %s event: %w", env.Type, err)
		}
		entries[i] = data
	}
	return entries, nil
}

// unsent ends this node's subscriptions, as dropped, on the loss of an
// event, and has every node end theirs once it can publish again (resync).
func (b *NATS) unsent() {
	b.missed.Store(true)
	b.local.endAll(true)
}

// keepLater queues the encoded envelopes for keep, which writes them to
// the store in the background: a request that publishes many events while
// NATS is out of reach (an account's deletion, one for each of its
// messages) is not held for a durable write of each. Once keep has ended,
// as the bus closed, it writes them itself, and returns the write's error:
// a request still publishing as the node stops has its events kept too,
// not queued for no one.
func (b *NATS) keepLater(ctx context.Context, entries [][]byte) error {
	b.keepMu.Lock()
	if b.keepEnded {
		b.keepMu.Unlock()
		return keepInOutbox(context.WithoutCancel(ctx), b.opts.Store, entries)
	}
	b.toKeep = append(b.toKeep, entries...)
	b.keepMu.Unlock()
	select {
	case b.keepSoon <- struct{}{}:
	default:
	}
	return nil
}

// keep writes the events queued by keepLater to the store's outbox, all
// those queued at once in one write, until the bus closes, and then those
// left. When the store cannot keep them, they reach no node (unsent).
func (b *NATS) keep() {
	defer close(b.kept)
	for {
		var closing bool
		select {
		case <-b.keepSoon:
		case <-b.stop:
			closing = true
		}
		b.keepMu.Lock()
		entries := b.toKeep
		b.toKeep, b.keepEnded = nil, closing
		b.keepMu.Unlock()
		if err := keepInOutbox(context.Background(), b.opts.Store, entries); err != nil {
			b.opts.Log.Error("bus: keep events for the servers' relays", "events", len(entries), "err", err)
			b.unsent()
		}
		if closing {
			return
		}
	}
}

// resync tells every node to end its subscriptions, as dropped, if this
// node failed to publish an event since it last did; should that fail too,
// the next reconnect or periodic check tries again.
func (b *NATS) resync() {
	if !b.missed.Swap(false) {
		return
	}
	entries, err := encode([]envelope{{Type: resyncType}})
	if err == nil {
		err = b.publish(context.Background(), resyncType, entries)
	}
	if err != nil {
		b.missed.Store(true)
		b.opts.Log.Warn("bus: tell the nodes of events that reached none", "err", err)
	}
}

// publish appends the encoded envelopes of a kind of event to the stream,
// waiting for each ack as Publish says.
func (b *NATS) publish(ctx context.Context, kind string, entries [][]byte) error {
	if len(entries) == 0 {
		return nil
	}
	if !b.nc.IsConnected() {
		// The client would refuse it too (ReconnectBufSize), in words
		// that would send an operator looking for a buffer to enlarge.
		return fmt.Errorf("bus: publish %s event: NATS out of reach", kind)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	for _, data := range entries {
		_, err := b.js.Publish(ctx, b.opts.Subject, data, jetstream.WithExpectStream(b.opts.Stream))
		if errors.Is(err, jetstream.ErrNoStreamResponse) {
			// The stream is gone (NATS lost it, or someone deleted it):
			// make it again and try once more. Every node, this one
			// included, finds it anew (checkStream).
			if _, err = b.ensureStream(ctx); err == nil {
				go b.checkStream()
				_, err = b.js.Publish(ctx, b.opts.Subject, data, jetstream.WithExpectStream(b.opts.Stream))
			}
		}
		if err != nil {
			return fmt.Errorf("bus: publish %s event: %w", kind, err)
		}
	}
	return nil
}

// DeliverHere hands ev to this node's subscriptions of the members alone,
// as if it came through the stream (Relay).
func (b *NATS) DeliverHere(userIDs []string, ev parley.Event) {
	b.local.Publish(context.Background(), userIDs, ev)
}

// DropHere ends every subscription of this node as dropped, so that their
// clients catch up from the API (Relay).
func (b *NATS) DropHere() { b.local.endAll(true) }

// Connected reports whether the node holds a connection to NATS now.
func (b *NATS) Connected() bool { return b.nc.IsConnected() }

// Unpublished returns how many events Publish failed to append since the
// bus opened: events that no node delivered in real time.
func (b *NATS) Unpublished() uint64 { return b.unpublished.Load() }

// receive hands one event from the stream to this node's subscriptions.
func (b *NATS) receive(gen uint64, msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		b.opts.Log.Error("bus: event without metadata", "err", err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || gen != b.gen {
		return
	}
	if seq := md.Sequence.Stream; seq != b.next {
		b.lost(seq)
	}
	b.next = md.Sequence.Stream + 1
	var env envelope
	if err := json.Unmarshal(msg.Data(), &env); err != nil {
		b.opts.Log.Error("bus: undecodable event", "seq", md.Sequence.Stream, "err", err)
		return
	}
	if env.Type == resyncType {
		b.opts.Log.Warn("bus: a node failed to publish events; ending this node's subscriptions so their clients catch up")
		b.local.endAll(true)
		return
	}
	b.local.Publish(context.Background(), env.To, env.event())
}

// checkStream makes sure this node follows the stream and has missed
// none of its events unknowingly. It ends the node's subscriptions, as
// dropped, if the stream no longer holds the next event the node expects,
// if the stream is gone, or if the stream there is another one, made anew
// since (by hand, by a Publish after it was gone, or by a NATS server that
// lost its storage); the node then follows the stream there. It also
// starts the node's consumer again if it delivered nothing since the last
// check though the stream holds events for it. It runs on each reconnect,
// each failure of the consumer and every checkEvery, so that a loss is
// known within seconds, not at the next event.
func (b *NATS) checkStream() {
	if !b.checking.CompareAndSwap(false, true) {
		return // a check is under way
	}
	defer b.checking.Store(false)
	b.mu.Lock()
	// next is read before the stream: the stream read after holds every
	// event before it, unless it is another one.
	js, consuming, next := b.js, b.consume != nil, b.next
	b.mu.Unlock()
	if !consuming {
		return // still starting: the consumer starts from the stream's end
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	s, err := js.Stream(ctx, b.opts.Stream)
	gone := errors.Is(err, jetstream.ErrStreamNotFound)
	if err != nil && !gone {
		b.opts.Log.Warn("bus: check the stream", "err", err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	defer func() { b.checked = b.next }()
	if gone {
		if !b.created.IsZero() {
			b.opts.Log.Warn("bus: the stream is gone, and the events it held; ending this node's subscriptions so their clients catch up",
				"stream", b.opts.Stream)
			b.local.endAll(true)
			b.created = time.Time{}
		}
		return
	}
	info := s.CachedInfo()
	var err2 error
	switch {
	case b.created.IsZero():
		// The stream was gone, and the subscriptions of then are ended:
		// every event of the new one is for those of now.
		err2 = b.follow(ctx, info.Created, max(info.State.FirstSeq, 1))
	case !info.Created.Equal(b.created) || info.State.LastSeq+1 < next:
		b.opts.Log.Warn("bus: the stream was made anew, its events lost; ending this node's subscriptions so their clients catch up",
			"stream", b.opts.Stream)
		b.local.endAll(true)
		err2 = b.follow(ctx, info.Created, info.State.LastSeq+1)
	case info.State.FirstSeq > b.next:
		b.lost(info.State.FirstSeq)
	case info.State.LastSeq >= b.next && b.next == b.checked:
		b.opts.Log.Warn("bus: the consumer delivered nothing since the last check though the stream holds events; starting it again",
			"next", b.next, "last", info.State.LastSeq)
		err2 = b.follow(ctx, b.created, b.next)
	}
	if err2 != nil {
		b.opts.Log.Error("bus: follow the stream", "err", err2)
	}
}

// lost ends this node's subscriptions, as dropped, because the events from
// b.next to seq-1 will never reach them; b.mu must be held.
func (b *NATS) lost(seq uint64) {
	b.opts.Log.Warn("bus: events were lost while this node could not read them; ending its subscriptions so their clients catch up",
		"expected", b.next, "got", seq)
	b.local.endAll(true)
	b.next = seq
}

// Subscribe opens a subscription to the member's events, as published on
// any node from now on. It does not wait for b.mu, which a check of the
// stream may hold through a round trip to NATS: once the bus is closing,
// the node's Memory ends what it takes, and refuses more once closed.
func (b *NATS) Subscribe(ctx context.Context, userID string) (parley.Subscription, error) {
	return b.local.Subscribe(ctx, userID)
}

// Close stops receiving events, ends this node's subscriptions and closes
// the connection. The stream and what it holds stay for the other nodes.
func (b *NATS) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	consume := b.consume
	b.mu.Unlock()
	close(b.stop)
	consume.Stop()
	b.nc.Close()
	<-b.kept
	return b.local.Close()
}
