package service

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// TestSameRequest: a key kept with its request is a retry of the send
// that asked for the same, whatever became of the message; a key kept
// before requests were is told as it was then, from the message as it
// is, a deleted message replayed whatever is asked.
func TestSameRequest(t *testing.T) {
	deleted := time.Now()
	asked, other := requestHash("text", "see you at 8", "0"), requestHash("text", "see you at 9", "0")
	for name, c := range map[string]struct {
		prior  parley.Message
		asKept bool
		want   bool
	}{
		"kept, the same":                {parley.Message{RequestHash: asked}, false, true},
		"kept, other words":             {parley.Message{RequestHash: other}, true, false},
		"kept, other words, deleted":    {parley.Message{RequestHash: other, DeletedAt: &deleted}, true, false},
		"not kept, alike now":           {parley.Message{}, true, true},
		"not kept, unlike now":          {parley.Message{}, false, false},
		"not kept, deleted":             {parley.Message{DeletedAt: &deleted}, false, true},
		"kept empty is not kept, alike": {parley.Message{RequestHash: []byte{}}, true, true},
	} {
		if got := sameRequest(&c.prior, asked, func() bool { return c.asKept }); got != c.want {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
}
