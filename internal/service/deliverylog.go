package service

import (
	"context"
	"runtime"
	"slices"
	"sync"

	"github.com/parleyhq/parley"
)

// logDelivery logs an event an app's stream is about to deliver, as
// logRead logs any read, but with the deliveries of the moment: an event
// reaches all the streams of its thread's apps at once, and their records
// go to the store together, in one LogReads, rather than one each.
//
// The streams of one app under one grant that deliver the same event are
// one access by that app, and log one record: an app that holds eight
// connections for a member reads each message once, as far as the
// member's log is concerned, not eight times. Each stream still waits for
// that record to be written before it sends the event. Streams of
// different grants, or different apps, log records of their own. The
// streams of one process share the record; those of other processes and
// nodes log records alike, with the same Key, and the store keeps the
// first (deliveryKey.accessKey).
func (s *Service) logDelivery(ctx context.Context, c *parley.Caller, key deliveryKey, a access) error {
	// The write is shared: a stream that ends does not end it for the others.
	ctx = context.WithoutCancel(ctx)
	return s.deliveries.log(key, s.accessRecord(c, a), func(records []parley.AccessRecord) error {
		return s.store.LogReads(ctx, records)
	})
}

// deliveryLog writes the records of deliveries in batches, one batch at a
// time: the records that come while a batch is written make the next. It
// remembers the records of the latest deliveries, by grant and event, so
// that the grant's other streams delivering the same event share them.
type deliveryLog struct {
	mu      sync.Mutex
	next    *deliveryBatch // gathering records, not yet being written
	writing bool
	ends    *sync.Cond // signalled when a batch is written

	// recent holds the latest deliveries, older the deliveryMemory before
	// them; older is forgotten when recent is full. A stream so far
	// behind that the delivery of its event was forgotten logs a record
	// of its own.
	recent, older map[deliveryKey]*delivery
}

// deliveryKey names an event as delivered through a grant.
type deliveryKey struct {
	grantID, eventID string
}

// accessKey returns the Key of r, the record of the delivery k names: the
// same for the record alike (sameAccess) of any stream, in any process or
// node, that delivers the event through the grant, so that the store logs
// one of them. An event without ID has no Key.
func (k deliveryKey) accessKey(r parley.AccessRecord) []byte {
	if k.eventID == "" {
		return nil
	}
	return r.KeyAt(k.eventID)
}

// delivery is the record of an event delivered through a grant, and the
// batch that writes it.
type delivery struct {
	record parley.AccessRecord
	batch  *deliveryBatch
}

// deliveryMemory is how many deliveries a deliveryLog remembers at least.
const deliveryMemory = 1024

// deliveryBatch is records written together, and how that went.
type deliveryBatch struct {
	records []parley.AccessRecord
	keys    []deliveryKey // of the records, for those delivered through a grant
	written bool
	err     error
}

func newDeliveryLog() *deliveryLog {
	l := &deliveryLog{recent: map[deliveryKey]*delivery{}}
	l.ends = sync.NewCond(&l.mu)
	return l
}

// log returns once r, the record of the delivery key names, is written.
// A record alike for the same key, written or being written, stands for
// r; otherwise r joins the next batch. The batch is written with write,
// by this call unless a batch is being written already, and then after
// that one ends.
func (l *deliveryLog) log(key deliveryKey, r parley.AccessRecord, write func([]parley.AccessRecord) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.logged(key, r)
	if b == nil {
		r.Key = key.accessKey(r)
		if l.next == nil {
			l.next = &deliveryBatch{}
		}
		b = l.next
		b.records = append(b.records, r)
		l.remember(key, r, b)
	}
	for !b.written {
		if l.writing {
			l.ends.Wait()
			continue
		}
		// Not written, and nothing being written: b is still the next.
		// It takes the records of the streams the same event woke, which
		// come while this goroutine yields, and is then written.
		l.writing = true
		l.mu.Unlock()
		runtime.Gosched()
		l.mu.Lock()
		l.next = nil
		l.mu.Unlock()
		err := write(b.records)
		l.mu.Lock()
		b.written, b.err, l.writing = true, err, false
		if err != nil {
			l.forget(b)
		}
		l.ends.Broadcast()
	}
	return b.err
}

// logged returns the batch of the record that stands for r, the record
// of the delivery key names: one for the same key that logs the same
// access. It returns nil if there is none. l.mu is held.
func (l *deliveryLog) logged(key deliveryKey, r parley.AccessRecord) *deliveryBatch {
	if key.eventID == "" {
		return nil
	}
	d, ok := l.recent[key]
	if !ok {
		d, ok = l.older[key]
	}
	if !ok || !sameAccess(d.record, r) {
		return nil
	}
	return d.batch
}

// remember notes r, written by batch b, as the record of the delivery key
// names. l.mu is held.
func (l *deliveryLog) remember(key deliveryKey, r parley.AccessRecord, b *deliveryBatch) {
	if key.eventID == "" {
		return
	}
	if len(l.recent) >= deliveryMemory {
		l.older, l.recent = l.recent, make(map[deliveryKey]*delivery, deliveryMemory)
	}
	l.recent[key] = &delivery{record: r, batch: b}
	b.keys = append(b.keys, key)
}

// forget drops the deliveries of a batch that failed, so that the streams
// still to deliver their events log them again. l.mu is held.
func (l *deliveryLog) forget(b *deliveryBatch) {
	for _, key := range b.keys {
		for _, m := range []map[deliveryKey]*delivery{l.recent, l.older} {
			if d, ok := m[key]; ok && d.batch == b {
				delete(m, key)
			}
		}
	}
}

// sameAccess reports whether two records log the same access by the same
// app to the same members, whenever each was made.
func sameAccess(a, b parley.AccessRecord) bool {
	x, y := a.Entry, b.Entry
	return x.ClientID == y.ClientID && x.AppName == y.AppName && x.GrantID == y.GrantID && x.Action == y.Action &&
		x.ThreadID == y.ThreadID && x.ByUserID == y.ByUserID && x.MessageCount == y.MessageCount &&
		x.FirstSeq == y.FirstSeq && x.LastSeq == y.LastSeq && slices.Equal(x.MessageIDs, y.MessageIDs) &&
		slices.Equal(a.UserIDs, b.UserIDs)
}
