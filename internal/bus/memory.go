// Package bus implements parley.Bus. Memory serves one node: events
// published on it reach the subscriptions held on it. NATS serves several:
// events published on any node go through a NATS JetStream stream, and each
// node hands them to the subscriptions it holds, through a Memory of its own.
// Outbox is the bus of a command run beside the servers (`parley user
// delete`): it holds no subscriptions, and keeps the events it is given in
// the store, where each server's Relay reads them and hands them to the
// subscriptions that server holds (Local).
package bus

import (
	"context"
	"errors"
	"sync"

	"github.com/parleyhq/parley"
)

// DefaultBuffer is how many undelivered events a subscription may hold
// before it is dropped as too slow.
const DefaultBuffer = 256

// ready is how many undelivered events a subscription holds in its
// channel, allocated with it. A consumer that keeps up never has more: the
// rest of its buffer is taken only while it is behind, so that an idle
// subscription costs a few hundred bytes, not its whole buffer.
const ready = 8

// Memory is an in-process parley.Bus. Each subscription has a bounded
// buffer; a subscriber whose buffer is full is dropped rather than allowed to
// grow memory or slow publishers. The buffer is a small channel and, once
// that is full, a queue that grows as the subscriber falls behind and is
// let go when it catches up; while the queue holds events, a goroutine of
// the subscription's own moves them to the channel as the subscriber takes
// them.
type Memory struct {
	buffer int

	mu   sync.RWMutex
	subs map[string]map[*subscription]struct{}
	// closed is set by Close: a subscription opened after it would be
	// one nothing ends.
	closed bool
}

var _ parley.Bus = (*Memory)(nil)

// NewMemory returns a bus whose subscriptions buffer up to buffer events.
func NewMemory(buffer int) *Memory {
	return &Memory{buffer: buffer, subs: map[string]map[*subscription]struct{}{}}
}

// Publish delivers ev to each current subscription of the members.
func (b *Memory) Publish(_ context.Context, userIDs []string, ev parley.Event) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, id := range userIDs {
		for s := range b.subs[id] {
			s.send(ev)
		}
	}
	return nil
}

// DeliverHere is Publish: the node's subscriptions are all there are
// (Relay).
func (b *Memory) DeliverHere(userIDs []string, ev parley.Event) {
	b.Publish(context.Background(), userIDs, ev)
}

// DropHere ends every subscription as dropped, so that their clients
// catch up from the API (Relay).
func (b *Memory) DropHere() { b.endAll(true) }

// errClosed refuses a subscription to a bus that was closed.
var errClosed = errors.New("bus: closed")

// Subscribe opens a subscription to the member's events; once the bus is
// closed, it fails.
func (b *Memory) Subscribe(_ context.Context, userID string) (parley.Subscription, error) {
	s := &subscription{bus: b, userID: userID, buffer: b.buffer, ch: make(chan parley.Event, min(b.buffer, ready))}
	s.ended, s.end = context.WithCancel(context.Background())
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errClosed
	}
	if b.subs[userID] == nil {
		b.subs[userID] = map[*subscription]struct{}{}
	}
	b.subs[userID][s] = struct{}{}
	return s, nil
}

// Close ends every subscription, as Close on each would, and takes no
// more.
func (b *Memory) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.endAll(false)
	return nil
}

// endAll ends every subscription, marking it dropped if dropped is true:
// its consumer missed events and must catch up another way.
func (b *Memory) endAll(dropped bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, subs := range b.subs {
		for s := range subs {
			s.mu.Lock()
			if !s.closed {
				s.dropped = dropped
				s.endLocked()
			}
			s.mu.Unlock()
		}
	}
	clear(b.subs)
}

func (b *Memory) remove(s *subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.subs[s.userID], s)
	if len(b.subs[s.userID]) == 0 {
		delete(b.subs, s.userID)
	}
}

type subscription struct {
	bus    *Memory
	userID string
	buffer int
	ch     chan parley.Event
	// ended ends with the subscription, which endLocked does.
	ended context.Context
	end   context.CancelFunc

	mu      sync.Mutex
	closed  bool
	dropped bool
	slow    bool // dropped for not keeping up
	// behind holds, in order, the events after those in ch while ch is
	// full; its first is the one pump is handing over.
	behind []parley.Event
	// pumping is set while pump runs; ch is then closed by pump, not
	// endLocked.
	pumping bool
}

func (s *subscription) C() <-chan parley.Event { return s.ch }

func (s *subscription) send(ev parley.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if len(s.behind) == 0 {
		select {
		case s.ch <- ev:
			return
		default:
		}
	}
	if len(s.ch)+len(s.behind) >= s.buffer {
		s.dropped, s.slow = true, true
		s.endLocked()
		return
	}
	s.behind = append(s.behind, ev)
	if !s.pumping {
		s.pumping = true
		go s.pump()
	}
}

// pump moves the events behind to ch, in order, as the subscriber takes
// them, and returns once none are left or the subscription ended.
func (s *subscription) pump() {
	for {
		s.mu.Lock()
		if s.closed || len(s.behind) == 0 {
			s.pumping = false
			s.behind = nil
			if s.closed {
				close(s.ch)
			}
			s.mu.Unlock()
			return
		}
		ev := s.behind[0]
		s.mu.Unlock()
		select {
		case s.ch <- ev:
			s.mu.Lock()
			if !s.closed {
				s.behind[0] = parley.Event{}
				s.behind = s.behind[1:]
			}
			s.mu.Unlock()
		case <-s.ended.Done():
		}
	}
}

// endLocked ends the subscription, letting go of the events behind; s.mu
// must be held. The events already in ch stay there for the subscriber to
// take before it finds ch closed.
func (s *subscription) endLocked() {
	s.closed = true
	s.behind = nil
	if !s.pumping {
		close(s.ch)
	}
	s.end()
}

func (s *subscription) Done() <-chan struct{} { return s.ended.Done() }

func (s *subscription) AfterEnd(f func()) (stop func() bool) { return context.AfterFunc(s.ended, f) }

func (s *subscription) Dropped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

func (s *subscription) Slow() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.slow
}

func (s *subscription) Close() {
	s.mu.Lock()
	if !s.closed {
		s.endLocked()
	}
	s.mu.Unlock()
	s.bus.remove(s)
}
