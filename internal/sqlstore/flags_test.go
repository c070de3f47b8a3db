package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// TestFlags: a member flags a message once; operators read the open
// flags, oldest first, with who reported whom and what the message said
// then, even once it is deleted; resolving erases that copy and closes
// every open flag of the message alone; a member's flags page in the
// order made and go with DeleteFlags.
func TestFlags(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, th := changesThread(t, db)
		bob, carol := newUser("bob"), newUser("carol")
		start := parley.Now()
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{bob, carol} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
				if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: start}); err != nil {
					return err
				}
			}
			return nil
		})
		post := func(m *parley.Message) *parley.Message {
			m.ID, m.ThreadID, m.Sender, m.CreatedAt = parley.NewID(), th.ID, alice.Ref(), start
			mustWrite(t, db, func(tx parley.Tx) error { return tx.PostMessage(ctx, m) })
			return m
		}
		rude := post(&parley.Message{Kind: parley.MessageKindText, Text: "rude"})
		card := post(&parley.Message{Kind: parley.MessageKindShare, Text: "buy now", Share: &parley.Share{URL: "https://spam.example/", Title: "Offer"}})
		at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Second) }
		var ids []string // of the flags made, in turn
		flag := func(m *parley.Message, by *parley.User, reason string, i int) (bool, error) {
			f := &parley.Flag{ID: parley.NewID(), MessageID: m.ID, Reason: reason, Note: "note by " + by.Username, At: at(i),
				Evidence: &parley.FlagEvidence{Kind: m.Kind, Text: m.Text}}
			if m.Share != nil {
				f.Evidence.ShareURL = m.Share.URL
			}
			var created bool
			err := db.Write(ctx, func(tx parley.Tx) (err error) {
				created, err = tx.CreateFlag(ctx, f, by.ID)
				return err
			})
			ids = append(ids, f.ID)
			return created, err
		}
		// Made in this order, at times in another: the operators read them
		// by time.
		for _, f := range []struct {
			m      *parley.Message
			by     *parley.User
			reason string
			at     int
		}{{card, carol, parley.FlagSpam, 2}, {card, bob, parley.FlagSpam, 3}, {rude, bob, parley.FlagAbuse, 1}, {rude, carol, parley.FlagOther, 4}} {
			if created, err := flag(f.m, f.by, f.reason, f.at); err != nil || !created {
				t.Fatalf("%s flags %q: created %v, %v", f.by.Username, f.m.Text, created, err)
			}
		}
		// The same member again, another reason: the first flag stays.
		if created, err := flag(rude, bob, parley.FlagSpam, 9); err != nil || created {
			t.Fatalf("bob flags the same message again: created %v, %v; want nothing created", created, err)
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.EditMessage(ctx, rude.ID, "sorry", at(5), false) })
		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteMessage(ctx, card.ID, at(6)) })
		// A deleted message takes no flag, nor one that is not there.
		for _, m := range []*parley.Message{card, {ID: parley.NewID(), Kind: parley.MessageKindText}} {
			if created, err := flag(m, alice, parley.FlagSpam, 9); err != nil || created {
				t.Fatalf("a flag of a deleted or missing message: created %v, %v", created, err)
			}
		}

		open := func() []string {
			var flags []*parley.Flag
			mustWrite(t, db, func(tx parley.Tx) (err error) {
				flags, err = tx.FindOpenFlags(ctx, 10)
				return err
			})
			var got []string
			for _, f := range flags {
				e := f.Evidence
				got = append(got, fmt.Sprintf("%s by %s of %s %s %q %s sent %v deleted %v: %s %q",
					f.MessageID, e.Reporter.Username, e.Sender.Username, e.Kind, e.Text, e.ShareURL,
					e.SentAt.Equal(start), e.DeletedAt != nil, f.Reason, f.Note))
			}
			return got
		}
		want := []string{
			rude.ID + ` by bob of alice text "rude"  sent true deleted false: abuse "note by bob"`,
			card.ID + ` by carol of alice share "buy now" https://spam.example/ sent true deleted true: spam "note by carol"`,
			card.ID + ` by bob of alice share "buy now" https://spam.example/ sent true deleted true: spam "note by bob"`,
			rude.ID + ` by carol of alice text "rude"  sent true deleted false: other "note by carol"`,
		}
		if got := open(); !slices.Equal(got, want) {
			t.Fatalf("open flags:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}

		resolve := func(messageID, throughID string, i int) int {
			var n int
			mustWrite(t, db, func(tx parley.Tx) (err error) {
				n, err = tx.ResolveFlags(ctx, messageID, throughID, parley.FlagDismissed, at(i))
				return err
			})
			return n
		}
		// Through another message's flag, or one that is not there: none.
		if n := resolve(rude.ID, ids[0], 7); n != 0 {
			t.Fatalf("resolving the rude message's flags through the card's resolved %d", n)
		}
		if n := resolve(rude.ID, parley.NewID(), 7); n != 0 {
			t.Fatalf("resolving through no flag resolved %d", n)
		}
		// Through bob's, the older: carol's, made after, stays open.
		n := resolve(rude.ID, ids[2], 7)
		if got := open(); n != 1 || !slices.Equal(got, want[1:]) {
			t.Fatalf("resolved %d; open flags after the rude message's through bob's:\n%s", n, strings.Join(got, "\n"))
		}
		n = resolve(rude.ID, ids[3], 7)
		if got := open(); n != 1 || !slices.Equal(got, want[1:3]) {
			t.Fatalf("resolved %d; open flags after the rude message's through carol's:\n%s", n, strings.Join(got, "\n"))
		}
		// The resolved keep nothing of the message; the open keep it.
		for i, id := range ids[:4] {
			var keeps bool
			mustWrite(t, db, func(tx parley.Tx) (err error) {
				keeps, err = sqlstore.FlagKeepsMessage(ctx, tx, id)
				return err
			})
			if resolved := i >= 2; keeps == resolved {
				t.Errorf("flag %d, resolved %v, keeps the message: %v", i, resolved, keeps)
			}
		}
		if n := resolve(rude.ID, ids[3], 8); n != 0 {
			t.Fatalf("resolving the resolved again resolved %d", n)
		}

		// Bob's flags, a page of one at a time, as he made them.
		mine := func(u *parley.User) []string {
			var got []string
			var after *parley.Flag
			for {
				var page []*parley.Flag
				mustWrite(t, db, func(tx parley.Tx) (err error) {
					page, err = tx.FindFlags(ctx, u.ID, after, 1)
					return err
				})
				if len(page) == 0 {
					return got
				}
				f := page[0]
				if f.Evidence != nil {
					t.Fatalf("a member's flag carries the evidence: %+v", f.Evidence)
				}
				resolved := "open"
				if f.ResolvedAt != nil {
					resolved = fmt.Sprintf("%s at %v", f.Resolution, f.ResolvedAt.Sub(start))
				}
				got = append(got, fmt.Sprintf("%s %s@%d %s %v %s", f.MessageID, f.ThreadID, f.Seq, f.Reason, f.At.Sub(start), resolved))
				after = f
			}
		}
		if got, want := mine(bob), []string{rude.ID + " " + th.ID + "@1 abuse 1s dismissed at 7s", card.ID + " " + th.ID + "@2 spam 3s open"}; !slices.Equal(got, want) {
			t.Fatalf("bob's flags %q, want %q", got, want)
		}
		var one *parley.Flag
		mustWrite(t, db, func(tx parley.Tx) (err error) {
			one, err = tx.FindFlag(ctx, bob.ID, rude.ID)
			return err
		})
		if one.Reason != parley.FlagAbuse || one.Resolution != parley.FlagDismissed || one.Evidence != nil {
			t.Fatalf("bob's flag of the rude message %+v", one)
		}
		err := db.Read(ctx, func(tx parley.Tx) error {
			_, err := tx.FindFlag(ctx, alice.ID, rude.ID)
			return err
		})
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Fatalf("a flag alice never made: %v, want not found", err)
		}

		// Bob reports the rude message anew once his report was dismissed
		// (it was edited since): his flag is replaced, open again, with
		// the message as it is now.
		rude.Text = "sorry" // as edited at 5s
		if created, err := flag(rude, bob, parley.FlagOther, 10); err != nil || !created {
			t.Fatalf("bob reports the message again after the dismissal: created %v, %v", created, err)
		}
		mustWrite(t, db, func(tx parley.Tx) (err error) {
			one, err = tx.FindFlag(ctx, bob.ID, rude.ID)
			return err
		})
		if one.ID != ids[len(ids)-1] || one.Reason != parley.FlagOther || one.Resolution != "" || one.ResolvedAt != nil || !one.At.Equal(at(10)) {
			t.Fatalf("bob's flag reported anew %+v", one)
		}
		reopened := rude.ID + ` by bob of alice text "sorry"  sent true deleted false: other "note by bob"`
		if got := open(); !slices.Equal(got, append(want[1:3:3], reopened)) {
			t.Fatalf("open flags after bob's report anew:\n%s", strings.Join(got, "\n"))
		}

		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteFlags(ctx, bob.ID) })
		if got := mine(bob); len(got) != 0 {
			t.Fatalf("bob's flags after DeleteFlags: %q", got)
		}
		if got := open(); !slices.Equal(got, want[1:2]) {
			t.Fatalf("open flags after bob's went:\n%s", strings.Join(got, "\n"))
		}
	})
}
