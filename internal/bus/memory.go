// Package bus implements parley.Bus. Memory serves one node: events
// published on it reach the subscriptions held on it. NATS serves several:
// events published on any node go through a NATS JetStream stream, and each
// node hands them to the subscriptions it holds, through a Memory of its own.
package bus

import (
	"context"
	"sync"

	"github.com/parleyhq/parley"
)

// DefaultBuffer is how many undelivered events a subscription may hold
// before it is dropped as too slow.
const DefaultBuffer = 256

// Memory is an in-process parley.Bus. Each subscription has a bounded
// buffer; a subscriber whose buffer is full is dropped rather than allowed to
// grow memory or slow publishers.
type Memory struct {
	buffer int

	mu   sync.RWMutex
	subs map[string]map[*subscription]struct{}
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

// Subscribe opens a subscription to the member's events.
func (b *Memory) Subscribe(_ context.Context, userID string) (parley.Subscription, error) {
	s := &subscription{bus: b, userID: userID, ch: make(chan parley.Event, b.buffer), done: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs[userID] == nil {
		b.subs[userID] = map[*subscription]struct{}{}
	}
	b.subs[userID][s] = struct{}{}
	return s, nil
}

// Close ends every subscription, as Close on each would.
func (b *Memory) Close() error {
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
				s.end()
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
	ch     chan parley.Event
	done   chan struct{}

	mu      sync.Mutex
	closed  bool
	dropped bool
}

func (s *subscription) C() <-chan parley.Event { return s.ch }

func (s *subscription) send(ev parley.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.ch <- ev:
	default:
		s.dropped = true
		s.end()
	}
}

// end closes the subscription's channels; s.mu must be held.
func (s *subscription) end() {
	s.closed = true
	close(s.ch)
	close(s.done)
}

func (s *subscription) Done() <-chan struct{} { return s.done }

func (s *subscription) Dropped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

func (s *subscription) Close() {
	s.mu.Lock()
	if !s.closed {
		s.end()
	}
	s.mu.Unlock()
	s.bus.remove(s)
}
