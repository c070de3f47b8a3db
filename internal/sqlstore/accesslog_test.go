package sqlstore_test

import (
	"context"
	"math"
	"slices"
	"testing"

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
