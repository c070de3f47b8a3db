package service

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/parleyhq/parley"
)

// Typing tells the thread's other members' own clients that the caller is
// writing in it (EventThreadTyping); a client calls it again while the
// member goes on writing, every few seconds, and the others' pages stop
// showing it when it stops coming. It is a member's alone, and stores
// nothing: no app tells it or hears it. A conversation that takes no
// message (a block) takes none.
//
// A member's writing in one thread is told typingBurst times at once, then
// once every typingEvery, by each node: a client that calls more often, a
// loop say, is answered and not told, so that it costs the others'
// connections nothing. The burst is for a member who sends and goes on
// writing at once: the message ends what the others show, and the next
// call must tell them again.
func (s *Service) Typing(ctx context.Context, threadID string) error {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return err
	}
	var others []string
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		th, _, err := memberThread(ctx, tx, threadID, c.User.ID)
		if err != nil {
			return err
		}
		if th.Blocked {
			return errBlockedThread
		}
		ids, err := tx.FindParticipantIDs(ctx, threadID)
		others = slices.DeleteFunc(ids, func(id string) bool { return id == c.User.ID })
		return err
	})
	if err != nil || len(others) == 0 || !s.typing.allow(c.User.ID+" "+threadID, s.Now()) {
		return err
	}
	s.publish(ctx, others, parley.NewEvent(parley.EventThreadTyping, threadID, parley.ThreadTyping{ThreadID: threadID, User: c.User}))
	return nil
}

// typingEvery and typingBurst bound how often one node tells of a member's
// writing in one thread: typingBurst times at once, then once every
// typingEvery. Clients tell it every 3 seconds or so, and again as the
// member goes on writing after a send.
const (
	typingEvery = time.Second
	typingBurst = 3
)

// typingKeys is how many members' writing a node remembers before it
// forgets those whose allowance has grown whole again.
const typingKeys = 4096

// typingTold is, for each member's writing in each thread, when a node
// will have told of it as often as it allows (a key absent: never told, or
// long ago): the generic cell rate algorithm, as package ratelimit's, kept
// in the node's memory alone. ratelimit.Limiter would add each member's
// and thread's use to the store every 200 ms, a write for a signal that
// stores nothing.
type typingTold struct {
	mu   sync.Mutex
	full map[string]time.Time
}

// allow reports whether the writing key names is to be told at now, and
// counts it if so.
func (t *typingTold) allow(key string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	full := t.full[key]
	if full.Before(now) {
		full = now
	}
	if full.Sub(now) > (typingBurst-1)*typingEvery {
		return false
	}
	if t.full == nil {
		t.full = make(map[string]time.Time)
	}
	if len(t.full) >= typingKeys {
		for k, at := range t.full {
			if !at.After(now) {
				delete(t.full, k)
			}
		}
	}
	t.full[key] = full.Add(typingEvery)
	return true
}
