package sqlstore_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// EraseUser keeps a deleted member's ID and username, which no one else
// may take, and forgets the rest: the display name becomes
// DeletedDisplayName, the password hash and operator flag go, and so do
// their friendships and friend requests either way and the idempotency
// keys of the threads they started and of the messages they sent, while
// other members' stay. Erasing twice, or no one, is ENOTFOUND.
func TestUsers_EraseUser(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob, cat := newUser("ann"), newUser("bob"), newUser("cat")
		ann.Operator = true
		now := parley.Now()
		friendship := func(a, b *parley.User, state string) *parley.Friendship {
			return &parley.Friendship{RequesterID: a.ID, AddresseeID: b.ID, State: state, CreatedAt: now}
		}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{ann, bob, cat} {
				if err := tx.CreateUser(ctx, u, "hash-"+u.Username); err != nil {
					return err
				}
			}
			for _, f := range []*parley.Friendship{friendship(ann, bob, parley.FriendAccepted), friendship(cat, ann, parley.FriendPending), friendship(bob, cat, parley.FriendAccepted)} {
				if err := tx.CreateFriendship(ctx, f); err != nil {
					return err
				}
			}
			th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "g", CreatedBy: ann.ID, LastActivityAt: now, CreatedAt: now}
			if err := tx.CreateThread(ctx, th); err != nil {
				return err
			}
			for _, u := range []*parley.User{ann, bob} {
				if err := tx.CreateThreadKey(ctx, &parley.ThreadKey{UserID: u.ID, Key: "trip", ThreadID: "thread of " + u.Username, RequestHash: []byte("hash")}); err != nil {
					return err
				}
				if err := tx.PostMessage(ctx, &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText,
					Text: "hello", CreatedAt: now, IdempotencyKey: "hello-key"}); err != nil {
					return err
				}
			}
			return nil
		})
		mustWrite(t, db, func(tx parley.Tx) error { return tx.EraseUser(ctx, ann.ID, now) })

		err := db.Read(ctx, func(tx parley.Tx) error {
			for _, find := range []func() (*parley.User, error){
				func() (*parley.User, error) { return tx.FindUserByID(ctx, ann.ID) },
				func() (*parley.User, error) { return tx.FindUserByUsername(ctx, "ann") },
			} {
				u, err := find()
				if err != nil {
					return err
				}
				if !u.Deleted || !u.Disabled || u.Operator || u.Username != "ann" || u.DisplayName != parley.DeletedDisplayName || !u.CreatedAt.Equal(ann.CreatedAt) {
					t.Errorf("erased member: %+v", u)
				}
			}
			if hash, err := tx.FindPasswordHash(ctx, ann.ID); err != nil || hash != "" {
				t.Errorf("erased member's password hash %q, %v; want none", hash, err)
			}
			all, err := tx.FindUsers(ctx)
			if err != nil {
				return err
			}
			if i := slices.IndexFunc(all, func(u *parley.User) bool { return u.ID == ann.ID }); i < 0 || !all[i].Deleted {
				t.Errorf("the list of members leaves the erased one out or shows them undeleted")
			}
			if u, err := tx.FindUserByID(ctx, bob.ID); err != nil || u.Deleted || u.DisplayName != "bob" {
				t.Errorf("another member after the erasure: %+v, %v", u, err)
			}
			for _, pair := range [][2]string{{ann.ID, bob.ID}, {ann.ID, cat.ID}} {
				if _, err := tx.FindFriendship(ctx, pair[0], pair[1]); parley.ErrorCode(err) != parley.ENOTFOUND {
					t.Errorf("a friendship of the erased member: %v; want ENOTFOUND", err)
				}
			}
			if _, err := tx.FindThreadKey(ctx, ann.ID, "trip"); parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("a thread key of the erased member: %v; want ENOTFOUND", err)
			}
			if k, err := tx.FindThreadKey(ctx, bob.ID, "trip"); err != nil || k.ThreadID != "thread of bob" {
				t.Errorf("another member's thread key after the erasure: %+v, %v", k, err)
			}
			if _, err := tx.FindMessageByIdempotencyKey(ctx, ann.ID, "hello-key"); parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("a message key of the erased member: %v; want ENOTFOUND", err)
			}
			if m, err := tx.FindMessageByIdempotencyKey(ctx, bob.ID, "hello-key"); err != nil || m.Sender.ID != bob.ID {
				t.Errorf("another member's message key after the erasure: %+v, %v", m, err)
			}
			_, err = tx.FindFriendship(ctx, bob.ID, cat.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Write(ctx, func(tx parley.Tx) error { return tx.CreateUser(ctx, newUser("ann"), "h") }); parley.ErrorCode(err) != parley.ECONFLICT {
			t.Errorf("a new member with the erased member's username: %v; want ECONFLICT", err)
		}
		for _, id := range []string{ann.ID, "nobody"} {
			if err := db.Write(ctx, func(tx parley.Tx) error { return tx.EraseUser(ctx, id, now) }); parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("EraseUser(%s) again or of no one: %v; want ENOTFOUND", id, err)
			}
		}
	})
}

// A deleted account's username names it to no one: wherever the store
// reads members for others to see, beside messages (pages, one message,
// a thread's newest), reactions, a group's notes and a thread's notices,
// it reads the erased member with DeletedDisplayName and no username,
// and everyone else as they are. The row keeps the username
// (TestUsers_EraseUser).
func TestUsers_ErasedMemberShownWithoutUsername(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob := newUser("ann"), newUser("bob")
		th := mustGroupOf(t, db, ann, bob)
		now := parley.Now()
		annsMsg := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: ann.Ref(), Kind: parley.MessageKindText, Text: "ann's", CreatedAt: now}
		bobsMsg := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: bob.Ref(), Kind: parley.MessageKindText, Text: "bob's", CreatedAt: now}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, m := range []*parley.Message{annsMsg, bobsMsg} {
				if err := tx.PostMessage(ctx, m); err != nil {
					return err
				}
			}
			if err := tx.SetReaction(ctx, bobsMsg.ID, ann.ID, "👍", now); err != nil {
				return err
			}
			if err := tx.AddTimelineNote(ctx, &parley.TimelineNote{ID: parley.NewID(), ThreadID: th.ID, AfterSeq: 1, At: now, Kind: parley.NoteAdded,
				By: ann.Ref(), Subject: &parley.UserRef{ID: bob.ID}}); err != nil {
				return err
			}
			if err := tx.AddTimelineNote(ctx, &parley.TimelineNote{ID: parley.NewID(), ThreadID: th.ID, AfterSeq: 1, At: now, Kind: parley.NoteRemoved,
				By: bob.Ref(), Subject: &parley.UserRef{ID: ann.ID}}); err != nil {
				return err
			}
			return tx.AddThreadNotice(ctx, &parley.ThreadNotice{ID: parley.NewID(), ThreadID: th.ID, Kind: parley.NoticeAppsClosed, At: now, By: ann.Ref()})
		})
		mustWrite(t, db, func(tx parley.Tx) error { return tx.EraseUser(ctx, ann.ID, now) })

		erased := parley.UserRef{ID: ann.ID, DisplayName: parley.DeletedDisplayName}
		check := func(where string, got, want parley.UserRef) {
			t.Helper()
			if got != want {
				t.Errorf("%s: %+v; want %+v", where, got, want)
			}
		}
		err := db.Read(ctx, func(tx parley.Tx) error {
			after := int64(0)
			page, err := tx.FindMessages(ctx, parley.MessageFilter{ThreadID: th.ID, After: &after, Limit: 10})
			if err != nil {
				return err
			}
			if len(page) != 2 {
				t.Fatalf("page of %d messages; want 2", len(page))
			}
			check("a page's message by the erased member", page[0].Sender, erased)
			check("a page's message by another", page[1].Sender, bob.Ref())
			if len(page[1].Reactions) != 1 || len(page[1].Reactions[0].Users) != 1 {
				t.Fatalf("reactions %+v; want the erased member's one", page[1].Reactions)
			}
			check("a reaction of the erased member", page[1].Reactions[0].Users[0], erased)
			m, err := tx.FindMessageByID(ctx, annsMsg.ID)
			if err != nil {
				return err
			}
			check("the erased member's message by its ID", m.Sender, erased)
			newest, err := tx.FindNewestMessages(ctx, []parley.ThreadFrom{{ThreadID: th.ID}}, 2)
			if err != nil {
				return err
			}
			if ms := newest[th.ID]; len(ms) != 2 {
				t.Errorf("newest messages %+v; want 2", ms)
			} else {
				check("the newest messages' oldest, the erased member's", ms[1].Sender, erased)
			}
			notes, err := tx.FindTimelineNotes(ctx, bob.ID, th.ID, 0, 10, 10)
			if err != nil {
				return err
			}
			if len(notes) != 2 || notes[0].Subject == nil || notes[1].Subject == nil {
				t.Fatalf("notes %+v; want 2 with subjects", notes)
			}
			check("a note by the erased member", notes[0].By, erased)
			check("a note's subject, the erased member", *notes[1].Subject, erased)
			check("a note's subject, another", *notes[0].Subject, bob.Ref())
			notices, err := tx.FindThreadNotices(ctx, th.ID, 10)
			if err != nil {
				return err
			}
			if len(notices) != 1 {
				t.Fatalf("notices %+v; want 1", notices)
			}
			check("a notice by the erased member", notices[0].By, erased)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// FindSentMessages pages through the messages a member sent, in every
// thread and tombstones included, thread by thread in the order the
// threads were made, each thread's in the order they were sent, and
// nothing of anyone else's.
func TestMessages_FindSentMessages(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob := newUser("ann"), newUser("bob")
		start := parley.Now()
		var threads []*parley.Thread
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{ann, bob} {
				if err := tx.CreateUser(ctx, u, "h"); err != nil {
					return err
				}
			}
			for range 2 {
				th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "t", CreatedBy: ann.ID, LastActivityAt: start, CreatedAt: start}
				threads = append(threads, th)
				if err := tx.CreateThread(ctx, th); err != nil {
					return err
				}
			}
			return nil
		})
		sentIn := make([][]string, len(threads))
		for i := range 7 {
			sender := ann
			if i%3 == 2 {
				sender = bob
			}
			m := &parley.Message{ID: parley.NewID(), ThreadID: threads[i%2].ID, Sender: sender.Ref(), Kind: parley.MessageKindText,
				Text: "hi", CreatedAt: start.Add(time.Duration(i) * time.Second)}
			mustWrite(t, db, func(tx parley.Tx) error { return tx.PostMessage(ctx, m) })
			if sender == ann {
				sentIn[i%2] = append(sentIn[i%2], m.ID)
			}
		}
		sent := slices.Concat(sentIn...)
		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteMessage(ctx, sent[1], start) })

		var got []string
		after := ""
		for {
			var page []*parley.Message
			if err := db.Read(ctx, func(tx parley.Tx) (err error) {
				page, err = tx.FindSentMessages(ctx, ann.ID, after, 2)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			for _, m := range page {
				got = append(got, m.ID)
				if m.Sender.ID != ann.ID || (m.ID == sent[1]) != (m.DeletedAt != nil) {
					t.Errorf("message %s: sender %s, deleted at %v", m.ID, m.Sender.ID, m.DeletedAt)
				}
			}
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1].ID
		}
		if !slices.Equal(got, sent) {
			t.Fatalf("sent messages %v, want %v", got, sent)
		}
	})
}

// FindUserGrants lists every grant of the member, ended or not, oldest
// first, and no one else's.
func TestGrants_FindUserGrants(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob := newUser("ann"), newUser("bob")
		now := parley.Now()
		app := &parley.App{ClientID: "pc_x", Name: "X", RedirectURIs: []string{"https://x.example/cb"}, ClientType: parley.ClientPublic, State: parley.AppActive, CreatedAt: now}
		grant := func(u *parley.User, at time.Time, revoked bool) *parley.Grant {
			g := &parley.Grant{ID: parley.NewID(), UserID: u.ID, ClientID: app.ClientID, Scopes: parley.Scopes{parley.ScopeProfile},
				ThreadScope: parley.ThreadScopeApp, CreatedAt: at, UpdatedAt: at}
			if revoked {
				g.RevokedAt = &at
			}
			return g
		}
		grants := []*parley.Grant{grant(ann, now, true), grant(bob, now, false), grant(ann, now.Add(time.Second), false)}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, err := range []error{tx.CreateUser(ctx, ann, "h"), tx.CreateUser(ctx, bob, "h"), tx.CreateApp(ctx, app, nil)} {
				if err != nil {
					return err
				}
			}
			for _, g := range grants {
				if err := tx.CreateGrant(ctx, g); err != nil {
					return err
				}
			}
			return nil
		})
		var got []*parley.Grant
		if err := db.Read(ctx, func(tx parley.Tx) (err error) { got, err = tx.FindUserGrants(ctx, ann.ID); return err }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != grants[0].ID || got[0].RevokedAt == nil || got[1].ID != grants[2].ID {
			t.Fatalf("ann's grants: %+v", got)
		}
	})
}

// CreateFriendship makes no friendship or request with a deleted account,
// whichever side it is on: ENOTFOUND, and nothing is stored. (On
// PostgreSQL a request made while the account's deletion is under way
// waits for it, and then finds the account deleted, as JoinThread does.)
func TestFriends_CreateFriendshipRefusesADeletedAccount(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob := newUser("ann"), newUser("bob")
		now := parley.Now()
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{ann, bob} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			return tx.EraseUser(ctx, bob.ID, now)
		})
		for _, f := range []*parley.Friendship{
			{RequesterID: ann.ID, AddresseeID: bob.ID, State: parley.FriendPending, CreatedAt: now},
			{RequesterID: bob.ID, AddresseeID: ann.ID, State: parley.FriendPending, CreatedAt: now},
		} {
			err := db.Write(ctx, func(tx parley.Tx) error { return tx.CreateFriendship(ctx, f) })
			if parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("a request from %s to %s, deleted: %v, want ENOTFOUND", f.RequesterID, f.AddresseeID, err)
			}
		}
		err := db.Read(ctx, func(tx parley.Tx) error {
			_, err := tx.FindFriendship(ctx, ann.ID, bob.ID)
			return err
		})
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Fatalf("a friendship with the deleted account: %v, want none", err)
		}
	})
}

// Two nodes on one PostgreSQL: a friend request made on one while the
// addressee's account is being deleted on the other waits for the
// deletion, then is refused; no request is left behind the deletion's
// erasing of them.
func TestFriends_RequestRacingADeletionIsRefused(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	ann, bob := newUser("ann"), newUser("bob")
	now := parley.Now()
	mustWrite(t, nodes[0], func(tx parley.Tx) error {
		for _, u := range []*parley.User{ann, bob} {
			if err := tx.CreateUser(ctx, u, "hash"); err != nil {
				return err
			}
		}
		return nil
	})
	locked, deleted := make(chan struct{}), make(chan error, 1)
	var once sync.Once
	go func() {
		deleted <- nodes[0].Write(ctx, func(tx parley.Tx) error {
			// As deleting an account does (service.findMember).
			if _, err := tx.FindUserForUpdate(ctx, bob.ID); err != nil {
				return err
			}
			once.Do(func() { close(locked) })
			time.Sleep(300 * time.Millisecond) // the request waits meanwhile
			return tx.EraseUser(ctx, bob.ID, now)
		})
	}()
	<-locked
	err := nodes[1].Write(ctx, func(tx parley.Tx) error {
		return tx.CreateFriendship(ctx, &parley.Friendship{RequesterID: ann.ID, AddresseeID: bob.ID, State: parley.FriendPending, CreatedAt: now})
	})
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
	if parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Errorf("a request racing the addressee's deletion: %v, want ENOTFOUND", err)
	}
	err = nodes[1].Read(ctx, func(tx parley.Tx) error {
		_, err := tx.FindFriendship(ctx, ann.ID, bob.ID)
		return err
	})
	if parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Fatalf("a request to the deleted account outlived its deletion: %v, want none", err)
	}
}
