package service

import (
	"sync"
	"testing"
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
