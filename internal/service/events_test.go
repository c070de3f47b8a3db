package service

import (
	"errors"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// TestAccessWatch_FreshReadBeganAfterTheCall: whoever asks for the access
// version while a read is under way, a read that may have begun before the
// change it must see, is answered by the next read, not by that one; and
// all who ask meanwhile share that next read.
func TestAccessWatch_FreshReadBeganAfterTheCall(t *testing.T) {
	w := newAccessWatch()
	gate := make(chan struct{})
	reads := &gatedReads{gates: map[int]chan struct{}{1: gate}}
	first := make(chan int64)
	go func() {
		v, _ := w.fresh("", reads.read)
		first <- v
	}()
	waitFor(t, func() bool { return reads.count() == 1 })

	// Three callers come while the first read is under way.
	later := make(chan int64, 3)
	for range 3 {
		go func() {
			v, _ := w.fresh("", reads.read)
			later <- v
		}()
	}
	waitFor(t, func() bool { return waitingIn("(*accessWatch).fresh") == 3 })
	close(gate)
	if v := <-first; v != 1 {
		t.Fatalf("the first caller got version %d, want 1", v)
	}
	for range 3 {
		if v := <-later; v != 2 {
			t.Errorf("a caller who came during the first read got version %d, want 2, from the read after it", v)
		}
	}
	if n := reads.count(); n != 2 {
		t.Errorf("%d reads for four callers, want 2", n)
	}
}

// TestAccessWatch_AnEventsStreamsShareTheReadUnderWay: the streams of an
// event that come while a read begun after the event's first call is under
// way are answered by that read; a call for no event, or for another, is
// not; and a stream that comes to the event once that read has ended gets a
// read begun after its call.
func TestAccessWatch_AnEventsStreamsShareTheReadUnderWay(t *testing.T) {
	w := newAccessWatch()
	// Reads 1, 3 and 4 wait at gates: a read's waiters return the newest
	// version read when they run, which a read begun later and not held
	// could already have moved.
	gates := map[int]chan struct{}{1: make(chan struct{}), 3: make(chan struct{}), 4: make(chan struct{})}
	reads := &gatedReads{gates: gates}
	ask := func(event string) <-chan int64 {
		got := make(chan int64, 1)
		go func() {
			v, _ := w.fresh(event, reads.read)
			got <- v
		}()
		return got
	}

	// A read begun before the event's first call is not the event's.
	before := ask("")
	waitFor(t, func() bool { return reads.count() == 1 })
	first := ask("ev1")
	waitFor(t, func() bool { return waitingIn("(*accessWatch).fresh") == 1 })
	close(gates[1])
	if v := <-before; v != 1 {
		t.Fatalf("the caller of read 1 got version %d", v)
	}
	if v := <-first; v != 2 {
		t.Fatalf("the event's first stream got version %d, want 2: read 1 began before its call", v)
	}
	// Read 3 begins after ev2's first call; the ev2 streams that come
	// while it runs share it, callers for nothing or for another event do
	// not.
	third := ask("ev2")
	waitFor(t, func() bool { return reads.count() == 3 })
	same := []<-chan int64{ask("ev2"), ask("ev2")}
	waitFor(t, func() bool { return waitingIn("(*accessWatch).fresh") == 2 })
	others := []<-chan int64{ask(""), ask("ev3")}
	waitFor(t, func() bool { return waitingIn("(*accessWatch).fresh") == 4 })
	close(gates[3])
	if v := <-third; v != 3 {
		t.Fatalf("ev2's first stream got version %d, want 3", v)
	}
	for _, got := range same {
		if v := <-got; v != 3 {
			t.Errorf("a stream of ev2 that came during read 3 got version %d, want 3, the read under way", v)
		}
	}
	// The others wait for read 4, begun after read 3 ended and held until
	// now.
	close(gates[4])
	for i, got := range others {
		if v := <-got; v != 4 {
			t.Errorf("call %d, for no event or another, during read 3 got version %d, want 4, from a read begun after it", i, v)
		}
	}
	// Read 3 has ended: a stream coming to ev2 now gets a read of its own.
	if v := <-ask("ev2"); v != 5 {
		t.Errorf("a stream of ev2 coming after its read ended got version %d, want 5", v)
	}
}

// gatedReads are reads of the access version for the watch's tests: read
// n answers version n, after waiting at gates[n] if there is one.
type gatedReads struct {
	gates map[int]chan struct{}
	mu    sync.Mutex
	n     int
}

func (g *gatedReads) read() (int64, error) {
	g.mu.Lock()
	g.n++
	n := g.n
	g.mu.Unlock()
	if gate := g.gates[n]; gate != nil {
		<-gate
	}
	return int64(n), nil
}

// count returns how many reads have begun.
func (g *gatedReads) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// waitFor fails the test unless cond holds within a generous deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// waitingIn returns how many goroutines wait on a sync.Cond in fn, a
// function as stack traces name it, such as "(*accessWatch).fresh": the
// callers a test has started that are now waiting, where a sleep would
// only hope they are.
func waitingIn(fn string) int {
	buf := make([]byte, 1<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "sync.(*Cond).Wait") && strings.Contains(g, fn) {
			n++
		}
	}
	return n
}

// TestDeliveryLog_BatchesWhatComesMeanwhile: the records of deliveries
// that come while a batch is written are written together, in the next
// batch, and none returns before its own batch is written.
func TestDeliveryLog_BatchesWhatComesMeanwhile(t *testing.T) {
	l := newDeliveryLog()
	var mu sync.Mutex
	var batches [][]string
	gate := make(chan struct{})
	write := func(records []parley.AccessRecord) error {
		mu.Lock()
		first := len(batches) == 0
		var ids []string
		for _, r := range records {
			ids = append(ids, r.Entry.ThreadID)
		}
		batches = append(batches, ids)
		mu.Unlock()
		if first {
			<-gate
		}
		return nil
	}
	record := func(id string) parley.AccessRecord {
		return parley.AccessRecord{Entry: parley.AccessEntry{ThreadID: id}}
	}
	done := make(chan string, 4)
	go func() {
		l.log(deliveryKey{"grant", "a"}, record("a"), write)
		done <- "a"
	}()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(batches) == 1 })
	for _, id := range []string{"b", "c", "d"} {
		go func() {
			l.log(deliveryKey{"grant", id}, record(id), write)
			done <- id
		}()
	}
	waitFor(t, func() bool { return waitingIn("(*deliveryLog).log") == 3 })
	select {
	case id := <-done:
		t.Fatalf("%s returned before its batch was written", id)
	default:
	}
	close(gate)
	for range 4 {
		<-done
	}
	if len(batches) != 2 || len(batches[1]) != 3 {
		t.Errorf("batches %v, want [a] and then b, c and d together", batches)
	}
}

// TestDeliveryLog_OneRecordPerEventAndGrant: the streams of one grant
// that deliver the same event share one record, and each returns only
// once it is written; another grant's, another event's, or a record of
// another access are written apart; and a record whose write failed is
// written again by the next stream.
func TestDeliveryLog_OneRecordPerEventAndGrant(t *testing.T) {
	l := newDeliveryLog()
	var written []parley.AccessRecord
	fail := false
	write := func(records []parley.AccessRecord) error {
		if fail {
			return errors.New("disk full")
		}
		written = append(written, records...)
		return nil
	}
	record := func(grant string, readers ...string) parley.AccessRecord {
		return parley.AccessRecord{Entry: parley.AccessEntry{GrantID: grant, Action: "messages.read", ThreadID: "t"}, UserIDs: readers}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := l.log(deliveryKey{"g1", "ev1"}, record("g1", "alice", "bob"), write); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(written) != 1 {
		t.Fatalf("8 streams of one grant wrote %d records, want 1", len(written))
	}
	for _, d := range []struct {
		key deliveryKey
		r   parley.AccessRecord
	}{
		{deliveryKey{"g2", "ev1"}, record("g2", "alice", "bob")},  // another grant
		{deliveryKey{"g1", "ev2"}, record("g1", "alice", "bob")},  // another event
		{deliveryKey{"g1", "ev1"}, record("g1", "alice", "dave")}, // read by others
		{deliveryKey{"g1", ""}, record("g1", "alice", "bob")},     // an event without ID
	} {
		before := len(written)
		if err := l.log(d.key, d.r, write); err != nil || len(written) != before+1 {
			t.Errorf("%+v: %d records written (%v), want its own", d.key, len(written)-before, err)
		}
	}
	fail = true
	if err := l.log(deliveryKey{"g1", "ev3"}, record("g1", "alice"), write); err == nil {
		t.Fatal("a failed write went unreported")
	}
	fail = false
	before := len(written)
	if err := l.log(deliveryKey{"g1", "ev3"}, record("g1", "alice"), write); err != nil || len(written) != before+1 {
		t.Errorf("after a failed write, the next stream wrote %d records (%v), want 1", len(written)-before, err)
	}
}

// TestSplitGrantsChange: an operator's decision that ends many grants is
// told in events of at most so many grants, each for the members of its
// own grants only, so that no event outgrows what NATS takes; a member's
// own many grants go to that member in each.
func TestSplitGrantsChange(t *testing.T) {
	change := parley.GrantsEnded{GrantIDs: []string{"g1", "g2", "g3", "g4", "g5"}, Why: "suspended"}
	got := splitGrantsChange([]string{"u2", "u1", "u3", "u3", "u1"}, change, 2)
	want := []grantsChangePart{
		{[]string{"u1", "u2"}, parley.GrantsEnded{GrantIDs: []string{"g1", "g2"}, Why: "suspended"}},
		{[]string{"u3"}, parley.GrantsEnded{GrantIDs: []string{"g3", "g4"}, Why: "suspended"}},
		{[]string{"u1"}, parley.GrantsEnded{GrantIDs: []string{"g5"}, Why: "suspended"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("five grants of three members, two an event:\n got %+v\nwant %+v", got, want)
	}
	one := splitGrantsChange([]string{"u9"}, parley.GrantsEnded{GrantIDs: []string{"g1", "g2", "g3"}}, 2)
	if len(one) != 2 || !slices.Equal(one[0].userIDs, []string{"u9"}) || !slices.Equal(one[1].userIDs, []string{"u9"}) ||
		!slices.Equal(one[1].change.GrantIDs, []string{"g3"}) {
		t.Errorf("one member's three grants, two an event: %+v", one)
	}
	if none := splitGrantsChange(nil, parley.GrantsEnded{}, 2); len(none) != 0 {
		t.Errorf("no grants: %+v", none)
	}
}
