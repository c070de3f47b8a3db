package main

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/parleyhq/parley/client"
)

// memory is everything movieclub knows, kept in memory for the example.
type memory struct {
	mu sync.Mutex
	// sessions are signed-in browsers, by their movieclub_session cookie.
	sessions map[string]*session
	// members are the members who signed in, by their Parley user ID.
	members map[string]*member
}

// session is a signed-in browser.
type session struct {
	memberID string
	// csrf is the token every form of the session carries.
	csrf string
	// expires is when the session ends, whatever the browser keeps.
	expires time.Time
}

// member is a member who signed in, with what movieclub keeps for them.
type member struct {
	id string
	// api acts for the member through their grant. Its token source has no
	// refresh token (the app does not ask for offline_access), so it stops
	// working an hour after sign-in, until the member signs in again.
	api *client.Client
	// accessToken is the access token api started with, from the member's
	// latest sign-in; guarded by memory.mu.
	accessToken string
	// expiry is when accessToken runs out; guarded by memory.mu.
	expiry time.Time
	// sync lets one catch-up at a time run for the member.
	sync sync.Mutex
	// threads are the threads the member recommended films into, newest
	// first; guarded by memory.mu.
	threads []*thread
}

// thread is movieclub's copy of a thread a recommendation went into: the
// messages its grant reaches, and where to catch up from.
type thread struct {
	id     string
	friend string
	// cursor is where the thread's changes feed continues.
	cursor   string
	messages []*client.Message
}

func newMemory() *memory {
	return &memory{sessions: map[string]*session{}, members: map[string]*member{}}
}

// thread returns the member's copy of a thread, or nil.
func (m *member) thread(id string) *thread {
	for _, t := range m.threads {
		if t.id == id {
			return t
		}
	}
	return nil
}

// apply brings a change of the thread's changes feed into the copy: a
// message posted or edited is kept as it now is, in seq order; a deleted
// one is dropped.
func (t *thread) apply(c client.MessageChange) {
	t.drop(c.Message.ID)
	if c.Type == client.EventMessageDeleted {
		return
	}
	i, _ := slices.BinarySearchFunc(t.messages, c.Message.Seq, func(m *client.Message, seq int64) int { return cmp.Compare(m.Seq, seq) })
	t.messages = slices.Insert(t.messages, i, c.Message)
}

// drop removes a message from the copy, if it holds it.
func (t *thread) drop(messageID string) {
	t.messages = slices.DeleteFunc(t.messages, func(m *client.Message) bool { return m.ID == messageID })
}

// forget drops a member, their sessions and everything kept for them,
// unless they signed in again since their access token was accessToken
// (with accessToken "", whatever their token).
func (mem *memory) forget(memberID, accessToken string) {
	mem.mu.Lock()
	defer mem.mu.Unlock()
	if m := mem.members[memberID]; m != nil && accessToken != "" && m.accessToken != accessToken {
		return
	}
	delete(mem.members, memberID)
	for id, s := range mem.sessions {
		if s.memberID == memberID {
			delete(mem.sessions, id)
		}
	}
}
