package sqlstore_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// A page of one app's entries reads them through the index of a member's
// entries by app, whatever the arguments the statement is planned for: a
// page costs what it holds, however few of the member's entries are the
// app's, rather than reading the member's whole log.
func TestFindAccessEntries_OneAppsPageThroughItsIndex(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		for _, f := range []parley.AccessFilter{
			{UserID: "alice", ClientID: "tunes", From: math.MaxInt64, Limit: 50},
			{UserID: "alice", ClientID: "tunes", Ascending: true, From: 100, Through: 1000, Limit: 50},
		} {
			if used, err := sqlstore.AccessPageIndex(ctx, db, f); err != nil || used != "access_log_app" {
				t.Errorf("a page of %+v reads the log through %q (%v), want access_log_app", f, used, err)
			}
		}
	})
}

// A page of a member's log: newest first below From, or oldest first above
// it, up to Through when that is set; at most Limit entries, of one app's
// when ClientID is set, and never another member's.
func TestFindAccessEntries_Filter(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ids := mustUsers(t, db, "alice", "bob")
		var records []parley.AccessRecord
		for i := range 10 {
			r := readRecord(ids[0], ids[1])
			if i%2 == 1 {
				r.Entry.ClientID = "other"
			}
			records = append(records, r)
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.AppendAccess(ctx, records) })
		for _, tc := range []struct {
			name   string
			filter parley.AccessFilter
			want   []int64
		}{
			{"NewestFirst", parley.AccessFilter{From: 8, Limit: 3}, []int64{7, 6, 5}},
			{"OldestFirst", parley.AccessFilter{Ascending: true, From: 3, Limit: 3}, []int64{4, 5, 6}},
			{"OldestFirstThrough", parley.AccessFilter{Ascending: true, From: 3, Through: 5, Limit: 10}, []int64{4, 5}},
			{"ThroughPastTheEnd", parley.AccessFilter{Ascending: true, From: 8, Through: 20, Limit: 10}, []int64{9, 10}},
			{"ThroughAndLimit", parley.AccessFilter{Ascending: true, Through: 9, Limit: 2}, []int64{1, 2}},
			{"OneApp", parley.AccessFilter{ClientID: "other", Ascending: true, Through: 6, Limit: 10}, []int64{2, 4, 6}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var got []*parley.AccessEntry
				err := db.Read(ctx, func(tx parley.Tx) (err error) {
					f := tc.filter
					f.UserID = ids[0]
					got, err = tx.FindAccessEntries(ctx, f)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				var seqs []int64
				for _, e := range got {
					if e.UserID != ids[0] {
						t.Errorf("entry %d is %s's", e.Seq, e.UserID)
					}
					seqs = append(seqs, e.Seq)
				}
				if !slices.Equal(seqs, tc.want) {
					t.Errorf("seqs %v, want %v", seqs, tc.want)
				}
			})
		}
	})
}

// An append is part of its write, whichever of the write's round trips
// carries it (on PostgreSQL the entries go with the next statement or the
// COMMIT): a later statement of the write finds them; and when they cannot
// be written (here, over an entry forged at the seq the next one takes),
// the write fails, keeps nothing of what it did, and the store goes on.
func TestAppendAccess_PartOfItsWrite(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ids := mustUsers(t, db, "alice", "bob")
		_, th := newGroup(t, db, "carol")
		var heads []parley.AccessHead
		mustWrite(t, db, func(tx parley.Tx) (err error) {
			if err := tx.AppendAccess(ctx, []parley.AccessRecord{readRecord(ids[0], ids[1])}); err != nil {
				return err
			}
			heads, err = tx.FindAccessHeads(ctx, ids)
			return err
		})
		if heads[0].Seq != 1 || heads[1].Seq != 1 {
			t.Fatalf("the write found heads %+v after its append, want each at 1", heads)
		}

		forged := *logOf(t, db, ids[0])[0]
		forged.Seq = 2
		if err := sqlstore.ForgeAccessEntry(ctx, db, &forged); err != nil {
			t.Fatal(err)
		}
		before, err := sqlstore.Digest(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		for _, then := range []string{"nothing", "a read"} {
			err := db.Write(ctx, func(tx parley.Tx) error {
				if err := tx.RenameThread(ctx, th.ID, "renamed", parley.Now()); err != nil {
					return err
				}
				if err := tx.AppendAccess(ctx, []parley.AccessRecord{readRecord(ids[0], ids[1])}); err != nil {
					return err
				}
				if then == "a read" {
					_, err := tx.FindThreadByID(ctx, th.ID)
					return err
				}
				return nil
			})
			if err == nil {
				t.Errorf("a write appending over a forged entry, then %s, succeeded", then)
			}
			if after, err := sqlstore.Digest(ctx, db); err != nil || after != before {
				t.Errorf("the failed write, then %s, changed the store (%v)", then, err)
			}
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.RenameThread(ctx, th.ID, "renamed", parley.Now()) })
	})
}

// An entry that made or changed a grant keeps the grant's terms (its
// scopes, thread scope, expiry and the threads the change was about) as
// they were appended, and its hash covers them; an entry without terms
// reads back without any.
func TestAppendAccess_KeepsAGrantsTerms(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ids := mustUsers(t, db, "alice")
		expires := parley.Now().Add(30 * 24 * time.Hour)
		terms := []*parley.GrantTerms{
			{Scopes: parley.Scopes{parley.ScopeOpenID, parley.ScopeMessagesRead}, ThreadScope: parley.ThreadScopeSelected,
				ExpiresAt: &expires, ThreadIDs: []string{"t1", "t2"}},
			{Scopes: parley.Scopes{parley.ScopeOpenID}, ThreadScope: parley.ThreadScopeApp},
			nil,
		}
		var records []parley.AccessRecord
		for _, g := range terms {
			e := parley.AccessEntry{At: parley.Now(), ClientID: "films", AppName: "Films", GrantID: "g1",
				Action: parley.ActionGrantCreated, Grant: g}
			records = append(records, parley.AccessRecord{Entry: e, UserIDs: ids})
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.AppendAccess(ctx, records) })
		got := logOf(t, db, ids[0])
		if len(got) != len(terms) {
			t.Fatalf("%d entries, want %d", len(got), len(terms))
		}
		for i, want := range terms {
			g := got[i].Grant
			switch {
			case want == nil && g != nil:
				t.Errorf("entry %d reads back with terms %+v, appended without", i+1, g)
			case want == nil:
			case g == nil:
				t.Errorf("entry %d reads back without its terms", i+1)
			case !slices.Equal(g.Scopes, want.Scopes) || g.ThreadScope != want.ThreadScope ||
				!slices.Equal(g.ThreadIDs, want.ThreadIDs) || (g.ExpiresAt == nil) != (want.ExpiresAt == nil) ||
				g.ExpiresAt != nil && !g.ExpiresAt.Equal(*want.ExpiresAt):
				t.Errorf("entry %d reads back with terms %+v, want %+v", i+1, g, want)
			}
		}
	})
}
