package service

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/parleyhq/parley"
)

// A member's realtime stream lasts as long as the session it was opened
// with, and no longer: once a session ends, nothing more reaches a stream
// opened with it, on any node that shares a bus with the one that ended
// it, and within a couple of seconds on the others. A session ends in one
// of three ways, and each reaches the streams by its own path:
//
//   - It expires. The stream's session knows when (parley.Caller's
//     SessionExpiresAt), and a timer ends it then: no query.
//   - A write of this process ends it, or, with NATS, a write of any node:
//     signing out, an operator's ending a member's sessions, a new
//     password, a disabled or deleted account. The write publishes
//     sessions.ended once it commits, naming the sessions, and the streams
//     opened with them end at that event, at once.
//   - A process that shares no bus with this one ends it: a `parley`
//     command, whose events reach the servers only through the store's
//     outbox, a second or so late, a node on the same PostgreSQL without
//     NATS, or either node while it has lost NATS. Every couple of
//     seconds the server asks the store which sessions of its member
//     streams still last (CheckSessions), and ends the streams of the
//     others.
//
// The sweep is one question for the whole node, not one per stream: a
// node holds up to ten thousand streams, mostly idle, and asking for each
// stream would cost ten thousand reads every interval, where the sweep
// costs one statement per thousand sessions, and none while the node
// holds no member stream. The streams of one session share one entry of
// the sweep, with one channel that closes when the session ends and one
// expiry timer, so an idle stream costs no goroutine and no timer of its
// own: a pointer and its share of a count. Nor is the session looked up at
// each event: an idle stream gets none to look it up at, and a busy one
// would pay a read per event for what the event and the sweep tell. The
// sweep also catches what an event cannot: a sessions.ended lost on the
// way, or published before the stream subscribed.

// errSessionEnded is what a member's stream ends with once its session
// has ended, however it ended: the client should sign in again rather than
// reconnect with the same session.
var errSessionEnded = parley.Errorf(parley.EUNAUTHORIZED, "session ended: sign in again")

// accountEnded are what a member's stream ends with, in place of
// errSessionEnded, when its session ended with the member's account, by
// parley.SessionsEnded's Why: signing in again cannot help, and a client
// tells the member so.
var accountEnded = map[string]error{
	accountDeleted:  parley.Errorf(parley.EUNAUTHORIZED, accountDeleted),
	accountDisabled: parley.Errorf(parley.EUNAUTHORIZED, accountDisabled),
}

const (
	accountDeleted  = "account deleted"
	accountDisabled = "account disabled"
)

// streamSessions are the sessions this process's member streams were
// opened with, by token hash.
type streamSessions struct {
	mu   sync.Mutex
	open map[string]*streamSession
}

// streamSession is a session that member streams of this process were
// opened with, while one of them is open and the session has not been
// found ended.
type streamSession struct {
	hash      []byte
	userID    string
	expiresAt time.Time
	// ended is closed when the session is found ended; expiry closes it
	// when the session expires. err, set before, is what its streams end
	// with.
	ended  chan struct{}
	err    error
	expiry *time.Timer
	// streams counts the streams open with the session; over is set once
	// ended is closed. streamSessions.mu guards both.
	streams int
	over    bool
}

// join records a stream opened by the member's session of c, which the
// service's clock says it is now, and returns the session's entry.
func (w *streamSessions) join(c *parley.Caller, now time.Time) *streamSession {
	w.mu.Lock()
	defer w.mu.Unlock()
	ss := w.open[string(c.SessionTokenHash)]
	if ss == nil {
		if w.open == nil {
			w.open = map[string]*streamSession{}
		}
		ss = &streamSession{hash: c.SessionTokenHash, userID: c.User.ID, expiresAt: c.SessionExpiresAt, ended: make(chan struct{})}
		ss.expiry = time.AfterFunc(c.SessionExpiresAt.Sub(now), func() { w.end(ss, errSessionEnded) })
		w.open[string(ss.hash)] = ss
	}
	ss.streams++
	return ss
}

// leave records that a stream opened with ss closed.
func (w *streamSessions) leave(ss *streamSession) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ss.streams--; ss.streams == 0 {
		w.forget(ss)
	}
}

// end closes ss's channel, ending every stream opened with the session
// with err, unless it ended already.
func (w *streamSessions) end(ss *streamSession, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !ss.over {
		ss.over = true
		ss.err = err
		close(ss.ended)
	}
	w.forget(ss)
}

// forget drops ss from the sessions watched, unless a newer entry of the
// same session took its place. w.mu is held.
func (w *streamSessions) forget(ss *streamSession) {
	ss.expiry.Stop()
	if w.open[string(ss.hash)] == ss {
		delete(w.open, string(ss.hash))
	}
}

// endExpired ends the sessions watched that expired by now, as the service's
// clock tells it (the timers go by the system's), and returns the others.
func (w *streamSessions) endExpired(now time.Time) []*streamSession {
	w.mu.Lock()
	var expired, others []*streamSession
	for _, ss := range w.open {
		if now.Before(ss.expiresAt) {
			others = append(others, ss)
		} else {
			expired = append(expired, ss)
		}
	}
	w.mu.Unlock()
	for _, ss := range expired {
		w.end(ss, errSessionEnded)
	}
	return others
}

// CheckSessions ends this process's member streams whose session ended:
// those whose session expired, and, by one read of the store (a statement
// per thousand sessions), those whose session was ended by any process,
// such as `parley user signout` run beside the server, or by another node.
// The server calls it every couple of seconds; it reads nothing while no
// member stream is open.
func (s *Service) CheckSessions(ctx context.Context) error {
	now := s.Now()
	watched := s.streamSessions.endExpired(now)
	if len(watched) == 0 {
		return nil
	}
	hashes := make([][]byte, len(watched))
	for i, ss := range watched {
		hashes[i] = ss.hash
	}
	last := map[string]bool{}
	why := map[string]error{}
	err := s.store.Read(ctx, func(tx parley.Tx) error {
		lasting, err := tx.FindLastingSessions(ctx, hashes, now)
		if err != nil {
			return err
		}
		for _, h := range lasting {
			last[string(h)] = true
		}
		// A session found ended may have ended with its account, whose
		// sessions.ended, saying so, is still on its way: the account
		// tells, by a read for each member whose session ended, which is
		// rare.
		for _, ss := range watched {
			if _, known := why[ss.userID]; known || last[string(ss.hash)] {
				continue
			}
			u, err := tx.FindUserByID(ctx, ss.userID)
			if err != nil && !isNotFound(err) {
				return err
			}
			why[ss.userID] = endedWith(u)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, ss := range watched {
		if !last[string(ss.hash)] {
			s.streamSessions.end(ss, why[ss.userID])
		}
	}
	return nil
}

// endedWith is what the streams of a member's session found ended end
// with: accountEnded's when the account is deleted or disabled, else
// (or with no account found) errSessionEnded.
func endedWith(u *parley.User) error {
	switch {
	case u == nil:
		return errSessionEnded
	case u.Deleted:
		return accountEnded[accountDeleted]
	case u.Disabled:
		return accountEnded[accountDisabled]
	}
	return errSessionEnded
}

// publishSessionsEnded tells the member's streams on every node that the
// sessions with the token hashes ended, so that those opened with them end
// at once, in events of at most sessionsPerEvent sessions.
func (s *Service) publishSessionsEnded(ctx context.Context, userID string, tokenHashes [][]byte) {
	s.publishAccountEnded(ctx, userID, tokenHashes, "")
}

// publishAccountEnded is publishSessionsEnded for sessions that ended with
// their member's account, as why (accountDeleted, accountDisabled) says:
// the streams opened with them end saying so (accountEnded), as they do
// when CheckSessions finds the sessions ended first.
func (s *Service) publishAccountEnded(ctx context.Context, userID string, tokenHashes [][]byte, why string) {
	for part := range slices.Chunk(tokenHashes, sessionsPerEvent) {
		s.publish(ctx, []string{userID}, parley.NewEvent(parley.EventSessionsEnded, "", parley.SessionsEnded{TokenHashes: part, Why: why}))
	}
}

// sessionsPerEvent bounds the sessions one sessions.ended event names, as
// grantsPerEvent bounds grants: a member may hold any number of sessions,
// and one event naming tens of thousands would be more than NATS takes (1
// MB by default; a thousand hashes take about 47 KB): its publish would
// fail, and the event reach the other nodes' streams only through the
// relays, a second or so late.
const sessionsPerEvent = 1000

// sessionsEnded ends the stream's session, and returns what it ended with
// (errSessionEnded, or accountEnded's), when a sessions.ended event names
// it. An app's stream has no session.
func (e *Events) sessionsEnded(ev parley.Event) error {
	if e.session == nil {
		return nil
	}
	var ended parley.SessionsEnded
	if err := json.Unmarshal(ev.Data, &ended); err != nil {
		return err
	}
	if !slices.ContainsFunc(ended.TokenHashes, func(h []byte) bool { return bytes.Equal(h, e.session.hash) }) {
		return nil
	}
	why, ok := accountEnded[ended.Why]
	if !ok {
		why = errSessionEnded
	}
	e.svc.streamSessions.end(e.session, why)
	return e.sessionErr()
}
