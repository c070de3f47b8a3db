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
	frozen time.Time // the wall clock's time at Freeze; zero while it runs
}

var _ parley.Clock = (*Clock)(nil)

// Now returns the wall clock's time, or the time at Freeze, plus
// everything Advance added.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		return c.frozen.Add(c.offset)
	}
	return parley.Now().Add(c.offset)
}

// Advance moves the clock on by d, as if d passed at once.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// Freeze stops the clock where it is: from then on only Advance moves it.
// A test of what the server allows per minute freezes it, so that what it
// counts does not depend on how fast the machine runs the test (slower
// under the race detector, or beside other tests run in parallel).
func (c *Clock) Freeze() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen.IsZero() {
		c.frozen = parley.Now()
	}
}
