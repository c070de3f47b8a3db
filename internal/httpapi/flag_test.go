package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
)

// TestFlagMessage: a member reports another's message in a thread they
// are in to the operators, once while their report is open, anew once an
// operator decided it; operators read it as it was then and
// dismiss the report or delete the message for everyone, and the member
// reads how it ended. The sender is told nothing. A member does not
// report their own message, a deleted one or one of a thread they are
// not in, nor does an app; bad bodies change nothing.
func TestFlagMessage(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc := w.env.Server.Service
	console := service.ConsoleContext(ctx)

	t.Run("TheOperatorsReadItAsItWasAndDismissIt", func(t *testing.T) {
		m := apptest.MustSend(t, w.alice, w.aliceBob, "you will regret this")
		alicesStream := mustEvents(t, w.alice)
		f, created, err := w.bob.FlagMessage(ctx, m.ID, client.FlagAbuse, "  a threat  ")
		if err != nil || !created {
			t.Fatalf("FlagMessage = %+v, created %v, %v", f, created, err)
		}
		if f.MessageID != m.ID || f.ThreadID != w.aliceBob || f.Seq != m.Seq || f.Reason != client.FlagAbuse || f.Note != "a threat" || f.Resolution != "" {
			t.Fatalf("the report %+v, want bob's, open, its note trimmed", f)
		}
		// The same again, another reason: the first report, as it was.
		again, created, err := w.bob.FlagMessage(ctx, m.ID, client.FlagSpam, "")
		if err != nil || created || again.ID != f.ID || again.Reason != client.FlagAbuse {
			t.Fatalf("the same report again = %+v, created %v, %v; want the first", again, created, err)
		}
		// Taking it back does not hide it from the operators.
		if _, err := w.alice.EditMessage(ctx, m.ID, "just kidding"); err != nil {
			t.Fatal(err)
		}
		open := openFlagsOf(t, console, svc, m.ID)
		if len(open) != 1 {
			t.Fatalf("the operators see %d reports of the message, want bob's", len(open))
		}
		if e := open[0].Evidence; e.Reporter.Username != "bob" || e.Sender.Username != "alice" || e.Text != "you will regret this" || open[0].Note != "a threat" {
			t.Fatalf("the operators read %+v %+v, want bob's report of alice's message as it was", open[0], e)
		}
		// alice is told of no report, only of what comes next.
		next := apptest.MustSend(t, w.bob, w.aliceBob, "next")
		for {
			ev, err := alicesStream.Next(ctx)
			if err != nil || strings.Contains(string(ev.Data), f.ID) || strings.Contains(ev.Type, "flag") {
				t.Fatalf("alice's stream: %+v, %v; want nothing of the report", ev, err)
			}
			if isMessageCreated(ev, next.ID) {
				break
			}
		}

		// Only operators decide.
		wantCode(t, svc.DismissFlags(ctx, m.ID, f.ID), parley.ENOTFOUND)
		wantCode(t, svc.DeleteFlaggedMessage(ctx, m.ID, f.ID), parley.ENOTFOUND)
		if open := openFlagsOf(t, console, svc, m.ID); len(open) != 1 {
			t.Fatalf("after decisions by no operator, %d reports wait, want bob's", len(open))
		}
		if err := svc.DismissFlags(console, m.ID, f.ID); err != nil {
			t.Fatal(err)
		}
		got, err := w.bob.Flag(ctx, m.ID)
		if err != nil || got.Resolution != client.FlagDismissed || got.ResolvedAt == nil {
			t.Fatalf("bob's report after the operators' decision = %+v, %v; want dismissed", got, err)
		}
		if open := openFlagsOf(t, console, svc, m.ID); len(open) != 0 {
			t.Fatalf("a dismissed report still waits: %+v", open)
		}
		if text := messageIn(t, ctx, w.alice, w.aliceBob, m.ID).Text; text != "just kidding" {
			t.Fatalf("a dismissed report changed the message: %q", text)
		}
		// Nothing left to dismiss.
		wantCode(t, svc.DismissFlags(console, m.ID, f.ID), parley.ENOTFOUND)

		// Edited into worse since, it is bob's to report anew: his report
		// is open again, and the operators read the message as it is now.
		if _, err := w.alice.EditMessage(ctx, m.ID, "I know where you live"); err != nil {
			t.Fatal(err)
		}
		anew, created, err := w.bob.FlagMessage(ctx, m.ID, client.FlagAbuse, "now a threat")
		if err != nil || !created || anew.ID == f.ID || anew.Resolution != "" || anew.Note != "now a threat" {
			t.Fatalf("bob's report anew after the dismissal = %+v, created %v, %v; want a new one, open", anew, created, err)
		}
		if open := openFlagsOf(t, console, svc, m.ID); len(open) != 1 || open[0].ID != anew.ID || open[0].Evidence.Text != "I know where you live" {
			t.Fatalf("the operators see %+v after bob's report anew, want it with the message as it is now", open)
		}
	})
	t.Run("TheOperatorsDeleteItForEveryone", func(t *testing.T) {
		group, err := w.alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "Flagged"})
		if err != nil {
			t.Fatal(err)
		}
		m := apptest.MustSend(t, w.alice, group.ID, "buy cheap watches")
		for _, c := range []*client.Client{w.bob, w.carol} {
			if _, _, err := c.FlagMessage(ctx, m.ID, client.FlagSpam, ""); err != nil {
				t.Fatal(err)
			}
		}
		open := openFlagsOf(t, console, svc, m.ID)
		if len(open) != 2 {
			t.Fatalf("the operators see %d reports of the message, want bob's and carol's", len(open))
		}
		carolsStream := mustEvents(t, w.carol)
		if err := svc.DeleteFlaggedMessage(console, m.ID, open[1].ID); err != nil {
			t.Fatal(err)
		}
		if ev := nextData[client.MessageDeleted](t, ctx, carolsStream, client.EventMessageDeleted); ev.ID != m.ID {
			t.Fatalf("carol's message.deleted = %+v", ev)
		}
		if got := messageIn(t, ctx, w.bob, group.ID, m.ID); got.DeletedAt == nil || got.Text != "" {
			t.Fatalf("the message after the operators deleted it: %+v", got)
		}
		for _, c := range []*client.Client{w.bob, w.carol} {
			if got, err := c.Flag(ctx, m.ID); err != nil || got.Resolution != client.FlagMessageDeleted {
				t.Fatalf("a report after the message's deletion = %+v, %v", got, err)
			}
		}
		if open := openFlagsOf(t, console, svc, m.ID); len(open) != 0 {
			t.Fatalf("reports of a deleted message still wait: %+v", open)
		}
		// Operators delete only what a member reported.
		other := apptest.MustSend(t, w.alice, group.ID, "not reported")
		wantCode(t, svc.DeleteFlaggedMessage(console, other.ID, open[1].ID), parley.ENOTFOUND)
	})
	t.Run("DeletedSinceTheOperatorsStillReadIt", func(t *testing.T) {
		m := apptest.MustSend(t, w.alice, w.aliceCarol, "something nasty")
		if _, _, err := w.carol.FlagMessage(ctx, m.ID, client.FlagOther, "then deleted it"); err != nil {
			t.Fatal(err)
		}
		if err := w.alice.DeleteMessage(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		open := openFlagsOf(t, console, svc, m.ID)
		if len(open) != 1 || open[0].Evidence.Text != "something nasty" || open[0].Evidence.DeletedAt == nil {
			t.Fatalf("the operators read %+v, want the text as reported, and that it was deleted", open)
		}
		// Deleting the deleted resolves the report and changes nothing else.
		if err := svc.DeleteFlaggedMessage(console, m.ID, open[0].ID); err != nil {
			t.Fatal(err)
		}
		if got, err := w.carol.Flag(ctx, m.ID); err != nil || got.Resolution != client.FlagMessageDeleted {
			t.Fatalf("carol's report = %+v, %v", got, err)
		}
	})
	t.Run("AReportMadeSinceTheOperatorReadStaysOpen", func(t *testing.T) {
		group, err := w.alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "Late"})
		if err != nil {
			t.Fatal(err)
		}
		m := apptest.MustSend(t, w.alice, group.ID, "buy watches, or else")
		if _, _, err := w.bob.FlagMessage(ctx, m.ID, client.FlagSpam, ""); err != nil {
			t.Fatal(err)
		}
		read := openFlagsOf(t, console, svc, m.ID) // the operator reads bob's
		if _, _, err := w.carol.FlagMessage(ctx, m.ID, client.FlagAbuse, "he threatens me"); err != nil {
			t.Fatal(err)
		}
		if err := svc.DismissFlags(console, m.ID, read[len(read)-1].ID); err != nil {
			t.Fatal(err)
		}
		if f, err := w.carol.Flag(ctx, m.ID); err != nil || f.Resolution != "" {
			t.Fatalf("carol's report, made after the operator read the others = %+v, %v; want it open", f, err)
		}
		if open := openFlagsOf(t, console, svc, m.ID); len(open) != 1 || open[0].Note != "he threatens me" {
			t.Fatalf("the reports still waiting: %+v, want carol's", open)
		}
	})
	t.Run("AShareCard", func(t *testing.T) {
		card, err := w.alice.Share(ctx, client.NewShare{To: "bob", URL: "https://watches.example/cheap", Title: "Watches", Note: "only today"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.bob.FlagMessage(ctx, card.ID, client.FlagSpam, ""); err != nil {
			t.Fatal(err)
		}
		open := openFlagsOf(t, console, svc, card.ID)
		if len(open) != 1 || open[0].Evidence.Kind != parley.MessageKindShare || open[0].Evidence.ShareURL != "https://watches.example/cheap" ||
			open[0].Evidence.ShareTitle != "Watches" || open[0].Evidence.Text != "only today" {
			t.Fatalf("the operators read the card as %+v", open[0].Evidence)
		}
	})
	t.Run("AnAppsMessageNamesTheApp", func(t *testing.T) {
		partner := w.env.MustPartner(t, "Watches")
		app := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read", "messages.write"},
			apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}).AccessToken)
		m, err := app.SendMessage(ctx, w.aliceBob, "a deal for you", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.bob.FlagMessage(ctx, m.ID, client.FlagSpam, ""); err != nil {
			t.Fatal(err)
		}
		open := openFlagsOf(t, console, svc, m.ID)
		if len(open) != 1 || open[0].Evidence.Via == nil || open[0].Evidence.Via.ClientID != partner.App.ClientID || open[0].Evidence.Via.Name != "Watches" {
			t.Fatalf("the operators read the app's message as %+v, want it naming the app", open[0].Evidence)
		}
	})
	t.Run("NotOnesOwnNorDeletedNorElsewhere", func(t *testing.T) {
		own := apptest.MustSend(t, w.bob, w.aliceBob, "mine")
		_, _, err := w.bob.FlagMessage(ctx, own.ID, client.FlagSpam, "")
		wantProblem(t, err, http.StatusForbidden, "forbidden")
		gone := apptest.MustSend(t, w.alice, w.aliceBob, "gone")
		if err := w.alice.DeleteMessage(ctx, gone.ID); err != nil {
			t.Fatal(err)
		}
		_, _, err = w.bob.FlagMessage(ctx, gone.ID, client.FlagSpam, "")
		wantProblem(t, err, http.StatusConflict, "conflict")
		// carol is not in alice and bob's thread: it does not exist for her.
		theirs := apptest.MustSend(t, w.alice, w.aliceBob, "between us")
		_, _, err = w.carol.FlagMessage(ctx, theirs.ID, client.FlagSpam, "")
		wantProblem(t, err, http.StatusNotFound, "not_found")
		_, err = w.carol.Flag(ctx, theirs.ID)
		wantProblem(t, err, http.StatusNotFound, "not_found")
		_, _, err = w.bob.FlagMessage(ctx, parley.NewID(), client.FlagSpam, "")
		wantProblem(t, err, http.StatusNotFound, "not_found")
		if open := openFlagsOf(t, console, svc, own.ID, gone.ID, theirs.ID); len(open) != 0 {
			t.Fatalf("refused reports wait for the operators: %+v", open)
		}
	})
	t.Run("NotByAnApp", func(t *testing.T) {
		partner := w.env.MustPartner(t, "Films")
		app := w.env.Client.WithToken(w.env.MustToken(t, partner, "bob", []string{"openid", "messages.read", "messages.write", "messages.delete", "participants.read"},
			apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}).AccessToken)
		m := apptest.MustSend(t, w.alice, w.aliceBob, "an app may not report this")
		_, _, err := app.FlagMessage(ctx, m.ID, client.FlagSpam, "")
		wantProblem(t, err, http.StatusForbidden, "insufficient_scope")
		_, err = app.Flag(ctx, m.ID)
		wantProblem(t, err, http.StatusForbidden, "insufficient_scope")
	})
	t.Run("BadInput", func(t *testing.T) {
		m := apptest.MustSend(t, w.alice, w.aliceBob, "as it was")
		for _, body := range []string{
			`{}`, `{"reason": ""}`, `{"reason": null}`, `{"reason": 7}`, `{"reason": "rude"}`, `{"reason": "Spam"}`,
			`{"reason": "spam", "note": 7}`, `{"reason": "spam", "note": "` + strings.Repeat("é", parley.MaxFlagNoteLen+1) + `"}`,
			`{"reason": "spam", "note": "a\u0000b"}`, `{"reason": "spam", "reporter": "carol"}`, `[]`, `"spam"`,
		} {
			_, err := w.bob.Do(ctx, "PUT", "/api/v1/messages/"+m.ID+"/flag", json.RawMessage(body), nil)
			if client.StatusOf(err) != http.StatusBadRequest {
				t.Errorf("PUT %s: %v, want 400", body, err)
			}
		}
		if open := openFlagsOf(t, console, svc, m.ID); len(open) != 0 {
			t.Fatalf("bad bodies made reports: %+v", open)
		}
		// The longest note is taken.
		if _, created, err := w.bob.FlagMessage(ctx, m.ID, client.FlagOther, strings.Repeat("é", parley.MaxFlagNoteLen)); err != nil || !created {
			t.Fatalf("a note of %d characters: created %v, %v", parley.MaxFlagNoteLen, created, err)
		}
	})
}

// TestFlagMessage_InTheExportAndGoneWithTheAccount: a member's export
// lists the reports they made and no report of their own messages;
// deleting their account deletes their reports, and keeps the reports of
// their messages for the operators.
func TestFlagMessage_InTheExportAndGoneWithTheAccount(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	console := service.ConsoleContext(ctx)
	svc := w.env.Server.Service
	toCarol := apptest.MustSend(t, w.alice, w.aliceCarol, "to carol")
	toAlice := apptest.MustSend(t, w.carol, w.aliceCarol, "to alice")
	if _, _, err := w.carol.FlagMessage(ctx, toCarol.ID, client.FlagSpam, "again and again"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.alice.FlagMessage(ctx, toAlice.ID, client.FlagAbuse, ""); err != nil {
		t.Fatal(err)
	}
	export, err := w.carol.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(export.Flags) != 1 || export.Flags[0].MessageID != toCarol.ID || export.Flags[0].Note != "again and again" {
		t.Fatalf("carol's export lists the reports %+v, want hers of alice's message alone", export.Flags)
	}
	if err := w.carol.DeleteAccount(ctx, apptest.Password("carol")); err != nil {
		t.Fatal(err)
	}
	if open := openFlagsOf(t, console, svc, toCarol.ID); len(open) != 0 {
		t.Fatalf("the report of a deleted account still waits: %+v", open)
	}
	open := openFlagsOf(t, console, svc, toAlice.ID)
	if len(open) != 1 || open[0].Evidence.Text != "to alice" || open[0].Evidence.Sender.DisplayName != parley.DeletedDisplayName {
		t.Fatalf("the report of the deleted account's message: %+v, want it kept as reported", open)
	}
}

// openFlagsOf returns the open flags of the messages, as operators read
// them.
func openFlagsOf(t *testing.T, ctx context.Context, svc *service.Service, messageIDs ...string) []*parley.Flag {
	t.Helper()
	flagged, err := svc.OpenFlags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var flags []*parley.Flag
	for _, m := range flagged {
		for _, id := range messageIDs {
			if m.MessageID == id {
				flags = append(flags, m.Flags...)
			}
		}
	}
	return flags
}

// wantCode fails unless err is a parley error of the code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if parley.ErrorCode(err) != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
}
