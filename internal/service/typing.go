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
// A member's writing in one thread is told at most once every typingEvery
// by each node: a client that calls more often, a loop say, is answered
// and not told again, so that it costs the others' connections nothing.
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
	if err != nil || len(others) == 0 || !s.typing.first(c.User.ID+" "+threadID, s.Now()) {
		return err
	}
	s.publish(ctx, others, parley.NewEvent(parley.EventThreadTyping, threadID, parley.ThreadTyping{ThreadID: threadID, User: c.User}))
	return nil
}

// typingEvery is how often a member's writing in one thread is told at
// most, by one node; clients tell it every 3 seconds or so.
const typingEvery = time.Second

// typingKeys is how many members' writing a node remembers before it
// forgets those told more than typingEvery ago.
const typingKeys = 4096

// typingTold is when a node last told of each member's writing in each
// thread.
type typingTold struct {
	mu sync.Mutex
	at map[string]time.Time
}

// first reports whether the writing key names is to be told at now: it was
// not told in the typingEvery before. It then remembers now.
func (t *typingTold) first(key string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.at[key]; ok && now.Sub(last) < typingEvery {
		return false
	}
	if t.at == nil {
		t.at = make(map[string]time.Time)
	}
	if len(t.at) >= typingKeys {
		for k, at := range t.at {
			if now.Sub(at) >= typingEvery {
				delete(t.at, k)
			}
		}
	}
	t.at[key] = now
	return true
}
