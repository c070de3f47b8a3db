package parley_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// chainOf returns n entries chained from the genesis hash, and their head.
func chainOf(n int) ([]*parley.AccessEntry, parley.AccessHead) {
	heads := map[string]parley.AccessHead{"u1": {UserID: "u1", Hash: parley.GenesisHash}}
	var records []parley.AccessRecord
	for i := range n {
		e := parley.AccessEntry{At: time.Unix(int64(i), 0), ClientID: "films", AppName: "Films", GrantID: "g1", Action: "messages.read", MessageCount: i}
		records = append(records, parley.AccessRecord{Entry: e, UserIDs: []string{"u1"}})
	}
	return parley.Chain(heads, records), heads["u1"]
}

// A log checked an entry at a time, oldest first or newest first as it is
// paged, is held to the same links: each tampering is caught, in either
// order, at the same entry.
func TestChainCheck_EitherOrder(t *testing.T) {
	const n = 6
	tests := []struct {
		name string
		// change tampers with a fresh copy of the log, or its head.
		change func(entries []*parley.AccessEntry, head *parley.AccessHead) []*parley.AccessEntry
		seq    int64 // 0 for an intact log
		// reason is the break's reason oldest first; newest first names
		// the same entry, but it cannot tell an edited previous hash from
		// an edited entry until it has read the entry before.
		reason string
	}{
		{"intact", func(es []*parley.AccessEntry, _ *parley.AccessHead) []*parley.AccessEntry { return es }, 0, ""},
		{"an entry edited", func(es []*parley.AccessEntry, _ *parley.AccessHead) []*parley.AccessEntry {
			es[2].Action = "threads.read"
			return es
		}, 3, "altered"},
		{"an entry edited and hashed again", func(es []*parley.AccessEntry, _ *parley.AccessHead) []*parley.AccessEntry {
			es[2].Action = "threads.read"
			es[2].Hash = es[2].ChainHash(es[2].PrevHash)
			return es
		}, 4, "previous hash"},
		{"the newest entry edited and hashed again", func(es []*parley.AccessEntry, _ *parley.AccessHead) []*parley.AccessEntry {
			es[n-1].Action = "threads.read"
			es[n-1].Hash = es[n-1].ChainHash(es[n-1].PrevHash)
			return es
		}, n + 1, "missing at the end"},
		{"an entry edited and hashed again, and the next one's previous hash mended", func(es []*parley.AccessEntry, _ *parley.AccessHead) []*parley.AccessEntry {
			es[2].Action = "threads.read"
			es[2].Hash = es[2].ChainHash(es[2].PrevHash)
			es[3].PrevHash = es[2].Hash
			return es
		}, 4, "altered"},
		{"an entry deleted", func(es []*parley.AccessEntry, _ *parley.AccessHead) []*parley.AccessEntry {
			return slices.Delete(es, 2, 3)
		}, 3, "entry missing"},
		{"the first entry deleted", func(es []*parley.AccessEntry, _ *parley.AccessHead) []*parley.AccessEntry {
			return es[1:]
		}, 1, "entry missing"},
		{"the first entry's previous hash edited", func(es []*parley.AccessEntry, _ *parley.AccessHead) []*parley.AccessEntry {
			es[0].PrevHash = es[1].Hash
			return es
		}, 1, "previous hash"},
		{"the newest two cut off", func(es []*parley.AccessEntry, _ *parley.AccessHead) []*parley.AccessEntry {
			return es[:n-2]
		}, n - 1, "missing at the end"},
		{"every entry cut off", func([]*parley.AccessEntry, *parley.AccessHead) []*parley.AccessEntry { return nil }, 1, "missing at the end"},
		{"an entry beyond the head", func(es []*parley.AccessEntry, head *parley.AccessHead) []*parley.AccessEntry {
			head.Seq, head.Hash = n-1, es[n-2].Hash
			return es
		}, n, "beyond the end"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fresh, head := chainOf(n)
			entries := tc.change(fresh, &head)
			up := parley.NewChainCheck(head)
			for _, e := range entries {
				up.Add(e)
			}
			down := parley.NewChainCheckNewestFirst(head)
			for _, e := range slices.Backward(entries) {
				down.Add(e)
			}
			for order, brk := range map[string]*parley.ChainBreak{"oldest first": up.End(), "newest first": down.End()} {
				switch {
				case tc.seq == 0 && brk != nil:
					t.Errorf("%s: a break in an intact log: %+v", order, brk)
				case tc.seq != 0 && (brk == nil || brk.Seq != tc.seq):
					t.Errorf("%s: %+v, want a break at %d", order, brk, tc.seq)
				}
			}
			if brk := up.End(); tc.seq != 0 && brk != nil && !strings.Contains(brk.Reason, tc.reason) {
				t.Errorf("oldest first: %q, want %q", brk.Reason, tc.reason)
			}
		})
	}
	t.Run("an empty log", func(t *testing.T) {
		head := parley.AccessHead{Hash: parley.GenesisHash}
		if brk := parley.NewChainCheck(head).End(); brk != nil {
			t.Errorf("oldest first: %+v", brk)
		}
		if brk := parley.NewChainCheckNewestFirst(head).End(); brk != nil {
			t.Errorf("newest first: %+v", brk)
		}
	})
}

// entryWithEverything is an entry with every field set, as an app's read
// of two messages logs it, ByUserID set as a closing logs it, and a
// grant's terms as a consent logs them.
func entryWithEverything() parley.AccessEntry {
	expires := time.UnixMicro(1_766_592_000_123_456)
	return parley.AccessEntry{UserID: "u1", Seq: 3, At: time.UnixMicro(1_764_000_000_123_456), ClientID: "films",
		AppName: "Films", GrantID: "g1", Action: "messages.read", ThreadID: "t1", ByUserID: "u2",
		MessageIDs: []string{"m1", "m2"}, MessageCount: 2, FirstSeq: 4, LastSeq: 5,
		Grant: &parley.GrantTerms{Scopes: parley.Scopes{parley.ScopeOpenID, parley.ScopeMessagesRead},
			ThreadScope: parley.ThreadScopeSelected, ExpiresAt: &expires, ThreadIDs: []string{"t1", "t2"}}}
}

// Every field of an entry is in its hash, and no two entries hash alike:
// an entry with any one field changed, or with characters moved from one
// field to the next, no longer has its hash, and neither does the same
// entry after another previous hash.
func TestAccessEntry_EveryFieldIsHashed(t *testing.T) {
	orig := entryWithEverything()
	want := orig.ChainHash(parley.GenesisHash)
	for name, change := range map[string]func(e *parley.AccessEntry){
		"member":                       func(e *parley.AccessEntry) { e.UserID = "u9" },
		"seq":                          func(e *parley.AccessEntry) { e.Seq++ },
		"time":                         func(e *parley.AccessEntry) { e.At = e.At.Add(time.Microsecond) },
		"client ID":                    func(e *parley.AccessEntry) { e.ClientID = "tunes" },
		"app name":                     func(e *parley.AccessEntry) { e.AppName = "Tunes" },
		"grant":                        func(e *parley.AccessEntry) { e.GrantID = "g9" },
		"action":                       func(e *parley.AccessEntry) { e.Action = "threads.read" },
		"thread":                       func(e *parley.AccessEntry) { e.ThreadID = "t9" },
		"closed by":                    func(e *parley.AccessEntry) { e.ByUserID = "u9" },
		"a message ID":                 func(e *parley.AccessEntry) { e.MessageIDs[1] = "m9" },
		"a message ID removed":         func(e *parley.AccessEntry) { e.MessageIDs = e.MessageIDs[:1] },
		"message count":                func(e *parley.AccessEntry) { e.MessageCount = 20 },
		"first seq":                    func(e *parley.AccessEntry) { e.FirstSeq = 1 },
		"last seq":                     func(e *parley.AccessEntry) { e.LastSeq = 9 },
		"granted scopes":               func(e *parley.AccessEntry) { e.Grant.Scopes = parley.Scopes{parley.ScopeOpenID} },
		"granted thread scope":         func(e *parley.AccessEntry) { e.Grant.ThreadScope = parley.ThreadScopeApp },
		"grant's expiry":               func(e *parley.AccessEntry) { e.Grant.ExpiresAt = nil },
		"a granted thread":             func(e *parley.AccessEntry) { e.Grant.ThreadIDs[1] = "t9" },
		"a granted thread removed":     func(e *parley.AccessEntry) { e.Grant.ThreadIDs = e.Grant.ThreadIDs[:1] },
		"the grant's terms removed":    func(e *parley.AccessEntry) { e.Grant = nil },
		"a character moved to the app": func(e *parley.AccessEntry) { e.ClientID, e.AppName = "film", "sFilms" },
		"a character moved to the next message ID": func(e *parley.AccessEntry) {
			e.MessageIDs = []string{"m", "1m2"}
		},
	} {
		e := entryWithEverything()
		change(&e)
		if bytes.Equal(e.ChainHash(parley.GenesisHash), want) {
			t.Errorf("an entry with its %s changed has the same hash", name)
		}
	}
	if bytes.Equal(orig.ChainHash(bytes.Repeat([]byte{1}, 32)), want) {
		t.Error("the same entry after another previous hash has the same hash")
	}
}

// An entry's hash is SHA-256(prev_hash ‖ entry), with the entry's fields
// in a fixed order, a string as its length (uvarint) and its bytes, a
// number as a varint: the member, the seq, the time in microseconds, the
// client ID, the app's name, the grant, the action, the thread, who closed
// or reopened it, the number of message IDs and each of them, the message
// count, the span (first and last seq) when there is one or the entry has
// a grant's terms, and the terms when it has them: the scopes
// space-separated, the thread scope, the expiry in microseconds (0 for
// none), the number of thread IDs and each of them. Anyone can check a log
// from this description, which README gives, and an entry logged before
// spans or terms were recorded keeps the hash it was given.
func TestAccessEntry_HashOfTheDocumentedEncoding(t *testing.T) {
	str := func(b []byte, s string) []byte { return append(binary.AppendUvarint(b, uint64(len(s))), s...) }
	encode := func(e parley.AccessEntry, span bool) []byte {
		b := str(nil, e.UserID)
		b = binary.AppendVarint(b, e.Seq)
		b = binary.AppendVarint(b, e.At.UnixMicro())
		for _, s := range []string{e.ClientID, e.AppName, e.GrantID, e.Action, e.ThreadID, e.ByUserID} {
			b = str(b, s)
		}
		b = binary.AppendVarint(b, int64(len(e.MessageIDs)))
		for _, id := range e.MessageIDs {
			b = str(b, id)
		}
		b = binary.AppendVarint(b, int64(e.MessageCount))
		if span {
			b = binary.AppendVarint(b, e.FirstSeq)
			b = binary.AppendVarint(b, e.LastSeq)
		}
		if g := e.Grant; g != nil {
			b = str(b, g.Scopes.String())
			b = str(b, g.ThreadScope)
			var expires int64
			if g.ExpiresAt != nil {
				expires = g.ExpiresAt.UnixMicro()
			}
			b = binary.AppendVarint(b, expires)
			b = binary.AppendVarint(b, int64(len(g.ThreadIDs)))
			for _, id := range g.ThreadIDs {
				b = str(b, id)
			}
		}
		return b
	}
	withoutTerms := entryWithEverything()
	withoutTerms.Grant = nil
	withoutSpan := withoutTerms
	withoutSpan.FirstSeq, withoutSpan.LastSeq = 0, 0
	termsWithoutSpan := entryWithEverything()
	termsWithoutSpan.FirstSeq, termsWithoutSpan.LastSeq = 0, 0
	neverExpires := entryWithEverything()
	neverExpires.Grant.ExpiresAt = nil
	prev := bytes.Repeat([]byte{0xab}, 32)
	for name, c := range map[string]struct {
		e    parley.AccessEntry
		span bool
	}{
		"with a span and terms":           {entryWithEverything(), true},
		"with a span":                     {withoutTerms, true},
		"with neither":                    {withoutSpan, false},
		"with terms and a span of 0 to 0": {termsWithoutSpan, true},
	} {
		want := sha256.Sum256(append(slices.Clone(prev), encode(c.e, c.span)...))
		if got := c.e.ChainHash(prev); !bytes.Equal(got, want[:]) {
			t.Errorf("an entry %s hashes to %x, want %x", name, got, want)
		}
	}
}
