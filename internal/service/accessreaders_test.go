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

// midReadStore runs a hook once, when a read comes to the statement that
// finds who is in the threads it read (FindParticipantsOf,
// FindParticipants, FindReachedMessages), as a change another request
// commits between two statements of the read would.
type midReadStore struct {
	parley.Store
	mu   sync.Mutex
	hook func()
}

// fire runs the hook, if it has not run yet, and reports whether it ran.
func (s *midReadStore) fire() bool {
	s.mu.Lock()
	hook := s.hook
	s.hook = nil
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	return hook != nil
}

func (s *midReadStore) Read(ctx context.Context, fn func(parley.Tx) error) error {
	return s.Store.Read(ctx, func(tx parley.Tx) error { return fn(&midReadTx{Tx: tx, s: s}) })
}

type midReadTx struct {
	parley.Tx
	s *midReadStore
}

func (t *midReadTx) FindParticipantsOf(ctx context.Context, userID string, threadIDs []string) (map[string][]parley.UserRef, error) {
	t.s.fire()
	return t.Tx.FindParticipantsOf(ctx, userID, threadIDs)
}

func (t *midReadTx) FindParticipants(ctx context.Context, threadID string) ([]parley.UserRef, error) {
	t.s.fire()
	return t.Tx.FindParticipants(ctx, threadID)
}

func (t *midReadTx) FindReachedMessages(ctx context.Context, g *parley.Grant, f parley.MessageFilter) (*parley.ReachedThread, []*parley.Message, error) {
	reached, list, err := t.Tx.FindReachedMessages(ctx, g, f)
	if err == nil && t.s.fire() {
		// As SQLite reads them: who is in the thread in a statement after
		// the page's.
		reached.Participants, err = t.Tx.FindParticipantIDs(ctx, f.ThreadID)
	}
	return reached, list, err
}

// An app's read is logged for everyone whose data it touched and for its
// member even when the member leaves the thread between the read's
// statements: of the member's list of threads, of a thread's messages,
// of who is in a thread.
func TestAccessLog_ReadAsTheMemberLeaves(t *testing.T) {
	for _, read := range []struct {
		action parley.Scope
		read   func(s *Service, ctx context.Context, group string) error
	}{
		{parley.ScopeThreadsRead, func(s *Service, ctx context.Context, _ string) error { _, err := s.Threads(ctx, "", 10, 1); return err }},
		{parley.ScopeMessagesRead, func(s *Service, ctx context.Context, group string) error {
			_, err := s.Messages(ctx, group, MessageQuery{})
			return err
		}},
		{parley.ScopeParticipantsRead, func(s *Service, ctx context.Context, group string) error {
			_, err := s.Participants(ctx, group)
			return err
		}},
	} {
		for _, engine := range sqlstoretest.Engines {
			t.Run(string(read.action)+"/"+engine, func(t *testing.T) {
				db := sqlstoretest.Open(t, engine)
				store := &midReadStore{Store: db}
				s := New(store, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{AccessTokens: unsealedTokens{}})
				ctx := context.Background()
				users, group, _ := appInGroup(t, db, parley.ScopeThreadsRead, parley.ScopeMessagesRead, parley.ScopeParticipantsRead)
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
				if err := read.read(s, parley.NewContextWithCaller(ctx, app), group); err != nil {
					t.Fatal(err)
				}
				for _, name := range []string{"alice", "bob", "carol"} {
					log, err := s.AccessLog(as(name), AccessLogQuery{Limit: 50})
					if err != nil {
						t.Fatal(err)
					}
					if !slices.ContainsFunc(log.Entries, func(e *parley.AccessEntry) bool {
						return e.ThreadID == group && e.Action == string(read.action) &&
							(read.action != parley.ScopeMessagesRead || slices.Contains(e.MessageIDs, said.ID))
					}) {
						t.Errorf("%s's log has no %s entry of the app's read as alice left", name, read.action)
					}
				}
			})
		}
	}
}
