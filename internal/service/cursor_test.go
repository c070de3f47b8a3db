package service

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// FuzzThreadCursor feeds clients' cursors to the decoder: it must never
// panic, must refuse what it cannot read with EINVALID, and must read back
// every cursor it gave out.
func FuzzThreadCursor(f *testing.F) {
	f.Add(encodeThreadCursor(time.UnixMicro(1_700_000_000_000_000).UTC(), "06h0mpb9vpv8p7ugs8f4n1oat0"))
	f.Add("")
	f.Add("not-a-cursor")
	f.Add("LTEuYQ") // "-1.a"
	f.Fuzz(func(t *testing.T, cursor string) {
		c, err := decodeThreadCursor(cursor)
		if err != nil {
			if parley.ErrorCode(err) != parley.EINVALID {
				t.Fatalf("decode(%q): %v, want EINVALID", cursor, err)
			}
			return
		}
		if c == nil {
			return
		}
		again, err := decodeThreadCursor(encodeThreadCursor(c.LastActivityAt, c.ID))
		if err != nil || !again.LastActivityAt.Equal(c.LastActivityAt) || again.ID != c.ID {
			t.Fatalf("cursor %q does not survive a round trip: %+v, %v", cursor, again, err)
		}
	})
}
