package service

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// midReadStore runs a hook once, the first time a read asks for the
// participants of the threads it listed (FindParticipantsOf), as a change
// another request commits between two statements of the read would.
type midReadStore struct {
	parley.Store
	mu   sync.Mutex
	hook func()
}

func (s *midReadStore) Read(ctx context.Context, fn func(parley.Tx) error) error {
	return s.Store.Read(ctx, func(tx parley.Tx) error { return fn(&midReadTx{Tx: tx, s: s}) })
}

type midReadTx struct {
	parley.Tx
	s *midReadStore
}

func (t *midReadTx) FindParticipantsOf(ctx context.Context, userID string, threadIDs []string) (map[string][]parley.UserRef, error) {
	t.s.mu.Lock()
	hook := t.s.hook
	t.s.hook = nil
	t.s.mu.Unlock()
	if hook != nil {
		hook()
	}
	return t.Tx.FindParticipantsOf(ctx, userID, threadIDs)
}

// An app's read of its member's list of threads is logged for everyone in
// each thread listed, and the member, even when the member leaves a listed
// thread between the read's statements.
func TestAccessLog_ThreadListReadAsTheMemberLeaves(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			store := &midReadStore{Store: db}
			s := New(store, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{AccessTokens: unsealedTokens{}})
			ctx := context.Background()
			users, group, _ := appInGroup(t, db, parley.ScopeThreadsRead, parley.ScopeMessagesRead)
			as := func(name string) context.Context {
				return parley.NewContextWithCaller(ctx, &parley.Caller{User: users[name].Ref()})
			}
			app := lookedUpApp(t, s, users["alice"])
			app.Check = nil
			said, _, err := s.SendMessage(as("bob"), group, Draft{Text: "bob's words"}, "")
			if err != nil {
				t.Fatal(err)
			}
			store.hook = func() {
				if err := s.LeaveThread(as("alice"), group); err != nil {
					t.Error(err)
				}
			}
			page, err := s.Threads(parley.NewContextWithCaller(ctx, app), "", 10, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Threads) != 1 || page.Threads[0].LastMessage == nil || page.Threads[0].LastMessage.ID != said.ID {
				t.Fatalf("the app's list: %+v; want the group with bob's words", page.Threads)
			}
			for _, name := range []string{"alice", "bob", "carol"} {
				log, err := s.AccessLog(as(name), AccessLogQuery{Limit: 50})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(log.Entries, func(e *parley.AccessEntry) bool {
					return e.ThreadID == group && slices.Contains(e.MessageIDs, said.ID)
				}) {
					t.Errorf("%s's log has no entry of the app's read of bob's words (%d entries)", name, len(log.Entries))
				}
			}
		})
	}
}
