package apptest

import (
	"sync"
	"time"

	"github.com/parleyhq/parley"
)

// Clock is a test server's clock: the wall clock, moved on by Advance. What
// expires by time is tested by advancing it, never by editing the store.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

var _ parley.Clock = (*Clock)(nil)

// Now returns the wall clock's time plus everything Advance added.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return parley.Now().Add(c.offset)
}

// Advance moves the clock on by d, as if d passed at once.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
