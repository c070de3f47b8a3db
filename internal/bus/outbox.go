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

	mu      sync.Mutex
	pending [][]byte // events published and not yet kept, encoded
}

// outboxBatch is how many events an Outbox keeps in one write.
const outboxBatch = 500

var _ parley.Bus = (*Outbox)(nil)

// NewOutbox returns the bus that keeps events in store.
func NewOutbox(store parley.Store) *Outbox {
	return &Outbox{store: store}
}

// Publish adds the event to those to keep for the servers to relay, and
// keeps them once there are outboxBatch.
func (o *Outbox) Publish(ctx context.Context, userIDs []string, ev parley.Event) error {
	data, err := json.Marshal(wrap(userIDs, ev))
	if err != nil {
		return fmt.Errorf("bus: encode %s event: %w", ev.Type, err)
	}
	o.mu.Lock()
	o.pending = append(o.pending, data)
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
		for _, data := range entries {
			if err := tx.AddOutboxEvent(ctx, data); err != nil {
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

// OutboxKeep is how long a server keeps relaying an event of a command's
// after it first read it, before it removes it from the store. The servers
// read the outbox every second: one that reads it less often than
// OutboxKeep may find an event removed before it read it; its streams'
// clients then catch up as they do after any gap, from the API.
const OutboxKeep = time.Minute

// Relay hands the events commands kept in the store (Outbox) to the
// realtime streams of one server: each server of the store runs one, and
// delivers to its own streams alone.
type Relay struct {
	store   parley.Store
	deliver func(userIDs []string, ev parley.Event)
	now     func() time.Time
	// read holds when the relay first read each event still kept; nil
	// until it first read.
	read map[int64]time.Time
}

// NewRelay returns the relay of the events in store to deliver, which
// hands an event to this server's subscriptions only, timed by now.
func NewRelay(store parley.Store, deliver func(userIDs []string, ev parley.Event), now func() time.Time) *Relay {
	return &Relay{store: store, deliver: deliver, now: now}
}

// Run delivers the events kept since its last run, and removes from the
// store those it first read OutboxKeep ago or more. The events kept when
// it first runs are taken as delivered: they are older than every stream
// the server holds then. An event that cannot be read is skipped, and
// reported once. Times are the server's alone: events carry none, so that
// the clocks of the machines commands run on do not matter.
func (r *Relay) Run(ctx context.Context) error {
	var events []parley.OutboxEvent
	err := r.store.Read(ctx, func(tx parley.Tx) (err error) {
		events, err = tx.FindOutboxEvents(ctx)
		return err
	})
	if err != nil {
		return err
	}
	now, first := r.now(), r.read == nil
	read := make(map[int64]time.Time, len(events))
	var done []int64
	var unread []error
	for _, e := range events {
		at, seen := r.read[e.ID]
		if !seen {
			at = now
		}
		read[e.ID] = at
		if now.Sub(at) >= OutboxKeep {
			done = append(done, e.ID)
		}
		if first || seen {
			continue
		}
		var env envelope
		if err := json.Unmarshal(e.Data, &env); err != nil {
			unread = append(unread, fmt.Errorf("bus: undecodable event %d in the outbox: %w", e.ID, err))
			continue
		}
		r.deliver(env.To, env.event())
	}
	r.read = read
	if len(done) > 0 {
		// Every server removes them; the first to does, the others find
		// none.
		err = r.store.Write(ctx, func(tx parley.Tx) error { return tx.DeleteOutboxEvents(ctx, done) })
	}
	return errors.Join(append(unread, err)...)
}
