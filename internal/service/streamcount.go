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

// streamCounts counts the process's open streams by whose they are.
type streamCounts struct {
	mu   sync.Mutex
	open map[string]int
}

// streamKey is whose a stream of c is: the member's, or an app's for the
// member.
func streamKey(c *parley.Caller) string {
	if c.App != nil {
		return "app:" + c.App.App.ClientID + ":" + c.User.ID
	}
	return "member:" + c.User.ID
}

// join counts a stream of c opened, and returns its key; ETHROTTLED when
// MaxStreams of its key are open already.
func (n *streamCounts) join(c *parley.Caller) (string, error) {
	key := streamKey(c)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.open[key] >= MaxStreams {
		if c.App != nil {
			return "", parley.Errorf(parley.ETHROTTLED, "too many realtime streams open for this member: at most %d; close one first", MaxStreams)
		}
		return "", parley.Errorf(parley.ETHROTTLED, "too many realtime streams open for your account: at most %d; close one first", MaxStreams)
	}
	if n.open == nil {
		n.open = map[string]int{}
	}
	n.open[key]++
	return key, nil
}

// leave counts a stream join counted closed.
func (n *streamCounts) leave(key string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.open[key]--; n.open[key] <= 0 {
		delete(n.open, key)
	}
}
