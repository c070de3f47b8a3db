package service

import (
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
	var mu sync.Mutex
	reads := 0
	gate := make(chan struct{})
	// Read n answers version n; the first waits at the gate.
	read := func() (int64, error) {
		mu.Lock()
		reads++
		n := reads
		mu.Unlock()
		if n == 1 {
			<-gate
		}
		return int64(n), nil
	}
	first := make(chan int64)
	go func() {
		v, _ := w.fresh(read)
		first <- v
	}()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return reads == 1 })

	// Three callers come while the first read is under way.
	later := make(chan int64, 3)
	for range 3 {
		go func() {
			v, _ := w.fresh(read)
			later <- v
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them wait behind the first read
	close(gate)
	if v := <-first; v != 1 {
		t.Fatalf("the first caller got version %d, want 1", v)
	}
	for range 3 {
		if v := <-later; v != 2 {
			t.Errorf("a caller who came during the first read got version %d, want 2, from the read after it", v)
		}
	}
	if reads != 2 {
		t.Errorf("%d reads for four callers, want 2", reads)
	}
}

// waitFor fails the test unless cond holds within a second.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
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
		l.log(record("a"), write)
		done <- "a"
	}()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(batches) == 1 })
	for _, id := range []string{"b", "c", "d"} {
		go func() {
			l.log(record(id), write)
			done <- id
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them queue behind the first batch
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
