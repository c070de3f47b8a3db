package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// changesThread stores a member and a group thread they are in.
func changesThread(t *testing.T, db *sqlstore.DB) (*parley.User, *parley.Thread) {
	t.Helper()
	u := newUser("alice")
	return u, mustGroupOf(t, db, u)
}

// findChanges reads the thread's changes after a number.
func findChanges(t *testing.T, db *sqlstore.DB, f parley.ChangeFilter) []parley.MessageChange {
	t.Helper()
	var list []parley.MessageChange
	err := db.Read(context.Background(), func(tx parley.Tx) (err error) {
		list, err = tx.FindMessageChanges(context.Background(), f)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// describe renders changes as "type:text@number" for comparing.
func describe(list []parley.MessageChange) []string {
	var out []string
	for _, c := range list {
		out = append(out, fmt.Sprintf("%s:%s@%d", c.Type, c.Message.Text, c.Number))
	}
	return out
}

// Posting and deleting each take the thread's next change number; a
// deleted message moves to its deletion's number as a tombstone; the
// feed reads the changes after a number, oldest first, and holds to the
// member and the first visible message as history does.
func TestMessages_ChangesInCommitOrder(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u, th := changesThread(t, db)
		var ids []string
		for _, text := range []string{"one", "two", "three"} {
			m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText, Text: text, CreatedAt: parley.Now()}
			mustWrite(t, db, func(tx parley.Tx) error { return tx.PostMessage(ctx, m) })
			ids = append(ids, m.ID)
		}
		all := parley.ChangeFilter{ThreadID: th.ID, Limit: 10}
		if got, want := describe(findChanges(t, db, all)), []string{
			"message.created:one@1", "message.created:two@2", "message.created:three@3",
		}; !slices.Equal(got, want) {
			t.Fatalf("changes %v, want %v", got, want)
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteMessage(ctx, ids[1], parley.Now()) })
		err := db.Write(ctx, func(tx parley.Tx) error { return tx.DeleteMessage(ctx, ids[1], parley.Now()) })
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Fatalf("deleting a deleted message: %v, want ENOTFOUND", err)
		}
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.PostMessage(ctx, &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(),
				Kind: parley.MessageKindText, Text: "four", CreatedAt: parley.Now()})
		})
		after := all
		after.After = 3
		if got, want := describe(findChanges(t, db, after)), []string{
			"message.deleted:@4", "message.created:four@5",
		}; !slices.Equal(got, want) {
			t.Fatalf("changes after 3: %v, want %v", got, want)
		}
		if got, want := describe(findChanges(t, db, all)), []string{
			"message.created:one@1", "message.created:three@3", "message.deleted:@4", "message.created:four@5",
		}; !slices.Equal(got, want) {
			t.Fatalf("changes from the start: %v, want %v", got, want)
		}
		page := all
		page.Limit = 2
		if got := describe(findChanges(t, db, page)); len(got) != 2 || got[1] != "message.created:three@3" {
			t.Fatalf("a page of 2: %v", got)
		}
		visible := all
		visible.FromSeq = 3
		if got, want := describe(findChanges(t, db, visible)), []string{"message.created:three@3", "message.created:four@5"}; !slices.Equal(got, want) {
			t.Fatalf("changes from message 3 on: %v, want %v: the deletion of message 2 is before it", got, want)
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.LeaveThread(ctx, th.ID, u.ID, parley.Now()) })
		left := all
		left.MemberID = u.ID
		if got := findChanges(t, db, left); len(got) != 0 {
			t.Fatalf("a member who left reads %v", describe(got))
		}
	})
}

// Editing a text message takes the thread's next change number, and the
// message moves to it with its new text and the moment of the edit;
// deleting it after clears both. A share card, a deleted message and one
// that is not there are not edited, and take no number.
func TestMessages_EditMessage(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u, th := changesThread(t, db)
		post := func(m *parley.Message) string {
			m.ID, m.ThreadID, m.Sender, m.CreatedAt = parley.NewID(), th.ID, u.Ref(), parley.Now()
			mustWrite(t, db, func(tx parley.Tx) error { return tx.PostMessage(ctx, m) })
			return m.ID
		}
		text := post(&parley.Message{Kind: parley.MessageKindText, Text: "one"})
		share := post(&parley.Message{Kind: parley.MessageKindShare, Text: "a note", Share: &parley.Share{URL: "https://films.example/", Title: "A film"}})
		gone := post(&parley.Message{Kind: parley.MessageKindText, Text: "three"})
		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteMessage(ctx, gone, parley.Now()) })
		all := parley.ChangeFilter{ThreadID: th.ID, Limit: 10}

		editedAt := parley.Now().Add(time.Minute)
		mustWrite(t, db, func(tx parley.Tx) error { return tx.EditMessage(ctx, text, "one, edited", editedAt, false) })
		changes := findChanges(t, db, all)
		if got, want := describe(changes), []string{
			"message.created:a note@2", "message.deleted:@4", "message.edited:one, edited@5",
		}; !slices.Equal(got, want) {
			t.Fatalf("changes %v, want %v", got, want)
		}
		if m := changes[2].Message; m.EditedAt == nil || !m.EditedAt.Equal(editedAt) || m.Seq != 1 {
			t.Fatalf("the edited message: %+v, want seq 1 edited at %v", m, editedAt)
		}
		for what, id := range map[string]string{"a share card": share, "a deleted message": gone, "no message": parley.NewID()} {
			err := db.Write(ctx, func(tx parley.Tx) error { return tx.EditMessage(ctx, id, "new", parley.Now(), false) })
			if parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("editing %s: %v, want ENOTFOUND", what, err)
			}
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteMessage(ctx, text, parley.Now()) })
		changes = findChanges(t, db, all)
		if got, want := describe(changes), []string{
			"message.created:a note@2", "message.deleted:@4", "message.deleted:@6",
		}; !slices.Equal(got, want) {
			t.Fatalf("changes after the deletion %v, want %v: nothing numbered 5, taken by a failed edit", got, want)
		}
		if m := changes[2].Message; m.EditedAt != nil {
			t.Fatalf("a deleted message keeps its edit: %v", m.EditedAt)
		}
	})
}

// TestMessages_EditMessageKeepsWhoseWordsTheTextIs: a message written
// through an app holds the app's words until its sender edits it; an edit
// of the app's keeps them the app's, one of the sender's makes them
// theirs, which the app's edits then do not find, and a deletion clears
// it with the text.
func TestMessages_EditMessageKeepsWhoseWordsTheTextIs(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u, th := changesThread(t, db)
		m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), CreatedAt: parley.Now(),
			Kind: parley.MessageKindText, Text: "receipt: pending", Via: &parley.Via{ClientID: "bank", Name: "Bank"}}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.PostMessage(ctx, m) })
		for _, step := range []struct {
			edit    string
			byApp   bool
			delete  bool
			refused bool
			text    string
		}{
			{edit: "receipt: paid", byApp: true, text: "receipt: paid"},
			{edit: "receipt: paid twice", byApp: true, text: "receipt: paid twice"},
			{edit: "paid, thanks!", text: "paid, thanks!"},
			{edit: "receipt: refunded", byApp: true, refused: true, text: "paid, thanks!"},
			{delete: true},
		} {
			err := db.Write(ctx, func(tx parley.Tx) error {
				if step.delete {
					return tx.DeleteMessage(ctx, m.ID, parley.Now())
				}
				return tx.EditMessage(ctx, m.ID, step.edit, parley.Now(), step.byApp)
			})
			if step.refused != (parley.ErrorCode(err) == parley.ENOTFOUND) || !step.refused && err != nil {
				t.Errorf("%+v: %v", step, err)
			}
			var got *parley.Message
			if err := db.Read(ctx, func(tx parley.Tx) (err error) { got, err = tx.FindMessageByID(ctx, m.ID); return err }); err != nil {
				t.Fatal(err)
			}
			appsWords := step.byApp && !step.refused
			if got.Text != step.text || got.EditedByApp != appsWords || (got.EditedAt == nil) != step.delete {
				t.Errorf("after %+v: text %q, edited at %v, the app's words %v", step, got.Text, got.EditedAt, got.EditedByApp)
			}
		}
	})
}

// A reaction given, changed or taken back makes its message the thread's
// next change, a reaction after an edit telling as message.reacted and an
// edit after a reaction as message.edited, by the order of the changes,
// whatever the clocks of the nodes that made them said; a deleted message and one that
// is not there take none, and take no number. FindGivenReactions finds a
// member's reactions page by page, in the order of the messages, and no
// longer those taken back or deleted.
func TestMessages_SetReaction(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u, th := changesThread(t, db)
		start := parley.Now()
		// A second thread, numbered after the first.
		later := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "later", CreatedBy: u.ID, LastActivityAt: start, CreatedAt: start}
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.CreateThread(ctx, later); err != nil {
				return err
			}
			return tx.JoinThread(ctx, &parley.Participant{ThreadID: later.ID, UserID: u.ID, JoinedAt: start})
		})
		postIn := func(th *parley.Thread, text string) string {
			m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText, Text: text, CreatedAt: parley.Now()}
			mustWrite(t, db, func(tx parley.Tx) error { return tx.PostMessage(ctx, m) })
			return m.ID
		}
		post := func(text string) string { return postIn(th, text) }
		react := func(id, emoji string, at time.Time) error {
			return db.Write(ctx, func(tx parley.Tx) error { return tx.SetReaction(ctx, id, u.ID, emoji, at) })
		}
		// reacted describes the member's reactions, read a page of one at a
		// time.
		reacted := func() []string {
			var given []string
			var after *parley.GivenReaction
			for {
				var page []*parley.GivenReaction
				mustWrite(t, db, func(tx parley.Tx) (err error) {
					page, err = tx.FindGivenReactions(ctx, u.ID, after, 1)
					return err
				})
				if len(page) == 0 {
					return given
				}
				after = page[0]
				given = append(given, fmt.Sprintf("%s %s@%d %s %v", after.MessageID, after.ThreadID, after.Seq, after.Emoji, after.At.Sub(start)))
			}
		}
		elsewhere := postIn(later, "elsewhere")
		if err := react(elsewhere, "🙏", start); err != nil {
			t.Fatal(err)
		}
		one, two, gone := post("one"), post("two"), post("three")
		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteMessage(ctx, gone, parley.Now()) })
		all := parley.ChangeFilter{ThreadID: th.ID, Limit: 10}
		at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Second) }

		for i, emoji := range []string{"👍", "❤️"} {
			if err := react(one, emoji, at(i)); err != nil {
				t.Fatal(err)
			}
		}
		// An edit by a node whose clock is ahead.
		mustWrite(t, db, func(tx parley.Tx) error { return tx.EditMessage(ctx, two, "two, edited", at(9), false) })
		if err := react(two, "😂", at(3)); err != nil {
			t.Fatal(err)
		}
		if got, want := reacted(), []string{one + " " + th.ID + "@1 ❤️ 1s", two + " " + th.ID + "@2 😂 3s", elsewhere + " " + later.ID + "@1 🙏 0s"}; !slices.Equal(got, want) {
			t.Fatalf("the member's reactions %q, want %q", got, want)
		}
		changes := findChanges(t, db, all)
		if got, want := describe(changes), []string{
			"message.deleted:@4", "message.reacted:one@6", "message.reacted:two, edited@8",
		}; !slices.Equal(got, want) {
			t.Fatalf("changes %v, want %v", got, want)
		}
		if r := changes[1].Message.Reactions; len(r) != 1 || r[0].Emoji != "❤️" || len(r[0].Users) != 1 || r[0].Users[0] != u.Ref() {
			t.Fatalf("one's reactions %+v, want alice's ❤️ alone", r)
		}
		// And one by a node whose clock is behind.
		mustWrite(t, db, func(tx parley.Tx) error { return tx.EditMessage(ctx, two, "two, edited again", at(0), false) })
		if err := react(one, "", at(5)); err != nil {
			t.Fatal(err)
		}
		changes = findChanges(t, db, all)
		if got, want := describe(changes), []string{
			"message.deleted:@4", "message.edited:two, edited again@9", "message.reacted:one@10",
		}; !slices.Equal(got, want) {
			t.Fatalf("changes %v, want %v", got, want)
		}
		if r := changes[2].Message.Reactions; r != nil {
			t.Fatalf("reactions taken back, left %+v", r)
		}
		for what, id := range map[string]string{"a deleted message": gone, "no message": parley.NewID()} {
			if err := react(id, "👍", at(6)); parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("reacting to %s: %v, want ENOTFOUND", what, err)
			}
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteMessage(ctx, two, at(7)) })
		if got := reacted(); len(got) != 1 {
			t.Fatalf("the member's reactions %q after one was taken back and a message deleted, want the one elsewhere alone", got)
		}
		if got, want := describe(findChanges(t, db, all)), []string{
			"message.deleted:@4", "message.reacted:one@10", "message.deleted:@11",
		}; !slices.Equal(got, want) {
			t.Fatalf("changes %v, want %v: nothing numbered by a failed reaction", got, want)
		}
	})
}

// Two nodes posting into one thread at once, then deleting from it at
// once: every post and every deletion takes its own change number, and the
// numbers run on without a gap, in the order of the messages' seq.
func TestNodes_ChangesDenseUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	ctx := context.Background()
	u, th := changesThread(t, nodes[0])
	const workers, each = 8, 10
	run := func(op func(node *sqlstore.DB, w, i int) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 2*workers*each)
		for w := range 2 * workers {
			wg.Go(func() {
				for i := range each {
					errs <- op(nodes[w%2], w, i)
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
	}
	run(func(node *sqlstore.DB, w, _ int) error {
		return node.Write(ctx, func(tx parley.Tx) error {
			m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText, Text: "hi", CreatedAt: parley.Now()}
			return tx.PostMessage(ctx, m)
		})
	})
	const posts = 2 * workers * each
	created := findChanges(t, nodes[1], parley.ChangeFilter{ThreadID: th.ID, Limit: 1000})
	if len(created) != posts {
		t.Fatalf("%d changes, want %d", len(created), posts)
	}
	for i, c := range created {
		if c.Number != int64(i+1) || c.Message.Seq != int64(i+1) || c.Type != parley.EventMessageCreated {
			t.Fatalf("change %d is %s of message %d numbered %d: numbers must run without a gap, in seq order", i+1, c.Type, c.Message.Seq, c.Number)
		}
	}
	// Every other message is deleted, half through each node.
	run(func(node *sqlstore.DB, w, i int) error {
		k := w*each + i
		if k%2 == 1 {
			return nil
		}
		return node.Write(ctx, func(tx parley.Tx) error { return tx.DeleteMessage(ctx, created[k].Message.ID, parley.Now()) })
	})
	deleted := findChanges(t, nodes[0], parley.ChangeFilter{ThreadID: th.ID, After: posts, Limit: 1000})
	if len(deleted) != posts/2 {
		t.Fatalf("%d deletions, want %d", len(deleted), posts/2)
	}
	for i, c := range deleted {
		if c.Number != int64(posts+i+1) || c.Type != parley.EventMessageDeleted {
			t.Fatalf("deletion %d is %s numbered %d, want a deletion numbered %d", i+1, c.Type, c.Number, posts+i+1)
		}
	}
}
