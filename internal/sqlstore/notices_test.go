package sqlstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// A thread's notices come back latest limit first cut, oldest first, each
// with its member's and app's names and its grant's scopes as they are now;
// another thread's stay out. AddGrantThread reports whether it added.
func TestThreadNotices_LatestOldestFirst(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := parley.Now()
		u, other := newUser("alice"), newUser("bob")
		app := &parley.App{ClientID: "pc_films", Name: "Films", RedirectURIs: []string{"https://films.example/cb"}, ClientType: parley.ClientPublic, State: parley.AppActive, CreatedAt: now}
		g := &parley.Grant{ID: parley.NewID(), UserID: u.ID, ClientID: app.ClientID, Scopes: parley.Scopes{parley.ScopeOpenID, parley.ScopeMessagesRead},
			ThreadScope: parley.ThreadScopeSelected, CreatedAt: now, UpdatedAt: now}
		th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "t", CreatedBy: u.ID, LastActivityAt: now, CreatedAt: now}
		elsewhere := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "u", CreatedBy: u.ID, LastActivityAt: now, CreatedAt: now}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, err := range []error{tx.CreateUser(ctx, u, "hash"), tx.CreateUser(ctx, other, "hash"), tx.CreateApp(ctx, app, nil),
				tx.CreateGrant(ctx, g), tx.CreateThread(ctx, th), tx.CreateThread(ctx, elsewhere)} {
				if err != nil {
					return err
				}
			}
			for i, added := range []bool{true, false} {
				got, err := tx.AddGrantThread(ctx, parley.GrantThread{GrantID: g.ID, ThreadID: th.ID, VisibleFromSeq: int64(i + 1)})
				if err != nil {
					return err
				}
				if got != added {
					t.Errorf("AddGrantThread the %d. time reports %v, want %v", i+1, got, added)
				}
			}
			notices := []*parley.ThreadNotice{
				{ThreadID: th.ID, Kind: parley.NoticeAppAdded, By: u.Ref(), ClientID: app.ClientID, GrantID: g.ID, Scopes: g.Scopes},
				{ThreadID: th.ID, Kind: parley.NoticeAppsClosed, By: other.Ref()},
				{ThreadID: elsewhere.ID, Kind: parley.NoticeAppsClosed, By: other.Ref()},
				{ThreadID: th.ID, Kind: parley.NoticeAppsReopened, By: other.Ref()},
			}
			for i, n := range notices {
				n.ID, n.At = parley.NewID(), now.Add(time.Duration(i)*time.Second)
				if err := tx.AddThreadNotice(ctx, n); err != nil {
					return err
				}
			}
			// The grant widened after: the notice keeps what it said.
			widened := *g
			widened.Scopes = g.Scopes.Union(parley.Scopes{parley.ScopeMessagesWrite})
			return tx.UpdateGrant(ctx, &widened)
		})
		find := func(limit int) []parley.ThreadNotice {
			var list []parley.ThreadNotice
			err := db.Read(ctx, func(tx parley.Tx) (err error) {
				list, err = tx.FindThreadNotices(ctx, th.ID, limit)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return list
		}
		all := find(10)
		var kinds []string
		for _, n := range all {
			kinds = append(kinds, n.Kind)
		}
		if want := []string{parley.NoticeAppAdded, parley.NoticeAppsClosed, parley.NoticeAppsReopened}; !slices.Equal(kinds, want) {
			t.Fatalf("notices %v, want %v", kinds, want)
		}
		added := all[0]
		if added.By.Username != "alice" || added.AppName != "Films" || added.ClientID != app.ClientID || added.GrantID != g.ID ||
			!slices.Equal(added.Scopes, g.Scopes) || !added.At.Equal(now.Truncate(time.Microsecond)) {
			t.Errorf("the app notice reads back as %+v", added)
		}
		if closed := all[1]; closed.By.Username != "bob" || closed.AppName != "" || closed.GrantID != "" {
			t.Errorf("the closing reads back as %+v", closed)
		}
		if latest := find(2); len(latest) != 2 || latest[0].Kind != parley.NoticeAppsClosed || latest[1].Kind != parley.NoticeAppsReopened {
			t.Errorf("the latest two: %+v", latest)
		}
	})
}
