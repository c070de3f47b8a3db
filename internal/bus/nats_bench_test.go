package bus_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
)

// BenchmarkNATS_CrossNode measures delivery from a publish on node A to a
// subscription on node B, through the NATS server: latency from the call
// to Publish to receipt (p50, p99) and events delivered per second.
// OneAtATime publishes each event once the last arrived; Publishers16 has
// sixteen publishers at once, as a busy node would.
func BenchmarkNATS_CrossNode(b *testing.B) {
	url := apptest.NATS(b)
	for _, bc := range []struct {
		name       string
		publishers int
	}{{"OneAtATime", 1}, {"Publishers16", 16}} {
		b.Run(bc.name, func(b *testing.B) {
			opts := natsOptions(b, url)
			opts.Buffer = b.N + 1
			a, node := mustNATS(b, url, opts), mustNATS(b, url, opts)
			sub := mustSubscribe(b, node, "alice")
			latencies := make([]time.Duration, 0, b.N)
			received := make(chan struct{})
			arrived := make(chan struct{}, b.N)
			go func() {
				defer close(received)
				for range b.N {
					ev, ok := <-sub.C()
					if !ok {
						return
					}
					var sent int64
					json.Unmarshal(ev.Data, &sent)
					latencies = append(latencies, time.Since(time.Unix(0, sent)))
					arrived <- struct{}{}
				}
			}()
			start := time.Now()
			b.ResetTimer()
			next := make(chan struct{}, b.N)
			for range b.N {
				next <- struct{}{}
			}
			close(next)
			done := make(chan struct{})
			for range bc.publishers {
				go func() {
					defer func() { done <- struct{}{} }()
					for range next {
						ev := parley.NewEvent(parley.EventMessageCreated, "t1", time.Now().UnixNano())
						if err := a.Publish(context.Background(), []string{"alice"}, ev); err != nil {
							b.Error(err)
							return
						}
						if bc.publishers == 1 {
							select {
							case <-arrived:
							case <-received: // the subscription ended
								return
							}
						}
					}
				}()
			}
			for range bc.publishers {
				<-done
			}
			<-received
			elapsed := time.Since(start)
			b.StopTimer()
			if len(latencies) != b.N {
				b.Fatalf("received %d of %d events (dropped=%v)", len(latencies), b.N, sub.Dropped())
			}
			slices.Sort(latencies)
			b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
		})
	}
}
