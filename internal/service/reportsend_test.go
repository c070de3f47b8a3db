package service

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// reportMarkLostTx loses the write that marks one app's report sent, as a
// dropped connection would.
type reportMarkLostTx struct {
	parley.Tx
	clientID string
}

func (t reportMarkLostTx) MarkShareReportSent(ctx context.Context, clientID string, start, at time.Time) (bool, error) {
	if clientID == t.clientID {
		return false, errors.New("the write was lost")
	}
	return t.Tx.MarkShareReportSent(ctx, clientID, start, at)
}

// TestSendFortnightReports_AnAppsFailureLeavesTheOthers: an app whose
// report fails to go does not hold up the apps after it, and the error
// names it; its report goes at the next run.
func TestSendFortnightReports_AnAppsFailureLeavesTheOthers(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			ctx := context.Background()
			now := parley.Now()
			long := now.Add(-60 * 24 * time.Hour)
			var apps []string
			for _, first := range []string{"pc_a", "pc_b"} {
				app := &parley.App{ClientID: first + parley.NewID(), Name: "Films " + first, RedirectURIs: []string{"https://films.example/cb"},
					ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: long}
				e := &parley.WebhookEndpoint{ID: parley.NewID(), ClientID: app.ClientID, URL: "https://films.example/hooks",
					Events: []string{parley.WebhookReportShares}, Created: long, ActiveFrom: long}
				if err := db.Write(ctx, func(tx parley.Tx) error {
					if err := tx.CreateApp(ctx, app, nil); err != nil {
						return err
					}
					return tx.CreateWebhookEndpoint(ctx, e, []byte("sealed"))
				}); err != nil {
					t.Fatal(err)
				}
				apps = append(apps, app.ClientID)
			}
			log := slog.New(slog.DiscardHandler)
			lossy := New(hookedStore{db, func(tx parley.Tx) parley.Tx { return reportMarkLostTx{tx, apps[0]} }}, bus.NewMemory(64), log, Options{})
			n, err := lossy.SendFortnightReports(ctx)
			if n != 1 || err == nil || !strings.Contains(err.Error(), apps[0]) {
				t.Fatalf("sent %d, %v; want the report of %s sent and the error naming %s", n, err, apps[1], apps[0])
			}
			n, err = New(db, bus.NewMemory(64), log, Options{}).SendFortnightReports(ctx)
			if n != 1 || err != nil {
				t.Fatalf("the next run sent %d, %v; want the report that failed", n, err)
			}
		})
	}
}
