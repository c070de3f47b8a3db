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

// FuzzChangeCursor feeds clients' cursors of a thread's changes to the
// decoder: it must never panic, must refuse with EINVALID what it cannot
// read or what another thread gave out, and must read back every cursor it
// gave out, with its reach; one given before cursors held the reach
// ("42.<thread>") names none.
func FuzzChangeCursor(f *testing.F) {
	const thread = "06h0mpb9vpv8p7ugs8f4n1oat0"
	f.Add(encodeChangeCursor(42, 7, thread))
	f.Add(encodeChangeCursor(42, 0, "06h0mpb9vpv8p7ugs8f4n1oat1"))
	f.Add(encodeCursor("", 42, thread))
	f.Add("")
	f.Add("not-a-cursor")
	f.Add("LTEuYQ") // "-1.a"
	f.Fuzz(func(t *testing.T, cursor string) {
		n, from, err := decodeChangeCursor(cursor, thread)
		if err != nil {
			if parley.ErrorCode(err) != parley.EINVALID {
				t.Fatalf("decode(%q): %v, want EINVALID", cursor, err)
			}
			return
		}
		if cursor == "" {
			if n != 0 || from != -1 {
				t.Fatalf("no cursor reads from %d, of reach %d; want 0, of none", n, from)
			}
			return
		}
		if from >= 0 {
			if again, againFrom, err := decodeChangeCursor(encodeChangeCursor(n, from, thread), thread); err != nil || again != n || againFrom != from {
				t.Fatalf("cursor %q does not survive a round trip: %d, %d, %v", cursor, again, againFrom, err)
			}
		}
		if _, _, err := decodeChangeCursor(cursor, "another"); err == nil {
			t.Fatalf("cursor %q of one thread is taken for another", cursor)
		}
	})
}

// A cursor of a thread's changes given before cursors held the reach reads
// as of any reach.
func TestChangeCursor_WithoutAReach(t *testing.T) {
	const thread = "06h0mpb9vpv8p7ugs8f4n1oat0"
	if n, from, err := decodeChangeCursor(encodeCursor("", 42, thread), thread); err != nil || n != 42 || from != -1 {
		t.Fatalf("an old cursor reads %d, of reach %d, %v; want 42, of none", n, from, err)
	}
}
