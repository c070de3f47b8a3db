package service

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// hookedStore is a node's store whose transactions see the store through
// wrap: what another node or a command does in the middle of this node's
// read or write.
type hookedStore struct {
	parley.Store
	wrap func(parley.Tx) parley.Tx
}

func (s hookedStore) Read(ctx context.Context, fn func(parley.Tx) error) error {
	return s.Store.Read(ctx, func(tx parley.Tx) error { return fn(s.wrap(tx)) })
}

func (s hookedStore) Write(ctx context.Context, fn func(parley.Tx) error) error {
	return s.Store.Write(ctx, func(tx parley.Tx) error { return fn(s.wrap(tx)) })
}

func (s hookedStore) WriteLazily(ctx context.Context, fn func(parley.Tx) error) error {
	return s.Store.WriteLazily(ctx, func(tx parley.Tx) error { return fn(s.wrap(tx)) })
}

func (s hookedStore) WriteOne(ctx context.Context, fn func(parley.Tx) error) error {
	return s.Store.WriteOne(ctx, func(tx parley.Tx) error { return fn(s.wrap(tx)) })
}

// afterHashTx runs a hook once a password hash is read.
type afterHashTx struct {
	parley.Tx
	afterHash func()
}

func (t afterHashTx) FindPasswordHash(ctx context.Context, userID string) (string, error) {
	h, err := t.Tx.FindPasswordHash(ctx, userID)
	t.afterHash()
	return h, err
}

// atOnce returns a hook that makes decide, as another node would, at the
// moment the hook first runs, inside a transaction of this node. The hook
// waits for decide up to a second, and then goes on: a decision that waits
// for the hook's transaction to end takes longer. done returns decide's
// error once it is made.
func atOnce(decide func() error) (hook func(), done func() error) {
	result := make(chan error, 1)
	var once sync.Once
	hook = func() {
		once.Do(func() {
			go func() { result <- decide() }()
			select {
			case err := <-result:
				result <- err
			case <-time.After(time.Second):
			}
		})
	}
	return hook, func() error { return <-result }
}

// afterUserLockedTx runs a hook after the transaction finds a member to
// write about (FindUserForUpdate).
type afterUserLockedTx struct {
	parley.Tx
	afterUser func()
}

func (t afterUserLockedTx) FindUserForUpdate(ctx context.Context, id string) (*parley.User, error) {
	u, err := t.Tx.FindUserForUpdate(ctx, id)
	t.afterUser()
	return u, err
}

// TestNodes_DisableDuringSignInEndsTheSession: an operator who disables a
// member (on another node, or by `parley user disable`) while the
// member's sign-in on this node is under way ends every session the
// member has: the sign-in may not hand out a session that outlives the
// disabling, whether the disabling comes while the password is checked or
// while the session is written (the disabling, made right then, waits for
// the sign-in: here up to a second, after which the sign-in goes on).
func TestNodes_DisableDuringSignInEndsTheSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook func(tx parley.Tx, disable func()) parley.Tx
	}{
		{"WhileThePasswordIsChecked", func(tx parley.Tx, disable func()) parley.Tx { return afterHashTx{tx, disable} }},
		{"WhileTheSessionIsWritten", func(tx parley.Tx, disable func()) parley.Tx { return afterUserLockedTx{tx, disable} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			ann := annOnTwoNodes(t)
			disable, disabled := atOnce(func() error {
				_, err := ann.b.SetDisabled(ConsoleContext(ctx), "ann", true)
				return err
			})
			a := ann.nodeA(func(tx parley.Tx) parley.Tx { return tc.hook(tx, disable) })

			signedIn, signInErr := a.SignIn(ctx, "ann", "correct horse")
			if err := disabled(); err != nil {
				t.Fatalf("disable ann: %v", err)
			}
			if signInErr != nil {
				return // refused: the disabling took effect
			}
			if _, err := ann.b.Authenticate(ctx, signedIn.Token); err == nil {
				t.Fatal("a member disabled during her sign-in holds a session that works after the disabling")
			}
		})
	}
}

// TestNodes_NewPasswordDuringAPasswordCheckHolds: a member who asks, with
// their password, to delete their account or to change their password,
// while a new password is set (by them on another device, or by an
// operator who took the account back from whoever held the old one), is
// refused: the old password no longer allows what it was checked for, and
// the new one stays.
func TestNodes_NewPasswordDuringAPasswordCheckHolds(t *testing.T) {
	for name, ask := range map[string]func(ctx context.Context, s *Service) error{
		"DeleteAccount": func(ctx context.Context, s *Service) error { return s.DeleteAccount(ctx, "correct horse") },
		"ChangePassword": func(ctx context.Context, s *Service) error {
			_, err := s.ChangePassword(ctx, "correct horse", "tr0ub4dor and 3")
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			ann := annOnTwoNodes(t)
			reset, wasReset := atOnce(func() error {
				_, err := ann.b.SetPassword(ConsoleContext(ctx), "ann", "battery staple")
				return err
			})
			a := ann.nodeA(func(tx parley.Tx) parley.Tx { return afterHashTx{tx, reset} })

			err := ask(parley.NewContextWithCaller(ctx, &parley.Caller{User: ann.user.Ref()}), a)
			if err := wasReset(); err != nil {
				t.Fatalf("set a new password: %v", err)
			}
			if parley.ErrorCode(err) != parley.EFORBIDDEN {
				t.Errorf("with the password replaced meanwhile: %v, want EFORBIDDEN", err)
			}
			if _, err := ann.b.SignIn(ctx, "ann", "battery staple"); err != nil {
				t.Errorf("ann signs in with her new password: %v", err)
			}
		})
	}
}

// memberOnTwoNodes is a member, ann, whose password is "correct horse", in
// a store two nodes share: b is node B's service, and nodeA makes node A's.
type memberOnTwoNodes struct {
	user *parley.User
	dbA  *sqlstore.DB
	b    *Service
}

// annOnTwoNodes writes ann to a store of two nodes.
func annOnTwoNodes(t *testing.T) *memberOnTwoNodes {
	t.Helper()
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	hash, err := password.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	ann := &parley.User{ID: parley.NewID(), Username: "ann", DisplayName: "Ann", CreatedAt: parley.Now()}
	if err := nodes[0].Write(ctx, func(tx parley.Tx) error { return tx.CreateUser(ctx, ann, hash) }); err != nil {
		t.Fatal(err)
	}
	return &memberOnTwoNodes{user: ann, dbA: nodes[0], b: signInNode(nodes[1])}
}

// nodeA returns node A's service, whose transactions see the store
// through wrap (hookedStore).
func (w *memberOnTwoNodes) nodeA(wrap func(parley.Tx) parley.Tx) *Service {
	return signInNode(hookedStore{w.dbA, wrap})
}

// signInNode is a node's service on store, whose sessions last an hour.
func signInNode(store parley.Store) *Service {
	return New(store, bus.NewMemory(16), slog.New(slog.DiscardHandler), Options{SessionTTL: time.Hour})
}

// barrierTx holds each transaction that finds a throttle until n of them
// have: the attempts of n nodes that arrive at the same moment.
type barrierTx struct {
	parley.Tx
	arrived *sync.WaitGroup
}

func (t barrierTx) FindThrottle(ctx context.Context, key string) (*parley.Throttle, error) {
	th, err := t.Tx.FindThrottle(ctx, key)
	t.arrived.Done()
	t.arrived.Wait()
	return th, err
}

// TestNodes_ConcurrentFirstFailuresAllCount: two sign-in attempts to one
// username that begin at the same moment on two nodes both count, also
// when they are the first: "an attempt counts as a failure from the
// moment it begins, so that concurrent guesses count too".
func TestNodes_ConcurrentFirstFailuresAllCount(t *testing.T) {
	stores := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	var arrived sync.WaitGroup
	arrived.Add(2)
	var once [2]sync.Once
	nodes := [2]*Service{}
	for i, db := range stores {
		nodes[i] = New(hookedStore{db, func(tx parley.Tx) parley.Tx {
			// Only each node's first run of the write waits: a run again
			// after a conflict goes on alone.
			held := false
			once[i].Do(func() { held = true })
			if !held {
				return tx
			}
			return barrierTx{tx, &arrived}
		}}, bus.NewMemory(16), log, Options{})
	}
	key := throttleKey{"sign-in:account:ann", signInAccountRule, nil}
	var wg sync.WaitGroup
	for _, s := range nodes {
		wg.Go(func() {
			if _, err := s.begin(ctx, "failed sign-ins", key); err != nil {
				t.Errorf("begin: %v", err)
			}
		})
	}
	wg.Wait()
	var th *parley.Throttle
	err := stores[0].Read(ctx, func(tx parley.Tx) (err error) { th, err = tx.FindThrottle(ctx, key.key); return err })
	if err != nil {
		t.Fatal(err)
	}
	if th.Failures != 2 {
		t.Fatalf("two attempts at once counted %d failures, want 2", th.Failures)
	}
}

// afterAppLockedTx runs a hook after the transaction finds an app to
// decide about (FindAppForUpdate).
type afterAppLockedTx struct {
	parley.Tx
	afterApp func()
}

func (t afterAppLockedTx) FindAppForUpdate(ctx context.Context, clientID string) (*parley.App, error) {
	a, err := t.Tx.FindAppForUpdate(ctx, clientID)
	t.afterApp()
	return a, err
}

// TestNodes_AppDecisionsAtOnceOneAfterTheOther: an operator suspends or
// deletes an app on one node while another, on another node, approves it
// for all threads: the app ends suspended, or deleted. The approval reads
// the app first; the other decision, made right then, waits for it (here
// up to a second, after which the approval goes on), and may not be
// undone by the approval's writing back the state it read.
func TestNodes_AppDecisionsAtOnceOneAfterTheOther(t *testing.T) {
	for _, tc := range []struct {
		name   string
		decide func(s *Service, ctx context.Context, clientID string) (*parley.App, error)
		want   string
	}{
		{"Suspension", (*Service).SuspendApp, parley.AppSuspended},
		{"Deletion", (*Service).DeleteApp, parley.AppDeleted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := sqlstoretest.TwoNodes(t)
			dbA, dbB := nodes[0], nodes[1]
			ctx := ConsoleContext(context.Background())
			log := slog.New(slog.DiscardHandler)
			app := &parley.App{ClientID: parley.NewID(), Name: "Films", RedirectURIs: []string{"https://films.example/cb"},
				ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: parley.Now()}
			if err := dbA.Write(ctx, func(tx parley.Tx) error { return tx.CreateApp(ctx, app, []byte("secret")) }); err != nil {
				t.Fatal(err)
			}
			a := New(dbA, bus.NewMemory(16), log, Options{})
			decide, decided := atOnce(func() error {
				_, err := tc.decide(a, ctx, app.ClientID)
				return err
			})
			b := New(hookedStore{dbB, func(tx parley.Tx) parley.Tx { return afterAppLockedTx{tx, decide} }}, bus.NewMemory(16), log, Options{})
			if _, err := b.ApproveAllThreads(ctx, app.ClientID); err != nil {
				t.Fatal(err)
			}
			if err := decided(); err != nil {
				t.Fatal(err)
			}
			var got *parley.App
			if err := dbA.Read(ctx, func(tx parley.Tx) (err error) { got, err = tx.FindAppByClientID(ctx, app.ClientID); return err }); err != nil {
				t.Fatal(err)
			}
			if got.State != tc.want {
				t.Fatalf("after the decision and an approval at once the app is %s, want %s", got.State, tc.want)
			}
		})
	}
}

// afterSentCountedTx runs a hook after the transaction counts a member's
// pending friend requests (CountSentFriendRequests).
type afterSentCountedTx struct {
	parley.Tx
	afterCount func()
}

func (t afterSentCountedTx) CountSentFriendRequests(ctx context.Context, userID string) (int, error) {
	n, err := t.Tx.CountSentFriendRequests(ctx, userID)
	t.afterCount()
	return n, err
}

// TestNodes_FriendRequestsAtOnceStopAtMaxSentRequests: a member one
// request short of parley.MaxSentFriendRequests who asks two members at
// once, on two nodes, has one of them asked and is refused the other
// (ECONFLICT): the request that counted first holds the member, and the
// other, made right then, waits for it (here up to a second, after which
// the first goes on) and counts its request.
func TestNodes_FriendRequestsAtOnceStopAtMaxSentRequests(t *testing.T) {
	nodes := sqlstoretest.TwoNodes(t)
	dbA, dbB := nodes[0], nodes[1]
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	now := parley.Now()
	alice := &parley.User{ID: parley.NewID(), Username: "alice", DisplayName: "Alice", CreatedAt: now}
	var others []*parley.User
	err := dbA.Write(ctx, func(tx parley.Tx) error {
		if err := tx.CreateUser(ctx, alice, "hash"); err != nil {
			return err
		}
		for i := range parley.MaxSentFriendRequests + 1 {
			u := &parley.User{ID: parley.NewID(), Username: fmt.Sprintf("member%03d", i), DisplayName: "Member", CreatedAt: now}
			if err := tx.CreateUser(ctx, u, "hash"); err != nil {
				return err
			}
			others = append(others, u)
		}
		for _, u := range others[:parley.MaxSentFriendRequests-1] {
			if err := tx.CreateFriendship(ctx, &parley.Friendship{RequesterID: alice.ID, AddresseeID: u.ID, State: parley.FriendPending, CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	asAlice := parley.NewContextWithCaller(ctx, &parley.Caller{User: alice.Ref()})
	a := New(dbA, bus.NewMemory(16), log, Options{})
	askOnA, askedOnA := atOnce(func() error {
		_, err := a.AddFriend(asAlice, others[parley.MaxSentFriendRequests].Username)
		return err
	})
	b := New(hookedStore{dbB, func(tx parley.Tx) parley.Tx { return afterSentCountedTx{tx, askOnA} }}, bus.NewMemory(16), log, Options{})
	_, errB := b.AddFriend(asAlice, others[parley.MaxSentFriendRequests-1].Username)
	errA := askedOnA()
	if errB != nil || parley.ErrorCode(errA) != parley.ECONFLICT {
		t.Errorf("two requests at once, one short of the most: the first %v, the one made as it counted %v; want the first asked and the other ECONFLICT", errB, errA)
	}
	var n int
	if err := dbA.Read(ctx, func(tx parley.Tx) (err error) { n, err = tx.CountSentFriendRequests(ctx, alice.ID); return err }); err != nil {
		t.Fatal(err)
	}
	if n != parley.MaxSentFriendRequests {
		t.Fatalf("alice has %d requests pending after two at once, want %d", n, parley.MaxSentFriendRequests)
	}
}

// TestNodes_DisableDuringConsentEndsTheGrant: an operator who disables a
// member while the member's consent to an app is being written, on another
// node, ends the grant it makes: no app keeps access to a disabled account.
// The disabling, made right then, waits for the consent (here up to a
// second, after which the consent goes on).
func TestNodes_DisableDuringConsentEndsTheGrant(t *testing.T) {
	nodes := sqlstoretest.TwoNodes(t)
	dbA, dbB := nodes[0], nodes[1]
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	now := parley.Now()
	ann, req := pendingConsent(t, dbA, now)
	b := New(dbB, bus.NewMemory(16), log, Options{})
	disable, disabled := atOnce(func() error {
		_, err := b.SetDisabled(ConsoleContext(ctx), "ann", true)
		return err
	})
	a := New(hookedStore{dbA, func(tx parley.Tx) parley.Tx { return afterUserLockedTx{tx, disable} }}, bus.NewMemory(16), log, Options{})
	annCtx := parley.NewContextWithCaller(ctx, &parley.Caller{User: ann.Ref(), SignedInAt: now})
	_, approveErr := a.Approve(annCtx, req.ID, Decision{ThreadScope: parley.ThreadScopeApp})
	if err := disabled(); err != nil {
		t.Fatalf("disable ann: %v", err)
	}
	var grants []*parley.Grant
	if err := dbA.Read(ctx, func(tx parley.Tx) (err error) {
		grants, err = tx.FindActiveGrants(ctx, ann.ID, parley.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(grants) != 0 {
		t.Fatalf("a member disabled during her consent (which answered %v) has a grant in force: %+v", approveErr, grants[0])
	}
}

// pendingConsent stores a member, ann, an app and her request to sign in
// to it, awaiting her consent, made at now.
func pendingConsent(t *testing.T, db parley.Store, now time.Time) (*parley.User, *parley.AuthRequest) {
	t.Helper()
	ctx := context.Background()
	ann := &parley.User{ID: parley.NewID(), Username: "ann", DisplayName: "Ann", CreatedAt: now}
	app := &parley.App{ClientID: parley.NewID(), Name: "Films", RedirectURIs: []string{"https://films.example/cb"},
		ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: now}
	req := &parley.AuthRequest{ID: parley.NewID(), ClientID: app.ClientID, RedirectURI: app.RedirectURIs[0],
		Scopes: parley.Scopes{parley.ScopeOpenID}, CodeChallenge: "challenge", CreatedAt: now}
	err := db.Write(ctx, func(tx parley.Tx) error {
		if err := tx.CreateUser(ctx, ann, "hash"); err != nil {
			return err
		}
		if err := tx.CreateApp(ctx, app, []byte("secret")); err != nil {
			return err
		}
		return tx.CreateAuthRequest(ctx, req)
	})
	if err != nil {
		t.Fatal(err)
	}
	return ann, req
}

// afterEraseTx runs a hook once the transaction has erased a member
// (EraseUser): a deletion's write at its end, before it commits.
type afterEraseTx struct {
	parley.Tx
	afterErase func()
}

func (t afterEraseTx) EraseUser(ctx context.Context, id string, at time.Time) error {
	err := t.Tx.EraseUser(ctx, id, at)
	t.afterErase()
	return err
}

// afterSentTx runs a hook once the transaction has read a page of the
// messages a member sent (FindSentMessages): a deletion's write as it
// turns them into tombstones.
type afterSentTx struct {
	parley.Tx
	afterSent func()
}

func (t afterSentTx) FindSentMessages(ctx context.Context, senderID, afterID string, limit int) ([]*parley.Message, error) {
	list, err := t.Tx.FindSentMessages(ctx, senderID, afterID, limit)
	t.afterSent()
	return list, err
}

// deletionRace is ann and bob, friends, with their direct thread, on the
// database two nodes share: for a deletion of one of their accounts on
// node B while ann does something on node A.
type deletionRace struct {
	dbA, dbB *sqlstore.DB
	ann, bob *parley.User
	direct   *parley.Thread
}

// postByBob posts a message of bob's into the direct thread, on node A.
func (r *deletionRace) postByBob(t *testing.T) *parley.Message {
	t.Helper()
	ctx := context.Background()
	m := &parley.Message{ID: parley.NewID(), ThreadID: r.direct.ID, Sender: r.bob.Ref(), Kind: parley.MessageKindText, Text: "soon gone", CreatedAt: parley.Now()}
	if err := r.dbA.Write(ctx, func(tx parley.Tx) error { return tx.PostMessage(ctx, m) }); err != nil {
		t.Fatal(err)
	}
	return m
}

func newDeletionRace(t *testing.T) *deletionRace {
	t.Helper()
	nodes := sqlstoretest.TwoNodes(t)
	now := parley.Now()
	r := &deletionRace{dbA: nodes[0], dbB: nodes[1],
		ann: &parley.User{ID: parley.NewID(), Username: "ann", DisplayName: "Ann", CreatedAt: now},
		bob: &parley.User{ID: parley.NewID(), Username: "bob", DisplayName: "Bob", CreatedAt: now},
	}
	ctx := context.Background()
	err := r.dbA.Write(ctx, func(tx parley.Tx) error {
		for _, u := range []*parley.User{r.ann, r.bob} {
			if err := tx.CreateUser(ctx, u, "hash"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r.direct = mustDirectThread(t, r.dbA, r.ann, r.bob)
	return r
}

// mustDirectThread makes two members friends, with a direct thread of
// theirs, a started by, and returns it.
func mustDirectThread(t *testing.T, db parley.Store, a, b *parley.User) *parley.Thread {
	t.Helper()
	ctx := context.Background()
	now := parley.Now()
	th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadDirect, DirectKey: parley.DirectKey(a.ID, b.ID),
		CreatedBy: a.ID, LastActivityAt: now, CreatedAt: now}
	err := db.Write(ctx, func(tx parley.Tx) error {
		err := tx.CreateFriendship(ctx, &parley.Friendship{RequesterID: a.ID, AddresseeID: b.ID, State: parley.FriendAccepted, CreatedAt: now})
		if err != nil {
			return err
		}
		if err := tx.CreateThread(ctx, th); err != nil {
			return err
		}
		for _, u := range []*parley.User{a, b} {
			if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// run deletes the account named username on node B and, at the moment
// hook's transaction calls the function hook is given, does act on node A
// as ann (atOnce); it returns act's error.
func (r *deletionRace) run(t *testing.T, username string, hook func(parley.Tx, func()) parley.Tx, act func(a *Service, annCtx context.Context) error) error {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	a := New(r.dbA, bus.NewMemory(16), log, Options{})
	annCtx := parley.NewContextWithCaller(ctx, &parley.Caller{User: r.ann.Ref(), SignedInAt: parley.Now()})
	do, done := atOnce(func() error { return act(a, annCtx) })
	b := New(hookedStore{r.dbB, func(tx parley.Tx) parley.Tx { return hook(tx, do) }}, bus.NewMemory(16), log, Options{})
	if err := b.DeleteUser(ConsoleContext(ctx), username); err != nil {
		t.Fatal(err)
	}
	return done()
}

// TestNodes_SendDuringDeletionLeavesNoMessage: a member's account deleted
// on one node while the member sends a message or shares a link on another
// leaves no message of theirs behind: the send, made while the deletion's
// write is under way, either comes before it, and its message is turned
// into a tombstone with the others, or after it, and is refused. It may
// not post a live message from a deleted account.
func TestNodes_SendDuringDeletionLeavesNoMessage(t *testing.T) {
	sends := []struct {
		name string
		send func(s *Service, ctx context.Context, threadID string) error
	}{
		{"Message", func(s *Service, ctx context.Context, threadID string) error {
			_, _, err := s.SendMessage(ctx, threadID, Draft{Text: "one more thing"}, "")
			return err
		}},
		{"Share", func(s *Service, ctx context.Context, _ string) error {
			_, _, err := s.Share(ctx, NewShare{To: "bob", URL: "https://films.example/1", Title: "One more film"})
			return err
		}},
	}
	moments := []struct {
		name string
		hook func(tx parley.Tx, send func()) parley.Tx
	}{
		{"WhileHerMessagesBecomeTombstones", func(tx parley.Tx, send func()) parley.Tx { return afterSentTx{tx, send} }},
		{"AsHerProfileGoes", func(tx parley.Tx, send func()) parley.Tx { return afterEraseTx{tx, send} }},
	}
	for _, sc := range sends {
		for _, tc := range moments {
			t.Run(sc.name+"/"+tc.name, func(t *testing.T) {
				r := newDeletionRace(t)
				sendErr := r.run(t, "ann", tc.hook, func(a *Service, annCtx context.Context) error { return sc.send(a, annCtx, r.direct.ID) })
				ctx := context.Background()
				var page []*parley.Message
				if err := r.dbA.Read(ctx, func(tx parley.Tx) (err error) {
					page, err = tx.FindMessages(ctx, parley.MessageFilter{ThreadID: r.direct.ID, Limit: 10})
					return err
				}); err != nil {
					t.Fatal(err)
				}
				for _, m := range page {
					if m.DeletedAt == nil {
						t.Fatalf("the send during ann's deletion (which answered %v) left a %s message of her deleted account", sendErr, m.Kind)
					}
				}
			})
		}
	}
}

// TestNodes_ThreadStartedDuringDeletionLeavesTheAccountOut: a member who
// starts a thread on one node with a friend whose account is being deleted
// on another does not take the deleted account into it: the friend, read
// as a friend when the thread began, is refused as its member once the
// deletion ends, and is in no thread after it.
func TestNodes_ThreadStartedDuringDeletionLeavesTheAccountOut(t *testing.T) {
	r := newDeletionRace(t)
	hook := func(tx parley.Tx, start func()) parley.Tx { return afterEraseTx{tx, start} }
	startErr := r.run(t, "bob", hook, func(a *Service, annCtx context.Context) error {
		_, _, _, err := a.CreateThread(annCtx, NewThread{Participants: []string{"bob"}, Kind: parley.ThreadGroup, Title: "Films"})
		return err
	})
	ctx := context.Background()
	var threads []*parley.ThreadSummary
	if err := r.dbA.Read(ctx, func(tx parley.Tx) (err error) {
		threads, err = tx.FindThreads(ctx, parley.ThreadFilter{UserID: r.bob.ID, Limit: 10})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(threads) > 0 {
		t.Fatalf("the thread ann started during bob's deletion (which answered %v) has bob's deleted account in it", startErr)
	}
}

// afterUserGrantsTx runs a hook after the transaction reads a member's
// grants (FindUserGrants): a disabling's or a deletion's write, about to
// end them.
type afterUserGrantsTx struct {
	parley.Tx
	afterGrants func()
}

func (t afterUserGrantsTx) FindUserGrants(ctx context.Context, userID string) ([]*parley.Grant, error) {
	list, err := t.Tx.FindUserGrants(ctx, userID)
	t.afterGrants()
	return list, err
}

// afterExpiredGrantsTx runs a hook after the transaction finds the grants
// that ran out (FindExpiredGrants): the expiry job's write, about to end
// them.
type afterExpiredGrantsTx struct {
	parley.Tx
	afterGrants func()
}

func (t afterExpiredGrantsTx) FindExpiredGrants(ctx context.Context, at time.Time, limit int) ([]*parley.Grant, error) {
	list, err := t.Tx.FindExpiredGrants(ctx, at, limit)
	t.afterGrants()
	return list, err
}

// TestNodes_ExpiredGrantEndsOnce: a grant that ran out, ended by the
// expiry job on one node while an operator disables its member on
// another, or while the expiry job runs there too, ends once, whichever
// write reads the grant first: the app's endpoint is sent one
// grant.revoked, and the member's log holds one grant.expired. The other
// write, made right then, waits for the first or passes the grant by
// (here the first waits up to a second for it, and then goes on).
func TestNodes_ExpiredGrantEndsOnce(t *testing.T) {
	ctx := context.Background()
	expire := func(s *Service, _ *grantOnTwoNodes) error { _, err := s.EndExpiredGrants(ctx); return err }
	for _, tc := range []struct {
		name         string
		first, other func(*Service, *grantOnTwoNodes) error
		hook         func(tx parley.Tx, other func()) parley.Tx
	}{
		{"ExpiryWhileDisabling", disableAsOperator, expire, func(tx parley.Tx, other func()) parley.Tx { return afterUserGrantsTx{tx, other} }},
		{"DisablingWhileExpiring", expire, disableAsOperator, func(tx parley.Tx, other func()) parley.Tx { return afterExpiredGrantsTx{tx, other} }},
		{"ExpiryWhileExpiring", expire, expire, func(tx parley.Tx, other func()) parley.Tx { return afterExpiredGrantsTx{tx, other} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ranOut := parley.Now().Add(-time.Minute)
			w := newGrantOnTwoNodes(t, ranOut.Add(-30*24*time.Hour), &ranOut)
			w.race(t, tc.first, tc.other, tc.hook)
			if deliveries, expired := w.ended(t, parley.ActionGrantExpired); deliveries != 1 || expired != 1 {
				t.Fatalf("the grant ended with %d grant.revoked deliveries and %d grant.expired entries, want one each", deliveries, expired)
			}
		})
	}
}

// afterGrantTx runs a hook after the transaction finds a grant by its ID:
// a member's revocation, about to end it.
type afterGrantTx struct {
	parley.Tx
	afterGrant func()
}

func (t afterGrantTx) FindGrantByID(ctx context.Context, id string) (*parley.Grant, error) {
	g, err := t.Tx.FindGrantByID(ctx, id)
	t.afterGrant()
	return g, err
}

// TestNodes_RevokedGrantEndsOnce: a grant its member revokes on one node
// while an operator deletes its app on another ends once: one revocation
// in the member's access log, one grant.revoked delivery, whichever comes
// first.
func TestNodes_RevokedGrantEndsOnce(t *testing.T) {
	for _, tc := range []struct {
		name         string
		first, other func(*Service, *grantOnTwoNodes) error
	}{
		{"DeletionWhileRevoking", revokeAsMember, deleteAppAsOperator},
		{"DisablingWhileRevoking", revokeAsMember, disableAsOperator},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newGrantOnTwoNodes(t, parley.Now().Add(-time.Hour), nil)
			w.race(t, tc.first, tc.other, func(tx parley.Tx, other func()) parley.Tx { return afterGrantTx{tx, other} })
			deliveries, revoked := w.ended(t, parley.ActionGrantRevoked, parley.ActionGrantRevokedByOperator)
			if deliveries != 1 || revoked != 1 {
				t.Fatalf("the grant ended with %d grant.revoked deliveries and %d revocations in the log, want one each", deliveries, revoked)
			}
		})
	}
}

// grantOnTwoNodes is a member's grant to an app whose webhook endpoint
// hears of grants ended, on two nodes of one database.
type grantOnTwoNodes struct {
	a, b  *sqlstore.DB
	ann   *parley.User
	grant *parley.Grant
	hook  *parley.WebhookEndpoint
}

// newGrantOnTwoNodes writes the member, the app, its endpoint and the
// grant, made at granted and running out at expires (nil: never).
func newGrantOnTwoNodes(t *testing.T, granted time.Time, expires *time.Time) *grantOnTwoNodes {
	t.Helper()
	nodes := sqlstoretest.TwoNodes(t)
	made := granted.Add(-time.Hour)
	ann := &parley.User{ID: parley.NewID(), Username: "ann", DisplayName: "Ann", CreatedAt: made}
	app := &parley.App{ClientID: parley.NewID(), Name: "Films", RedirectURIs: []string{"https://films.example/cb"},
		ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: made}
	w := &grantOnTwoNodes{a: nodes[0], b: nodes[1], ann: ann,
		grant: &parley.Grant{ID: parley.NewID(), UserID: ann.ID, ClientID: app.ClientID, Scopes: parley.Scopes{parley.ScopeOpenID},
			ThreadScope: parley.ThreadScopeApp, CreatedAt: granted, UpdatedAt: granted, ExpiresAt: expires},
		hook: &parley.WebhookEndpoint{ID: parley.NewID(), ClientID: app.ClientID, URL: "https://films.example/hooks",
			Events: []string{parley.WebhookGrantRevoked}, Created: made, ActiveFrom: made},
	}
	ctx := context.Background()
	err := w.a.Write(ctx, func(tx parley.Tx) error {
		for _, err := range []error{tx.CreateUser(ctx, ann, "hash"), tx.CreateApp(ctx, app, []byte("secret")), tx.CreateGrant(ctx, w.grant)} {
			if err != nil {
				return err
			}
		}
		return tx.CreateWebhookEndpoint(ctx, w.hook, []byte("sealed"))
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// race runs first on node b, whose transactions hook wraps, and other on
// node a, started from within first's transaction where hook calls it.
func (w *grantOnTwoNodes) race(t *testing.T, first, other func(*Service, *grantOnTwoNodes) error, hook func(parley.Tx, func()) parley.Tx) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	a := New(w.a, bus.NewMemory(16), log, Options{})
	start, done := atOnce(func() error { return other(a, w) })
	b := New(hookedStore{w.b, func(tx parley.Tx) parley.Tx { return hook(tx, start) }}, bus.NewMemory(16), log, Options{})
	if err := first(b, w); err != nil {
		t.Fatal(err)
	}
	if err := done(); err != nil {
		t.Fatal(err)
	}
}

// ended returns how many grant.revoked deliveries the endpoint was sent,
// and how many entries of the member's log are one of actions.
func (w *grantOnTwoNodes) ended(t *testing.T, actions ...string) (deliveries, logged int) {
	t.Helper()
	ctx := context.Background()
	err := w.a.Read(ctx, func(tx parley.Tx) error {
		sent, err := tx.FindWebhookDeliveries(ctx, w.hook.ID, "", 10)
		if err != nil {
			return err
		}
		entries, err := tx.FindAccessEntries(ctx, parley.AccessFilter{UserID: w.ann.ID, Ascending: true, Limit: 10})
		for _, e := range entries {
			if slices.Contains(actions, e.Action) {
				logged++
			}
		}
		deliveries = len(sent)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return deliveries, logged
}

func revokeAsMember(s *Service, w *grantOnTwoNodes) error {
	ctx := parley.NewContextWithCaller(context.Background(), &parley.Caller{User: w.ann.Ref()})
	return s.RevokeGrant(ctx, w.grant.ID)
}

func disableAsOperator(s *Service, w *grantOnTwoNodes) error {
	_, err := s.SetDisabled(ConsoleContext(context.Background()), w.ann.Username, true)
	return err
}

func deleteAppAsOperator(s *Service, w *grantOnTwoNodes) error {
	_, err := s.DeleteApp(ConsoleContext(context.Background()), w.grant.ClientID)
	return err
}

// afterFriendshipTx runs a hook once the transaction reads a friendship.
type afterFriendshipTx struct {
	parley.Tx
	afterRead func()
}

func (t afterFriendshipTx) FindFriendship(ctx context.Context, a, b string) (*parley.Friendship, error) {
	f, err := t.Tx.FindFriendship(ctx, a, b)
	t.afterRead()
	return f, err
}

// afterBlocksTx runs a hook once the transaction reads the blocks between
// two members.
type afterBlocksTx struct {
	parley.Tx
	afterRead func()
}

func (t afterBlocksTx) FindBlocksBetween(ctx context.Context, a, b string) (bool, bool, error) {
	ab, ba, err := t.Tx.FindBlocksBetween(ctx, a, b)
	t.afterRead()
	return ab, ba, err
}

// TestNodes_BlockDuringARequestOrANewThread: a member who blocks another
// on one node while that member, on another node, starts a conversation
// with them or asks them to be friends, having found them a friend or not
// blocking: whichever comes first, no request stands beside the block,
// and a conversation between them takes no message while it stands.
func TestNodes_BlockDuringARequestOrANewThread(t *testing.T) {
	for _, tc := range []struct {
		name    string
		friends bool
		hook    func(tx parley.Tx, block func()) parley.Tx
		act     func(ctx context.Context, s *Service) error
	}{
		{"ANewThread", true, func(tx parley.Tx, block func()) parley.Tx { return afterFriendshipTx{tx, block} }, func(ctx context.Context, s *Service) error {
			_, _, _, err := s.CreateThread(ctx, NewThread{Participants: []string{"alice"}})
			return err
		}},
		{"AFriendRequest", false, func(tx parley.Tx, block func()) parley.Tx { return afterBlocksTx{tx, block} }, func(ctx context.Context, s *Service) error {
			_, err := s.AddFriend(ctx, "alice")
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			nodes := sqlstoretest.TwoNodes(t)
			alice := &parley.User{ID: parley.NewID(), Username: "alice", DisplayName: "Alice", CreatedAt: parley.Now()}
			bob := &parley.User{ID: parley.NewID(), Username: "bob", DisplayName: "Bob", CreatedAt: parley.Now()}
			if err := nodes[0].Write(ctx, func(tx parley.Tx) error {
				for _, u := range []*parley.User{alice, bob} {
					if err := tx.CreateUser(ctx, u, "hash"); err != nil {
						return err
					}
				}
				if !tc.friends {
					return nil
				}
				return tx.CreateFriendship(ctx, &parley.Friendship{RequesterID: alice.ID, AddresseeID: bob.ID, State: parley.FriendAccepted, CreatedAt: parley.Now()})
			}); err != nil {
				t.Fatal(err)
			}
			as := func(u *parley.User) context.Context {
				return parley.NewContextWithCaller(ctx, &parley.Caller{User: u.Ref()})
			}
			b := signInNode(nodes[1])
			block, blocked := atOnce(func() error {
				_, err := b.Block(as(alice), "bob")
				return err
			})
			a := signInNode(hookedStore{nodes[0], func(tx parley.Tx) parley.Tx { return tc.hook(tx, block) }})

			actErr := tc.act(as(bob), a)
			if err := blocked(); err != nil {
				t.Fatalf("alice blocks bob: %v", err)
			}
			t.Logf("bob's %s: %v", tc.name, actErr)
			if err := nodes[0].Read(ctx, func(tx parley.Tx) error {
				if f, err := tx.FindFriendship(ctx, alice.ID, bob.ID); err == nil {
					t.Errorf("beside the block stands %+v", f)
				} else if !isNotFound(err) {
					return err
				}
				th, err := tx.FindThreadByDirectKey(ctx, parley.DirectKey(alice.ID, bob.ID))
				if err == nil && !th.Blocked {
					t.Errorf("beside the block, their conversation takes messages: %+v", th)
				} else if err != nil && !isNotFound(err) {
					return err
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestNodes_SessionEndedDuringAPasswordChange: a member who, on one node,
// signs out everywhere else while a session of theirs, on another node, is
// changing their password (with the password, which whoever holds that
// session knew) keeps their password and their own session: the session
// that ended changes nothing.
func TestNodes_SessionEndedDuringAPasswordChange(t *testing.T) {
	ctx := context.Background()
	ann := annOnTwoNodes(t)
	mine, err := ann.b.SignIn(ctx, "ann", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := ann.b.SignIn(ctx, "ann", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	me, err := ann.b.Authenticate(ctx, mine.Token)
	if err != nil {
		t.Fatal(err)
	}
	signOutOthers, signedOut := atOnce(func() error {
		_, err := ann.b.SignOutOthers(parley.NewContextWithCaller(ctx, me))
		return err
	})
	a := ann.nodeA(func(tx parley.Tx) parley.Tx { return afterHashTx{tx, signOutOthers} })
	them, err := a.Authenticate(ctx, theirs.Token)
	if err != nil {
		t.Fatal(err)
	}

	_, changeErr := a.ChangePassword(parley.NewContextWithCaller(ctx, them), "correct horse", "their password")
	if err := signedOut(); err != nil {
		t.Fatalf("sign out everywhere else: %v", err)
	}
	if parley.ErrorCode(changeErr) != parley.EUNAUTHORIZED {
		t.Errorf("the ended session's change: %v, want EUNAUTHORIZED", changeErr)
	}
	if c, err := ann.b.Authenticate(ctx, mine.Token); err != nil {
		t.Errorf("ann's own session: %v", err)
	} else if err := ann.b.ConfirmSession(parley.NewContextWithCaller(ctx, c)); err != nil {
		t.Errorf("ann's own session: %v", err)
	}
	if _, err := ann.b.SignIn(ctx, "ann", "correct horse"); err != nil {
		t.Errorf("ann's password: %v", err)
	}
}

// keyKeeperDown is a key keeper that cannot give any key.
type keyKeeperDown struct{}

func (keyKeeperDown) Secret(context.Context, string, func() ([]byte, error)) ([]byte, error) {
	return nil, parley.Errorf(parley.EINTERNAL, "the key keeper is unavailable")
}

// A password change that fails tells its caller so only while nothing
// changed: with no key to make the browser's new device proof with, the
// old password and the other sessions stay.
func TestAccounts_ChangePasswordFailsWhole(t *testing.T) {
	ctx := context.Background()
	ann := annOnTwoNodes(t)
	other, err := ann.b.SignIn(ctx, "ann", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	mine, err := ann.b.SignIn(ctx, "ann", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	a := New(ann.dbA, bus.NewMemory(16), slog.New(slog.DiscardHandler), Options{SessionTTL: time.Hour, Secrets: keyKeeperDown{}})
	me, err := a.Authenticate(ctx, mine.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ChangePassword(parley.NewContextWithCaller(ctx, me), "correct horse", "a brand new one"); err == nil {
		t.Fatal("the change succeeded without a key")
	}
	if _, err := ann.b.SignIn(ctx, "ann", "correct horse"); err != nil {
		t.Errorf("the old password after the failed change: %v", err)
	}
	if c, err := ann.b.Authenticate(ctx, other.Token); err != nil {
		t.Errorf("the other session after the failed change: %v", err)
	} else if err := ann.b.ConfirmSession(parley.NewContextWithCaller(ctx, c)); err != nil {
		t.Errorf("the other session after the failed change: %v", err)
	}
}

// afterMessageTx runs a hook once the transaction has read a message by
// its ID (FindMessageByID).
type afterMessageTx struct {
	parley.Tx
	afterMessage func()
}

func (t afterMessageTx) FindMessageByID(ctx context.Context, id string) (*parley.Message, error) {
	m, err := t.Tx.FindMessageByID(ctx, id)
	t.afterMessage()
	return m, err
}

// TestNodes_AReactionToAMessageDeletedMeanwhile: a message deleted on one
// node just after a reaction to it on another read it is refused as a
// deleted message is (409), not as one that is not there, and a reaction
// taken back from it meanwhile has nothing to take back. The tombstone
// keeps no reaction.
func TestNodes_AReactionToAMessageDeletedMeanwhile(t *testing.T) {
	for _, emoji := range []string{"👍", ""} {
		r := newDeletionRace(t)
		ctx := context.Background()
		log := slog.New(slog.DiscardHandler)
		m := r.postByBob(t)
		bobCtx := parley.NewContextWithCaller(ctx, &parley.Caller{User: r.bob.Ref(), SignedInAt: parley.Now()})
		annCtx := parley.NewContextWithCaller(ctx, &parley.Caller{User: r.ann.Ref(), SignedInAt: parley.Now()})
		b := New(r.dbB, bus.NewMemory(16), log, Options{})
		if emoji == "" {
			// One to take back.
			if _, err := b.React(annCtx, m.ID, "😂"); err != nil {
				t.Fatal(err)
			}
		}
		deleted, done := atOnce(func() error { return b.DeleteMessage(bobCtx, m.ID) })
		a := New(hookedStore{r.dbA, func(tx parley.Tx) parley.Tx { return afterMessageTx{tx, deleted} }}, bus.NewMemory(16), log, Options{})
		react := a.React
		if emoji == "" {
			react = a.TakeBackReaction
		}
		_, err := react(annCtx, m.ID, emoji)
		if want := map[string]string{"👍": parley.ECONFLICT, "": ""}[emoji]; parley.ErrorCode(err) != want {
			t.Errorf("reacting %q to a message deleted meanwhile: %v, want %q", emoji, err, want)
		}
		if err := done(); err != nil {
			t.Fatal(err)
		}
		var tomb *parley.Message
		if err := r.dbA.Read(ctx, func(tx parley.Tx) (err error) { tomb, err = tx.FindMessageByID(ctx, m.ID); return err }); err != nil {
			t.Fatal(err)
		}
		if tomb.DeletedAt == nil || tomb.Reactions != nil {
			t.Errorf("the message after the race: %+v, want a tombstone without reactions", tomb)
		}
	}
}

// TestNodes_AChangeToAMessageDeletedMeanwhile: a message its sender
// deletes on one node just after another node read it for a change is
// found deleted when that change is made, not missing: an edit is refused
// as an edit of a deleted message is (409), a second deletion changes
// nothing, and an operator's deletion of a reported message closes its
// reports. None is a 404.
func TestNodes_AChangeToAMessageDeletedMeanwhile(t *testing.T) {
	for _, change := range []string{"edit", "delete", "operator"} {
		t.Run(change, func(t *testing.T) {
			r := newDeletionRace(t)
			ctx := context.Background()
			log := slog.New(slog.DiscardHandler)
			m := r.postByBob(t)
			bobCtx := parley.NewContextWithCaller(ctx, &parley.Caller{User: r.bob.Ref(), SignedInAt: parley.Now()})
			annCtx := parley.NewContextWithCaller(ctx, &parley.Caller{User: r.ann.Ref(), SignedInAt: parley.Now()})
			b := New(r.dbB, bus.NewMemory(16), log, Options{})
			flag, _, err := b.FlagMessage(annCtx, m.ID, parley.Flag{Reason: parley.FlagAbuse})
			if err != nil {
				t.Fatal(err)
			}
			deleted, done := atOnce(func() error { return b.DeleteMessage(bobCtx, m.ID) })
			a := New(hookedStore{r.dbA, func(tx parley.Tx) parley.Tx { return afterMessageTx{tx, deleted} }}, bus.NewMemory(16), log, Options{})
			switch change {
			case "edit":
				_, err = a.EditMessage(bobCtx, m.ID, "edited")
				if parley.ErrorCode(err) != parley.ECONFLICT {
					t.Errorf("an edit of a message deleted meanwhile: %v, want a conflict", err)
				}
			case "delete":
				if err := a.DeleteMessage(bobCtx, m.ID); err != nil {
					t.Errorf("deleting a message deleted meanwhile: %v, want nothing to do", err)
				}
			case "operator":
				if err := a.DeleteFlaggedMessage(ConsoleContext(ctx), m.ID, flag.ID); err != nil {
					t.Errorf("an operator deleting a reported message deleted meanwhile: %v", err)
				}
				if f, err := b.FindFlag(annCtx, m.ID); err != nil || f.Resolution != parley.FlagMessageDeleted {
					t.Errorf("ann's report after the race: %+v, %v; want closed, the message deleted", f, err)
				}
			}
			if err := done(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// afterReachTx runs a hook once a write has read an app's reach of a
// thread, before it acts on it.
type afterReachTx struct {
	parley.Tx
	afterReach func()
}

func (t afterReachTx) FindThreadReach(ctx context.Context, grantID, threadID string) (*parley.ThreadReach, error) {
	r, err := t.Tx.FindThreadReach(ctx, grantID, threadID)
	t.afterReach()
	return r, err
}

// An app's send on node A, and, on node B, a participant's closing of the
// thread to apps or the member's revocation of the grant, at once: the
// change is not told done while the send goes on to commit a message into
// the thread after it. The change waits for the send, which holds the
// thread and its grant from its reach read on, or, made first, refuses
// it; the member's log never shows the app writing after the change.
func TestNodes_AppSendAgainstTheEndOfItsAccess(t *testing.T) {
	for name, change := range map[string]func(b *Service, alice context.Context, group, grantID string) error{
		"Close": func(b *Service, alice context.Context, group, _ string) error {
			_, err := b.SetThreadAppAccess(alice, group, false)
			return err
		},
		"Revoke": func(b *Service, alice context.Context, _, grantID string) error {
			return b.RevokeGrant(alice, grantID)
		},
	} {
		t.Run(name, func(t *testing.T) {
			nodes := sqlstoretest.TwoNodes(t)
			log := slog.New(slog.DiscardHandler)
			ctx := context.Background()
			users, group, _ := appInGroup(t, nodes[0], parley.ScopeMessagesWrite)
			alice := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["alice"].Ref()})
			b := New(nodes[1], bus.NewMemory(16), log, Options{})
			var grantID string
			var once sync.Once
			changed := make(chan error, 1)
			toldDoneFirst := false
			// Node B's change, once node A's send has read its reach;
			// told done within a second, unless it waits for the send.
			hook := func() {
				once.Do(func() {
					go func() { changed <- change(b, alice, group, grantID) }()
					select {
					case err := <-changed:
						changed <- err
						toldDoneFirst = err == nil
					case <-time.After(time.Second):
					}
				})
			}
			a := New(hookedStore{nodes[0], func(tx parley.Tx) parley.Tx { return afterReachTx{tx, hook} }}, bus.NewMemory(16), log,
				Options{AccessTokens: unsealedTokens{}})
			app := lookedUpApp(t, a, users["alice"])
			grantID = app.App.Grant.ID
			m, _, sendErr := a.SendMessage(parley.NewContextWithCaller(ctx, app), group, Draft{Text: "from node A"}, "")
			if err := <-changed; err != nil {
				t.Fatalf("the %s: %v", name, err)
			}
			if sendErr == nil && toldDoneFirst {
				t.Errorf("the %s was told done while the app's send went on, which then committed message %d", name, m.Seq)
			}
			var entries []*parley.AccessEntry
			err := nodes[0].Read(ctx, func(tx parley.Tx) (err error) {
				entries, err = tx.FindAccessEntries(ctx, parley.AccessFilter{UserID: users["alice"].ID, Ascending: true, Limit: 100})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			ended := false
			for _, e := range entries {
				ended = ended || e.Action == parley.ActionThreadClosed || e.Action == parley.ActionGrantRevoked
				if ended && e.Action == string(parley.ScopeMessagesWrite) {
					t.Errorf("alice's log shows the app writing after the %s: %+v", name, e)
				}
			}
		})
	}
}

// beforeThreadTx runs a hook before a write reads a thread: a member's
// write about their own place in it (heldThread) has then held that place.
type beforeThreadTx struct {
	parley.Tx
	beforeThread func()
}

func (t beforeThreadTx) FindThreadByID(ctx context.Context, id string) (*parley.Thread, error) {
	t.beforeThread()
	return t.Tx.FindThreadByID(ctx, id)
}

// An app's send on node A and its member's marking the thread read on
// node B, at once: the two take the member's place and the thread in one
// order, so that neither waits on the other while holding what the other
// waits for (a deadlock, which PostgreSQL breaks after a second by
// failing one, to be run again).
func TestNodes_AppSendAndItsMemberMarkingRead(t *testing.T) {
	nodes := sqlstoretest.TwoNodes(t)
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	users, group, _ := appInGroup(t, nodes[0], parley.ScopeMessagesWrite)
	alice := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["alice"].Ref()})
	// Node B's marking holds alice's place, then waits a moment before it
	// reads the thread, while node A's send has read its reach.
	b := New(hookedStore{nodes[1], func(tx parley.Tx) parley.Tx {
		return beforeThreadTx{tx, func() { time.Sleep(300 * time.Millisecond) }}
	}}, bus.NewMemory(16), log, Options{})
	var runs atomic.Int32
	marked := make(chan error, 1)
	hook := func() {
		if runs.Add(1) == 1 {
			go func() { marked <- b.MarkRead(alice, group, 0) }()
			time.Sleep(100 * time.Millisecond)
		}
	}
	a := New(hookedStore{nodes[0], func(tx parley.Tx) parley.Tx { return afterReachTx{tx, hook} }}, bus.NewMemory(16), log,
		Options{AccessTokens: unsealedTokens{}})
	app := lookedUpApp(t, a, users["alice"])
	if _, _, err := a.SendMessage(parley.NewContextWithCaller(ctx, app), group, Draft{Text: "from node A"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := <-marked; err != nil {
		t.Fatalf("mark read: %v", err)
	}
	if n := runs.Load(); n > 1 {
		t.Errorf("the app's send ran %d times: it deadlocked with its member's marking the thread read", n)
	}
}

// afterDirectTx runs a hook once a write has read a direct thread by its
// key (and, on PostgreSQL, held it).
type afterDirectTx struct {
	parley.Tx
	afterDirect func()
}

func (t afterDirectTx) FindThreadByDirectKey(ctx context.Context, key string) (*parley.Thread, error) {
	th, err := t.Tx.FindThreadByDirectKey(ctx, key)
	t.afterDirect()
	return th, err
}

// countedStore counts the runs of its writes, WriteOne's too.
type countedStore struct {
	parley.Store
	runs *atomic.Int32
}

func (s countedStore) Write(ctx context.Context, fn func(parley.Tx) error) error {
	return s.Store.Write(ctx, func(tx parley.Tx) error { s.runs.Add(1); return fn(tx) })
}

func (s countedStore) WriteOne(ctx context.Context, fn func(parley.Tx) error) error {
	return s.Store.WriteOne(ctx, func(tx parley.Tx) error { s.runs.Add(1); return fn(tx) })
}

// An app's share into its member's direct thread on node A, and the
// member's own send into it on node B, at once: the share holds the
// member's place before the thread, as the send does, so that neither
// waits on the other while holding what the other waits for.
func TestNodes_AppShareAndItsMemberSending(t *testing.T) {
	nodes := sqlstoretest.TwoNodes(t)
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	users, _, _ := appInGroup(t, nodes[0], parley.ScopeSharesWrite)
	alice, bob := users["alice"], users["bob"]
	direct := mustDirectThread(t, nodes[0], alice, bob)
	var sends, shares atomic.Int32
	b := New(countedStore{nodes[1], &sends}, bus.NewMemory(16), log, Options{})
	aliceCtx := parley.NewContextWithCaller(ctx, &parley.Caller{User: alice.Ref()})
	sent := make(chan error, 1)
	// Node B's send, once node A's share holds the thread: its second
	// read of it, the write's (the first finds the thread's ID).
	hook := func() {
		if shares.Add(1) == 2 {
			go func() {
				_, _, err := b.SendMessage(aliceCtx, direct.ID, Draft{Text: "from alice on node B"}, "")
				sent <- err
			}()
			time.Sleep(200 * time.Millisecond)
		}
	}
	a := New(hookedStore{nodes[0], func(tx parley.Tx) parley.Tx { return afterDirectTx{tx, hook} }}, bus.NewMemory(16), log,
		Options{AccessTokens: unsealedTokens{}})
	app := lookedUpApp(t, a, alice)
	// Alice ticked her direct thread too: an app of hers reaching the
	// threads she ticks shares into no other that was there before it.
	if err := nodes[0].Write(ctx, func(tx parley.Tx) error {
		_, err := tx.AddGrantThread(ctx, parley.GrantThread{GrantID: app.App.Grant.ID, ThreadID: direct.ID})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Share(parley.NewContextWithCaller(ctx, app), NewShare{To: "bob", URL: "https://films.example/1", Title: "A film"}); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("alice's send: %v", err)
	}
	if n, m := shares.Load(), sends.Load(); n > 2 || m > 1 {
		t.Errorf("the app's share read the thread %d times and its member's send ran %d: the two deadlocked", n, m)
	}
}

// afterLeaveTx runs a hook once the transaction has taken a member out of
// a thread (LeaveThread), before it commits.
type afterLeaveTx struct {
	parley.Tx
	afterLeave func()
}

func (t afterLeaveTx) LeaveThread(ctx context.Context, threadID, userID string, at time.Time) error {
	err := t.Tx.LeaveThread(ctx, threadID, userID, at)
	t.afterLeave()
	return err
}

// annsFriends makes ann and the members named in db, each of them ann's
// friend, and returns them by name, with what makes a context of each.
func annsFriends(t *testing.T, db *sqlstore.DB, names ...string) (map[string]*parley.User, func(name string) context.Context) {
	t.Helper()
	ctx := context.Background()
	now := parley.Now()
	users := map[string]*parley.User{}
	if err := db.Write(ctx, func(tx parley.Tx) error {
		for _, name := range append([]string{"ann"}, names...) {
			u := &parley.User{ID: parley.NewID(), Username: name, DisplayName: name, CreatedAt: now}
			if err := tx.CreateUser(ctx, u, "hash"); err != nil {
				return err
			}
			users[name] = u
		}
		for _, name := range names {
			if err := tx.CreateFriendship(ctx, &parley.Friendship{RequesterID: users["ann"].ID, AddresseeID: users[name].ID, State: parley.FriendAccepted, CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return users, func(name string) context.Context {
		return parley.NewContextWithCaller(ctx, &parley.Caller{User: users[name].Ref(), SignedInAt: now})
	}
}

// TestNodes_ASendDuringARemovalIsNotToldTheMemberTakenOut: the group's
// starter takes bob out of it on one node while cat, on another node,
// sends a message into it, which waits for the thread the removal holds.
// The message comes after bob's removal, which he cannot read, and his
// stream is not told of it either: the post reads who is in the thread
// anew once it holds the thread (postParticipantMessagePG).
func TestNodes_ASendDuringARemovalIsNotToldTheMemberTakenOut(t *testing.T) {
	ctx := context.Background()
	nodes := sqlstoretest.TwoNodes(t)
	users, as := annsFriends(t, nodes[0], "bob", "cat")
	b := signInNode(nodes[1])
	group, _, _, err := b.CreateThread(as("ann"), NewThread{Participants: []string{"bob", "cat"}, Title: "g", Kind: parley.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	// bob's stream is on node B, where cat sends.
	bobs, err := b.bus.Subscribe(ctx, users["bob"].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer bobs.Close()

	var sent *parley.Message
	send, done := atOnce(func() (err error) {
		sent, _, err = b.SendMessage(as("cat"), group.ID, Draft{Text: "now that bob is gone"}, "")
		return err
	})
	a := signInNode(hookedStore{nodes[0], func(tx parley.Tx) parley.Tx { return afterLeaveTx{tx, send} }})
	if err := a.RemoveParticipant(as("ann"), group.ID, users["bob"].ID); err != nil {
		t.Fatal(err)
	}
	if err := done(); err != nil {
		t.Fatalf("cat sends: %v", err)
	}
	// The message came after bob's removal: he cannot read it.
	var removedAfter int64
	if err := nodes[0].Read(ctx, func(tx parley.Tx) error {
		p, err := tx.FindParticipant(ctx, group.ID, users["bob"].ID)
		if err != nil {
			return err
		}
		if p.LeftAt == nil {
			t.Fatal("bob is still in the group")
		}
		th, err := tx.FindThreadByID(ctx, group.ID)
		removedAfter = th.LastSeq
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Messages(as("bob"), group.ID, MessageQuery{}); !isNotFound(err) {
		t.Fatalf("bob reads the group after his removal: %v, want not found", err)
	}
	if sent.Seq != removedAfter {
		t.Fatalf("cat's message is seq %d, the thread's last %d", sent.Seq, removedAfter)
	}

	deadline := time.After(2 * time.Second)
	for {
		select {
		case ev := <-bobs.C():
			if ev.Type != parley.EventMessageCreated {
				continue
			}
			var m parley.Message
			if err := json.Unmarshal(ev.Data, &m); err != nil {
				t.Fatal(err)
			}
			if m.ID == sent.ID {
				t.Fatalf("bob, taken out of the group before cat's message was posted, is sent it: %q (seq %d)", m.Text, m.Seq)
			}
		case <-deadline:
			return
		}
	}
}

// afterJoinTx runs a hook once the transaction has added a member to a
// thread (JoinThread), before it commits.
type afterJoinTx struct {
	parley.Tx
	afterJoin func()
}

func (t afterJoinTx) JoinThread(ctx context.Context, p *parley.Participant) error {
	err := t.Tx.JoinThread(ctx, p)
	t.afterJoin()
	return err
}

// TestNodes_ASendDuringAnAddingIsToldTheNewcomer: dan is added to the
// group on one node while cat sends on another; the message comes after
// dan joined (it is unread for him), and his stream is told of it, as of
// anything sent into the thread while he is in it.
func TestNodes_ASendDuringAnAddingIsToldTheNewcomer(t *testing.T) {
	ctx := context.Background()
	nodes := sqlstoretest.TwoNodes(t)
	users, as := annsFriends(t, nodes[0], "bob", "cat", "dan")
	b := signInNode(nodes[1])
	group, _, _, err := b.CreateThread(as("ann"), NewThread{Participants: []string{"bob", "cat"}, Title: "g", Kind: parley.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	dans, err := b.bus.Subscribe(ctx, users["dan"].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer dans.Close()

	var sent *parley.Message
	send, done := atOnce(func() (err error) {
		sent, _, err = b.SendMessage(as("cat"), group.ID, Draft{Text: "hello dan"}, "")
		return err
	})
	a := signInNode(hookedStore{nodes[0], func(tx parley.Tx) parley.Tx { return afterJoinTx{tx, send} }})
	if _, err := a.AddParticipant(as("ann"), group.ID, "dan"); err != nil {
		t.Fatal(err)
	}
	if err := done(); err != nil {
		t.Fatalf("cat sends: %v", err)
	}
	th, err := b.Thread(as("dan"), group.ID)
	if err != nil {
		t.Fatal(err)
	}
	if th.UnreadCount != 1 {
		t.Fatalf("dan's unread count is %d, want 1 (cat's message came after he joined)", th.UnreadCount)
	}
	deadline := time.After(2 * time.Second)
	for {
		select {
		case ev := <-dans.C():
			if ev.Type == parley.EventMessageCreated && ev.MessageID == sent.ID {
				return
			}
		case <-deadline:
			t.Fatalf("dan, in the group before cat's message %d was posted (it is unread for him), is never told of it", sent.Seq)
		}
	}
}

// renameHeldTx, on one node, holds a group renamed but not committed for
// a moment, once it has told held.
type renameHeldTx struct {
	parley.Tx
	held chan<- struct{}
}

func (t renameHeldTx) RenameThread(ctx context.Context, threadID, title string, at time.Time) error {
	err := t.Tx.RenameThread(ctx, threadID, title, at)
	t.held <- struct{}{}
	time.Sleep(50 * time.Millisecond)
	return err
}

// renamedUnderThePostTx, on another node, runs rename before each run of
// a post: the post's statement begins while the group's row is held
// renamed, and finds it changed once it holds the row itself.
type renamedUnderThePostTx struct {
	parley.Tx
	rename func()
}

func (t renamedUnderThePostTx) PostParticipantMessage(ctx context.Context, m *parley.Message) ([]string, bool, error) {
	t.rename()
	return t.Tx.PostParticipantMessage(ctx, m)
}

// TestNodes_ASendWhileTheGroupKeepsChanging: a member renames the group on
// one node at every run of cat's send on another, which, each time, begins
// while the group is held renamed. The send is posted all the same, once,
// to everyone in the group: run again, it holds the group before it reads
// who is in it (postParticipantMessagePG), where it lost every run, and
// its member was answered an internal error, to any group changed many
// times a second.
func TestNodes_ASendWhileTheGroupKeepsChanging(t *testing.T) {
	nodes := sqlstoretest.TwoNodes(t)
	_, as := annsFriends(t, nodes[0], "bob", "cat")
	held := make(chan struct{})
	a := signInNode(hookedStore{nodes[0], func(tx parley.Tx) parley.Tx { return renameHeldTx{tx, held} }})
	group, _, _, err := a.CreateThread(as("ann"), NewThread{Participants: []string{"bob", "cat"}, Title: "g", Kind: parley.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	var renames sync.WaitGroup
	var renamed atomic.Int64
	rename := func() {
		renames.Go(func() {
			title := fmt.Sprint("g", renamed.Add(1))
			if _, err := a.UpdateThread(as("ann"), group.ID, ThreadUpdate{Title: &title}); err != nil {
				t.Errorf("rename: %v", err)
			}
		})
		<-held
	}
	b := signInNode(hookedStore{nodes[1], func(tx parley.Tx) parley.Tx { return renamedUnderThePostTx{tx, rename} }})
	sent, _, err := b.SendMessage(as("cat"), group.ID, Draft{Text: "still here"}, "")
	renames.Wait()
	if err != nil {
		t.Fatalf("cat sends while the group is renamed %d times: %v", renamed.Load(), err)
	}
	if renamed.Load() < 2 {
		t.Fatalf("the send ran %d times, want it to have run again at least once", renamed.Load())
	}
	page, err := a.Messages(as("bob"), group.ID, MessageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 1 || page.Messages[0].ID != sent.ID || sent.Seq != 1 {
		t.Fatalf("bob reads %+v, want cat's message alone, seq 1 (%+v)", page.Messages, sent)
	}
}

// TestNodes_AnAppsEditAfterItsMemberEditedMeanwhile: an app's edit of its
// own message on node A reads the message, and its member, on node B,
// edits it then: the words are hers, and the app's edit, run again, finds
// them and is refused, as on SQLite, whose writes run one at a time.
func TestNodes_AnAppsEditAfterItsMemberEditedMeanwhile(t *testing.T) {
	nodes := sqlstoretest.TwoNodes(t)
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	users, group, _ := appInGroup(t, nodes[0], parley.ScopeMessagesWrite)
	alice := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["alice"].Ref(), SignedInAt: parley.Now()})
	b := New(nodes[1], bus.NewMemory(16), log, Options{AccessTokens: unsealedTokens{}})
	m, _, err := b.SendMessage(parley.NewContextWithCaller(ctx, lookedUpApp(t, b, users["alice"])), group, Draft{Text: "receipt: pending"}, "")
	if err != nil {
		t.Fatal(err)
	}
	edited, done := atOnce(func() error {
		_, err := b.EditMessage(alice, m.ID, "alice's own words")
		return err
	})
	a := New(hookedStore{nodes[0], func(tx parley.Tx) parley.Tx { return afterMessageTx{tx, edited} }}, bus.NewMemory(16), log,
		Options{AccessTokens: unsealedTokens{}})
	app := lookedUpApp(t, a, users["alice"])
	_, appErr := a.EditMessage(parley.NewContextWithCaller(ctx, app), m.ID, "receipt: paid")
	if err := done(); err != nil {
		t.Fatalf("alice edits: %v", err)
	}
	var now *parley.Message
	if err := nodes[0].Read(ctx, func(tx parley.Tx) (err error) { now, err = tx.FindMessageByID(ctx, m.ID); return err }); err != nil {
		t.Fatal(err)
	}
	if now.Text != "alice's own words" || now.EditedByApp {
		t.Errorf("the message reads %q (the app's edit: %v), the app's edit answered %v: the app wrote over the words alice made hers", now.Text, now.EditedByApp, appErr)
	}
	if parley.ErrorCode(appErr) != parley.ENOTFOUND {
		t.Errorf("the app's edit after alice's: %v, want ENOTFOUND", appErr)
	}
}
