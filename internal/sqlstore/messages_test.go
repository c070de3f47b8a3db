package sqlstore_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// PostMessage numbers each message after the last, stores it, moves the
// sender's read marker to it and records the thread's activity; a taken
// idempotency key is ECONFLICT and takes no number; a thread that does not
// exist is ENOTFOUND; a sender who does not exist is refused, and takes
// no number either.
func TestMessages_PostMessageTakesTheNextSeq(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u := newUser("alice")
		start := parley.Now()
		th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "t", CreatedBy: u.ID, LastActivityAt: start, CreatedAt: start}
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.CreateUser(ctx, u, "hash"); err != nil {
				return err
			}
			if err := tx.CreateThread(ctx, th); err != nil {
				return err
			}
			return tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: start})
		})
		post := func(threadID, key string, at time.Time) (*parley.Message, error) {
			m := &parley.Message{ID: parley.NewID(), ThreadID: threadID, Sender: parley.UserRef{ID: u.ID},
				Kind: parley.MessageKindText, Text: "hi " + key, CreatedAt: at, IdempotencyKey: key}
			return m, db.Write(ctx, func(tx parley.Tx) error { return tx.PostMessage(ctx, m) })
		}
		last := start.Add(time.Minute)
		for i, key := range []string{"k1", "k2", "k1", "k3"} {
			m, err := post(th.ID, key, last)
			if i == 2 {
				if parley.ErrorCode(err) != parley.ECONFLICT {
					t.Fatalf("a taken key: %v, want ECONFLICT", err)
				}
				continue
			}
			if want := int64(min(i+1, 3)); err != nil || m.Seq != want {
				t.Fatalf("post %d: seq %d, %v; want seq %d", i, m.Seq, err, want)
			}
		}
		if _, err := post(parley.NewID(), "k4", last); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Fatalf("an unknown thread: %v, want ENOTFOUND", err)
		}
		stranger := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: parley.UserRef{ID: parley.NewID()},
			Kind: parley.MessageKindText, Text: "from no one", CreatedAt: last}
		if err := db.Write(ctx, func(tx parley.Tx) error { return tx.PostMessage(ctx, stranger) }); err == nil {
			t.Fatal("a sender who does not exist posted")
		}
		err := db.Read(ctx, func(tx parley.Tx) error {
			got, err := tx.FindThreadByID(ctx, th.ID)
			if err != nil {
				return err
			}
			if got.LastSeq != 3 || !got.LastActivityAt.Equal(last) {
				return fmt.Errorf("thread: last seq %d at %v, want 3 at %v", got.LastSeq, got.LastActivityAt, last)
			}
			p, err := tx.FindParticipant(ctx, th.ID, u.ID)
			if err != nil {
				return err
			}
			if p.LastReadSeq != 3 {
				return fmt.Errorf("the sender's marker is at %d, want 3", p.LastReadSeq)
			}
			after := int64(0)
			msgs, err := tx.FindMessages(ctx, parley.MessageFilter{ThreadID: th.ID, After: &after, Limit: 10})
			if err != nil {
				return err
			}
			for i, m := range msgs {
				if want := fmt.Sprintf("hi k%d", i+1); m.Seq != int64(i+1) || m.Text != want {
					return fmt.Errorf("message %d: seq %d %q, want seq %d %q", i, m.Seq, m.Text, i+1, want)
				}
			}
			if len(msgs) != 3 {
				return fmt.Errorf("%d messages, want 3", len(msgs))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// FindMessages with Seqs reads the messages so numbered, oldest first
// whatever order they are asked in, each once: none that is not there,
// none before FromSeq, none once the member left, and no more than Limit.
func TestMessages_FindMessagesBySeq(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u, th := changesThread(t, db)
		mustWrite(t, db, func(tx parley.Tx) error {
			for i := range 6 {
				m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText, Text: fmt.Sprint("m", i+1), CreatedAt: parley.Now()}
				if err := tx.PostMessage(ctx, m); err != nil {
					return err
				}
			}
			return nil
		})
		for name, c := range map[string]struct {
			f    parley.MessageFilter
			want []int64
		}{
			"in any order, absent left out": {parley.MessageFilter{Seqs: []int64{5, 2, 9, 2, 4}, Limit: 5}, []int64{2, 4, 5}},
			"from FromSeq":                  {parley.MessageFilter{Seqs: []int64{1, 3, 6}, Limit: 3, FromSeq: 3}, []int64{3, 6}},
			"up to Limit":                   {parley.MessageFilter{Seqs: []int64{1, 2, 3}, Limit: 2}, []int64{1, 2}},
			"the member's":                  {parley.MessageFilter{Seqs: []int64{1}, Limit: 1, MemberID: u.ID}, []int64{1}},
			"not another's":                 {parley.MessageFilter{Seqs: []int64{1}, Limit: 1, MemberID: parley.NewID()}, nil},
		} {
			c.f.ThreadID = th.ID
			var got []*parley.Message
			if err := db.Read(ctx, func(tx parley.Tx) (err error) { got, err = tx.FindMessages(ctx, c.f); return err }); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !slices.Equal(seqsOf(got), c.want) {
				t.Errorf("%s: seqs %v, want %v", name, seqsOf(got), c.want)
			}
		}
	})
}

// A thread's last activity never goes back, and its messages' times rise
// with their numbers: of two writes at once on PostgreSQL, the one whose
// time was taken first may take the thread's row, and its number, last.
// A post with a time before the thread's last activity is stored at that
// activity's time, given back in the message; a rename, a touch or a
// notice's number earlier than it leave it where it is.
func TestMessages_TimesRiseWithNumbers(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, th := changesThread(t, db)
		later, earlier := th.LastActivityAt.Add(time.Minute), th.LastActivityAt.Add(time.Second)
		post := func(text string, at time.Time, participant bool) *parley.Message {
			t.Helper()
			m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: alice.Ref(), Kind: parley.MessageKindText, Text: text, CreatedAt: at}
			mustWrite(t, db, func(tx parley.Tx) error {
				if participant {
					_, _, err := tx.PostParticipantMessage(ctx, m)
					return err
				}
				return tx.PostMessage(ctx, m)
			})
			return m
		}
		lastActivity := func() time.Time {
			t.Helper()
			var got *parley.Thread
			if err := db.Read(ctx, func(tx parley.Tx) (err error) { got, err = tx.FindThreadByID(ctx, th.ID); return err }); err != nil {
				t.Fatal(err)
			}
			return got.LastActivityAt
		}
		post("first, its time taken last", later, false)
		for i, participant := range []bool{false, true} {
			m := post(fmt.Sprint("then ", i), earlier, participant)
			if !m.CreatedAt.Equal(later) {
				t.Errorf("a post with a time before the thread's last activity is at %s; want %s", m.CreatedAt, later)
			}
		}
		var stored []*parley.Message
		if err := db.Read(ctx, func(tx parley.Tx) (err error) {
			stored, err = tx.FindMessages(ctx, parley.MessageFilter{ThreadID: th.ID, Limit: 10})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, m := range stored {
			if !m.CreatedAt.Equal(later) {
				t.Errorf("message %d is stored at %s; want %s", m.Seq, m.CreatedAt, later)
			}
		}
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.TouchThread(ctx, th.ID, earlier); err != nil {
				return err
			}
			return tx.RenameThread(ctx, th.ID, "renamed", earlier)
		})
		if got := lastActivity(); !got.Equal(later) {
			t.Errorf("the thread's last activity went back to %s; want %s", got, later)
		}
	})
}

// PostParticipantMessage posts as PostMessage when the sender is a current
// participant, and returns the participants; a sender who left, or was
// never in the thread, gets the participants and nothing stored. Through
// WriteOne, a post that fails keeps nothing.
func TestMessages_PostParticipantMessagePostsOnlyAsAParticipant(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, bob, carol := newUser("alice"), newUser("bob"), newUser("carol")
		start := parley.Now()
		th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "t", CreatedBy: alice.ID, LastActivityAt: start, CreatedAt: start}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{alice, bob, carol} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			if err := tx.CreateThread(ctx, th); err != nil {
				return err
			}
			for _, u := range []*parley.User{alice, bob} {
				if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: start}); err != nil {
					return err
				}
			}
			return tx.LeaveThread(ctx, th.ID, bob.ID, start)
		})
		post := func(sender *parley.User) (*parley.Message, []string, bool) {
			t.Helper()
			m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: parley.UserRef{ID: sender.ID},
				Kind: parley.MessageKindText, Text: "from " + sender.Username, CreatedAt: start.Add(time.Minute)}
			var ids []string
			var posted bool
			err := db.WriteOne(ctx, func(tx parley.Tx) (err error) {
				ids, posted, err = tx.PostParticipantMessage(ctx, m)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return m, ids, posted
		}
		for _, u := range []*parley.User{bob, carol} {
			if _, ids, posted := post(u); posted || len(ids) != 1 || ids[0] != alice.ID {
				t.Fatalf("%s's post: posted %v, participants %v; want nothing posted, participants [alice]", u.Username, posted, ids)
			}
		}
		m, ids, posted := post(alice)
		if !posted || m.Seq != 1 || len(ids) != 1 || ids[0] != alice.ID {
			t.Fatalf("alice's post: posted %v at seq %d, participants %v; want seq 1, participants [alice]", posted, m.Seq, ids)
		}
		// A taken key fails the statement, which keeps nothing: no number
		// taken, no second message.
		again := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: parley.UserRef{ID: alice.ID},
			Kind: parley.MessageKindText, Text: "again", CreatedAt: start.Add(time.Minute), IdempotencyKey: "k"}
		for i, want := range []string{"", parley.ECONFLICT} {
			again.ID = parley.NewID()
			err := db.WriteOne(ctx, func(tx parley.Tx) error {
				_, _, err := tx.PostParticipantMessage(ctx, again)
				return err
			})
			if parley.ErrorCode(err) != want {
				t.Fatalf("post %d with key k: %v, want code %q", i, err, want)
			}
		}
		err := db.Read(ctx, func(tx parley.Tx) error {
			after := int64(0)
			msgs, err := tx.FindMessages(ctx, parley.MessageFilter{ThreadID: th.ID, After: &after, Limit: 10})
			if err != nil {
				return err
			}
			if len(msgs) != 2 || msgs[0].ID != m.ID || msgs[1].Text != "again" {
				return fmt.Errorf("the thread holds %d messages, want alice's two", len(msgs))
			}
			p, err := tx.FindParticipant(ctx, th.ID, alice.ID)
			if err != nil {
				return err
			}
			if p.LastReadSeq != 2 {
				return fmt.Errorf("alice's marker is at %d, want 2", p.LastReadSeq)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// A post moves its sender's read marker to it when the sender wrote it;
// when an app wrote it for them (Via), only from the message before, so
// that no message the member has not read is marked read by an app's
// post. PostMessage and PostParticipantMessage (through WriteOne, which
// PostgreSQL sends in groups) follow the same rule.
func TestMessages_AppPostMovesTheMarkerOnlyFromTheLastMessage(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, bob := newUser("alice"), newUser("bob")
		th := mustGroupOf(t, db, alice, bob)
		app := &parley.Via{ClientID: "auto-reply", Name: "AutoReply"}
		for _, post := range []struct {
			name string
			fn   func(m *parley.Message) error
		}{
			{"PostMessage", func(m *parley.Message) error {
				return db.Write(ctx, func(tx parley.Tx) error { return tx.PostMessage(ctx, m) })
			}},
			{"PostParticipantMessage", func(m *parley.Message) error {
				return db.WriteOne(ctx, func(tx parley.Tx) error {
					_, _, err := tx.PostParticipantMessage(ctx, m)
					return err
				})
			}},
		} {
			send := func(t *testing.T, sender *parley.User, via *parley.Via) *parley.Message {
				t.Helper()
				m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: parley.UserRef{ID: sender.ID},
					Kind: parley.MessageKindText, Text: "from " + sender.Username, CreatedAt: parley.Now(), Via: via}
				if err := post.fn(m); err != nil {
					t.Fatal(err)
				}
				return m
			}
			marker := func(t *testing.T) int64 {
				t.Helper()
				var p *parley.Participant
				err := db.Read(ctx, func(tx parley.Tx) (err error) {
					p, err = tx.FindParticipant(ctx, th.ID, alice.ID)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return p.LastReadSeq
			}
			t.Run(post.name, func(t *testing.T) {
				read := send(t, alice, nil).Seq
				if got := marker(t); got != read {
					t.Fatalf("after alice's own post %d her marker is %d", read, got)
				}
				if m := send(t, alice, app); marker(t) != m.Seq {
					t.Fatalf("after the app's post %d, with nothing unread, alice's marker is %d; want %d", m.Seq, marker(t), m.Seq)
				}
				read = marker(t)
				send(t, bob, nil)
				if m := send(t, alice, app); marker(t) != read {
					t.Errorf("after bob's post and the app's %d, alice's marker is %d; want it left at %d", m.Seq, marker(t), read)
				}
				if m := send(t, alice, nil); marker(t) != m.Seq {
					t.Errorf("after alice's own post %d, her marker is %d; want %d", m.Seq, marker(t), m.Seq)
				}
			})
		}
	})
}

// FindNewestMessages returns each thread's newest messages, newest first,
// at most limit of them and none before the thread's FromSeq; threads
// without such messages have no key.
func TestMessages_FindNewestMessagesOfSeveralThreads(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		start := parley.Now()
		// Thread i holds i messages, "i.1" to "i.i".
		threads, _ := threadsHoldingTheirNumber(t, db, 4, func(i, n int) (string, time.Time) {
			return fmt.Sprintf("%d.%d", i, n), start
		})
		var found map[string][]*parley.Message
		err := db.Read(ctx, func(tx parley.Tx) (err error) {
			found, err = tx.FindNewestMessages(ctx, []parley.ThreadFrom{
				{ThreadID: threads[0].ID},
				{ThreadID: threads[1].ID},
				{ThreadID: threads[2].ID, FromSeq: 2},
				{ThreadID: threads[3].ID},
			}, 2)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{
			threads[1].ID: {"1.1"},
			threads[2].ID: {"2.2"},
			threads[3].ID: {"3.3", "3.2"},
		}
		if len(found) != len(want) {
			t.Errorf("messages of %d threads, want %d", len(found), len(want))
		}
		for id, texts := range want {
			var got []string
			for _, m := range found[id] {
				if m.ThreadID != id || m.Sender.Username != "alice" {
					t.Errorf("message %q: thread %s, sender %q; want %s, alice", m.Text, m.ThreadID, m.Sender.Username, id)
				}
				got = append(got, m.Text)
			}
			if fmt.Sprint(got) != fmt.Sprint(texts) {
				t.Errorf("thread %s: %v, want %v", id, got, texts)
			}
		}
	})
}

// FindFirstMessageTimes returns when each thread's first message from its
// FromSeq on was written, a deleted one too; a thread without such a
// message has no key.
func TestMessages_FindFirstMessageTimes(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		start := parley.Now().Truncate(time.Microsecond)
		// Thread i holds i messages, the nth written n minutes after start.
		threads, messages := threadsHoldingTheirNumber(t, db, 3, func(i, n int) (string, time.Time) {
			return "hi", start.Add(time.Duration(n) * time.Minute)
		})
		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteMessage(ctx, messages[2][1], start.Add(time.Hour)) })
		var found map[string]time.Time
		err := db.Read(ctx, func(tx parley.Tx) (err error) {
			found, err = tx.FindFirstMessageTimes(ctx, []parley.ThreadFrom{
				{ThreadID: threads[0].ID},
				{ThreadID: threads[1].ID, FromSeq: 2},
				{ThreadID: threads[2].ID, FromSeq: 2},
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]time.Time{threads[2].ID: start.Add(2 * time.Minute)}
		if len(found) != len(want) || !found[threads[2].ID].Equal(want[threads[2].ID]) {
			t.Errorf("first message times %v, want %v", found, want)
		}
	})
}

// Every read of messages gives back each field as it was posted: a text
// message, a share card, a message through an app, a deleted one (which
// keeps nothing of what it answered), an edited reply, a reply, and text
// with characters JSON escapes (the rare fields come as one JSON column),
// each with its own sender of two (read apart from the rows on SQLite),
// in a read and in a write.
func TestMessages_ReadsGiveBackEveryField(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u, bob := newUser("alice"), newUser("bob")
		u.DisplayName, bob.DisplayName = "Zoë \"Z\" <&>", "Bob B."
		start := parley.Now()
		th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "t", CreatedBy: u.ID, LastActivityAt: start, CreatedAt: start}
		at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Second) }
		msg := func(i int, text string) *parley.Message {
			return &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText, Text: text, CreatedAt: at(i)}
		}
		posted := []*parley.Message{
			msg(1, "plain"),
			msg(2, "a note \"quoted\" \\ \u2028 \x01"),
			msg(3, "through an app"),
			msg(4, "to delete"),
			msg(5, "a share and an app"),
			msg(6, "to edit"),
			msg(7, "through an app, to edit"),
			msg(8, "a reply, nothing else rare"),
			msg(9, "reacted to"),
		}
		posted[1].Kind, posted[1].Share = parley.MessageKindShare, &parley.Share{URL: "https://example.com/?a=1&b=\"2\"", Title: "Ti\"tle ✓"}
		posted[2].Via = &parley.Via{ClientID: "client-1", Name: "App \"one\""}
		posted[4].Kind, posted[4].Share, posted[4].Via = parley.MessageKindShare, &parley.Share{URL: "https://example.org/", Title: ""}, &parley.Via{ClientID: "c2", Name: ""}
		posted[1].Sender, posted[3].Sender = bob.Ref(), bob.Ref()
		posted[6].Via = &parley.Via{ClientID: "client-1", Name: "App \"one\""}
		posted[2].IdempotencyKey, posted[2].RequestHash = "key-1", []byte("what the send asked for")
		posted[7].ReplyToSeq, posted[5].ReplyToSeq, posted[3].ReplyToSeq = 1, 2, 1
		deletedAt, editedAt := at(9), at(10)
		edits := map[*parley.Message]string{posted[5]: "edited \"once\" ✓", posted[6]: "edited through an app"}
		edited := []*parley.Message{posted[5], posted[6]} // in the order of their changes
		// Reactions in the order given: alice's 😂 replaced by her 👍, after
		// bob's (whose ID sorts after hers); one taken back; one to a share
		// through an app; one to the message deleted after it.
		type reaction struct {
			m     *parley.Message
			by    *parley.User
			emoji string
			at    time.Time
		}
		reactions := []reaction{
			{posted[8], u, "😂", at(11)}, {posted[8], bob, "👍", at(12)}, {posted[8], u, "👍", at(13)},
			{posted[4], bob, "🙏", at(14)}, {posted[0], u, "❤️", at(15)}, {posted[0], u, "", at(16)},
			{posted[3], u, "👍", at(8)},
		}
		reacted := map[*parley.Message][]parley.Reaction{
			posted[8]: {{Emoji: "👍", Count: 2, Users: []parley.UserRef{bob.Ref(), u.Ref()}}},
			posted[4]: {{Emoji: "🙏", Count: 1, Users: []parley.UserRef{bob.Ref()}}},
		}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{u, bob} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			if err := tx.CreateThread(ctx, th); err != nil {
				return err
			}
			for _, u := range []*parley.User{u, bob} {
				if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: start}); err != nil {
					return err
				}
			}
			for _, m := range posted {
				if err := tx.PostMessage(ctx, m); err != nil {
					return err
				}
			}
			for _, m := range edited {
				if err := tx.EditMessage(ctx, m.ID, edits[m], editedAt, false); err != nil {
					return err
				}
			}
			for _, r := range reactions {
				if err := tx.SetReaction(ctx, r.m.ID, r.by.ID, r.emoji, r.at); err != nil {
					return err
				}
			}
			return tx.DeleteMessage(ctx, posted[3].ID, deletedAt)
		})
		// show prints a message's fields and what its pointers point at.
		show := func(m parley.Message) string {
			via, share, deleted, edited := m.Via, m.Share, m.DeletedAt, m.EditedAt
			m.Via, m.Share, m.DeletedAt, m.EditedAt, m.IdempotencyKey, m.RequestHash = nil, nil, nil, nil, "", nil
			return fmt.Sprintf("%+v via %+v share %+v deleted %v edited %v", m, via, share, deleted, edited)
		}
		want := func(m *parley.Message) string {
			w := *m
			// Changes are numbered by the posts, then the edits, then the
			// reactions, in order.
			w.Reactions = reacted[m]
			for i, r := range reactions {
				if r.m == m {
					w.ReactionChange = int64(len(posted) + len(edits) + i + 1)
				}
			}
			// Its change is its latest: its post's, as PostMessage left
			// it, its edit's, its last reaction's or its deletion's.
			if i := slices.Index(edited, m); i >= 0 {
				w.Change = int64(len(posted) + i + 1)
			}
			if w.ReactionChange != 0 {
				w.Change = w.ReactionChange
			}
			if m == posted[3] {
				w.Text, w.DeletedAt, w.ReplyToSeq, w.ReactionChange = "", &deletedAt, 0, 0
				w.Change = int64(len(posted) + len(edits) + len(reactions) + 1)
			}
			if text, ok := edits[m]; ok {
				w.Text, w.EditedAt = text, &editedAt
			}
			return show(w)
		}
		check := func(how string, got []*parley.Message) {
			t.Helper()
			if len(got) != len(posted) {
				t.Fatalf("%s: %d messages, want %d", how, len(got), len(posted))
			}
			for i, m := range got {
				if g, w := show(*m), want(posted[i]); g != w {
					t.Errorf("%s, message %d:\n got %s\nwant %s", how, i+1, g, w)
				}
			}
		}
		readAll := func(tx parley.Tx) error {
			after := int64(0)
			page, err := tx.FindMessages(ctx, parley.MessageFilter{ThreadID: th.ID, After: &after, Limit: 10, MemberID: u.ID})
			if err != nil {
				return err
			}
			check("a page", page)
			var byID []*parley.Message
			for _, p := range posted {
				m, err := tx.FindMessageByID(ctx, p.ID)
				if err != nil {
					return err
				}
				byID = append(byID, m)
			}
			check("by ID", byID)
			byKey, err := tx.FindMessageByIdempotencyKey(ctx, u.ID, "key-1")
			if err != nil {
				return err
			}
			if g, w := show(*byKey), want(posted[2]); g != w {
				t.Errorf("by key:\n got %s\nwant %s", g, w)
			}
			if !bytes.Equal(byKey.RequestHash, posted[2].RequestHash) {
				t.Errorf("by key, the request kept with it: %q, want %q", byKey.RequestHash, posted[2].RequestHash)
			}
			var sent []*parley.Message
			for _, sender := range []*parley.User{u, bob} {
				list, err := tx.FindSentMessages(ctx, sender.ID, "", 10)
				if err != nil {
					return err
				}
				sent = append(sent, list...)
			}
			slices.SortFunc(sent, func(a, b *parley.Message) int { return cmp.Compare(a.Seq, b.Seq) })
			check("the sent", sent)
			newest, err := tx.FindNewestMessages(ctx, []parley.ThreadFrom{{ThreadID: th.ID}}, 10)
			if err != nil {
				return err
			}
			slices.Reverse(newest[th.ID])
			check("the newest", newest[th.ID])
			changes, err := tx.FindMessageChanges(ctx, parley.ChangeFilter{ThreadID: th.ID, Limit: 10, MemberID: u.ID})
			if err != nil {
				return err
			}
			var changed []*parley.Message
			for _, c := range changes {
				changed = append(changed, c.Message)
			}
			// The deleted message's change is the last.
			slices.SortFunc(changed, func(a, b *parley.Message) int { return cmp.Compare(a.Seq, b.Seq) })
			check("the changes", changed)
			return nil
		}
		if err := db.Read(ctx, readAll); err != nil {
			t.Fatal(err)
		}
		// A write reads through the writer's connection and statements.
		mustWrite(t, db, readAll)
	})
}

// A page of a thread reads from the table no more messages than it
// returns, however PostgreSQL plans it: planned as if the statistics said
// that the thread is small, as they do of a table not analyzed since it
// grew, a page bounded at one end only read every message of its thread
// and sorted them (4.4 ms a page of 51 of a thread of 3,882 messages,
// against 0.12 ms as the index's range).
func TestMessages_APageReadsOnlyItsOwnRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlstoretest.Open(t, "postgres")
	u, th := changesThread(t, db)
	postMany(t, db, u, th, 3000)

	seq := func(n int64) *int64 { return &n }
	for name, f := range map[string]parley.MessageFilter{
		"newest":     {ThreadID: th.ID, Limit: 51},
		"before":     {ThreadID: th.ID, Before: seq(1500), Limit: 51},
		"after":      {ThreadID: th.ID, After: seq(1500), Limit: 51},
		"as member":  {ThreadID: th.ID, MemberID: u.ID, Limit: 51},
		"from a seq": {ThreadID: th.ID, Before: seq(1500), FromSeq: 1470, Limit: 51},
	} {
		read, err := sqlstore.MessageRowsRead(ctx, db, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if read > 51 {
			t.Errorf("%s: the plan read %d messages for a page of at most 51", name, read)
		}
		// The same page as an app's, its first message the reach's.
		f.MemberID = u.ID
		read, err = sqlstore.ReachedRowsRead(ctx, db, &parley.Grant{ID: parley.NewID(), ThreadScope: parley.ThreadScopeAll}, f)
		if err != nil {
			t.Fatalf("%s, reached: %v", name, err)
		}
		if read > 51 {
			t.Errorf("%s, reached: the plan read %d messages for a page of at most 51", name, read)
		}
	}
}

// A page holds the messages next to its position that its reader may see:
// one that may see a thread only from a seq on (an app, from its grant's
// first message) reads, after a seq before that, from there.
func TestMessages_APageStartsWhereItsReaderMaySee(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u, th := changesThread(t, db)
		postMany(t, db, u, th, 100)
		seq := func(n int64) *int64 { return &n }
		for name, tc := range map[string]struct {
			f           parley.MessageFilter
			first, last int64
		}{
			"after, from a later seq":    {parley.MessageFilter{After: seq(0), FromSeq: 60, Limit: 10}, 60, 69},
			"after, from an earlier seq": {parley.MessageFilter{After: seq(30), FromSeq: 10, Limit: 10}, 31, 40},
			"after, to the end":          {parley.MessageFilter{After: seq(95), Limit: 10}, 96, 100},
			"newest, from a seq":         {parley.MessageFilter{FromSeq: 95, Limit: 10}, 100, 95},
			"before, from a seq":         {parley.MessageFilter{Before: seq(70), FromSeq: 65, Limit: 10}, 69, 65},
			"before, to the start":       {parley.MessageFilter{Before: seq(4), Limit: 10}, 3, 1},
		} {
			tc.f.ThreadID = th.ID
			var page []*parley.Message
			err := db.Read(ctx, func(tx parley.Tx) (err error) {
				page, err = tx.FindMessages(ctx, tc.f)
				return err
			})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want := max(tc.first, tc.last) - min(tc.first, tc.last) + 1
			if int64(len(page)) != want || page[0].Seq != tc.first || page[len(page)-1].Seq != tc.last {
				var got []int64
				for _, m := range page {
					got = append(got, m.Seq)
				}
				t.Errorf("%s: seqs %v, want %d from %d to %d", name, got, want, tc.first, tc.last)
			}
		}
	})
}

// postMany posts n messages of u into th, in one write.
func postMany(t *testing.T, db *sqlstore.DB, u *parley.User, th *parley.Thread, n int) {
	t.Helper()
	ctx := context.Background()
	mustWrite(t, db, func(tx parley.Tx) error {
		for range n {
			m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText, Text: "hello", CreatedAt: parley.Now()}
			if err := tx.PostMessage(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
}

// A page asked for with a limit below zero is empty on both engines, not
// every row on SQLite, where LIMIT -1 means no limit, and an error on
// PostgreSQL, which refuses a negative LIMIT.
func TestPages_NegativeLimitIsNone(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, th := changesThread(t, db)
		bob := mustUsers(t, db, "bob")[0]
		for range 3 {
			mustWrite(t, db, postTo(th.ID, alice.ID))
			mustWrite(t, db, func(tx parley.Tx) error {
				return tx.AppendAccess(ctx, []parley.AccessRecord{readRecord(alice.ID, bob, "m")})
			})
		}
		for _, c := range []struct {
			name string
			read func(tx parley.Tx) (int, error)
		}{
			{"FindMessages", func(tx parley.Tx) (int, error) {
				l, err := tx.FindMessages(ctx, parley.MessageFilter{ThreadID: th.ID, Limit: -1})
				return len(l), err
			}},
			{"FindMessageChanges", func(tx parley.Tx) (int, error) {
				l, err := tx.FindMessageChanges(ctx, parley.ChangeFilter{ThreadID: th.ID, Limit: -1})
				return len(l), err
			}},
			{"SearchMessages", func(tx parley.Tx) (int, error) {
				l, err := tx.SearchMessages(ctx, parley.SearchFilter{MemberID: alice.ID, Text: "hi", Limit: -1})
				return len(l), err
			}},
			{"FindThreads", func(tx parley.Tx) (int, error) {
				l, err := tx.FindThreads(ctx, parley.ThreadFilter{UserID: alice.ID, Limit: -1})
				return len(l), err
			}},
			{"FindAccessEntries", func(tx parley.Tx) (int, error) {
				l, err := tx.FindAccessEntries(ctx, parley.AccessFilter{UserID: alice.ID, Limit: -1})
				return len(l), err
			}},
		} {
			var n int
			err := db.Read(ctx, func(tx parley.Tx) (err error) { n, err = c.read(tx); return err })
			if err != nil || n != 0 {
				t.Errorf("%s with limit -1: %d rows, %v; want none", c.name, n, err)
			}
		}
	})
}

// threadsHoldingTheirNumber makes count groups of one member, thread i
// holding i messages, the nth of them with the text and time message(i, n)
// gives, and returns the threads and the IDs of each one's messages in
// order.
func threadsHoldingTheirNumber(t *testing.T, db *sqlstore.DB, count int, message func(i, n int) (string, time.Time)) ([]*parley.Thread, [][]string) {
	t.Helper()
	ctx := context.Background()
	u := newUser("alice")
	start := parley.Now()
	threads, ids := make([]*parley.Thread, count), make([][]string, count)
	mustWrite(t, db, func(tx parley.Tx) error {
		if err := tx.CreateUser(ctx, u, "hash"); err != nil {
			return err
		}
		for i := range threads {
			threads[i] = &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "t", CreatedBy: u.ID, LastActivityAt: start, CreatedAt: start}
			if err := tx.CreateThread(ctx, threads[i]); err != nil {
				return err
			}
			for n := 1; n <= i; n++ {
				text, at := message(i, n)
				m := &parley.Message{ID: parley.NewID(), ThreadID: threads[i].ID, Sender: parley.UserRef{ID: u.ID},
					Kind: parley.MessageKindText, Text: text, CreatedAt: at}
				if err := tx.PostMessage(ctx, m); err != nil {
					return err
				}
				ids[i] = append(ids[i], m.ID)
			}
		}
		return nil
	})
	return threads, ids
}
