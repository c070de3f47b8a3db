package service

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// lateBus holds back events of the type holds while holding, as a publish
// that comes late (another node, a slow goroutine) or not at all (NATS
// unreachable) would.
type lateBus struct {
	parley.Bus
	holds   string
	mu      sync.Mutex
	holding bool
	held    []func()
}

func (b *lateBus) Publish(ctx context.Context, to []string, ev parley.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.holding && ev.Type == b.holds {
		b.held = append(b.held, func() { b.Bus.Publish(ctx, to, ev) })
		return nil
	}
	return b.Bus.Publish(ctx, to, ev)
}

func (b *lateBus) hold() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.holding = true
}

func (b *lateBus) release() {
	b.mu.Lock()
	held := b.held
	b.holding, b.held = false, nil
	b.mu.Unlock()
	for _, publish := range held {
		publish()
	}
}

// TestEvents_AppDeliveryLoggedForThoseInTheThreadAtTheMessage: a message an
// app's stream delivers is logged for those who were in the thread when it
// was sent, whether or not the stream has yet heard, by thread.updated,
// that someone left: carol, who left before bob's second message, is not
// told that the app read it, though the news of her leaving reaches the
// stream only after it.
func TestEvents_AppDeliveryLoggedForThoseInTheThreadAtTheMessage(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			events := &lateBus{Bus: bus.NewMemory(64), holds: parley.EventThreadUpdated}
			s := New(db, events, slog.New(slog.DiscardHandler), Options{})
			ctx := context.Background()
			users, group, token := appInGroup(t, db, parley.ScopeMessagesRead)
			as := func(name string) context.Context {
				return parley.NewContextWithCaller(ctx, &parley.Caller{User: users[name].Ref()})
			}
			appCtx, stream := subscribeApp(t, s, db, token)

			// sent sends a message as bob and runs the app's stream until
			// it delivers it: by then it is logged.
			sent := func(text string) *parley.Message {
				t.Helper()
				m, _, err := s.SendMessage(as("bob"), group, Draft{Text: text}, "")
				if err != nil {
					t.Fatal(err)
				}
				for {
					select {
					case ev := <-stream.C():
						if _, ok, err := stream.Admit(appCtx, ev); err != nil {
							t.Fatal(err)
						} else if ok && ev.MessageID == m.ID {
							return m
						}
					case <-time.After(5 * time.Second):
						t.Fatalf("%q not delivered", text)
					}
				}
			}
			loggedFor := func(name string, m *parley.Message) bool {
				t.Helper()
				page, err := s.AccessLog(as(name), AccessLogQuery{Limit: 20})
				if err != nil {
					t.Fatal(err)
				}
				return slices.ContainsFunc(page.Entries, func(e *parley.AccessEntry) bool { return slices.Contains(e.MessageIDs, m.ID) })
			}

			if first := sent("carol is here"); !loggedFor("carol", first) {
				t.Fatal("carol's log lacks the message sent while she was in the thread")
			}
			events.hold()
			if err := s.LeaveThread(as("carol"), group); err != nil {
				t.Fatal(err)
			}
			second := sent("carol has left")
			events.release()
			if loggedFor("carol", second) {
				t.Error("carol, who had left, is told that the app read a message sent after she left")
			}
			if !loggedFor("alice", second) || !loggedFor("bob", second) {
				t.Error("alice's or bob's log lacks the message the app read")
			}
		})
	}
}

// TestEvents_AppThreadChangeLoggedForThoseItNames: a thread.updated an
// app's stream delivers is logged for the participants it names, those in
// the thread at the change, whoever is in it when the stream comes to the
// event: carol, named in a rename that the app receives after she left, is
// told the app saw her among the participants.
func TestEvents_AppThreadChangeLoggedForThoseItNames(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			s := New(db, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{})
			ctx := context.Background()
			users, group, token := appInGroup(t, db, parley.ScopeMessagesRead, parley.ScopeThreadsRead, parley.ScopeParticipantsRead)
			as := func(name string) context.Context {
				return parley.NewContextWithCaller(ctx, &parley.Caller{User: users[name].Ref()})
			}
			appCtx, stream := subscribeApp(t, s, db, token)
			title := "renamed while carol is here"
			if _, err := s.UpdateThread(as("bob"), group, ThreadUpdate{Title: &title}); err != nil {
				t.Fatal(err)
			}
			if err := s.LeaveThread(as("carol"), group); err != nil {
				t.Fatal(err)
			}
			admitUntil(t, appCtx, stream, "the rename", func(ev parley.Event) bool { return ev.Type == parley.EventThreadUpdated })
			for _, name := range []string{"alice", "bob", "carol"} {
				page, err := s.AccessLog(as(name), AccessLogQuery{Limit: 20})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(page.Entries, func(e *parley.AccessEntry) bool {
					return e.Action == string(parley.ScopeParticipantsRead) && e.ThreadID == group
				}) {
					t.Errorf("%s's log lacks the app's receiving the rename that names them", name)
				}
			}
		})
	}
}

// subscribeApp opens the realtime stream of the app whose access token has
// the hash token, and returns the app's context with it; the stream closes
// when the test ends.
func subscribeApp(t *testing.T, s *Service, db *sqlstore.DB, token []byte) (context.Context, *Events) {
	t.Helper()
	ctx := context.Background()
	var app *parley.Caller
	err := db.Read(ctx, func(tx parley.Tx) error {
		tg, err := s.liveAccessToken(ctx, tx, token)
		app = appCaller(tg, token)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	appCtx := parley.NewContextWithCaller(ctx, app)
	stream, err := s.Subscribe(appCtx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stream.Close)
	return appCtx, stream
}

// admitUntil hands the stream's events to Admit until it admits one that
// match takes, and fails the test when none comes within 5 seconds; what
// names the event looked for.
func admitUntil(t *testing.T, ctx context.Context, stream *Events, what string, match func(parley.Event) bool) {
	t.Helper()
	for {
		select {
		case ev := <-stream.C():
			_, ok, err := stream.Admit(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			if ok && match(ev) {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s was not delivered", what)
		}
	}
}

// appInGroup stores alice, bob and carol, a group of the three, and an
// app's grant of alice's that reaches the group with openid and scopes,
// and returns the members by name, the group's ID and the hash of the
// grant's access token.
func appInGroup(t *testing.T, db *sqlstore.DB, scopes ...parley.Scope) (map[string]*parley.User, string, []byte) {
	t.Helper()
	ctx := context.Background()
	now := parley.Now()
	users := map[string]*parley.User{}
	group := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "g", LastActivityAt: now, CreatedAt: now}
	app := &parley.App{ClientID: parley.NewID(), Name: "Listener", RedirectURIs: []string{"https://app.example/cb"},
		ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: now}
	token := parley.HashToken("access token")
	err := db.Write(ctx, func(tx parley.Tx) error {
		for _, name := range []string{"alice", "bob", "carol"} {
			u := &parley.User{ID: parley.NewID(), Username: name, DisplayName: name, CreatedAt: now}
			if err := tx.CreateUser(ctx, u, "hash"); err != nil {
				return err
			}
			users[name] = u
		}
		group.CreatedBy = users["alice"].ID
		if err := tx.CreateThread(ctx, group); err != nil {
			return err
		}
		for _, u := range users {
			if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: group.ID, UserID: u.ID, JoinedAt: now}); err != nil {
				return err
			}
		}
		if err := tx.CreateApp(ctx, app, []byte("secret")); err != nil {
			return err
		}
		g := &parley.Grant{ID: parley.NewID(), UserID: users["alice"].ID, ClientID: app.ClientID,
			Scopes: append(parley.Scopes{parley.ScopeOpenID}, scopes...), ThreadScope: parley.ThreadScopeSelected,
			CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateGrant(ctx, g); err != nil {
			return err
		}
		if _, err := tx.AddGrantThread(ctx, parley.GrantThread{GrantID: g.ID, ThreadID: group.ID}); err != nil {
			return err
		}
		return tx.CreateToken(ctx, &parley.OAuthToken{Hash: token, Kind: parley.TokenAccess, FamilyID: parley.NewID(), GrantID: g.ID,
			ClientID: app.ClientID, UserID: users["alice"].ID, Scopes: g.Scopes, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	return users, group.ID, token
}

// TestEvents_AppStreamToldOfItsSuspension: suspending an app tells its
// streams at once, by the bus, as revoking a grant does: the stream's next
// event is the end of its access, not whatever event comes next.
func TestEvents_AppStreamToldOfItsSuspension(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			s := New(db, bus.NewMemory(64), slog.New(slog.DiscardHandler), Options{})
			ctx := context.Background()
			_, _, token := appInGroup(t, db, parley.ScopeMessagesRead)
			appCtx, stream := subscribeApp(t, s, db, token)
			clientID := parley.CallerFromContext(appCtx).App.App.ClientID
			if _, err := s.SuspendApp(ConsoleContext(ctx), clientID); err != nil {
				t.Fatal(err)
			}
			select {
			case ev := <-stream.C():
				if _, _, err := stream.Admit(appCtx, ev); err == nil || !strings.Contains(err.Error(), "suspended") {
					t.Fatalf("the stream's first event after the suspension, %s, admitted with %v; want it to end the stream, saying why", ev.Type, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the app's stream was not told of its suspension")
			}
		})
	}
}

// TestEvents_AppStreamShowsReactionsAsTheGrantNowIs: an event reaching an
// app's stream after its member took participants.read out of the grant is
// made for the grant as it now is, whether or not the stream has yet heard
// of the narrowing: carol's reaction is counted, and her name not given.
func TestEvents_AppStreamShowsReactionsAsTheGrantNowIs(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			events := &lateBus{Bus: bus.NewMemory(64), holds: parley.EventGrantsEnded}
			s := New(db, events, slog.New(slog.DiscardHandler), Options{})
			ctx := context.Background()
			users, group, token := appInGroup(t, db, parley.ScopeMessagesRead, parley.ScopeParticipantsRead)
			as := func(name string) context.Context {
				return parley.NewContextWithCaller(ctx, &parley.Caller{User: users[name].Ref()})
			}
			appCtx, stream := subscribeApp(t, s, db, token)
			m, _, err := s.SendMessage(as("bob"), group, Draft{Text: "who likes it?"}, "")
			if err != nil {
				t.Fatal(err)
			}
			admitUntil(t, appCtx, stream, "bob's message", func(ev parley.Event) bool { return ev.MessageID == m.ID })

			events.hold()
			grantID := parley.CallerFromContext(appCtx).App.Grant.ID
			if _, _, err := s.NarrowGrant(as("alice"), grantID, GrantNarrowing{Scopes: []string{string(parley.ScopeMessagesRead)}}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.React(as("carol"), m.ID, "👍"); err != nil {
				t.Fatal(err)
			}
			for {
				select {
				case ev := <-stream.C():
					out, ok, err := stream.Admit(appCtx, ev)
					if err != nil {
						t.Fatal(err)
					}
					if !ok || ev.Type != parley.EventMessageReacted {
						continue
					}
					if !strings.Contains(string(out.Data), `"count":1`) || strings.Contains(string(out.Data), users["carol"].ID) {
						t.Fatalf("the reaction reaches the narrowed grant as %s; want it counted, carol not named", out.Data)
					}
					return
				case <-time.After(5 * time.Second):
					t.Fatal("the reaction was not delivered")
				}
			}
		})
	}
}

// TestEvents_AppShareDeliveryLoggedForThoseInTheThreadAtTheCard: a share
// card an app's stream delivers is logged, as any message is, for those in
// the thread when it was sent, whether or not the stream has yet heard
// that one of them left: bob, who deleted his account just after alice's
// card reached him, is told that the app read it. (The card's event is
// made again with the reader's own link; what the publisher found goes
// with it.)
func TestEvents_AppShareDeliveryLoggedForThoseInTheThreadAtTheCard(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			events := &lateBus{Bus: bus.NewMemory(64), holds: parley.EventThreadUpdated}
			s := New(db, events, slog.New(slog.DiscardHandler), Options{})
			ctx := context.Background()
			users, _, token := appInGroup(t, db, parley.ScopeMessagesRead, parley.ScopeSharesWrite)
			as := func(name string) context.Context {
				return parley.NewContextWithCaller(ctx, &parley.Caller{User: users[name].Ref()})
			}
			for _, ask := range [][2]string{{"alice", "bob"}, {"bob", "alice"}} {
				if _, err := s.AddFriend(as(ask[0]), ask[1]); err != nil {
					t.Fatal(err)
				}
			}
			appCtx, stream := subscribeApp(t, s, db, token)

			events.hold()
			card, _, err := s.Share(appCtx, NewShare{To: "bob", URL: "https://films.example/42", Title: "A film"})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteUser(ConsoleContext(ctx), "bob"); err != nil {
				t.Fatal(err)
			}
			admitUntil(t, appCtx, stream, "the card", func(ev parley.Event) bool { return ev.MessageID == card.ID })
			events.release()
			for _, name := range []string{"alice", "bob"} {
				page, err := s.AccessLog(as(name), AccessLogQuery{Limit: 20})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(page.Entries, func(e *parley.AccessEntry) bool {
					return e.Action == string(parley.ScopeMessagesRead) && slices.Contains(e.MessageIDs, card.ID)
				}) {
					t.Errorf("%s's log lacks the app's receiving the card sent while %s was in the thread", name, name)
				}
			}
		})
	}
}
