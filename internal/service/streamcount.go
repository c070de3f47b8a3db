package service

import (
	"sync"

	"github.com/parleyhq/parley"
)

// MaxStreams is how many realtime streams may be open at once on one
// server for one member: with the member's own sessions, and, apart from
// those, for each app with the member's grant. It is room for every
// device and tab a person has, and for an app's connections from several
// of its servers, while no one account holds a server's memory with
// streams it never reads. A stream over it is refused with ETHROTTLED.
const MaxStreams = 100

// MaxAppStreams is how many realtime streams all apps together may hold
// open at once on one server for one member: room for many apps with a
// few connections each, or two at their full MaxStreams, while a member
// cannot multiply their allowance by connecting apps of their own making.
const MaxAppStreams = 2 * MaxStreams

// streamCounts counts the process's open streams by whose they are.
type streamCounts struct {
	mu   sync.Mutex
	open map[string]int
}

// streamLimit is a count of streams a stream is held to: its key, the
// most it may reach, and what to tell a caller over it.
type streamLimit struct {
	key     string
	max     int
	refusal string
}

// streamLimits are the counts a stream of c is held to: the member's own;
// or an app's for the member, and all apps' for the member.
func streamLimits(c *parley.Caller) []streamLimit {
	if c.App == nil {
		return []streamLimit{{"member:" + c.User.ID, MaxStreams, "too many realtime streams open for your account: at most %d; close one first"}}
	}
	return []streamLimit{
		{"app:" + c.App.App.ClientID + ":" + c.User.ID, MaxStreams, "too many realtime streams open for this member: at most %d; close one first"},
		{"apps:" + c.User.ID, MaxAppStreams, "too many realtime streams open by apps for this member, all apps together: at most %d; close one first"},
	}
}

// join counts a stream of c opened, and returns the keys it is counted
// under; ETHROTTLED when one of its limits is reached already.
func (n *streamCounts) join(c *parley.Caller) ([]string, error) {
	limits := streamLimits(c)
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, l := range limits {
		if n.open[l.key] >= l.max {
			return nil, parley.Errorf(parley.ETHROTTLED, l.refusal, l.max)
		}
	}
	if n.open == nil {
		n.open = map[string]int{}
	}
	keys := make([]string, len(limits))
	for i, l := range limits {
		n.open[l.key]++
		keys[i] = l.key
	}
	return keys, nil
}

// leave counts a stream join counted closed.
func (n *streamCounts) leave(keys []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, key := range keys {
		if n.open[key]--; n.open[key] <= 0 {
			delete(n.open, key)
		}
	}
}
