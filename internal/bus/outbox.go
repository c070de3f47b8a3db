package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/parleyhq/parley"
)

// Outbox is the bus of a command, such as `parley user delete` beside a
// running server, with NATS or without: it keeps each event in the store
// (parley.Tx.AddOutboxEvent), and every server of the store relays it to
// the realtime streams it holds within a second of its keeping (Relay). A command's
// events would otherwise reach no one: its own Memory has no
// subscriptions, and the server's is another process's.
//
// Events are kept outboxBatch at a time, and the last of them when the
// bus closes, as the command ends, so that a command that publishes
// thousands (the deletion of an account with thousands of messages)
// writes a few transactions, not one each.
type Outbox struct {
	store parley.Store

	mu      sync.Mutex
	pending [][]byte // events published and not yet kept, encoded
	// keeping is held while pending events are written, so that batches
	// are kept in the order they were published.
	keeping sync.Mutex
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
	o.keeping.Lock()
	defer o.keeping.Unlock()
	o.mu.Lock()
	entries := o.pending
	o.pending = nil
	o.mu.Unlock()
	return keepInOutbox(ctx, o.store, entries)
}

// keepInOutbox writes encoded envelopes to the store's outbox, in one
// write, for every server's relay to deliver.
func keepInOutbox(ctx context.Context, store parley.Store, entries [][]byte) error {
	if len(entries) == 0 {
		return nil
	}
	return store.Write(ctx, func(tx parley.Tx) error {
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

// OutboxKeep is how long a server keeps an event of a command's after it
// delivered it, before it removes it from the store. The servers read the
// outbox every second: one that could not read it for OutboxKeep or more
// (cut off from the database) may find events removed before it read
// them, and ends its subscriptions as dropped, so that their clients
// catch up from the API (Relay.Run).
const OutboxKeep = time.Minute

// relayBatch bounds the events one Run delivers: a command that kept more
// at once (the deletion of an account with many messages) is relayed over
// several runs, each reading no more than that.
const relayBatch = 10_000

// Local is a server's own bus, as its Relay hands it the commands' events.
type Local interface {
	// DeliverHere hands ev to this server's subscriptions of the members
	// alone.
	DeliverHere(userIDs []string, ev parley.Event)
	// DropHere ends every subscription of this server as dropped, so that
	// their clients catch up from the API.
	DropHere()
}

// Relay hands the events commands kept in the store (Outbox) to the
// realtime streams of one server: each server of the store runs one, and
// delivers to its own streams alone.
type Relay struct {
	store parley.Store
	local Local
	log   *slog.Logger
	now   func() time.Time
	// delivered holds when the relay delivered each event still kept, or
	// found it kept already when it started.
	delivered map[int64]time.Time
	// lastRead is when the last run whose reads of the outbox all
	// succeeded (or the start) began its first read: every event kept
	// since then is one the relay has yet to read.
	lastRead time.Time
}

// StartRelay returns the relay of the events in store to local, timed by
// now (a clock of this process's: events carry no time, so that the
// clocks of the machines commands run on do not matter). The events kept
// when it starts are taken as delivered: a server starts its relay before
// it takes streams, which are newer than those events.
func StartRelay(ctx context.Context, store parley.Store, local Local, log *slog.Logger, now func() time.Time) (*Relay, error) {
	r := &Relay{store: store, local: local, log: log, now: now, delivered: map[int64]time.Time{}}
	r.lastRead = now()
	ids, err := r.kept(ctx)
	if err != nil {
		return nil, err
	}
	at := now()
	for _, id := range ids {
		r.delivered[id] = at
	}
	return r, nil
}

// kept returns the IDs of the events the store keeps.
func (r *Relay) kept(ctx context.Context) (ids []int64, err error) {
	err = r.store.Read(ctx, func(tx parley.Tx) (err error) {
		ids, err = tx.FindOutboxEventIDs(ctx)
		return err
	})
	return ids, err
}

// Run delivers the events kept since it last ran, up to relayBatch of them
// in the order they were kept, and removes from the store those it
// delivered OutboxKeep ago or more. An event that cannot be read is
// skipped, and reported once.
//
// When OutboxKeep or more passed between the first read of the last run
// whose reads all succeeded and the end of this run's reads (the database
// was out of its reach, its reads failing or hanging), another server may
// have removed events this one never read: an event is removed OutboxKeep
// after a server delivered it, and none is delivered before it is kept.
// Before it delivers what it found, it then ends this server's
// subscriptions as dropped, so that no client goes on unaware of what it
// missed.
func (r *Relay) Run(ctx context.Context) error {
	began := r.now()
	ids, err := r.kept(ctx)
	if err != nil {
		return err
	}
	now := r.now()
	delivered := make(map[int64]time.Time, len(ids))
	var fresh, done []int64
	for _, id := range ids {
		at, ok := r.delivered[id]
		switch {
		case !ok && len(fresh) < relayBatch:
			fresh = append(fresh, id)
		case !ok:
		default:
			delivered[id] = at
			if now.Sub(at) >= OutboxKeep {
				done = append(done, id)
			}
		}
	}
	var events []parley.OutboxEvent
	if len(fresh) > 0 {
		err = r.store.Read(ctx, func(tx parley.Tx) (err error) {
			events, err = tx.FindOutboxEvents(ctx, fresh)
			return err
		})
		if err != nil {
			return err
		}
	}
	if gap := r.now().Sub(r.lastRead); gap >= OutboxKeep {
		r.log.Warn("bus: the commands' events were out of reach, and some may be gone unread; ending this node's subscriptions so their clients catch up", "unread_for", gap.Round(time.Second).String())
		r.local.DropHere()
	}
	r.lastRead = began
	var unread []error
	for _, e := range events {
		delivered[e.ID] = now
		var env envelope
		if err := json.Unmarshal(e.Data, &env); err != nil {
			unread = append(unread, fmt.Errorf("bus: undecodable event %d in the outbox: %w", e.ID, err))
			continue
		}
		r.local.DeliverHere(env.To, env.event())
	}
	r.delivered = delivered
	if len(done) > 0 {
		// Every server removes them; the first to does, the others find
		// none. Until they are removed they stay delivered, so that a
		// failed removal does not deliver them again.
		err = r.store.Write(ctx, func(tx parley.Tx) error { return tx.DeleteOutboxEvents(ctx, done) })
		if err == nil {
			for _, id := range done {
				delete(delivered, id)
			}
		}
	}
	return errors.Join(append(unread, err)...)
}
