package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// BenchmarkTakeDueWebhooks_BehindAFullEndpoint takes, on each engine, the
// one due delivery of an endpoint behind the backlog of another that has
// its share of the taker's slots in flight, as an endpoint that never
// answers comes to have: the take reads endpoint by endpoint, so that what
// it costs does not grow with the backlog it passes over. Each take is a
// write, with its commit. With -short (CI runs each benchmark once, to
// show that it works), only the backlog of 1,000.
func BenchmarkTakeDueWebhooks_BehindAFullEndpoint(b *testing.B) {
	backlogs := []int{1_000, 100_000}
	if testing.Short() {
		backlogs = backlogs[:1]
	}
	for _, engine := range sqlstoretest.Engines {
		for _, backlog := range backlogs {
			b.Run(fmt.Sprintf("%s/backlog=%d", engine, backlog), func(b *testing.B) {
				ctx := context.Background()
				db := sqlstoretest.Open(b, engine)
				full, other := newWebhookEndpoint(b, db), newWebhookEndpoint(b, db)
				now := parley.Now()
				for first := 0; first < backlog; first += 1000 {
					ds := make([]parley.NewWebhookDelivery, 0, 1000)
					for i := first; i < first+1000; i++ {
						ds = append(ds, parley.NewWebhookDelivery{ID: fmt.Sprintf("full_%06d", i), EndpointID: full.ID,
							Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now.Add(time.Duration(i) * time.Microsecond)})
					}
					if err := db.Write(ctx, func(tx parley.Tx) error { return tx.EnqueueWebhooks(ctx, ds) }); err != nil {
						b.Fatal(err)
					}
				}
				take := parley.WebhookTake{Limit: 128, PerEndpoint: 32, InFlight: map[string]int{full.ID: 32}}
				i := 0
				for b.Loop() {
					i++
					d := parley.NewWebhookDelivery{ID: fmt.Sprintf("other_%06d", i), EndpointID: other.ID,
						Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: now.Add(time.Second)}
					var due []*parley.DueWebhook
					err := db.Write(ctx, func(tx parley.Tx) (err error) {
						if err := tx.EnqueueWebhooks(ctx, []parley.NewWebhookDelivery{d}); err != nil {
							return err
						}
						due, err = tx.TakeDueWebhooks(ctx, now.Add(2*time.Second), now.Add(time.Hour), take)
						return err
					})
					if err == nil && (len(due) != 1 || due[0].EndpointID != other.ID) {
						err = fmt.Errorf("took %d deliveries, want the other endpoint's one", len(due))
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
