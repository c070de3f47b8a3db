package sqlstore_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// Two nodes sending into one thread at once: every message gets its own
// number, and the numbers run 1, 2, 3 … without a gap.
func TestNodes_SeqDenseUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	u := newUser("alice")
	now := parley.Now()
	th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "t", CreatedBy: u.ID, LastActivityAt: now, CreatedAt: now}
	mustWrite(t, nodes[0], func(tx parley.Tx) error {
		if err := tx.CreateUser(ctx, u, "hash"); err != nil {
			return err
		}
		return tx.CreateThread(ctx, th)
	})
	const workers, each = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*each)
	for w := range 2 * workers {
		node := nodes[w%2]
		wg.Go(func() {
			for range each {
				errs <- node.Write(ctx, func(tx parley.Tx) error {
					at := parley.Now()
					return tx.PostMessage(ctx, &parley.Message{ID: parley.NewID(), ThreadID: th.ID,
						Sender: parley.UserRef{ID: u.ID}, Kind: parley.MessageKindText, Text: "hi", CreatedAt: at})
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var msgs []*parley.Message
	var got *parley.Thread
	err := nodes[1].Read(ctx, func(tx parley.Tx) (err error) {
		if got, err = tx.FindThreadByID(ctx, th.ID); err != nil {
			return err
		}
		after := int64(0)
		msgs, err = tx.FindMessages(ctx, parley.MessageFilter{ThreadID: th.ID, After: &after, Limit: 1000})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	const total = 2 * workers * each
	if got.LastSeq != total || len(msgs) != total {
		t.Fatalf("last_seq %d, %d messages; want %d of each", got.LastSeq, len(msgs), total)
	}
	for i, m := range msgs {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d: numbers must run without a gap", i+1, m.Seq)
		}
	}
}

// Two nodes appending to the same members' access logs at once, for
// overlapping sets of members in different orders: each member's log is
// one chain that verifies, holding every entry.
func TestNodes_AccessChainVerifiesUnderConcurrentAppends(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	ids := mustUsers(t, nodes[0], "alice", "bob", "carol")
	pairs := [][2]string{{ids[0], ids[1]}, {ids[1], ids[2]}, {ids[2], ids[0]}, {ids[1], ids[0]}}
	const workers, each = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*each)
	for w := range 2 * workers {
		node := nodes[w%2]
		pair := pairs[w%len(pairs)]
		wg.Go(func() {
			for i := range each {
				rec := readRecord(pair[0], pair[1], fmt.Sprint(w, "-", i))
				if i%2 == 0 {
					errs <- node.LogReads(ctx, []parley.AccessRecord{rec})
				} else {
					errs <- node.Write(ctx, func(tx parley.Tx) error { return tx.AppendAccess(ctx, []parley.AccessRecord{rec}) })
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Each worker appends each times for both members of its pair; the
	// pairs cycle over the workers, so every member is in the same count.
	want := map[string]int{}
	for w := range 2 * workers {
		for _, id := range pairs[w%len(pairs)] {
			want[id] += each
		}
	}
	for _, id := range ids {
		if n := len(logOf(t, nodes[1], id)); n != want[id] {
			t.Errorf("member %s has %d entries, want %d", id, n, want[id])
		}
	}
}

// A read logged through one node is in the log for a read through the
// other at once, and before what a write through the other appends next:
// its record waits in the journal of reads for neither node's fold.
func TestNodes_AReadLoggedOnOneIsInTheLogOnTheOther(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	ids := mustUsers(t, nodes[0], "alice", "bob")
	if err := nodes[0].LogReads(ctx, []parley.AccessRecord{readRecord(ids[0], ids[1], "m1")}); err != nil {
		t.Fatal(err)
	}
	if log := logOf(t, nodes[1], ids[1]); len(log) != 1 || strings.Join(log[0].MessageIDs, " ") != "m1" {
		t.Fatalf("bob's log through the other node right after the read: %+v", log)
	}
	if err := nodes[0].LogReads(ctx, []parley.AccessRecord{readRecord(ids[0], ids[1], "m2")}); err != nil {
		t.Fatal(err)
	}
	revoked := parley.AccessRecord{Entry: parley.AccessEntry{At: parley.Now(), Action: parley.ActionGrantRevoked}, UserIDs: ids[:1]}
	if err := nodes[1].Write(ctx, func(tx parley.Tx) error { return tx.AppendAccess(ctx, []parley.AccessRecord{revoked}) }); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range logOf(t, nodes[0], ids[0]) {
		got = append(got, strings.TrimSpace(e.Action+" "+strings.Join(e.MessageIDs, " ")))
	}
	if strings.Join(got, ", ") != "messages.read m1, messages.read m2, grant.revoked" {
		t.Fatalf("alice's log: %v; the reads must come before the later write, each once", got)
	}
}

// A write that appends to some members' logs folds first the reads
// waiting for them, and the reads waiting for the other members those
// reads go to, and so on: each member's reads are chained in the order
// they were logged, whichever member's write folds them.
func TestNodes_AWriteFoldsItsMembersReadsInOrder(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	ids := mustUsers(t, nodes[0], "alice", "bob", "carol")
	for _, node := range nodes {
		defer sqlstore.HoldFolds(node)()
	}
	for _, r := range []parley.AccessRecord{readRecord(ids[1], ids[2], "m0"), readRecord(ids[0], ids[1], "m1")} {
		if err := nodes[0].LogReads(ctx, []parley.AccessRecord{r}); err != nil {
			t.Fatal(err)
		}
	}
	revoked := parley.AccessRecord{Entry: parley.AccessEntry{At: parley.Now(), Action: parley.ActionGrantRevoked}, UserIDs: ids[:1]}
	if err := nodes[1].Write(ctx, func(tx parley.Tx) error { return tx.AppendAccess(ctx, []parley.AccessRecord{revoked}) }); err != nil {
		t.Fatal(err)
	}
	if n, err := sqlstore.UnfoldedReads(ctx, nodes[1]); err != nil || n != 0 {
		t.Fatalf("%d reads (%v) still wait after the write: bob's read with carol goes before his read with alice", n, err)
	}
	for _, tc := range []struct {
		member int
		want   string
	}{{0, "m1, grant.revoked"}, {1, "m0, m1"}, {2, "m0"}} {
		var got []string
		for _, e := range logOf(t, nodes[0], ids[tc.member]) {
			got = append(got, cmp.Or(strings.Join(e.MessageIDs, " "), e.Action))
		}
		if strings.Join(got, ", ") != tc.want {
			t.Errorf("member %d's log: %v, want %s", tc.member, got, tc.want)
		}
	}
}

// Two nodes logging the same accesses at once, as an app's streams on both
// deliver the same events: each access is logged once, whichever node
// comes first, and the chains verify. Each node logs its records for
// members of its own, so that only the Keys order the two: not the heads
// of the members' logs, which the records of one access share.
func TestNodes_AKeyedAccessLoggedOnce(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	ids := mustUsers(t, nodes[0], "alice", "bob", "carol", "dave")
	const events = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*events)
	for n, node := range nodes {
		a, b := ids[2*n], ids[2*n+1]
		wg.Go(func() {
			for i := range events {
				// Two Keys a call, each in two calls of each node.
				var records []parley.AccessRecord
				for _, k := range []int{i, i + 1} {
					r := readRecord(a, b, fmt.Sprint(k))
					r.Key = []byte(fmt.Sprint("event ", k))
					records = append(records, r)
				}
				errs <- node.LogReads(ctx, records)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	logged := map[string]int{}
	for _, id := range ids {
		for _, e := range logOf(t, nodes[1], id) {
			logged[e.MessageIDs[0]]++
		}
	}
	for k := range events + 1 {
		if n := logged[fmt.Sprint(k)]; n != 2 {
			t.Errorf("event %d is in %d logs, want those of one node's two members", k, n)
		}
	}
}

// Two nodes redeeming one authorization code at once: the write that reads
// the request and then marks its code used runs on one node at a time, so
// exactly one of them finds the code unused.
func TestNodes_ReadModifyWriteIsExclusive(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	now := parley.Now()
	u := newUser("alice")
	app := &parley.App{ClientID: "pc_x", Name: "X", RedirectURIs: []string{"https://x.example/cb"}, ClientType: parley.ClientPublic, State: parley.AppActive, CreatedAt: now}
	req := &parley.AuthRequest{ID: parley.NewID(), ClientID: app.ClientID, RedirectURI: "https://x.example/cb", Scopes: parley.Scopes{parley.ScopeOpenID},
		CreatedAt: now, UserID: u.ID, ApprovedAt: &now, CodeHash: parley.HashToken("code")}
	mustWrite(t, nodes[0], func(tx parley.Tx) error {
		for _, err := range []error{tx.CreateUser(ctx, u, "hash"), tx.CreateApp(ctx, app, nil), tx.CreateAuthRequest(ctx, req)} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	var redeemed atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			var fresh bool
			err := nodes[i%2].Write(ctx, func(tx parley.Tx) error {
				r, err := tx.FindAuthRequestByCode(ctx, req.CodeHash)
				if err != nil {
					return err
				}
				if fresh = r.CodeUsedAt == nil; !fresh {
					return nil
				}
				// Hold the request a moment, so that the others' reads come
				// while it is being changed.
				time.Sleep(20 * time.Millisecond)
				used := parley.Now()
				r.CodeUsedAt = &used
				return tx.UpdateAuthRequest(ctx, r)
			})
			if err != nil {
				t.Error(err)
			}
			if fresh {
				redeemed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := redeemed.Load(); n != 1 {
		t.Fatalf("the code was found unused %d times, want once", n)
	}
}

// Two nodes each creating the same direct thread unless it exists: one
// creates it, and every other write finds that one, as writes run one
// after the other would.
func TestNodes_FindElseCreateFindsTheWinner(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	ids := mustUsers(t, nodes[0], "alice", "bob")
	key := parley.DirectKey(ids[0], ids[1])
	found := make([]string, 8)
	var wg sync.WaitGroup
	for i := range found {
		wg.Go(func() {
			err := nodes[i%2].Write(ctx, func(tx parley.Tx) error {
				th, err := tx.FindThreadByDirectKey(ctx, key)
				if err == nil {
					found[i] = th.ID
					return nil
				} else if parley.ErrorCode(err) != parley.ENOTFOUND {
					return err
				}
				now := parley.Now()
				th = &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadDirect, CreatedBy: ids[0], DirectKey: key, LastActivityAt: now, CreatedAt: now}
				found[i] = th.ID
				return tx.CreateThread(ctx, th)
			})
			if err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i, id := range found {
		if id != found[0] {
			t.Fatalf("write %d has thread %s, write 0 %s: want one thread", i, id, found[0])
		}
	}
}

// A write that found a thread holds it until it ends: of writes on two
// nodes that each count a group's members and add one only while the count
// is under a cap, exactly one adds, as writes run one after the other would.
func TestNodes_AFoundThreadIsTheWrites(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	ids := mustUsers(t, nodes[0], "owner", "m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7")
	now := parley.Now()
	th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "capped", CreatedBy: ids[0], LastActivityAt: now, CreatedAt: now}
	mustWrite(t, nodes[0], func(tx parley.Tx) error {
		if err := tx.CreateThread(ctx, th); err != nil {
			return err
		}
		return tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: ids[0], JoinedAt: now})
	})
	const capacity = 2
	var wg sync.WaitGroup
	for i, id := range ids[1:] {
		wg.Go(func() {
			err := nodes[i%2].Write(ctx, func(tx parley.Tx) error {
				if _, err := tx.FindThreadByID(ctx, th.ID); err != nil {
					return err
				}
				members, err := tx.FindParticipantIDs(ctx, th.ID)
				if err != nil || len(members) >= capacity {
					return err
				}
				// Hold the thread a moment, so that the others' reads come
				// while it is being changed.
				time.Sleep(20 * time.Millisecond)
				return tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: id, JoinedAt: parley.Now()})
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var members []string
	err := nodes[1].Read(ctx, func(tx parley.Tx) (err error) {
		members, err = tx.FindParticipantIDs(ctx, th.ID)
		return err
	})
	if err != nil || len(members) != capacity {
		t.Fatalf("the group has %d members (%v), want %d", len(members), err, capacity)
	}
}

// Two nodes ending expired grants at once: each finds grants the other
// does not hold, at once, without waiting for the other's write.
func TestNodes_ExpiredGrantsSharedOut(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	u := newUser("alice")
	now := parley.Now()
	mustWrite(t, nodes[0], func(tx parley.Tx) error {
		if err := tx.CreateUser(ctx, u, "hash"); err != nil {
			return err
		}
		for i := range 4 { // a grant of each of four apps
			app := &parley.App{ClientID: parley.NewID(), Name: fmt.Sprint("App ", i), RedirectURIs: []string{"https://app.example/cb"},
				ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: now}
			if err := tx.CreateApp(ctx, app, nil); err != nil {
				return err
			}
			expired := now.Add(-time.Duration(i+1) * time.Minute)
			g := &parley.Grant{ID: parley.NewID(), UserID: u.ID, ClientID: app.ClientID, Scopes: parley.Scopes{parley.ScopeOpenID},
				ThreadScope: parley.ThreadScopeApp, CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour), ExpiresAt: &expired}
			if err := tx.CreateGrant(ctx, g); err != nil {
				return err
			}
		}
		return nil
	})
	find := func(db *sqlstore.DB, limit int, during func() []string) (ids, others []string) {
		mustWrite(t, db, func(tx parley.Tx) error {
			grants, err := tx.FindExpiredGrants(ctx, now, limit)
			ids = nil
			for _, g := range grants {
				ids = append(ids, g.ID)
			}
			if during != nil {
				others = during()
			}
			return err
		})
		return ids, others
	}
	held, other := find(nodes[0], 2, func() []string {
		found := make(chan []string, 1)
		go func() {
			ids, _ := find(nodes[1], 10, nil)
			found <- ids
		}()
		select {
		case ids := <-found:
			return ids
		case <-time.After(5 * time.Second):
			t.Error("the other node waits for the grants this one holds")
			return nil
		}
	})
	if len(held) != 2 || len(other) != 2 || slices.ContainsFunc(other, func(id string) bool { return slices.Contains(held, id) }) {
		t.Fatalf("one node found %v, the other at once %v: want two each, none twice", held, other)
	}
}

// One node ending an expired grant (the expiry job) while another ends
// every grant of its member (an operator disabling the account): the
// second, reading the member's grants in its write, waits for the first
// and finds the grant ended, so that it does not end it, and log its end,
// a second time.
func TestNodes_AMembersGrantsReadInAWriteAreHeld(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	now := parley.Now()
	expired := now.Add(-time.Minute)
	g := grantOnNodes(t, nodes, &expired)
	var found *parley.Grant
	readWhileEnding(t, nodes, func(ctx context.Context, tx parley.Tx) error {
		grants, err := tx.FindExpiredGrants(ctx, now, 10)
		if err != nil || len(grants) != 1 {
			return fmt.Errorf("found %d expired grants, want 1 (%v)", len(grants), err)
		}
		grants[0].RevokedAt = grants[0].ExpiresAt
		return tx.UpdateGrant(ctx, grants[0])
	}, func(ctx context.Context, tx parley.Tx) error {
		grants, err := tx.FindUserGrants(ctx, g.UserID)
		if err == nil && len(grants) == 1 {
			found = grants[0]
		}
		return err
	})
	if found == nil || found.RevokedAt == nil {
		t.Fatalf("the other node's write read the grant as %+v while this one ended it: want it ended", found)
	}
}

// One node revoking a grant (its member) while another ends every grant
// of its app (an operator deleting the app): the second waits for the
// first, and finds the grant no longer in force.
func TestNodes_AnAppsGrantsReadInAWriteAreHeld(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	now := parley.Now()
	g := grantOnNodes(t, nodes, nil)
	var found []*parley.Grant
	readWhileEnding(t, nodes, func(ctx context.Context, tx parley.Tx) error {
		g, err := tx.FindGrantByID(ctx, g.ID)
		if err != nil {
			return err
		}
		g.RevokedAt = &now
		return tx.UpdateGrant(ctx, g)
	}, func(ctx context.Context, tx parley.Tx) (err error) {
		found, err = tx.FindAppGrants(ctx, g.ClientID, now)
		return err
	})
	if len(found) != 0 {
		t.Fatalf("the other node's write found %d grants in force while this one revoked the only one: want none", len(found))
	}
}

// grantOnNodes writes a member's grant to an app, made an hour ago and
// running out at expires (nil: never).
func grantOnNodes(t *testing.T, nodes [2]*sqlstore.DB, expires *time.Time) *parley.Grant {
	t.Helper()
	ctx := context.Background()
	u := newUser("alice")
	now := parley.Now()
	app := &parley.App{ClientID: parley.NewID(), Name: "App", RedirectURIs: []string{"https://app.example/cb"},
		ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: now}
	g := &parley.Grant{ID: parley.NewID(), UserID: u.ID, ClientID: app.ClientID, Scopes: parley.Scopes{parley.ScopeOpenID},
		ThreadScope: parley.ThreadScopeApp, CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour), ExpiresAt: expires}
	mustWrite(t, nodes[0], func(tx parley.Tx) error {
		for _, err := range []error{tx.CreateUser(ctx, u, "hash"), tx.CreateApp(ctx, app, nil), tx.CreateGrant(ctx, g)} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	return g
}

// readWhileEnding ends a grant in a write on the first node and, while
// that write holds it, runs read in a write on the second, which is to
// wait for the first to commit.
func readWhileEnding(t *testing.T, nodes [2]*sqlstore.DB, end, read func(context.Context, parley.Tx) error) {
	t.Helper()
	ctx := context.Background()
	done := make(chan struct{})
	mustWrite(t, nodes[0], func(tx parley.Tx) error {
		if err := end(ctx, tx); err != nil {
			return err
		}
		go func() {
			defer close(done)
			if err := nodes[1].Write(ctx, func(tx parley.Tx) error { return read(ctx, tx) }); err != nil {
				t.Error(err)
			}
		}()
		// Commit only once the other node's read has had time to come.
		time.Sleep(200 * time.Millisecond)
		return nil
	})
	<-done
}

// A write whose change to a message finds it changed since the write read
// it, by a write on another node that committed meanwhile (deleted, here),
// runs again, even when it makes nothing of the error: its second run
// decides on the message as the other left it, and no change of the
// thread is taken for nothing.
func TestNodes_AChangeToAMessageChangedMeanwhileRunsAgain(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	u, th := changesThread(t, nodes[0])
	m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText, Text: "soon gone", CreatedAt: parley.Now()}
	mustWrite(t, nodes[0], func(tx parley.Tx) error { return tx.PostMessage(ctx, m) })
	runs := 0
	mustWrite(t, nodes[0], func(tx parley.Tx) error {
		runs++
		read, err := tx.FindMessageByID(ctx, m.ID)
		if err != nil {
			return err
		}
		if runs == 1 {
			mustWrite(t, nodes[1], func(tx parley.Tx) error { return tx.DeleteMessage(ctx, m.ID, parley.Now()) })
		}
		if read.DeletedAt != nil {
			return nil
		}
		tx.EditMessage(ctx, m.ID, "edited", parley.Now(), false) // its error made nothing of
		return nil
	})
	if runs != 2 {
		t.Fatalf("the write ran %d times, want again once it met the deletion", runs)
	}
	changes := findChanges(t, nodes[0], parley.ChangeFilter{ThreadID: th.ID, Limit: 10})
	if len(changes) != 1 || changes[0].Number != 2 || changes[0].Type != parley.EventMessageDeleted {
		t.Fatalf("the thread's changes: %+v, want the deletion, its second", changes)
	}
}
