package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/bench/internal/benchkit"
	"github.com/parleyhq/parley/client"
)

// bench holds one W1 run's state.
type bench struct {
	o       options
	base    *client.Client
	pid     int
	dataDir string
	res     *Results

	users   [numUsers]*client.Client // signed in as u000 … u099
	threads [numThreads]thread       // 50 direct, then 5 group threads
	lastSeq [numThreads]int64        // after the send phase
	// webhookDeliveries counts what the --webhook receiver got.
	webhookDeliveries func() int64
}

type thread struct {
	id      string
	members []int // user indexes, in W1's order
}

func username(i int) string { return fmt.Sprintf("u%03d", i) }

// body pads prefix with 'x' to exactly bodyLen ASCII bytes.
func body(prefix string) string {
	if len(prefix) >= bodyLen {
		return prefix[:bodyLen]
	}
	return prefix + strings.Repeat("x", bodyLen-len(prefix))
}

// call runs one request with the per-request timeout and returns its latency:
// from request start until the client has read the whole body, before it
// decodes it (latency.go); or until fn returns, if fn's request read no
// body to its end.
func call(ctx context.Context, fn func(ctx context.Context) error) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var read time.Time
	start := time.Now()
	err := fn(withReadSlot(ctx, &read))
	if read.IsZero() {
		return time.Since(start), err
	}
	return read.Sub(start), err
}

func (b *bench) runAll(ctx context.Context) error {
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"1 accounts", b.accounts},
		{"2 threads setup", b.setup},
		{"2b webhook", b.webhook},
		{"3 send", b.send},
		{"4 history", b.history},
		{"5 inbox", b.inbox},
		{"5b access log", b.accessLog},
		{"6 delivery", b.delivery},
		{"7 resources", b.resources},
		{"8 webhook deliveries", func(context.Context) error {
			if b.webhookDeliveries != nil {
				b.res.Run.WebhookDeliveries = b.webhookDeliveries()
			}
			return nil
		}},
	}
	for _, s := range steps {
		benchkit.Logf("phase %s", s.name)
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("phase %s: %w", s.name, err)
		}
	}
	return nil
}

// accounts creates and signs in u000 … u099, 4 at a time.
func (b *bench) accounts(ctx context.Context) error {
	lat := make([]time.Duration, numUsers)
	wall, err := benchkit.RunWorkers(ctx, accountWorkers, numUsers, func(ctx context.Context, i int) error {
		name, pw := username(i), fmt.Sprintf("bench-password-%03d", i)
		var s *client.Session
		d, err := call(ctx, func(ctx context.Context) error {
			if _, err := b.base.CreateAccount(ctx, name, pw, "Bench "+name); err != nil {
				if client.StatusOf(err) == http.StatusConflict {
					return fmt.Errorf("%s already exists: W1 needs a fresh server with an empty data directory (%w)", name, err)
				}
				return fmt.Errorf("create account %s: %w", name, err)
			}
			var err error
			if s, err = b.base.SignIn(ctx, name, pw); err != nil {
				return fmt.Errorf("sign in %s: %w", name, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if s.Token == "" {
			return fmt.Errorf("sign in %s: no token in the answer", name)
		}
		lat[i] = d
		b.users[i] = b.base.WithToken(s.Token)
		return nil
	})
	if err != nil {
		return err
	}
	b.res.Accounts = benchkit.Summarize(lat, wall)
	if b.pid != 0 {
		hwm, err := benchkit.PeakRSS(b.pid)
		if err != nil {
			return fmt.Errorf("peak memory: %w", err)
		}
		b.res.Resources.PeakAfterAccountsBytes = &hwm
	}
	return nil
}

// setup makes the friendships W1 needs and its 55 threads.
func (b *bench) setup(ctx context.Context) error {
	start := time.Now()
	// u000 befriends u001 … u050 (direct threads, and group 0's members);
	// each group creator u(20g) befriends u(20g+1) … u(20g+19).
	type pair struct{ a, c int }
	var pairs []pair
	seen := map[pair]bool{}
	add := func(a, c int) {
		if p := (pair{a, c}); !seen[p] {
			seen[p] = true
			pairs = append(pairs, p)
		}
	}
	for i := 1; i <= numDirect; i++ {
		add(0, i)
	}
	for g := range numGroups {
		for j := 1; j < groupSize; j++ {
			add(groupSize*g, groupSize*g+j)
		}
	}
	_, err := benchkit.RunWorkers(ctx, accountWorkers, len(pairs), func(ctx context.Context, i int) error {
		p := pairs[i]
		_, err := call(ctx, func(ctx context.Context) error {
			if _, err := b.users[p.a].AddFriend(ctx, username(p.c)); err != nil {
				return fmt.Errorf("%s asks %s to be friends: %w", username(p.a), username(p.c), err)
			}
			st, err := b.users[p.c].AddFriend(ctx, username(p.a))
			if err != nil {
				return fmt.Errorf("%s accepts %s: %w", username(p.c), username(p.a), err)
			}
			if st.State != client.FriendAccepted {
				return fmt.Errorf("%s and %s: friendship is %q after both asked", username(p.a), username(p.c), st.State)
			}
			return nil
		})
		return err
	})
	if err != nil {
		return err
	}

	for i := range numDirect {
		members := []int{0, i + 1}
		var s *client.ThreadSummary
		_, err := call(ctx, func(ctx context.Context) (err error) {
			s, err = b.users[0].CreateThread(ctx, client.NewThread{Participants: []string{username(i + 1)}, Kind: client.ThreadDirect})
			return err
		})
		if err != nil {
			return fmt.Errorf("direct thread %d (u000 with %s): %w", i, username(i+1), err)
		}
		if s.ID == "" || s.Kind != client.ThreadDirect {
			return fmt.Errorf("direct thread %d: answer has id %q, kind %q", i, s.ID, s.Kind)
		}
		b.threads[i] = thread{id: s.ID, members: members}
	}
	for g := range numGroups {
		var members []int
		var names []string
		for j := range groupSize {
			members = append(members, groupSize*g+j)
			if j > 0 {
				names = append(names, username(groupSize*g+j))
			}
		}
		var s *client.ThreadSummary
		_, err := call(ctx, func(ctx context.Context) (err error) {
			s, err = b.users[groupSize*g].CreateThread(ctx, client.NewThread{Participants: names, Kind: client.ThreadGroup, Title: fmt.Sprintf("w1 group %d", g)})
			return err
		})
		if err != nil {
			return fmt.Errorf("group thread %d (by %s): %w", g, username(groupSize*g), err)
		}
		if s.ID == "" || s.Kind != client.ThreadGroup {
			return fmt.Errorf("group thread %d: answer has id %q, kind %q", g, s.ID, s.Kind)
		}
		b.threads[numDirect+g] = thread{id: s.ID, members: members}
	}
	b.res.Setup = Setup{Seconds: time.Since(start).Seconds(), Friendships: len(pairs), Threads: numThreads}
	return nil
}

// send posts the W1 messages from the workers, then measures how long the
// server takes to go idle, then checks that every message is stored once.
func (b *bench) send(ctx context.Context) error {
	n := b.o.sends
	lat := make([]time.Duration, n)
	var cpu0 int64
	if b.pid != 0 {
		var err error
		if cpu0, err = benchkit.CPUTicks(b.pid); err != nil {
			return fmt.Errorf("server CPU time: %w", err)
		}
	}
	bar := benchkit.NewBar(n, "send", "msg")
	wall, err := benchkit.RunWorkers(ctx, b.o.workers, n, func(ctx context.Context, i int) error {
		t := &b.threads[i%numThreads]
		sender := t.members[(i/numThreads)%len(t.members)]
		text := body(fmt.Sprintf("bench message %06d ", i))
		key := fmt.Sprintf("w1-%06d", i)
		var m *client.Message
		d, err := call(ctx, func(ctx context.Context) (err error) {
			m, err = b.users[sender].SendMessage(ctx, t.id, text, key)
			return err
		})
		if err != nil {
			return fmt.Errorf("send n=%d into thread %d as %s failed after %s: %w", i, i%numThreads, username(sender), d.Round(time.Microsecond), err)
		}
		if m.ThreadID != t.id || m.Seq < 1 || m.Text != text || m.ID == "" {
			return fmt.Errorf("send n=%d into thread %d: the server acknowledged thread %q seq %d id %q with a different text", i, i%numThreads, m.ThreadID, m.Seq, m.ID)
		}
		lat[i] = d
		bar.Add(1)
		return nil
	})
	end := time.Now()
	bar.Finish()
	if err != nil {
		return err
	}
	b.res.Send = benchkit.Summarize(lat, wall)

	if b.pid != 0 {
		cpu1, err := benchkit.CPUTicks(b.pid)
		if err != nil {
			return fmt.Errorf("server CPU time: %w", err)
		}
		b.res.Resources.SendCPUSeconds = ptr(float64(cpu1-cpu0) / benchkit.ClockTicks)
		benchkit.Logf("waiting for the server to go idle (CPU time steady for %d polls of %s)", idleQuiet, idlePoll)
		idle, reached, err := waitIdle(b.pid, end, idleLimit)
		if err != nil {
			return fmt.Errorf("idle: %w", err)
		}
		b.res.Resources.IdleSeconds, b.res.Resources.IdleReached = ptr(idle.Seconds()), reached
	}
	return b.verify(ctx)
}

// verify checks through the API that the threads' last_seq add up to the
// number of sends, and that each thread got exactly its share.
func (b *bench) verify(ctx context.Context) error {
	var total int64
	var problems []string
	for k := range b.threads {
		t := &b.threads[k]
		var s *client.ThreadSummary
		_, err := call(ctx, func(ctx context.Context) (err error) {
			s, err = b.users[t.members[0]].Thread(ctx, t.id)
			return err
		})
		if err != nil {
			return fmt.Errorf("verify: read thread %d: %w", k, err)
		}
		want := int64(b.o.sends / numThreads)
		if k < b.o.sends%numThreads {
			want++
		}
		if s.LastSeq != want {
			problems = append(problems, fmt.Sprintf("thread %d has last_seq %d, want %d", k, s.LastSeq, want))
		}
		b.lastSeq[k] = s.LastSeq
		total += s.LastSeq
	}
	b.res.Verify = Verify{LastSeqTotal: total, Expected: int64(b.o.sends)}
	if total != int64(b.o.sends) || len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
		}
		return fmt.Errorf("verify: the threads' last_seq add up to %d after %d acknowledged sends (messages lost or duplicated): %s",
			total, b.o.sends, strings.Join(problems, "; "))
	}
	benchkit.Logf("verified: last_seq of the %d threads add up to %d", numThreads, total)
	return nil
}

// history reads the newest 50 messages of threads, first from the workers,
// then one at a time.
func (b *bench) history(ctx context.Context) error {
	read := func(ctx context.Context, i int) (time.Duration, error) {
		k := i % numThreads
		t := &b.threads[k]
		reader := t.members[(i/numThreads)%len(t.members)]
		var p *client.MessagePage
		d, err := call(ctx, func(ctx context.Context) (err error) {
			p, err = b.users[reader].Messages(ctx, t.id, client.MessagesQuery{Limit: historyLimit})
			return err
		})
		if err != nil {
			return d, fmt.Errorf("read %d of thread %d as %s: %w", i, k, username(reader), err)
		}
		want := min(int64(historyLimit), b.lastSeq[k])
		if int64(len(p.Messages)) != want {
			return d, fmt.Errorf("read %d of thread %d: %d messages, want %d", i, k, len(p.Messages), want)
		}
		if want > 0 {
			if last := p.Messages[len(p.Messages)-1]; last.Seq != b.lastSeq[k] || len(last.Text) != bodyLen {
				return d, fmt.Errorf("read %d of thread %d: newest message is seq %d of %d bytes, want seq %d of %d", i, k, last.Seq, len(last.Text), b.lastSeq[k], bodyLen)
			}
		}
		return d, nil
	}

	// timed runs n reads from the index offset on, with workers at once.
	timed := func(label string, workers, n, offset int) (benchkit.Dist, error) {
		lat := make([]time.Duration, n)
		bar := benchkit.NewBar(n, label, "req")
		wall, err := benchkit.RunWorkers(ctx, workers, n, func(ctx context.Context, i int) error {
			d, err := read(ctx, offset+i)
			lat[i] = d
			bar.Add(1)
			return err
		})
		bar.Finish()
		return benchkit.Summarize(lat, wall), err
	}
	var cpu0 int64
	if b.pid != 0 {
		var err error
		if cpu0, err = benchkit.CPUTicks(b.pid); err != nil {
			return fmt.Errorf("server CPU time: %w", err)
		}
	}
	var err error
	if b.res.History.Concurrent, err = timed("history", b.o.workers, historyReads, 0); err != nil {
		return err
	}
	if b.pid != 0 {
		cpu1, err := benchkit.CPUTicks(b.pid)
		if err != nil {
			return fmt.Errorf("server CPU time: %w", err)
		}
		b.res.Resources.HistoryCPUSeconds = ptr(float64(cpu1-cpu0) / benchkit.ClockTicks)
	}
	// The one-at-a-time reads continue the index: i = 2000 … 2499.
	b.res.History.Serial, err = timed("history, one at a time", 1, historySerial, historyReads)
	return err
}

// inbox loads u000's threads with their newest 10 messages, 5 times.
func (b *bench) inbox(ctx context.Context) error {
	byID := map[string]int{}
	for k, t := range b.threads {
		byID[t.id] = k
	}
	var lat []time.Duration
	for run := range inboxRuns {
		var p *client.ThreadPage
		d, err := call(ctx, func(ctx context.Context) (err error) {
			p, err = b.users[0].Threads(ctx, client.ThreadsQuery{Limit: inboxLimit, Messages: inboxMessages})
			return err
		})
		if err != nil {
			return fmt.Errorf("run %d: %w", run+1, err)
		}
		if len(p.Threads) != u000Threads || p.NextCursor != "" {
			return fmt.Errorf("run %d: %d threads (next cursor %q), want all %d in one page", run+1, len(p.Threads), p.NextCursor, u000Threads)
		}
		for _, t := range p.Threads {
			k, ok := byID[t.ID]
			if !ok {
				return fmt.Errorf("run %d: unknown thread %s in u000's list", run+1, t.ID)
			}
			if want := min(int64(inboxMessages), b.lastSeq[k]); int64(len(t.Messages)) != want {
				return fmt.Errorf("run %d: thread %d came with %d messages, want %d", run+1, k, len(t.Messages), want)
			}
		}
		lat = append(lat, d)
		b.res.Inbox.Ms = append(b.res.Inbox.Ms, benchkit.MS(d))
	}
	b.res.Inbox.MedianMs = benchkit.Summarize(lat, 0).P50
	b.res.Inbox.Threads = u000Threads
	return nil
}

// delivery measures how long a message takes from u000's send to u001's
// realtime connection, 200 messages 50 ms apart in their direct thread.
func (b *bench) delivery(ctx context.Context) error {
	t := &b.threads[0] // u000 with u001
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := b.users[1].Events(ctx)
	if err != nil {
		return fmt.Errorf("u001 opens the realtime connection: %w", err)
	}
	defer stream.Close()

	type arrival struct {
		id string
		at time.Time
	}
	var mu sync.Mutex
	arrived := map[int64]arrival{}
	all := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		for {
			ev, err := stream.Next(ctx)
			at := time.Now()
			if err != nil {
				readErr <- err
				return
			}
			if ev.Type != client.EventMessageCreated || ev.ThreadID != t.id {
				continue
			}
			var m client.Message
			if err := json.Unmarshal(ev.Data, &m); err != nil {
				readErr <- fmt.Errorf("message.created event data: %w", err)
				return
			}
			mu.Lock()
			if _, dup := arrived[m.Seq]; !dup {
				arrived[m.Seq] = arrival{id: m.ID, at: at}
				if len(arrived) == deliverySends {
					close(all)
				}
			}
			mu.Unlock()
		}
	}()

	type sent struct {
		start time.Time
		id    string
		seq   int64
	}
	sends := make([]sent, deliverySends)
	ack := make([]time.Duration, deliverySends)
	t0 := time.Now()
	for k := range deliverySends {
		time.Sleep(time.Until(t0.Add(time.Duration(k) * deliveryGap)))
		text := body(fmt.Sprintf("bench delivery %06d ", k))
		var m *client.Message
		start := time.Now()
		d, err := call(ctx, func(ctx context.Context) (err error) {
			m, err = b.users[0].SendMessage(ctx, t.id, text, fmt.Sprintf("w1-delivery-%03d", k))
			return err
		})
		if err != nil {
			return fmt.Errorf("send %d: %w", k, err)
		}
		sends[k], ack[k] = sent{start: start, id: m.ID, seq: m.Seq}, d
	}
	wall := time.Since(t0)
	select {
	case <-all:
	case err := <-readErr:
		benchkit.Logf("delivery: u001's realtime connection ended: %v", err)
	case <-time.After(deliveryTimeout):
	case <-ctx.Done():
		return ctx.Err()
	}

	mu.Lock()
	defer mu.Unlock()
	var lat []time.Duration
	for k, s := range sends {
		a, ok := arrived[s.seq]
		if !ok {
			continue
		}
		if a.id != s.id {
			return fmt.Errorf("send %d got id %s seq %d, but the event for seq %d carries id %s", k, s.id, s.seq, s.seq, a.id)
		}
		lat = append(lat, a.at.Sub(s.start))
	}
	b.res.Delivery = Delivery{
		Latency: benchkit.Summarize(lat, wall),
		Sent:    deliverySends,
		Missing: deliverySends - len(lat),
		Ack:     benchkit.Summarize(ack, wall),
	}
	if b.res.Delivery.Missing > 0 {
		benchkit.Logf("delivery: %d of %d message.created events did not arrive within %s", b.res.Delivery.Missing, deliverySends, deliveryTimeout)
	}
	return nil
}

// resources reads the server's peak memory, CPU time and disk use.
func (b *bench) resources(ctx context.Context) error {
	r := &b.res.Resources
	r.MessagesStored = int64(b.o.sends + deliverySends)
	if b.pid != 0 {
		hwm, err := benchkit.PeakRSS(b.pid)
		if err != nil {
			return fmt.Errorf("peak memory: %w", err)
		}
		cpu, err := benchkit.CPUSeconds(b.pid)
		if err != nil {
			return fmt.Errorf("CPU time: %w", err)
		}
		cur, err := benchkit.RSS(b.pid)
		if err != nil {
			return fmt.Errorf("resident memory: %w", err)
		}
		r.PeakMemoryBytes, r.CPUSeconds, r.RSSBytes = &hwm, &cpu, &cur
	} else {
		benchkit.Logf("no --pid: memory, CPU and idle figures are n/a")
	}
	if b.dataDir != "" {
		n, files, err := dirSize(b.dataDir)
		if err != nil {
			return fmt.Errorf("disk: %w", err)
		}
		if n == 0 {
			return errors.New("disk: the data directory holds no bytes; is it the server's?")
		}
		r.DiskBytes, r.DiskFiles = &n, files
		r.DiskBytesPerMessage = ptr(float64(n) / float64(r.MessagesStored))
	} else {
		benchkit.Logf("no --data: disk figures are n/a")
	}
	return ctx.Err()
}
