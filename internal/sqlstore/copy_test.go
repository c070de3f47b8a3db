package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// hashOf stands for a secret's hash.
func hashOf(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// populate writes at least one row to every table, and enough rows to some
// for a copy to take several statements: members, a session, a ticket,
// friends, a throttle, a server key, an approved app, a thread of many
// messages, half of them with idempotency keys, one of them deleted, closed to apps by one participant, a
// grant that reaches it, an authorization request, a token, reads
// logged for two members, a webhook endpoint with a delivery attempted, a
// share report marked sent, and the app's secret rotated.
func populate(t *testing.T, db *sqlstore.DB) {
	t.Helper()
	ctx := context.Background()
	names := []string{"alice", "bob"}
	for i := range 250 {
		names = append(names, fmt.Sprintf("member%03d", i))
	}
	ids := mustUsers(t, db, names...)
	alice, bob := ids[0], ids[1]
	now := parley.Now()
	later := now.Add(time.Hour)
	thread := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "Plans", CreatedBy: alice, LastActivityAt: now, CreatedAt: now}
	app := &parley.App{ClientID: parley.NewID(), Name: "Films", OwnerID: alice, RedirectURIs: []string{"https://films.example/cb"},
		ClientType: parley.ClientConfidential, State: parley.AppActive, AllThreadsApproved: true, CreatedAt: now}
	grant := &parley.Grant{ID: parley.NewID(), UserID: alice, ClientID: app.ClientID, Scopes: parley.ParseScopes("messages.read"),
		ThreadScope: parley.ThreadScopeAll, CreatedAt: now, UpdatedAt: now, ExpiresAt: &later}
	auth := &parley.AuthRequest{ID: parley.NewID(), ClientID: app.ClientID, RedirectURI: app.RedirectURIs[0], State: "s", Nonce: "n",
		Scopes: grant.Scopes, ResponseMode: "query", CodeChallenge: "challenge", CreatedAt: now}
	var msgIDs []string
	mustWrite(t, db, func(tx parley.Tx) error {
		steps := []error{
			tx.CreateSession(ctx, &parley.Session{TokenHash: hashOf("session"), UserID: alice, CreatedAt: now, ExpiresAt: later}),
			tx.CreateEventTicket(ctx, &parley.EventTicket{Hash: hashOf("ticket"), UserID: alice, SessionHash: hashOf("session"), ExpiresAt: later}, now),
			tx.CreateFriendship(ctx, &parley.Friendship{RequesterID: alice, AddresseeID: bob, State: parley.FriendAccepted, CreatedAt: now}),
			tx.CreateBlock(ctx, bob, ids[2], now),
			tx.PutThrottle(ctx, &parley.Throttle{Key: "sign-in:account:bob", Failures: 3, LastFailure: now}),
			tx.CreateServerKey(ctx, "signing", []byte{0, 1, 2, 0xff}),
			tx.CreateApp(ctx, app, hashOf("secret")),
			tx.RotateAppSecret(ctx, app.ClientID, hashOf("rotated secret"), later),
			tx.SetOperator(ctx, alice, true),
			tx.CreateOperatorAction(ctx, &parley.OperatorAction{ID: parley.NewID(), At: now, ActorID: alice, Actor: "alice",
				Action: parley.ActionAppApproveAll, Subject: app.ClientID, SubjectName: app.Name}),
			tx.CreateThread(ctx, thread),
			tx.CreateThreadKey(ctx, &parley.ThreadKey{UserID: alice, Key: "trip", ThreadID: thread.ID, RequestHash: []byte("the request's hash"), Existed: true}),
			tx.JoinThread(ctx, &parley.Participant{ThreadID: thread.ID, UserID: alice, JoinedAt: now}),
			tx.JoinThread(ctx, &parley.Participant{ThreadID: thread.ID, UserID: bob, JoinedAt: now, LastReadSeq: 3, JoinedSeq: 2}),
			tx.SetThreadBlocked(ctx, thread.ID, true),
			tx.SetThreadMuted(ctx, thread.ID, bob, true),
			tx.AddTimelineNote(ctx, &parley.TimelineNote{ID: parley.NewID(), ThreadID: thread.ID, AfterSeq: 0, At: now, Kind: parley.NoteAdded,
				By: parley.UserRef{ID: alice}, Subject: &parley.UserRef{ID: bob}}),
		}
		for i := range 120 {
			m := &parley.Message{ID: parley.NewID(), ThreadID: thread.ID, Sender: parley.UserRef{ID: ids[i%2]},
				Kind: parley.MessageKindText, Text: fmt.Sprintf("message %d", i), CreatedAt: now}
			if i%2 == 0 {
				m.IdempotencyKey = fmt.Sprintf("key %d", i)
			}
			if i%10 == 9 {
				m.ReplyToSeq = int64(i + 1 - 2) // message i is numbered i+1
			}
			msgIDs = append(msgIDs, m.ID)
			steps = append(steps, tx.PostMessage(ctx, m))
		}
		_, err := tx.CloseThreadToApps(ctx, thread.ID, bob, now)
		steps = append(steps, err,
			tx.DeleteMessage(ctx, msgIDs[7], now),
			tx.EditMessage(ctx, msgIDs[8], "message 8, edited", later, false),
			tx.SetReaction(ctx, msgIDs[9], bob, "👍", later),
			tx.SetReaction(ctx, msgIDs[9], alice, "❤️", later))
		// Two flags, one open and one resolved.
		var flagID string
		for _, flagged := range []string{msgIDs[10], msgIDs[12]} {
			flagID = parley.NewID()
			_, err := tx.CreateFlag(ctx, &parley.Flag{ID: flagID, MessageID: flagged, Reason: parley.FlagAbuse, Note: "a note", At: now,
				Evidence: &parley.FlagEvidence{Kind: parley.MessageKindShare, Text: "message", ShareURL: "https://x.example/", ShareTitle: "X"}}, bob)
			steps = append(steps, err)
		}
		_, err = tx.ResolveFlags(ctx, msgIDs[12], flagID, parley.FlagDismissed, later)
		steps = append(steps, err, tx.CreateGrant(ctx, grant))
		_, err = tx.AddGrantThread(ctx, parley.GrantThread{GrantID: grant.ID, ThreadID: thread.ID, VisibleFromSeq: 1})
		steps = append(steps, err)
		// A second thread, which alice took out of the grant.
		takenOut := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "Taken out", CreatedBy: alice, LastActivityAt: now, CreatedAt: now}
		steps = append(steps, tx.CreateThread(ctx, takenOut))
		_, err = tx.AddGrantThread(ctx, parley.GrantThread{GrantID: grant.ID, ThreadID: takenOut.ID, VisibleFromSeq: 1})
		steps = append(steps, err, tx.RemoveGrantThread(ctx, grant.ID, takenOut.ID),
			tx.AddThreadNotice(ctx, &parley.ThreadNotice{ID: parley.NewID(), ThreadID: thread.ID, Kind: parley.NoticeAppAdded, At: now,
				By: parley.UserRef{ID: alice}, ClientID: app.ClientID, GrantID: grant.ID}),
			tx.CreateAuthRequest(ctx, auth),
			tx.CreateToken(ctx, &parley.OAuthToken{Hash: hashOf("token"), Kind: parley.TokenAccess, FamilyID: auth.ID, GrantID: grant.ID,
				ClientID: app.ClientID, UserID: alice, Scopes: grant.Scopes, CreatedAt: now, ExpiresAt: later}),
			tx.CreateShareLinks(ctx, []parley.ShareLink{
				{TokenHash: hashOf("link-alice"), MessageID: msgIDs[0], ClientID: app.ClientID, SenderID: alice, UserID: alice, SentAt: now},
				{TokenHash: hashOf("link-bob"), MessageID: msgIDs[0], ClientID: app.ClientID, SenderID: alice, UserID: bob, SentAt: now, ClickedAt: &later},
			}),
			tx.CreateClientToken(ctx, &parley.ClientToken{Hash: hashOf("own token"), ClientID: app.ClientID,
				Scopes: parley.Scopes{parley.ScopeReportsRead}, CreatedAt: now, ExpiresAt: later}),
		)
		for i := range 40 {
			steps = append(steps, tx.AppendAccess(ctx, []parley.AccessRecord{readRecord(alice, bob, msgIDs[i:i+2]...)}))
		}
		hook := &parley.WebhookEndpoint{ID: parley.NewID(), ClientID: app.ClientID, URL: "https://films.example/hooks",
			Events: []string{parley.WebhookMessageCreated}, Created: now}
		steps = append(steps, tx.CreateWebhookEndpoint(ctx, hook, []byte{0, 1, 0xfe}),
			tx.EnqueueWebhooks(ctx, []parley.NewWebhookDelivery{{ID: "msg_" + parley.NewID(), EndpointID: hook.ID,
				Event: parley.WebhookMessageCreated, Payload: []byte(`{"type":"message.created"}`), GrantID: grant.ID,
				ThreadID: thread.ID, MessageID: msgIDs[3], Seq: 4, CreatedAt: now}}))
		_, err = tx.MarkShareReportSent(ctx, app.ClientID, now.Truncate(24*time.Hour), now)
		steps = append(steps, err)
		due, err := tx.TakeDueWebhooks(ctx, now, later, parley.WebhookTake{Limit: 1})
		steps = append(steps, err)
		if err == nil {
			steps = append(steps, tx.RecordWebhookResults(ctx, []parley.WebhookResult{{DeliveryID: due[0].ID, EndpointID: hook.ID,
				Attempt: parley.WebhookAttempt{At: now, StatusCode: 204, LatencyMS: 3, Succeeded: true}, LeaseUntil: later}}))
		}
		for _, err := range steps {
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// TestCopy_EveryRowAsStored: a copy holds the same rows as its source, in
// every table, every one of which the source has rows in; the copied
// access logs verify and the threads hold as many messages. A member and a
// thread made on the copy then take numbers of their own, and their
// messages read back.
func TestCopy_EveryRowAsStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			from, _ := mustOpen(t)
			populate(t, from)
			to := sqlstoretest.Open(t, engine)
			rows := map[string]int64{} // copied per table, as progress tells
			var last, total int64
			err := sqlstore.Copy(ctx, from, to, func(table string, done, all int64) {
				if done < last || done > all {
					t.Errorf("progress went from %d to %d of %d", last, done, all)
				}
				rows[table] += done - last
				last, total = done, all
			})
			if err != nil {
				t.Fatal(err)
			}
			if last != total {
				t.Errorf("progress ended at %d of %d rows", last, total)
			}
			for _, tb := range sqlstore.Tables {
				if rows[tb] == 0 {
					t.Errorf("the source has no rows in %s: the test does not show they are copied", tb)
				}
			}
			want, err := sqlstore.Digest(ctx, from)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := sqlstore.Digest(ctx, to); err != nil || got != want {
				t.Fatalf("the copy's rows differ from the source's (%v)", err)
			}
			var users []*parley.User
			if err := to.Read(ctx, func(tx parley.Tx) (err error) { users, err = tx.FindUsers(ctx); return err }); err != nil {
				t.Fatal(err)
			}
			for _, u := range users[:2] {
				if n := len(logOf(t, to, u.ID)); n != 40 {
					t.Errorf("%s's copied log has %d entries, want 40", u.Username, n)
				}
			}
			fromCounts, err1 := sqlstore.MessageCounts(ctx, from)
			toCounts, err2 := sqlstore.MessageCounts(ctx, to)
			if err1 != nil || err2 != nil || len(toCounts) != 2 || !mapsEqual(fromCounts, toCounts) {
				t.Errorf("message counts: source %v, copy %v (%v, %v)", fromCounts, toCounts, err1, err2)
			}
			mustPostAsNewMember(t, to)
		})
	}
}

// mustPostAsNewMember makes a member and a thread of theirs, posts a
// message to it, and reads it back with its thread and sender.
func mustPostAsNewMember(t *testing.T, db *sqlstore.DB) {
	t.Helper()
	ctx := context.Background()
	now := parley.Now()
	u := newUser("newcomer")
	th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "New", CreatedBy: u.ID, LastActivityAt: now, CreatedAt: now}
	m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText, Text: "hello", CreatedAt: now}
	mustWrite(t, db, func(tx parley.Tx) error {
		for _, err := range []error{tx.CreateUser(ctx, u, "h"), tx.CreateThread(ctx, th),
			tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: now})} {
			if err != nil {
				return err
			}
		}
		return tx.PostMessage(ctx, m)
	})
	var got *parley.Message
	if err := db.Read(ctx, func(tx parley.Tx) (err error) { got, err = tx.FindMessageByID(ctx, m.ID); return err }); err != nil {
		t.Fatal(err)
	}
	if got.ThreadID != th.ID || got.Sender.ID != u.ID || got.Seq != 1 || got.Text != "hello" {
		t.Fatalf("the new member's message reads back as %+v", got)
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestCopy_RefusesNonEmptyTarget: a target with a row in any table is
// refused with ECONFLICT naming the table, and left as it was.
func TestCopy_RefusesNonEmptyTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	from, _ := mustOpen(t)
	populate(t, from)
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			for table, write := range map[string]func(tx parley.Tx) error{
				"users": func(tx parley.Tx) error { return tx.CreateUser(ctx, newUser("carol"), "hash") },
				"throttles": func(tx parley.Tx) error {
					return tx.PutThrottle(ctx, &parley.Throttle{Key: "k", Failures: 1, LastFailure: parley.Now()})
				},
			} {
				t.Run(table, func(t *testing.T) {
					to := sqlstoretest.Open(t, engine)
					mustWrite(t, to, write)
					before, err := sqlstore.Digest(ctx, to)
					if err != nil {
						t.Fatal(err)
					}
					err = sqlstore.Copy(ctx, from, to, nil)
					if parley.ErrorCode(err) != parley.ECONFLICT || !strings.Contains(err.Error(), table) {
						t.Fatalf("copy into a database with a row in %s: %v; want ECONFLICT naming it", table, err)
					}
					if after, err := sqlstore.Digest(ctx, to); err != nil || after != before {
						t.Fatalf("the refused copy changed the target (%v)", err)
					}
				})
			}
		})
	}
}

// TestCopy_OfOneMoment: a copy is of the source as it was when the copy
// began: a change written to the source during the copy, here to a table
// copied already and to one still to copy (an operator's command deleting
// an account beside migrate), is in the copy whole or not at all.
func TestCopy_OfOneMoment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	from, _ := mustOpen(t)
	populate(t, from)
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			dave := newUser("dave-" + engine)
			thread := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "Dave's", CreatedBy: dave.ID,
				LastActivityAt: dave.CreatedAt, CreatedAt: dave.CreatedAt}
			m := &parley.Message{ID: parley.NewID(), ThreadID: thread.ID, Seq: 1, Sender: dave.Ref(), Kind: parley.MessageKindText,
				Text: "dave's words", CreatedAt: dave.CreatedAt}
			mustWrite(t, from, func(tx parley.Tx) error {
				if err := errors.Join(tx.CreateUser(ctx, dave, "hash"), tx.CreateThread(ctx, thread),
					tx.JoinThread(ctx, &parley.Participant{ThreadID: thread.ID, UserID: dave.ID, JoinedAt: dave.CreatedAt})); err != nil {
					return err
				}
				return tx.PostMessage(ctx, m)
			})
			want, err := sqlstore.Digest(ctx, from)
			if err != nil {
				t.Fatal(err)
			}
			to := sqlstoretest.Open(t, engine)
			changed := false
			err = sqlstore.Copy(ctx, from, to, func(table string, _, _ int64) {
				if table != "messages" || changed {
					return
				}
				changed = true
				mustWrite(t, from, func(tx parley.Tx) error {
					return errors.Join(tx.SetDisabled(ctx, dave.ID, true), tx.DeleteMessage(ctx, m.ID, parley.Now()))
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := sqlstore.Digest(ctx, to); err != nil || got != want {
				t.Fatalf("the copy holds rows other than the source's when the copy began (%v)", err)
			}
		})
	}
}

// TestCopy_FoldsPendingReads: reads a server journaled but had not folded
// into the access log when it stopped are in the copy's log.
func TestCopy_FoldsPendingReads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	from, path := mustOpen(t)
	ids := mustUsers(t, from, "alice", "bob")
	from.Close()
	for i := range 5 {
		if err := sqlstore.JournalReads(path, []parley.AccessRecord{readRecord(ids[0], ids[1], fmt.Sprint("m", i))}); err != nil {
			t.Fatal(err)
		}
	}
	from = reopen(t, path)
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			to := sqlstoretest.Open(t, engine)
			if err := sqlstore.Copy(ctx, from, to, nil); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				if got := logOf(t, to, id); len(got) != 5 || !slices.Equal(got[4].MessageIDs, []string{"m4"}) {
					t.Errorf("the copy's log of %s holds %d entries, want the 5 journaled", id, len(got))
				}
			}
		})
	}
}
