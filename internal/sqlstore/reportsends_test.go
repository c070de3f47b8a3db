package sqlstore_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// A fortnight's share report is due to each active app with an endpoint
// subscribed to report.shares by the fortnight's end, until it is marked
// sent; of many writes marking it at once, exactly one succeeds, and a
// write that fails leaves it due.
func TestShares_ReportsDueAndMarkedOnce(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		start := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
		end := start.Add(14 * 24 * time.Hour)
		app := func(name, state string, activeFrom time.Time, events ...string) string {
			a := &parley.App{ClientID: "pc_" + parley.NewID(), Name: name, RedirectURIs: []string{"https://m.example/cb"},
				ClientType: parley.ClientConfidential, State: state, CreatedAt: start}
			e := &parley.WebhookEndpoint{ID: parley.NewID(), ClientID: a.ClientID, URL: "https://m.example/hooks",
				Events: events, Created: start, ActiveFrom: activeFrom}
			mustWrite(t, db, func(tx parley.Tx) error {
				if err := tx.CreateApp(ctx, a, nil); err != nil {
					return err
				}
				return tx.CreateWebhookEndpoint(ctx, e, []byte("sealed"))
			})
			return a.ClientID
		}
		subscribed := app("Films", parley.AppActive, start, parley.WebhookMessageCreated, parley.WebhookReportShares)
		atTheEnd := app("Songs", parley.AppActive, end, parley.WebhookReportShares)
		app("Books", parley.AppActive, start, parley.WebhookMessageCreated)
		app("Late", parley.AppActive, end.Add(time.Second), parley.WebhookReportShares)
		app("Suspended", parley.AppSuspended, start, parley.WebhookReportShares)

		due := func() []string {
			t.Helper()
			var ids []string
			if err := db.Read(ctx, func(tx parley.Tx) (err error) {
				ids, err = tx.FindShareReportsDue(ctx, start, end)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return ids
		}
		want := []string{subscribed, atTheEnd}
		slices.Sort(want)
		if got := due(); !slices.Equal(got, want) {
			t.Fatalf("due %v, want %v", got, want)
		}

		// A write that marks a report and then fails leaves it due.
		if err := db.Write(ctx, func(tx parley.Tx) error {
			if _, err := tx.MarkShareReportSent(ctx, subscribed, start, end); err != nil {
				return err
			}
			return parley.Errorf(parley.EINTERNAL, "the enqueue failed")
		}); parley.ErrorCode(err) != parley.EINTERNAL {
			t.Fatal(err)
		}
		if got := due(); !slices.Equal(got, want) {
			t.Fatalf("due after a failed write %v, want %v", got, want)
		}

		var mu sync.Mutex
		var wg sync.WaitGroup
		marked := 0
		for range 8 {
			wg.Go(func() {
				err := db.Write(ctx, func(tx parley.Tx) error {
					ok, err := tx.MarkShareReportSent(ctx, subscribed, start, end)
					if ok {
						mu.Lock()
						marked++
						mu.Unlock()
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if marked != 1 {
			t.Fatalf("the report was marked sent by %d writes, want 1", marked)
		}
		if got := due(); !slices.Equal(got, []string{atTheEnd}) {
			t.Fatalf("due once sent %v, want only %s", got, atTheEnd)
		}
		// The next fortnight is due to it again.
		var next []string
		if err := db.Read(ctx, func(tx parley.Tx) (err error) {
			next, err = tx.FindShareReportsDue(ctx, end, end.Add(14*24*time.Hour))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(next, subscribed) {
			t.Fatalf("the next fortnight due to %v, want %s among them", next, subscribed)
		}
	})
}
