package service

import (
	"errors"
	"sync"
	"testing"

	"github.com/parleyhq/parley"
)

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
