package httpapi_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// BenchmarkEventsAppVsMember compares what a partner's realtime stream
// costs the server per event with what a member's own stream costs. Each
// op is three sends, one into each of three threads a sender shares with
// one member: alice, whose own 8 streams are open; bob, whose app holds 8
// streams under his grant of the thread; and carol, with no stream, whose
// sends measure the send alone. Each send is timed, in the process's CPU,
// until every stream of its thread has its event; a stream's cost per
// event is its thread's CPU per send less carol's, over the 8 streams.
// Issue 18 asks the app's stream to cost at most 1.2 times the member's:
// read app/member.
func BenchmarkEventsAppVsMember(b *testing.B) {
	const streams = 8
	env := apptest.Start(b, raisedLimits)
	ctx := context.Background()
	sender := env.MustMember(b, "sender")
	threads, members := map[string]string{}, map[string]*client.Client{}
	for _, name := range []string{"alice", "bob", "carol"} {
		members[name] = env.MustMember(b, name)
		apptest.MustFriends(b, sender, members[name])
		threads[name] = apptest.MustThread(b, sender, name).ID
	}
	partner := env.MustPartner(b, "Bench")
	tok := env.MustToken(b, partner, "bob", []string{"openid", "messages.read"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{threads["bob"]}})
	app := env.Client.WithToken(tok.AccessToken)

	// received carries one value for each message.created event any
	// stream of a reader gets.
	received := map[string]chan struct{}{"alice": make(chan struct{}, 1024), "bob": make(chan struct{}, 1024)}
	listen := func(c *client.Client, got chan<- struct{}) {
		for range streams {
			s, err := c.Events(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			go func() {
				for {
					ev, err := s.Next(ctx)
					if err != nil {
						return
					}
					if ev.Type == "message.created" {
						got <- struct{}{}
					}
				}
			}()
		}
	}
	listen(members["alice"], received["alice"])
	listen(app, received["bob"])

	var spent = map[string]time.Duration{}
	send := func(i int, name string) {
		cpu := cpuTime()
		if _, err := sender.SendMessage(ctx, threads[name], "bench event", fmt.Sprintf("%s-%d", name, i)); err != nil {
			b.Fatal(err)
		}
		if got := received[name]; got != nil {
			for range streams {
				<-got
			}
		}
		spent[name] += cpuTime() - cpu
	}
	// Sends go in blocks of 100 to one thread, then the next, so that what
	// a send leaves for later (folding logged reads, collecting garbage)
	// mostly falls in its own thread's block.
	const block = 100
	b.ResetTimer()
	for start := 0; start < b.N; start += block {
		for _, name := range []string{"alice", "bob", "carol"} {
			for i := start; i < min(start+block, b.N); i++ {
				send(i, name)
			}
		}
	}
	perEvent := func(name string) float64 {
		return float64((spent[name] - spent["carol"]).Microseconds()) / float64(b.N*streams)
	}
	member, partnerApp := perEvent("alice"), perEvent("bob")
	b.ReportMetric(member, "member-cpu-µs/event")
	b.ReportMetric(partnerApp, "app-cpu-µs/event")
	if member > 0 {
		b.ReportMetric(partnerApp/member, "app/member")
	}
}
