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
