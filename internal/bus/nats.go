package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
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
// message to a group's thousands well under NATS's 1 MB payload limit.
const maxRecipients = 1000

// publishTimeout bounds how long Publish waits for the stream's ack.
const publishTimeout = 3 * time.Second

// NATSOptions configure a NATS bus. The zero value is the defaults.
type NATSOptions struct {
	// Stream and Subject name the JetStream stream and the one subject it
	// holds. Every node of an install uses the same; two installs sharing
	// a NATS server use different ones.
	Stream, Subject string
	// Buffer is how many undelivered events a subscription may hold
	// before it is dropped as too slow; DefaultBuffer when 0.
	Buffer int
	// MaxAge is how long the stream keeps an event; DefaultMaxAge when 0.
	MaxAge time.Duration
	// Log receives the bus's connection changes and failures.
	Log *slog.Logger
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
// sequence of the next event. A stream deleted and made anew starts its
// sequence again, and the nodes must then be restarted. Events published
// on a node while it cannot reach NATS are not delivered: Publish fails
// after publishTimeout, and the service logs it.
type NATS struct {
	opts    NATSOptions
	nc      *nats.Conn
	local   *Memory
	consume jetstream.ConsumeContext

	mu     sync.Mutex
	js     jetstream.JetStream
	next   uint64 // the stream sequence of the next event this node expects
	closed bool
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
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	log := opts.Log
	b := &NATS{opts: opts, local: NewMemory(opts.Buffer)}
	nc, err := nats.Connect(url,
		nats.Name("parley"),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("bus: lost NATS; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("bus: reconnected to NATS", "server", nc.ConnectedServerId())
			go b.checkStream()
		}))
	if err != nil {
		return nil, fmt.Errorf("bus: connect to NATS: %w", err)
	}
	b.nc = nc
	if err := b.start(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return b, nil
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
	b.next = stream.CachedInfo().State.LastSeq + 1
	cons, err := js.OrderedConsumer(ctx, b.opts.Stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   b.next,
	})
	if err != nil {
		return fmt.Errorf("bus: consume stream %s: %w", b.opts.Stream, err)
	}
	b.consume, err = cons.Consume(b.receive, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		b.opts.Log.Warn("bus: consuming events", "err", err)
	}))
	if err != nil {
		return fmt.Errorf("bus: consume stream %s: %w", b.opts.Stream, err)
	}
	return nil
}

// ensureStream creates the stream, or brings an existing one to our
// settings.
func (b *NATS) ensureStream(ctx context.Context) (jetstream.Stream, error) {
	s, err := b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:      b.opts.Stream,
		Subjects:  []string{b.opts.Subject},
		Retention: jetstream.LimitsPolicy,
		Storage:   jetstream.FileStorage,
		MaxAge:    b.opts.MaxAge,
		MaxBytes:  maxStreamBytes,
		Discard:   jetstream.DiscardOld,
		Replicas:  1,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: create stream %s: %w", b.opts.Stream, err)
	}
	return s, nil
}

// Publish appends ev for the members to the stream and returns once the
// stream holds it; every node then delivers it to its subscriptions of
// those members. The change an event tells of is durable before it is
// published, so Publish waits for the ack up to publishTimeout even when
// ctx ends first.
func (b *NATS) Publish(ctx context.Context, userIDs []string, ev parley.Event) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	for to := range slices.Chunk(userIDs, maxRecipients) {
		data, err := json.Marshal(envelope{To: to, ID: ev.ID, Type: ev.Type, ThreadID: ev.ThreadID, Data: ev.Data,
			Seq: ev.Seq, MessageID: ev.MessageID, Readers: ev.Readers})
		if err != nil {
			return fmt.Errorf("bus: encode %s event: %w", ev.Type, err)
		}
		_, err = b.js.Publish(ctx, b.opts.Subject, data, jetstream.WithExpectStream(b.opts.Stream))
		if errors.Is(err, jetstream.ErrNoStreamResponse) {
			// The stream is gone (NATS lost it, or someone deleted it):
			// make it again and try once more.
			if _, err = b.ensureStream(ctx); err == nil {
				_, err = b.js.Publish(ctx, b.opts.Subject, data, jetstream.WithExpectStream(b.opts.Stream))
			}
		}
		if err != nil {
			return fmt.Errorf("bus: publish %s event: %w", ev.Type, err)
		}
	}
	return nil
}

// receive hands one event from the stream to this node's subscriptions.
func (b *NATS) receive(msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		b.opts.Log.Error("bus: event without metadata", "err", err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
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
	b.local.Publish(context.Background(), env.To, parley.Event{
		ID: env.ID, Type: env.Type, ThreadID: env.ThreadID, Data: env.Data, Seq: env.Seq, MessageID: env.MessageID,
		Readers: env.Readers,
	})
}

// checkStream ends this node's subscriptions, as dropped, if the stream no
// longer holds the next event this node expects: they missed events. It
// runs on each reconnect, so that this is known at once, not at the next
// event.
func (b *NATS) checkStream() {
	b.mu.Lock()
	js := b.js
	b.mu.Unlock()
	if js == nil {
		return // still starting: the consumer starts from the stream's end
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	s, err := js.Stream(ctx, b.opts.Stream)
	if err != nil {
		b.opts.Log.Warn("bus: check the stream after a reconnect", "err", err)
		return
	}
	first := s.CachedInfo().State.FirstSeq
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed && first > b.next {
		b.lost(first)
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
// any node from now on.
func (b *NATS) Subscribe(ctx context.Context, userID string) (parley.Subscription, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, errors.New("bus: closed")
	}
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
	b.mu.Unlock()
	b.consume.Stop()
	b.nc.Close()
	return b.local.Close()
}
