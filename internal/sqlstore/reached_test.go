package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// reachWorld is a member's threads and grants: open, a thread of alice and
// bob of ten messages; closed, one of theirs bob closed to apps; reopened,
// one of theirs bob closed to apps after its first three messages and
// opened again after its sixth; bobs, a thread alice is not in; and
// grants of alice's to an app of thread scope selected listing open from
// message 4, and closed and reopened from 1, of thread scope selected
// listing nothing, and of thread scope all.
type reachWorld struct {
	alice, bob, carol            *parley.User
	open, closed, reopened, bobs *parley.Thread
	selected, none, all          *parley.Grant
	openIDs                      []string // open's messages, by seq from 1
}

func newReachWorld(t *testing.T, db *sqlstore.DB) *reachWorld {
	t.Helper()
	ctx := context.Background()
	now := parley.Now()
	w := &reachWorld{alice: newUser("alice"), bob: newUser("bob"), carol: newUser("carol")}
	thread := func(by *parley.User, i int) *parley.Thread {
		return &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: fmt.Sprint("t", i), CreatedBy: by.ID,
			LastActivityAt: now, CreatedAt: now.Add(time.Duration(i))}
	}
	w.open, w.closed, w.reopened, w.bobs = thread(w.alice, 1), thread(w.alice, 2), thread(w.alice, 4), thread(w.bob, 3)
	var apps []*parley.App
	grant := func(scope string) *parley.Grant {
		app := &parley.App{ClientID: parley.NewID(), Name: scope, OwnerID: w.bob.ID, RedirectURIs: []string{"https://films.example/cb"},
			ClientType: parley.ClientPublic, State: parley.AppActive, CreatedAt: now}
		apps = append(apps, app)
		return &parley.Grant{ID: parley.NewID(), UserID: w.alice.ID, ClientID: app.ClientID, Scopes: parley.Scopes{parley.ScopeMessagesRead},
			ThreadScope: scope, CreatedAt: now, UpdatedAt: now}
	}
	w.selected, w.none, w.all = grant(parley.ThreadScopeSelected), grant(parley.ThreadScopeSelected), grant(parley.ThreadScopeAll)
	mustWrite(t, db, func(tx parley.Tx) error {
		for _, u := range []*parley.User{w.alice, w.bob, w.carol} {
			if err := tx.CreateUser(ctx, u, "h"); err != nil {
				return err
			}
		}
		for _, app := range apps {
			if err := tx.CreateApp(ctx, app, nil); err != nil {
				return err
			}
		}
		for _, th := range []*parley.Thread{w.open, w.closed, w.reopened, w.bobs} {
			if err := tx.CreateThread(ctx, th); err != nil {
				return err
			}
			members := []*parley.User{w.alice, w.bob}
			if th == w.bobs {
				members = []*parley.User{w.bob, w.carol}
			}
			for _, u := range members {
				if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: now}); err != nil {
					return err
				}
			}
		}
		for _, g := range []*parley.Grant{w.selected, w.none, w.all} {
			if err := tx.CreateGrant(ctx, g); err != nil {
				return err
			}
		}
		for _, gt := range []parley.GrantThread{{GrantID: w.selected.ID, ThreadID: w.open.ID, VisibleFromSeq: 4},
			{GrantID: w.selected.ID, ThreadID: w.closed.ID, VisibleFromSeq: 1}, {GrantID: w.selected.ID, ThreadID: w.reopened.ID, VisibleFromSeq: 1}} {
			if _, err := tx.AddGrantThread(ctx, gt); err != nil {
				return err
			}
		}
		_, err := tx.CloseThreadToApps(ctx, w.closed.ID, w.bob.ID, now)
		return err
	})
	for _, th := range []*parley.Thread{w.open, w.closed, w.bobs} {
		sender := w.alice
		if th == w.bobs {
			sender = w.bob
		}
		ids := postN(t, db, sender, th, 10)
		if th == w.open {
			w.openIDs = ids
		}
	}
	postN(t, db, w.alice, w.reopened, 3)
	mustWrite(t, db, func(tx parley.Tx) error {
		_, err := tx.CloseThreadToApps(ctx, w.reopened.ID, w.bob.ID, now)
		return err
	})
	postN(t, db, w.alice, w.reopened, 3)
	mustWrite(t, db, func(tx parley.Tx) error { _, err := tx.ReopenThreadToApps(ctx, w.reopened.ID, w.bob.ID); return err })
	postN(t, db, w.alice, w.reopened, 4)
	// Message 2 of open, before the selected grant's first, deleted: its
	// change is numbered after every message's.
	mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteMessage(ctx, w.openIDs[1], parley.Now()) })
	return w
}

// postN posts n messages of u into th, in one write, and returns their IDs.
func postN(t *testing.T, db *sqlstore.DB, u *parley.User, th *parley.Thread, n int) []string {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	mustWrite(t, db, func(tx parley.Tx) error {
		for i := range n {
			m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText, Text: fmt.Sprint("m", i+1), CreatedAt: parley.Now()}
			if err := tx.PostMessage(ctx, m); err != nil {
				return err
			}
			ids[i] = m.ID
		}
		return nil
	})
	return ids
}

func seqsOf(list []*parley.Message) []int64 {
	seqs := []int64{}
	for _, m := range list {
		seqs = append(seqs, m.Seq)
	}
	return seqs
}

func changeSeqsOf(list []parley.MessageChange) []string {
	out := []string{}
	for _, c := range list {
		out = append(out, fmt.Sprintf("%d@%d", c.Message.Seq, c.Number))
	}
	return out
}

// An app's page read with its grant's reach (FindReachedMessages,
// FindReachedMessageChanges) is, on every engine, exactly what the reach
// read alone allows (ThreadReach.From): nothing of a thread a participant
// closed to apps, of one a grant of thread scope selected does not list,
// of one the member is not in; from the grant thread's first message on,
// never before it, in a page of any shape; from the first message under
// thread scope all; and, in a thread closed to apps and opened again, from
// the first message after its opening, under every thread scope. The reach and the participants returned are those
// FindThreadReach and FindParticipantIDs read.
func TestMessages_AReachedPageHoldsToItsReach(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		w := newReachWorld(t, db)
		seq := func(n int64) *int64 { return &n }
		pages := map[string]parley.MessageFilter{
			"newest":                  {Limit: 5},
			"newest, all of it":       {Limit: 20},
			"before":                  {Before: seq(7), Limit: 5},
			"before the first":        {Before: seq(5), Limit: 5},
			"after 0":                 {After: seq(0), Limit: 3},
			"after, before the first": {After: seq(1), Limit: 20},
			"after, past the first":   {After: seq(6), Limit: 2},
			"after, at the end":       {After: seq(10), Limit: 2},
			"after, far beyond":       {After: seq(1<<63 - 1), Limit: 2},
			"seqs across the first":   {Seqs: []int64{9, 2, 4, 5, 99}, Limit: 5},
			"seqs before the first":   {Seqs: []int64{1, 3}, Limit: 2},
		}
		cases := []struct {
			name   string
			grant  *parley.Grant
			thread *parley.Thread
			member *parley.User
			from   int64 // the first seq the grant may read; -1: none
		}{
			{"selected, listed from 4", w.selected, w.open, w.alice, 4},
			{"selected, closed to apps", w.selected, w.closed, w.alice, -1},
			{"selected, not listed", w.none, w.open, w.alice, -1},
			{"all", w.all, w.open, w.alice, 1},
			{"all, closed to apps", w.all, w.closed, w.alice, -1},
			{"all, not the member's thread", w.all, w.bobs, w.alice, -1},
			{"selected, not a member", w.selected, w.open, w.carol, -1},
			{"all, no such thread", w.all, &parley.Thread{ID: parley.NewID()}, w.alice, -1},
			{"selected, listed from 1, reopened after 6", w.selected, w.reopened, w.alice, 7},
			{"all, reopened after 6", w.all, w.reopened, w.alice, 7},
		}
		for _, c := range cases {
			var reach *parley.ThreadReach
			var participants []string
			err := db.Read(ctx, func(tx parley.Tx) (err error) {
				if reach, err = tx.FindThreadReach(ctx, c.grant.ID, c.thread.ID); err != nil {
					return err
				}
				participants, err = tx.FindParticipantIDs(ctx, c.thread.ID)
				return err
			})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			check := func(what string, reached *parley.ReachedThread) {
				t.Helper()
				if reached.Reach != *reach || !slices.Equal(reached.Participants, participants) && len(reached.Participants)+len(participants) > 0 {
					t.Errorf("%s, %s: reach %+v, participants %v; want %+v, %v", c.name, what, reached.Reach, reached.Participants, *reach, participants)
				}
			}
			for shape, f := range pages {
				f.ThreadID, f.MemberID = c.thread.ID, c.member.ID
				var reached *parley.ReachedThread
				var got, want []*parley.Message
				err := db.Read(ctx, func(tx parley.Tx) (err error) {
					if reached, got, err = tx.FindReachedMessages(ctx, c.grant, f); err != nil || c.from < 0 {
						return err
					}
					f.FromSeq = c.from
					want, err = tx.FindMessages(ctx, f)
					return err
				})
				if err != nil {
					t.Fatalf("%s, %s: %v", c.name, shape, err)
				}
				check(shape, reached)
				for _, m := range got {
					if c.from < 0 || m.Seq < c.from {
						t.Errorf("%s, %s: message %d read, where the grant reaches from %d", c.name, shape, m.Seq, c.from)
					}
				}
				if !slices.Equal(seqsOf(got), seqsOf(want)) {
					t.Errorf("%s, %s: seqs %v, want %v", c.name, shape, seqsOf(got), seqsOf(want))
				}
			}
			for _, after := range []int64{0, 3, 12} {
				f := parley.ChangeFilter{ThreadID: c.thread.ID, MemberID: c.member.ID, After: after, Limit: 20}
				var reached *parley.ReachedThread
				var got, want []parley.MessageChange
				err := db.Read(ctx, func(tx parley.Tx) (err error) {
					if reached, got, err = tx.FindReachedMessageChanges(ctx, c.grant, f); err != nil || c.from < 0 {
						return err
					}
					f.FromSeq = c.from
					want, err = tx.FindMessageChanges(ctx, f)
					return err
				})
				if err != nil {
					t.Fatalf("%s, changes after %d: %v", c.name, after, err)
				}
				check(fmt.Sprint("changes after ", after), reached)
				for _, ch := range got {
					if c.from < 0 || ch.Message.Seq < c.from {
						t.Errorf("%s, changes after %d: change of message %d read, where the grant reaches from %d", c.name, after, ch.Message.Seq, c.from)
					}
				}
				if !slices.Equal(changeSeqsOf(got), changeSeqsOf(want)) {
					t.Errorf("%s, changes after %d: %v, want %v", c.name, after, changeSeqsOf(got), changeSeqsOf(want))
				}
			}
		}

		// A thread taken out of the grant is no longer read, from no
		// message: its reach is gone, not read as from the first.
		mustWrite(t, db, func(tx parley.Tx) error { return tx.RemoveGrantThread(ctx, w.selected.ID, w.open.ID) })
		err := db.Read(ctx, func(tx parley.Tx) error {
			reached, got, err := tx.FindReachedMessages(ctx, w.selected, parley.MessageFilter{ThreadID: w.open.ID, MemberID: w.alice.ID, Limit: 20})
			if err != nil {
				return err
			}
			if reached.Reach.InGrant || len(got) != 0 {
				t.Errorf("a thread taken out of the grant: reach %+v, seqs %v; want none", reached.Reach, seqsOf(got))
			}
			reached, changes, err := tx.FindReachedMessageChanges(ctx, w.selected, parley.ChangeFilter{ThreadID: w.open.ID, MemberID: w.alice.ID, Limit: 20})
			if err != nil {
				return err
			}
			if reached.Reach.InGrant || len(changes) != 0 {
				t.Errorf("a thread taken out of the grant: reach %+v, changes %v; want none", reached.Reach, changeSeqsOf(changes))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// Two closings of a thread to apps withdrawn at once, by two writes (one
// member reopening it, another's account deleted, which withdraws theirs):
// the second waits for the first, and finds no closing left, so apps see
// the thread from its next message on, not from its first, on every
// engine. On PostgreSQL each would otherwise find the other's closing,
// uncommitted, still there, and neither set where apps see from.
func TestThreads_ClosingsWithdrawnAtOnceOpenTheThreadFromItsNextMessage(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		x, y := newUser("xavier"), newUser("yolanda")
		th := mustGroupOf(t, db, x, y)
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{x, y} {
				if _, err := tx.CloseThreadToApps(ctx, th.ID, u.ID, parley.Now()); err != nil {
					return err
				}
			}
			return nil
		})
		postN(t, db, x, th, 2)
		firstDone, secondBegun := make(chan struct{}), make(chan struct{})
		first := make(chan error, 1)
		go func() {
			first <- db.Write(ctx, func(tx parley.Tx) error {
				if _, err := tx.ReopenThreadToApps(ctx, th.ID, x.ID); err != nil {
					return err
				}
				select {
				case <-firstDone: // a run again
				default:
					close(firstDone)
				}
				// The second begins meanwhile: it waits, or, where it
				// does not, finds this closing withdrawn uncommitted.
				select {
				case <-secondBegun:
				case <-time.After(time.Second):
				}
				time.Sleep(100 * time.Millisecond)
				return nil
			})
		}()
		<-firstDone
		close(secondBegun)
		err := db.Write(ctx, func(tx parley.Tx) error {
			_, err := tx.ReopenThreadToApps(ctx, th.ID, y.ID)
			return err
		})
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		var r *parley.ThreadReach
		if err := db.Read(ctx, func(tx parley.Tx) (err error) { r, err = tx.FindThreadReach(ctx, parley.NewID(), th.ID); return err }); err != nil {
			t.Fatal(err)
		}
		if from, ok := r.From(parley.ThreadScopeAll); !ok || from != 3 {
			t.Errorf("reopened by both at once: apps see from %d (%t), want from 3, after the two messages said while it was closed", from, ok)
		}
	})
}

// Migration 57 leaves a thread that was reopened to apps before it to
// every app from the first message after its last reopening on, as a
// reopening since does: not one still closed, whose reopening will say,
// nor one never closed.
func TestMigration0057_AThreadReopenedBeforeIsAppsFromItsReopening(t *testing.T) {
	t.Parallel()
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db, open := atVersion(t, engine, sqlstore.SchemaVersion())
			store := open()
			alice, bob := newUser("alice"), newUser("bob")
			start := parley.Now().Add(-time.Hour)
			at := func(minutes int) time.Time { return start.Add(time.Duration(minutes) * time.Minute) }
			thread := func(title string) *parley.Thread {
				return &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: title, CreatedBy: alice.ID, LastActivityAt: start, CreatedAt: start}
			}
			reopened, closed, never := thread("reopened"), thread("closed"), thread("never closed")
			notice := func(th *parley.Thread, kind string, minutes int) *parley.ThreadNotice {
				return &parley.ThreadNotice{ID: parley.NewID(), ThreadID: th.ID, Kind: kind, At: at(minutes), By: bob.Ref()}
			}
			post := func(tx parley.Tx, th *parley.Thread, minutes int) error {
				return tx.PostMessage(ctx, &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: alice.Ref(), Kind: parley.MessageKindText, Text: "m", CreatedAt: at(minutes)})
			}
			mustWrite(t, store, func(tx parley.Tx) error {
				for _, u := range []*parley.User{alice, bob} {
					if err := tx.CreateUser(ctx, u, "hash"); err != nil {
						return err
					}
				}
				for _, th := range []*parley.Thread{reopened, closed, never} {
					if err := tx.CreateThread(ctx, th); err != nil {
						return err
					}
					for _, minutes := range []int{1, 2, 4, 6} { // closed at 3, reopened at 5
						if err := post(tx, th, minutes); err != nil {
							return err
						}
					}
				}
				for _, n := range []*parley.ThreadNotice{
					notice(reopened, parley.NoticeAppsClosed, 3), notice(reopened, parley.NoticeAppsReopened, 5),
					notice(closed, parley.NoticeAppsClosed, 3), notice(closed, parley.NoticeAppsReopened, 5),
				} {
					if err := tx.AddThreadNotice(ctx, n); err != nil {
						return err
					}
				}
				_, err := tx.CloseThreadToApps(ctx, closed.ID, bob.ID, at(7))
				return err
			})
			if err := store.Close(); err != nil {
				t.Fatal(err)
			}
			if err := sqlstore.MigrateDownTo(ctx, db, engine, 56); err != nil {
				t.Fatal(err)
			}
			store = open()
			defer store.Close()
			for th, want := range map[*parley.Thread]int64{reopened: 4, closed: 0, never: 0} {
				var r *parley.ThreadReach
				if err := store.Read(ctx, func(tx parley.Tx) (err error) { r, err = tx.FindThreadReach(ctx, parley.NewID(), th.ID); return err }); err != nil {
					t.Fatal(err)
				}
				if r.AppsFromSeq != want {
					t.Errorf("%s: apps see it from %d, want %d", th.Title, r.AppsFromSeq, want)
				}
			}
		})
	}
}
