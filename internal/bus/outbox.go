package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parleyhq/parley"
)

// Outbox is the bus of a command run without NATS, such as `parley user
// delete` beside a running server: it keeps each event in the store
// (parley.Tx.AddOutboxEvent), and every server of the store relays it to
// the realtime streams it holds within a second (Relay). A command's
// events would otherwise reach no one: its own Memory has no
// subscriptions, and the server's is another process's.
//
// Events are kept outboxBatch at a time, and the last of them when the
// bus closes, so that a command that publishes thousands (the deletion
// of an account with thousands of messages) writes a few transactions,
// not one each.
type Outbox struct {
	store parley.Store
	now   func() time.Time

	mu      sync.Mutex
	pending []outboxEntry
}

// outboxEntry is an event published and not yet kept.
type outboxEntry struct {
	data []byte
	at   time.Time
}

// outboxBatch is how many events an Outbox keeps in one write.
const outboxBatch = 500

var _ parley.Bus = (*Outbox)(nil)

// NewOutbox returns the bus that keeps events in store, at the times now
// tells.
func NewOutbox(store parley.Store, now func() time.Time) *Outbox {
	return &Outbox{store: store, now: now}
}

// Publish adds the event to those to keep for the servers to relay, and
// keeps them once there are outboxBatch.
func (o *Outbox) Publish(ctx context.Context, userIDs []string, ev parley.Event) error {
	data, err := json.Marshal(wrap(userIDs, ev))
	if err != nil {
		return fmt.Errorf("bus: encode %s event: %w", ev.Type, err)
	}
	o.mu.Lock()
	o.pending = append(o.pending, outboxEntry{data, o.now()})
	full := len(o.pending) >= outboxBatch
	o.mu.Unlock()
	if !full {
		return nil
	}
	// As on any bus, the change is stored already: ctx ending does not
	// stop its event.
	return o.keep(context.WithoutCancel(ctx))
}

// keep writes the pending events to the store.
func (o *Outbox) keep(ctx context.Context) error {
	o.mu.Lock()
	entries := o.pending
	o.pending = nil
	o.mu.Unlock()
	if len(entries) == 0 {
		return nil
	}
	return o.store.Write(ctx, func(tx parley.Tx) error {
		for _, e := range entries {
			if err := tx.AddOutboxEvent(ctx, e.data, e.at); err != nil {
				return err
			}
		}
		return nil
	})
}

// Subscribe fails: a command holds no realtime streams.
func (o *Outbox) Subscribe(context.Context, string) (parley.Subscription, error) {
	return nil, errors.New("bus: a command's bus has no subscriptions")
}

// Close keeps the events not yet kept; the store is the command's to
// close, after.
func (o *Outbox) Close() error {
	if err := o.keep(context.Background()); err != nil {
		return fmt.Errorf("bus: keep the command's events for the servers: %w", err)
	}
	return nil
}

// OutboxKeep is how long the store keeps an event of a command's for the
// servers to relay. A server that reads the outbox less often than that
// misses events; its streams' clients then catch up as they do after any
// gap, from the API.
const OutboxKeep = time.Minute

// Relay hands the events commands kept in the store (Outbox) to the
// realtime streams of one server: each server of the store runs one, and
// delivers to its own streams alone.
type Relay struct {
	store   parley.Store
	deliver func(userIDs []string, ev parley.Event)
	now     func() time.Time
	// relayed holds the events kept now that were delivered, or were
	// there already when the relay first read; nil until then.
	relayed map[int64]bool
}

// NewRelay returns the relay of the events in store to deliver, which
// hands an event to this server's subscriptions only.
func NewRelay(store parley.Store, deliver func(userIDs []string, ev parley.Event), now func() time.Time) *Relay {
	return &Relay{store: store, deliver: deliver, now: now}
}

// Run delivers the events kept since its last run, and removes those kept
// longer than OutboxKeep. The events kept when it first runs are taken as
// delivered: they are older than every stream the server holds then.
func (r *Relay) Run(ctx context.Context) error {
	var events []parley.OutboxEvent
	err := r.store.Read(ctx, func(tx parley.Tx) (err error) {
		events, err = tx.FindOutboxEventsSince(ctx, time.Time{})
		return err
	})
	if err != nil {
		return err
	}
	first := r.relayed == nil
	kept, stale := make(map[int64]bool, len(events)), time.Time{}
	for _, e := range events {
		if r.now().Sub(e.At) >= OutboxKeep {
			if e.At.After(stale) {
				stale = e.At
			}
			continue
		}
		kept[e.ID] = true
		if first || r.relayed[e.ID] {
			continue
		}
		var env envelope
		if err := json.Unmarshal(e.Data, &env); err != nil {
			return fmt.Errorf("bus: undecodable event %d in the outbox: %w", e.ID, err)
		}
		r.deliver(env.To, env.event())
	}
	r.relayed = kept
	if stale.IsZero() {
		return nil
	}
	// Every server removes them; the first to does, the others find none.
	return r.store.Write(ctx, func(tx parley.Tx) error { return tx.DeleteOutboxEventsBefore(ctx, stale.Add(time.Microsecond)) })
}
