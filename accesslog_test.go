package parley_test

import (
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
