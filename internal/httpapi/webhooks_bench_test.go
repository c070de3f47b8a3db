package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// benchReceiver is a fast webhook receiver: it answers 204 at once and
// notes how long each delivery took from the enqueue (the payload's
// timestamp) to its arrival, by the server's clock (now).
type benchReceiver struct {
	*httptest.Server
	now       func() time.Time
	mu        sync.Mutex
	latencies []time.Duration
	want      int
	done      chan struct{}
}

func newBenchReceiver(tb testing.TB) *benchReceiver {
	rc := &benchReceiver{done: make(chan struct{}), now: time.Now}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived := rc.now()
		var p struct {
			Timestamp time.Time `json:"timestamp"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &p); err != nil {
			tb.Error(err)
		}
		w.WriteHeader(http.StatusNoContent)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.latencies = append(rc.latencies, arrived.Sub(p.Timestamp))
		if len(rc.latencies) == rc.want {
			close(rc.done)
		}
	}))
	tb.Cleanup(rc.Close)
	return rc
}

// expect resets the receiver to wait for n deliveries.
func (rc *benchReceiver) expect(n int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.latencies, rc.want, rc.done = nil, n, make(chan struct{})
}

// percentile returns the p-th percentile of the latencies noted.
func (rc *benchReceiver) percentile(p float64) time.Duration {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	l := slices.Clone(rc.latencies)
	slices.Sort(l)
	if len(l) == 0 {
		return 0
	}
	return l[min(len(l)-1, int(float64(len(l))*p))]
}

// hookedThreads is benchThreads with an app of the owner's, endpoints of it
// subscribed to message.created on rc, and, when reach is set, the owner's
// grant to it, which reaches every thread. Members' rate limits are raised
// out of reach, as benchThreads raises them.
func hookedThreads(b *testing.B, n, endpoints int, rc *benchReceiver, reach bool) ([]*client.Client, []string) {
	env := apptest.Start(b, allowLoopback, raisedLimits)
	rc.now = env.Clock.Now // ahead of the wall clock by WebhookActivation, below
	owner := env.MustMember(b, "owner")
	members := []*client.Client{owner}
	var ids []string
	for i := range n {
		name := fmt.Sprintf("member%03d", i)
		m := env.MustMember(b, name)
		apptest.MustFriends(b, owner, m)
		ids = append(ids, apptest.MustThread(b, owner, name).ID)
		members = append(members, m)
	}
	partner := env.MustPartnerOf(b, "Movie Club", "owner")
	if reach {
		env.MustToken(b, partner, "owner", []string{"openid", "messages.read"}, apptest.Answer{ThreadScope: "selected", Threads: ids})
	}
	for range endpoints {
		if _, err := owner.Do(context.Background(), "POST", "/api/v1/apps/"+partner.App.ClientID+"/webhooks",
			map[string]any{"url": rc.URL, "events": []string{"message.created"}}, nil); err != nil {
			b.Fatal(err)
		}
	}
	env.Clock.Advance(parley.WebhookActivation)
	return members, ids
}

// BenchmarkWebhooks_Delivery measures delivery to a fast receiver on
// loopback: b.N deliveries, four per message sent (four endpoints), sent by
// 8 concurrent senders. It reports deliveries per second, from the first
// send to the last arrival, and the time from each event's enqueue, in the
// send's transaction, to its arrival.
func BenchmarkWebhooks_Delivery(b *testing.B) {
	const endpoints = 4
	rc := newBenchReceiver(b)
	members, threads := hookedThreads(b, 8, endpoints, rc, true)
	text := "bench message " + strings.Repeat("x", 86)
	sends := (b.N + endpoints - 1) / endpoints
	rc.expect(sends * endpoints)
	var n atomic.Int64
	b.SetParallelism(4)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			i := n.Add(1)
			if i > int64(sends) {
				continue
			}
			t := int(i) % len(threads)
			if _, err := members[t+1].SendMessage(ctx, threads[t], text, ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
	select {
	case <-rc.done:
	case <-time.After(time.Minute):
		b.Fatal("deliveries did not all arrive within a minute")
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(sends*endpoints)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(rc.percentile(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(rc.percentile(0.99).Microseconds())/1000, "p99-ms")
}

// BenchmarkMessageSend_WebhookSubscribed is BenchmarkMessageSend with one
// endpoint subscribed to message.created. In Idle its app has no grant, so
// a send pays only for finding no one to tell; in Reaching the app's grant
// reaches every thread, so each send also enqueues a delivery in its
// transaction, which the node's worker takes, logs for the thread's
// participants, sends and records, on the same cores. Compare their sends
// per second with BenchmarkMessageSend's.
func BenchmarkMessageSend_WebhookSubscribed(b *testing.B) {
	for _, reach := range []bool{false, true} {
		name := map[bool]string{false: "Idle", true: "Reaching"}[reach]
		b.Run(name, func(b *testing.B) {
			rc := newBenchReceiver(b)
			members, threads := hookedThreads(b, 8, 1, rc, reach)
			rc.expect(-1)
			runSends(b, members, threads)
		})
	}
}
