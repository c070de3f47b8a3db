package service

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// TestAccessGroups_Lines: the access log reads as lines. Consecutive like
// reads (same app, grant, action and thread, none more than GroupGap
// after the next) are one line, counting each message read once; a write,
// a grant's change, another thread, app or action, or a longer pause
// starts a new line. Entries are given newest first, as the log is read.
func TestAccessGroups_Lines(t *testing.T) {
	start := time.Date(2026, 11, 22, 10, 32, 0, 0, time.UTC)
	read := func(sec int, thread string, first, last int64) *parley.AccessEntry {
		e := &parley.AccessEntry{At: start.Add(time.Duration(sec) * time.Second), ClientID: "films", GrantID: "g1",
			Action: string(parley.ScopeMessagesRead), ThreadID: thread, FirstSeq: first, LastSeq: last}
		if last > 0 {
			e.MessageCount = int(last - first + 1)
		}
		return e
	}
	with := func(e *parley.AccessEntry, change func(*parley.AccessEntry)) *parley.AccessEntry { change(e); return e }
	type line struct {
		count, messages int
	}
	tests := []struct {
		name    string
		entries []*parley.AccessEntry // oldest first; reversed for grouping
		want    []line                // newest first
	}{
		{"polling once a second is one line", []*parley.AccessEntry{
			read(0, "bob", 1, 1), read(1, "bob", 0, 0), read(2, "bob", 2, 3), read(3, "bob", 0, 0),
		}, []line{{4, 3}}},
		{"a message read again counts once", []*parley.AccessEntry{
			read(0, "bob", 1, 5), read(1, "bob", 4, 6), read(2, "bob", 1, 6),
		}, []line{{3, 6}}},
		{"a pause longer than the gap starts a line", []*parley.AccessEntry{
			read(0, "bob", 1, 1), read(int(GroupGap.Seconds()), "bob", 0, 0), read(int(GroupGap.Seconds())*2+1, "bob", 2, 2),
		}, []line{{1, 1}, {2, 1}}},
		{"another thread starts a line", []*parley.AccessEntry{
			read(0, "bob", 1, 1), read(1, "carol", 1, 1), read(2, "bob", 2, 2),
		}, []line{{1, 1}, {1, 1}, {1, 1}}},
		{"another app or grant starts a line", []*parley.AccessEntry{
			read(0, "bob", 0, 0), with(read(1, "bob", 0, 0), func(e *parley.AccessEntry) { e.ClientID = "music" }),
			with(read(2, "bob", 0, 0), func(e *parley.AccessEntry) { e.GrantID = "g2" }),
		}, []line{{1, 0}, {1, 0}, {1, 0}}},
		{"writes are lines of their own", []*parley.AccessEntry{
			with(read(0, "bob", 7, 7), func(e *parley.AccessEntry) { e.Action = string(parley.ScopeMessagesWrite) }),
			with(read(1, "bob", 8, 8), func(e *parley.AccessEntry) { e.Action = string(parley.ScopeMessagesWrite) }),
		}, []line{{1, 1}, {1, 1}}},
		{"a grant's change splits a run", []*parley.AccessEntry{
			read(0, "bob", 1, 1), with(read(1, "", 0, 0), func(e *parley.AccessEntry) { e.Action = parley.ActionGrantNarrowed }),
			read(2, "bob", 2, 2),
		}, []line{{1, 1}, {1, 0}, {1, 1}}},
		{"another action starts a line", []*parley.AccessEntry{
			read(0, "bob", 1, 1), with(read(1, "bob", 0, 0), func(e *parley.AccessEntry) { e.Action = string(parley.ScopeParticipantsRead) }),
		}, []line{{1, 0}, {1, 1}}},
		{"a read of scattered messages claims none between them", []*parley.AccessEntry{
			// History 1 to 9, then the changes feed: message 2 deleted,
			// message 10 new; the changes' span holds 3 to 9 unread.
			read(0, "bob", 1, 9), with(read(1, "bob", 2, 10), func(e *parley.AccessEntry) { e.MessageCount = 2 }),
			// and the other way round: changes first, then history.
			read(int(GroupGap.Seconds())*2, "carol", 0, 0),
			with(read(int(GroupGap.Seconds())*4, "bob", 2, 10), func(e *parley.AccessEntry) { e.MessageCount = 2 }),
			read(int(GroupGap.Seconds())*4+1, "bob", 1, 9),
		}, []line{{2, 10}, {1, 0}, {2, 10}}},
		{"entries logged before spans count as they are", []*parley.AccessEntry{
			with(read(0, "bob", 0, 0), func(e *parley.AccessEntry) { e.MessageCount = 2 }), read(1, "bob", 1, 1),
		}, []line{{2, 3}}},
		{"nothing is no line", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			newestFirst := make([]*parley.AccessEntry, len(tc.entries))
			for i, e := range tc.entries {
				e.Seq = int64(i + 1)
				newestFirst[len(tc.entries)-1-i] = e
			}
			groups := appendGrouped(nil, newestFirst)
			if len(groups) != len(tc.want) {
				t.Fatalf("%d lines, want %d", len(groups), len(tc.want))
			}
			for i, g := range groups {
				if g.Count != tc.want[i].count || g.Messages != tc.want[i].messages {
					t.Errorf("line %d: %d entries and %d messages, want %d and %d", i, g.Count, g.Messages, tc.want[i].count, tc.want[i].messages)
				}
				if g.To != g.Latest.At || g.From.After(g.To) {
					t.Errorf("line %d runs from %v to %v, its latest at %v", i, g.From, g.To, g.Latest.At)
				}
			}
			// Grouping in two parts, split after any whole line, gives the
			// same lines: a page cut there cuts no run.
			for cut, seen := 0, 0; cut < len(groups)-1; cut++ {
				seen += groups[cut].Count
				again := appendGrouped(appendGrouped(nil, newestFirst[:seen])[:cut+1:cut+1], newestFirst[seen:])
				if len(again) != len(groups) {
					t.Errorf("split after line %d: %d lines, want %d", cut, len(again), len(groups))
				}
			}
		})
	}
}

// TestSpanSet_CountsEachSeqOnce: ranges added to a span set count only
// the seqs not in it yet, however they overlap or touch.
func TestSpanSet_CountsEachSeqOnce(t *testing.T) {
	var s spanSet
	for _, tc := range []struct {
		lo, hi int64
		fresh  int
	}{{5, 7, 3}, {1, 2, 2}, {3, 4, 2}, {1, 8, 1}, {10, 12, 3}, {6, 11, 1}, {12, 12, 0}} {
		if got := s.add(tc.lo, tc.hi); got != tc.fresh {
			t.Errorf("add %d..%d: %d new, want %d (set %v)", tc.lo, tc.hi, got, tc.fresh, s)
		}
	}
	if len(s) != 1 || s[0] != [2]int64{1, 12} {
		t.Errorf("set %v, want one range 1..12", s)
	}
}
