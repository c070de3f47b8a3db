package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// benchThreads sets up members in direct threads with one owner, as W1 does.
func benchThreads(b *testing.B, n int) (*apptest.Env, []*client.Client, []string) {
	env := apptest.Start(b, raisedLimits)
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
	return env, members, ids
}

// raisedLimits raises the rate limits out of the benchmarks' reach, as W1
// does, rather than lifting them, so that every request still pays for
// their check; and lets a benchmark sign up more members than one address
// may by default.
func raisedLimits(c *config.Config) {
	c.SignUpsPerAddress = 1000
	c.RateLimitMember, c.RateLimitMemberBurst = 1e6, 1e6
	c.RateLimitApp, c.RateLimitAppBurst = 1e6, 1e6
}

// BenchmarkMessageSend measures durable sends over loopback from concurrent
// clients, each with an idempotency key, as in W1.
func BenchmarkMessageSend(b *testing.B) {
	_, members, threads := benchThreads(b, 8)
	runSends(b, members, threads)
}

// runSends times b.N sends from 8 concurrent senders, thread t's from
// members[t+1], each with its own idempotency key, and reports the CPU
// time the process spent per send.
func runSends(b *testing.B, members []*client.Client, threads []string) {
	text := "bench message " + strings.Repeat("x", 86)
	var n atomic.Int64
	b.SetParallelism(4) // 8 senders on 2 cores
	cpu := cpuTime()
	b.ResetTimer()
	defer func() { b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op") }()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			i := n.Add(1)
			t := int(i) % len(threads)
			if _, err := members[t+1].SendMessage(ctx, threads[t], text, fmt.Sprintf("k%d", i)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// seedHistory fills each thread with 60 messages from its member.
func seedHistory(b *testing.B, members []*client.Client, threads []string) {
	for t, id := range threads {
		for i := range 60 {
			apptest.MustSend(b, members[t+1], id, fmt.Sprintf("bench message %06d %s", i, strings.Repeat("x", 80)))
		}
	}
}

// readPages reads the newest 50 messages of the threads in turn from
// concurrent clients, reader(t) reading thread t, and reports the CPU time
// the process spent per read.
func readPages(b *testing.B, threads []string, reader func(t int) *client.Client) {
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(4)
	cpu := cpuTime()
	b.ResetTimer()
	defer func() { b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op") }()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t := int(n.Add(1)) % len(threads)
			if _, err := reader(t).Messages(ctx, threads[t], client.MessagesQuery{Limit: 50}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkMessageHistory measures reads of a thread's newest 50 messages.
func BenchmarkMessageHistory(b *testing.B) {
	_, members, threads := benchThreads(b, 8)
	seedHistory(b, members, threads)
	readPages(b, threads, func(t int) *client.Client { return members[t+1] })
}

// historyReaders sets up eight threads with history, and the owner's two
// readers of them: the owner, and an app the owner granted messages.read in
// all eight.
func historyReaders(b *testing.B) (member, app *client.Client, threads []string) {
	env, members, threads := benchThreads(b, 8)
	seedHistory(b, members, threads)
	partner := env.MustPartner(b, "Bench")
	tok := env.MustToken(b, partner, "owner", []string{"openid", "messages.read"},
		apptest.Answer{ThreadScope: "selected", Threads: threads})
	return members[0], env.Client.WithToken(tok.AccessToken), threads
}

// BenchmarkHistoryAppVsMember compares a partner's read of a page of 50
// messages, logged in the access log of both members of the thread before
// it returns, with the member's own read of the same page, each from 8
// concurrent clients. Issue 18 asks the app's read to cost at most 1.1 times
// the member's: compare the sub-benchmarks' ns/op, and their cpu-µs/op (the
// process's CPU time per read, which a shared machine disturbs less).
func BenchmarkHistoryAppVsMember(b *testing.B) {
	member, app, threads := historyReaders(b)
	b.Run("member", func(b *testing.B) { readPages(b, threads, func(int) *client.Client { return member }) })
	b.Run("app", func(b *testing.B) { readPages(b, threads, func(int) *client.Client { return app }) })
}

// BenchmarkHistoryAppVsMemberOneAtATime compares the same two reads one at a
// time, alternating, so that both meet the same machine: app/member is the
// ratio of their mean times.
func BenchmarkHistoryAppVsMemberOneAtATime(b *testing.B) {
	member, app, threads := historyReaders(b)
	ctx := context.Background()
	var spent [2]time.Duration
	b.ResetTimer()
	for i := range b.N {
		reader := member
		if i%2 == 1 {
			reader = app
		}
		start := time.Now()
		if _, err := reader.Messages(ctx, threads[i/2%len(threads)], client.MessagesQuery{Limit: 50}); err != nil {
			b.Fatal(err)
		}
		spent[i%2] += time.Since(start)
	}
	if b.N >= 2 {
		b.ReportMetric(float64(spent[0].Microseconds())/float64(b.N/2), "member-µs/read")
		b.ReportMetric(float64(spent[1].Microseconds())/float64(b.N/2), "app-µs/read")
		b.ReportMetric(float64(spent[1])/float64(spent[0]), "app/member")
	}
}

// BenchmarkInbox measures W1's inbox one load at a time: the owner's 51
// threads, each with its newest 10 of 12 messages, in one page of at most
// 55, 510 messages in all. "decoded" reads it as W1 does, through the
// client, which decodes it; "bytes" reads the answer's bytes only, for the
// server's part. Neither checks the answer against the OpenAPI document:
// the check would cost more than the server's answer does.
func BenchmarkInbox(b *testing.B) {
	env, members, threads := benchThreads(b, 51)
	for t, id := range threads {
		for i := range 12 {
			apptest.MustSend(b, members[t+1], id, fmt.Sprintf("bench message %06d %s", i, strings.Repeat("x", 80)))
		}
	}
	ctx := context.Background()
	s, err := client.New(env.URL).SignIn(ctx, "owner", apptest.Password("owner"))
	if err != nil {
		b.Fatal(err)
	}
	owner := client.New(env.URL).WithToken(s.Token)
	b.Run("decoded", func(b *testing.B) {
		inboxLoads(b, func() error {
			p, err := owner.Threads(ctx, client.ThreadsQuery{Limit: 55, Messages: 10})
			if err == nil && (len(p.Threads) != len(threads) || len(p.Threads[0].Messages) != 10) {
				err = fmt.Errorf("%d threads, the first with %d messages; want %d with 10", len(p.Threads), len(p.Threads[0].Messages), len(threads))
			}
			return err
		})
	})
	b.Run("bytes", func(b *testing.B) {
		inboxLoads(b, func() error {
			req, err := http.NewRequestWithContext(ctx, "GET", env.URL+"/api/v1/threads?limit=55&include=messages:10", nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+s.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			n, err := io.Copy(io.Discard, resp.Body)
			if err == nil && (resp.StatusCode != http.StatusOK || n < 100<<10) {
				err = fmt.Errorf("status %d, %d bytes", resp.StatusCode, n)
			}
			return err
		})
	})
}

// inboxLoads times b.N loads one at a time, and reports the CPU time the
// process spent per load.
func inboxLoads(b *testing.B, load func() error) {
	cpu := cpuTime()
	b.ResetTimer()
	defer func() { b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op") }()
	for range b.N {
		if err := load(); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the CPU time the process has used, in user and kernel mode.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
