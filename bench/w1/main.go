// Command w1 runs workload W1 (/work/shared/bench/W1.md) against a Parley
// server and prints every W1 figure beside its target.
//
//	go run ./bench/w1                          # builds and starts its own server
//	go run ./bench/w1 --url http://127.0.0.1:8080 --pid 1234 --data ./data
//
// All API calls go through the public Go client, github.com/parleyhq/parley/client.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/parleyhq/parley/bench/internal/benchkit"
	"github.com/parleyhq/parley/bench/internal/seed"
	"github.com/parleyhq/parley/client"
)

// W1's fixed shape.
const (
	numUsers        = 100
	numDirect       = 50
	numGroups       = 5
	groupSize       = 20
	numThreads      = numDirect + numGroups
	bodyLen         = 100
	historyReads    = 2000
	historySerial   = 500
	historyLimit    = 50
	inboxRuns       = 5
	inboxLimit      = 55
	inboxMessages   = 10
	u000Threads     = numDirect + 1 // 50 direct threads and group 0
	deliverySends   = 200
	deliveryGap     = 50 * time.Millisecond
	accountWorkers  = 4
	requestTimeout  = 60 * time.Second
	idlePoll        = 100 * time.Millisecond
	idleQuiet       = 3 // polls without CPU growth (~300 ms)
	idleLimit       = 120 * time.Second
	deliveryTimeout = 10 * time.Second
)

type options struct {
	url     string
	pid     int
	data    string
	sends   int
	workers int
	json    bool
	keep    bool
	// database is the PostgreSQL URL the server w1 starts keeps its data
	// in; empty: the embedded database.
	database string
	// webhook registers one webhook endpoint subscribed to
	// message.created before the send phase.
	webhook bool
	// seed is the bulk data written into the store, straight through
	// it, before the server starts (scale.go); none when its Messages is 0.
	seed seed.Shape
	// save is a file to write the figures to as JSON; baseline is such a
	// file, from a run on the empty store, to print the send and history
	// figures beside.
	save, baseline string
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "", "base URL of a running server on 127.0.0.1; empty: build ./cmd/parley and start one")
	flag.IntVar(&o.pid, "pid", 0, "pid of the server given by --url, for memory, CPU and idle figures (optional)")
	flag.StringVar(&o.data, "data", "", "data directory of the server given by --url, for the disk figures (optional)")
	flag.IntVar(&o.sends, "sends", 20000, "messages to send in the send phase")
	flag.IntVar(&o.workers, "workers", 8, "concurrent workers in the send and history phases")
	flag.BoolVar(&o.json, "json", false, "also print the figures as one JSON object")
	flag.BoolVar(&o.keep, "keep", false, "keep the data directory of the server w1 started")
	flag.StringVar(&o.database, "database", "", "PostgreSQL URL (postgres://…) of an empty database or schema for the server w1 starts; empty: the embedded database")
	flag.BoolVar(&o.webhook, "webhook", false, "before the sends, register one webhook endpoint subscribed to message.created, of an app u000 owns, at a receiver w1 runs on loopback (a --url server needs --webhooks-allow-private)")
	flag.IntVar(&o.seed.Messages, "seed-messages", 0, "before the server starts, write this many messages straight through the store (0: an empty store)")
	flag.IntVar(&o.seed.Threads, "seed-threads", 10000, "with --seed-messages: group threads of 3 to spread them over")
	flag.IntVar(&o.seed.Members, "seed-members", 1000, "with --seed-messages: members s0000 … to write them")
	flag.IntVar(&o.seed.AccessEntries, "seed-access", 100000, "with --seed-messages: entries of the access log of s0000 (s0001 gets half, s0002 a tenth), paged and verified after the history phase")
	flag.StringVar(&o.save, "save", "", "write the figures as JSON to this file")
	flag.StringVar(&o.baseline, "baseline", "", "a --save file of a run on an empty store: print the send and history figures beside its, with their ratios")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "w1: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "w1:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "w1: FAILED:", err)
		os.Exit(1)
	}
}

func (o *options) check() error {
	if o.sends < 1 {
		return errors.New("--sends must be at least 1")
	}
	if o.workers < 1 {
		return errors.New("--workers must be at least 1")
	}
	if o.seed.Messages > 0 {
		if o.url != "" {
			return errors.New("--seed-messages applies only to a server w1 starts itself")
		}
		if err := o.seed.Check(); err != nil {
			return err
		}
	}
	if o.url == "" {
		if o.pid != 0 || o.data != "" {
			return errors.New("--pid and --data go with --url")
		}
		if o.database != "" && !strings.HasPrefix(o.database, "postgres://") && !strings.HasPrefix(o.database, "postgresql://") {
			return errors.New("--database: want a postgres:// URL")
		}
		return nil
	}
	u, err := url.Parse(o.url)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("--url %q: want http://127.0.0.1:PORT", o.url)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.Equal(net.IPv4(127, 0, 0, 1)) {
		return fmt.Errorf("--url %q: w1 only targets 127.0.0.1", o.url)
	}
	if o.keep || o.database != "" {
		return errors.New("--keep and --database apply only to a server w1 starts itself")
	}
	return nil
}

func run(ctx context.Context, o options) (err error) {
	res := &Results{
		Machine: machineInfo(),
		Run:     RunInfo{Sends: o.sends, Workers: o.workers, Webhook: o.webhook},
	}
	var baseline *Results
	if o.baseline != "" {
		if baseline, err = readResults(o.baseline); err != nil {
			return err
		}
	}
	baseURL, pid, dataDir := o.url, o.pid, o.data
	var srv *benchkit.Server
	if baseURL == "" {
		seeded, err := seedStore(ctx, o)
		if err != nil {
			return err
		}
		res.Run.Seed = o.seed
		srv, err = benchkit.Start(ctx, benchkit.Options{Database: o.database, DataDir: seeded, Webhooks: o.webhook})
		if err != nil {
			if seeded != "" && !o.keep {
				os.RemoveAll(seeded)
			}
			return err
		}
		defer func() {
			if cerr := srv.Cleanup(o.keep); cerr != nil && err == nil {
				err = cerr
			}
		}()
		baseURL, pid, dataDir = srv.URL, srv.Cmd.Process.Pid, srv.DataDir
		if o.database != "" {
			dataDir = "" // the data is PostgreSQL's: disk figures are n/a
		}
		res.Run.ServerStarted = true
	}
	res.Run.URL, res.Run.PID, res.Run.DataDir = baseURL, pid, dataDir

	// One transport for every goroutine: each keeps its own idle keep-alive
	// connection. No http.Client timeout: the realtime connection is long-lived
	// and requests use contexts.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.MaxIdleConns = 0
	tr.MaxIdleConnsPerHost = max(2*o.workers, accountWorkers) + 2
	hc := &http.Client{Transport: bodyRead{tr}}
	defer tr.CloseIdleConnections()

	b := &bench{
		o:       o,
		base:    client.New(baseURL).WithHTTPClient(hc),
		pid:     pid,
		dataDir: dataDir,
		res:     res,
	}
	if err := b.runAll(ctx); err != nil {
		return err
	}

	if srv != nil {
		// Stop now so the disk after a clean shutdown can be reported too.
		if err := srv.Stop(); err != nil {
			return err
		}
		if n, files, err := dirSize(srv.DataDir); err == nil && n > 0 {
			res.Resources.DiskAfterShutdownBytes = &n
			res.Resources.DiskAfterShutdownFiles = files
		}
		if o.keep {
			res.Run.KeptDataDir = srv.DataDir
		}
	}

	res.evaluate()
	printTable(os.Stdout, res)
	printAccessLog(os.Stdout, res)
	if baseline != nil {
		printBeside(os.Stdout, baseline, res)
	}
	if o.save != "" {
		if err := saveResults(o.save, res); err != nil {
			return err
		}
	}
	if o.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	return nil
}
