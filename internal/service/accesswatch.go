package service

import (
	"context"
	"runtime"
	"sync"

	"github.com/parleyhq/parley"
)

// CheckAccess reads the store's access version and, when it moved since the
// last check, wakes this process's app streams to check their tokens. The
// server calls it every second: a change made by another process, such as
// `parley app suspend`, or by another node, then ends the streams it
// concerns within about a second even when no event comes, for one small
// read per second and node instead of one per stream.
func (s *Service) CheckAccess(ctx context.Context) error {
	_, err := s.freshAccessVersion(ctx, "")
	return err
}

// freshAccessVersion returns the store's access version as read after the
// call began or, for a stream about to send the event eventID, after the
// event reached the process, and wakes the app streams if it moved. The
// callers of a moment share one read (accessWatch.fresh).
func (s *Service) freshAccessVersion(ctx context.Context, eventID string) (int64, error) {
	// The read is shared: a stream that ends does not end it for the others.
	ctx = context.WithoutCancel(ctx)
	return s.watch.fresh(eventID, func() (v int64, err error) {
		err = s.store.Read(ctx, func(tx parley.Tx) (err error) {
			v, err = tx.FindAccessVersion(ctx)
			return err
		})
		return v, err
	})
}

// accessWatch reads the access version for the process's app streams, and
// wakes them when it moves.
type accessWatch struct {
	mu      sync.Mutex
	version int64 // as last read
	err     error // of the last read
	seen    bool
	changed chan struct{}

	// Reads run one at a time, numbered: started is the number of the
	// last one begun, ended of the last one ended; ends signals an end.
	started, ended int64
	reading        bool
	ends           *sync.Cond

	// event is the event the latest call was for, and eventAfter the
	// number of the last read begun before the first call for it.
	event      string
	eventAfter int64
}

func newAccessWatch() *accessWatch {
	w := &accessWatch{changed: make(chan struct{})}
	w.ends = sync.NewCond(&w.mu)
	return w
}

// wait returns a channel closed at the next change.
func (w *accessWatch) wait() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.changed
}

// fresh returns the version as read by a read begun after the call: the
// one under way, if it began after the call, or the next, which this call
// runs unless another waiting call does first.
//
// A call for an event (a non-empty ID) may also be answered by the read
// under way when it comes, if that read began after the first call for the
// same event: the streams an event woke at once share one read, begun
// after the event reached the process, where those who came while it ran
// would otherwise run a second. The read must still be under way: a
// stream that comes to the event after it ended, however far behind, gets
// a read begun after its call. A change made before an event reached the
// process is seen before the event is sent, as by a read begun after the
// call; one made while the shared read runs may be seen at the next event
// only, as one made while a stream's own read runs may. An event the bus
// delivers in parts, each to some of its recipients (NATS, for events to
// over 1,000 members), reaches the process with its first part.
func (w *accessWatch) fresh(event string, read func() (int64, error)) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	after := w.started
	if event != "" {
		if event != w.event {
			w.event, w.eventAfter = event, w.started
		}
		if w.ended < w.started && w.started > w.eventAfter {
			after = w.started - 1 // the read under way
		}
	}
	for w.ended <= after {
		if w.reading {
			w.ends.Wait()
			continue
		}
		// The read is numbered as it begins, not before: the streams an
		// event woke with this one, which come while this goroutine
		// yields, are answered by it too.
		w.reading = true
		w.mu.Unlock()
		runtime.Gosched()
		w.mu.Lock()
		w.started++
		n := w.started
		w.mu.Unlock()
		v, err := read()
		w.mu.Lock()
		w.reading, w.ended, w.err = false, n, err
		if err == nil {
			w.saw(v)
		}
		w.ends.Broadcast()
	}
	return w.version, w.err
}

// saw records the version read, waking the waiters when it moved. w.mu is
// held.
func (w *accessWatch) saw(v int64) {
	if w.seen && v != w.version {
		close(w.changed)
		w.changed = make(chan struct{})
	}
	w.version, w.seen = v, true
}
