// Command conns measures many realtime connections on one Parley node
// (issue 18, item 5): it starts a server, holds --conns WebSocket
// connections to it over loopback, reads the server's resident memory per
// idle connection, then sends messages into a group thread whose --group
// members each hold one of the connections and times each message's
// arrival at every one of them, while the other connections stay open.
//
//	go run ./bench/conns                  # 10,000 connections, a group of 100
//	go run ./bench/conns --conns 1000     # a quick check
//
// It raises its own limit of open files to the hard limit, which the
// server it starts inherits.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/parleyhq/parley/bench/internal/benchkit"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/service"
)

const (
	accountWorkers = 4
	// spareFiles are descriptors beyond the connections: the HTTP
	// client's, the binary's, the log's.
	spareFiles      = 500
	settle          = 2 * time.Second
	deliveryTimeout = 10 * time.Second
	maxIdleBytes    = 20 << 10
	maxP99          = 50 * time.Millisecond
)

type options struct {
	conns, group, holders, sends, dialers int
	gap                                   time.Duration
	database                              string
}

func main() {
	var o options
	flag.IntVar(&o.conns, "conns", 10000, "realtime connections to hold, the group's included")
	flag.IntVar(&o.group, "group", 100, "members of the group thread, each holding one connection")
	flag.IntVar(&o.holders, "holders", 100, "members outside the group who hold the other connections between them")
	flag.IntVar(&o.sends, "sends", 100, "messages sent into the group")
	flag.DurationVar(&o.gap, "gap", 50*time.Millisecond, "time between the starts of two sends")
	flag.IntVar(&o.dialers, "dialers", 16, "connections opened at once")
	flag.StringVar(&o.database, "database", "", "PostgreSQL URL (postgres://…) of an empty database or schema for the server; empty: the embedded database")
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "conns:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "conns: FAILED:", err)
		os.Exit(1)
	}
}

func (o options) check() error {
	switch {
	case flag.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	case o.group < 2 || o.group > 256:
		return errors.New("--group must be 2 to 256, the largest a thread may be")
	case o.conns < o.group || o.holders < 1 || o.sends < 1 || o.dialers < 1:
		return errors.New("--conns must be at least --group; --holders, --sends and --dialers at least 1")
	case (o.conns-o.group+o.holders-1)/o.holders > service.MaxStreams:
		return fmt.Errorf("--holders must be at least (--conns - --group) / %d: a member holds at most %d connections", service.MaxStreams, service.MaxStreams)
	}
	return raiseFileLimit(o.conns + spareFiles)
}

// raiseFileLimit raises the soft limit of open files to the hard limit,
// for this process and the server it starts, and fails when that is below
// need.
func raiseFileLimit(need int) error {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return err
	}
	if r.Max < uint64(need) {
		return fmt.Errorf("the hard limit of open files is %d, below the %d needed: raise it (ulimit -Hn) or lower --conns", r.Max, need)
	}
	r.Cur = r.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
}

// arrival is a message.created event's arrival at a group member.
type arrival struct {
	seq int64
	at  time.Time
}

func run(ctx context.Context, o options) error {
	srv, err := benchkit.Start(ctx, benchkit.Options{Database: o.database})
	if err != nil {
		return err
	}
	defer srv.Cleanup(false)

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy, tr.MaxIdleConnsPerHost = nil, o.dialers+accountWorkers
	base := client.New(srv.URL).WithHTTPClient(&http.Client{Transport: tr})

	// Members g000 … are the group, h000 … hold the other connections.
	names := make([]string, o.group+o.holders)
	for i := range names {
		if i < o.group {
			names[i] = fmt.Sprintf("g%03d", i)
		} else {
			names[i] = fmt.Sprintf("h%03d", i-o.group)
		}
	}
	users := make([]*client.Client, len(names))
	bar := benchkit.NewBar(len(names), "accounts", "members")
	_, err = benchkit.RunWorkers(ctx, accountWorkers, len(names), func(ctx context.Context, i int) error {
		pw := "bench-password-" + names[i]
		if _, err := base.CreateAccount(ctx, names[i], pw, ""); err != nil {
			return fmt.Errorf("create account %s: %w", names[i], err)
		}
		s, err := base.SignIn(ctx, names[i], pw)
		if err != nil {
			return fmt.Errorf("sign in %s: %w", names[i], err)
		}
		users[i] = base.WithToken(s.Token)
		bar.Add(1)
		return nil
	})
	bar.Finish()
	if err != nil {
		return err
	}
	_, err = benchkit.RunWorkers(ctx, accountWorkers, o.group-1, func(ctx context.Context, i int) error {
		if _, err := users[0].AddFriend(ctx, names[i+1]); err != nil {
			return fmt.Errorf("g000 asks %s to be friends: %w", names[i+1], err)
		}
		_, err := users[i+1].AddFriend(ctx, names[0])
		return err
	})
	if err != nil {
		return err
	}
	thread, err := users[0].CreateThread(ctx, client.NewThread{Kind: client.ThreadGroup, Title: "conns", Participants: names[1:o.group]})
	if err != nil {
		return fmt.Errorf("create the group: %w", err)
	}

	// A fresh server process: the memory argon2id took for the accounts
	// would otherwise be reused by the connections and hide their cost.
	// Sessions are in the store, so the tokens still work.
	tr.CloseIdleConnections()
	if err := srv.Restart(ctx); err != nil {
		return err
	}
	pid := srv.Cmd.Process.Pid
	time.Sleep(settle)
	rss0, err := benchkit.RSS(pid)
	if err != nil {
		return err
	}

	connCtx, closeAll := context.WithCancel(ctx)
	defer closeAll()
	arrivals := make(chan arrival, o.sends*o.group)
	var closed atomic.Int64 // connections that ended before closeAll
	var readers sync.WaitGroup
	bar = benchkit.NewBar(o.conns, "connections", "conns")
	start := time.Now()
	_, err = benchkit.RunWorkers(ctx, o.dialers, o.conns, func(ctx context.Context, i int) error {
		member := i // conns 0 … group-1 are the group's, one each
		if i >= o.group {
			member = o.group + (i-o.group)%o.holders
		}
		s, err := users[member].Events(connCtx)
		if err != nil {
			return fmt.Errorf("connection %d of %s: %w", i, names[member], err)
		}
		readers.Go(func() { read(connCtx, s, thread.ID, i < o.group, arrivals, &closed) })
		bar.Add(1)
		return nil
	})
	bar.Finish()
	if err != nil {
		return err
	}
	opened := time.Since(start)
	time.Sleep(settle)
	rss1, err := benchkit.RSS(pid)
	if err != nil {
		return err
	}

	// The group: g000 sends, every member's connection (g000's own too)
	// gets message.created.
	starts := map[int64]time.Time{}
	var ack []time.Duration
	t0 := time.Now()
	sendBar := benchkit.NewBar(o.sends, "sends into the group", "msg")
	for k := range o.sends {
		time.Sleep(time.Until(t0.Add(time.Duration(k) * o.gap)))
		at := time.Now()
		m, err := users[0].SendMessage(ctx, thread.ID, fmt.Sprintf("conns message %03d", k), fmt.Sprintf("conns-%03d", k))
		if err != nil {
			return fmt.Errorf("send %d: %w", k, err)
		}
		ack = append(ack, time.Since(at))
		starts[m.Seq] = at
		sendBar.Add(1)
	}
	sendBar.Finish()
	var lat []time.Duration
	reachedAll := map[int64]time.Duration{} // per send, its last arrival
	perSend := map[int64]int{}
	timeout := time.After(deliveryTimeout)
collect:
	for len(lat) < o.sends*o.group {
		select {
		case a := <-arrivals:
			st, ok := starts[a.seq]
			if !ok {
				continue
			}
			d := a.at.Sub(st)
			lat = append(lat, d)
			perSend[a.seq]++
			reachedAll[a.seq] = max(reachedAll[a.seq], d)
		case <-timeout:
			break collect
		}
	}
	var all []time.Duration
	for seq, d := range reachedAll {
		if perSend[seq] == o.group {
			all = append(all, d)
		}
	}
	rss2, err := benchkit.RSS(pid)
	if err != nil {
		return err
	}
	stillOpen := int64(o.conns) - closed.Load()

	closeAll() // each reader closes its connection
	readers.Wait()

	perConn := float64(rss1-rss0) / float64(o.conns)
	d, reach, a := benchkit.Summarize(lat, 0), benchkit.Summarize(all, 0), benchkit.Summarize(ack, 0)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nrealtime connections on one node — %s, %d CPUs\n\n", time.Now().UTC().Format(time.RFC3339), runtime.NumCPU())
	fmt.Fprintln(tw, "FIGURE\tVALUE\tTARGET\tMET")
	row := func(figure, value, target string, met bool) {
		m := ""
		if target != "" {
			m = map[bool]string{true: "yes", false: "no"}[met]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", figure, value, target, m)
	}
	row("connections opened", fmt.Sprintf("%d in %.1f s (%d at once)", o.conns, opened.Seconds(), o.dialers), "", false)
	row("server resident memory", fmt.Sprintf("%.1f MiB before, %.1f MiB with the connections, %.1f MiB after the sends", mib(rss0), mib(rss1), mib(rss2)), "", false)
	row("memory per idle connection", fmt.Sprintf("%.1f KiB", perConn/1024), "≤ 20 KiB", perConn <= maxIdleBytes)
	row(fmt.Sprintf("deliveries to the group of %d", o.group), fmt.Sprintf("%d of %d", len(lat), o.sends*o.group), "all", len(lat) == o.sends*o.group)
	row("delivery p50 / p99 (max)", fmt.Sprintf("%.2f / %.2f (%.2f) ms", d.P50, d.P99, d.Max), "p99 ≤ 50 ms", d.P99 <= benchkit.MS(maxP99) && len(lat) == o.sends*o.group)
	row("reaching all members, per send p50 / p99", fmt.Sprintf("%.2f / %.2f ms (%d sends)", reach.P50, reach.P99, reach.Count), "", false)
	row("send ack p50 / p99", fmt.Sprintf("%.2f / %.2f ms", a.P50, a.P99), "", false)
	row("connections still open after the sends", fmt.Sprintf("%d of %d", stillOpen, o.conns), "all", stillOpen == int64(o.conns))
	return tw.Flush()
}

// read reads the connection's events until it ends, handing the group's
// message.created events to arrivals, and counts a connection that ends
// before ctx does.
func read(ctx context.Context, s *client.EventStream, threadID string, inGroup bool, arrivals chan<- arrival, closed *atomic.Int64) {
	defer s.Close()
	for {
		ev, err := s.Next(ctx)
		at := time.Now()
		if err != nil {
			if ctx.Err() == nil {
				closed.Add(1)
			}
			return
		}
		if !inGroup || ev.Type != client.EventMessageCreated || ev.ThreadID != threadID {
			continue
		}
		var m client.Message
		if json.Unmarshal(ev.Data, &m) == nil {
			arrivals <- arrival{seq: m.Seq, at: at}
		}
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
