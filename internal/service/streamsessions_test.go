package service

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// The streams of one session share one entry, which goes with the last of
// them, so that a node keeps no session its streams no longer hold; ending
// the session ends every stream of it, and a stream opened with the session
// afterwards has an entry of its own, which the old streams' closing does
// not drop. A session ends by its timer at its expiry, and by the sweep
// once the service's clock is past it.
func TestStreamSessions(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	session := func(hash string, expiresAt time.Time) *parley.Caller {
		return &parley.Caller{User: parley.UserRef{ID: "m"}, SessionTokenHash: []byte(hash), SessionExpiresAt: expiresAt}
	}
	ann := session("ann", now.Add(time.Hour))
	var w streamSessions

	phone, laptop := w.join(ann, now), w.join(ann, now)
	if phone != laptop || len(w.open) != 1 {
		t.Fatalf("two streams of one session: entries %p and %p, %d watched", phone, laptop, len(w.open))
	}
	w.leave(phone)
	w.leave(laptop)
	if len(w.open) != 0 {
		t.Fatalf("%d sessions watched after their streams closed", len(w.open))
	}

	phone, laptop = w.join(ann, now), w.join(ann, now)
	w.end(phone)
	if !ended(laptop) || len(w.open) != 0 {
		t.Fatalf("after the session ended: the other stream ended %v, %d watched", ended(laptop), len(w.open))
	}
	late := w.join(ann, now)
	if late == phone || ended(late) {
		t.Fatal("a stream opened after the session's entry ended shares the ended entry")
	}
	w.leave(phone)
	w.leave(laptop)
	if w.open["ann"] != late {
		t.Fatal("the old streams' closing dropped the new entry")
	}
	w.leave(late)

	expiring := w.join(session("bob", now.Add(time.Millisecond)), now)
	select {
	case <-expiring.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("a session's streams did not end at its expiry")
	}
	past := w.join(session("cat", now.Add(time.Hour)), now)
	lasting := w.lasting(now.Add(time.Hour))
	if !ended(past) || len(lasting) != 0 {
		t.Fatalf("the sweep past the expiry: ended %v, %d left to ask about", ended(past), len(lasting))
	}
}

// ended reports whether the session's streams were told it ended.
func ended(ss *streamSession) bool {
	select {
	case <-ss.ended:
		return true
	default:
		return false
	}
}
