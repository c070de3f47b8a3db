package app_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// `parley user disable`, run beside the server, stops the member signing
// in and ends at once their sessions and the grants they gave: the app's
// token stops working and its stream ends, as after a revocation.
// `user enable` lets them sign in again and gives no grant back. `user
// list` shows each account active, disabled, or deleted.
func TestCLI_UserDisable(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	env.MustMember(t, "bob")
	partner := env.MustPartner(t, "Listener")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "profile", "messages.read"}, apptest.Answer{})
	app := env.Client.WithToken(tok.AccessToken)
	if _, err := app.Me(context.Background()); err != nil {
		t.Fatal(err)
	}
	stream, err := app.Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	dir := env.Server.Config
	ctx := context.Background()

	if out, err := run(t, dir, "", "user", "disable", "ALICE"); err != nil || !strings.Contains(out, "alice is disabled") {
		t.Fatalf("disable: %q, %v", out, err)
	}
	if _, err := alice.Me(ctx); err == nil {
		t.Error("alice's session works after she was disabled")
	}
	if _, err := app.Me(ctx); err == nil {
		t.Error("the app's token works after alice was disabled")
	}
	if _, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice")); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("a disabled member's sign-in: %v; want a refusal saying so", err)
	}
	wait, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := stream.Next(wait); err == nil || wait.Err() != nil {
		t.Error("the app's stream is still open after 2s")
	}
	if _, err := env.Client.SignIn(ctx, "bob", apptest.Password("bob")); err != nil {
		t.Errorf("bob, not disabled, cannot sign in: %v", err)
	}
	listed(t, dir, "alice", "disabled")
	listed(t, dir, "bob", "active")

	if out, err := run(t, dir, "", "user", "enable", "alice"); err != nil || !strings.Contains(out, "alice may sign in again") {
		t.Fatalf("enable: %q, %v", out, err)
	}
	if _, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice")); err != nil {
		t.Errorf("alice cannot sign in once enabled: %v", err)
	}
	if _, err := app.Me(ctx); err == nil {
		t.Error("enabling alice gave the app its grant back")
	}
	if got := actionsAbout(t, dir, "alice"); !slices.Equal(got, []string{parley.ActionUserEnable, parley.ActionUserDisable}) {
		t.Errorf("decisions about alice, latest first: %v", got)
	}
	listed(t, dir, "alice", "active")
	if out, err := run(t, dir, "", "user", "delete", "bob", "--yes"); err != nil {
		t.Fatalf("delete: %q, %v", out, err)
	}
	listed(t, dir, "bob", "deleted")
}

// listed checks the STATE `user list` shows the member in.
func listed(t *testing.T, cfg config.Config, username, state string) {
	t.Helper()
	out, err := run(t, cfg, "", "user", "list")
	if err != nil || !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool {
		f := strings.Fields(l)
		return len(f) > 0 && f[0] == username && f[len(f)-1] == state
	}) {
		t.Errorf("user list does not show %s %s: %v\n%s", username, state, err, out)
	}
}

// `user sessions` lists a member's sessions without their tokens, those
// that expired too; `user sign-out` ends the live ones, and says how many,
// and the expired stay listed; `user passwd` replaces the password and
// ends the sessions too.
func TestCLI_UserSessionsAndPassword(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	ctx := context.Background()
	second, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice"))
	if err != nil {
		t.Fatal(err)
	}
	dir := env.Server.Config
	// And one that expired yesterday, which stays listed.
	now := parley.Now()
	if err := env.Server.Store.Write(ctx, func(tx parley.Tx) error {
		return tx.CreateSession(ctx, &parley.Session{TokenHash: parley.HashToken("expired"), UserID: apptest.MustMe(t, alice).ID,
			CreatedAt: now.Add(-8 * 24 * time.Hour), ExpiresAt: now.Add(-24 * time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}
	sessions := func(want int) {
		t.Helper()
		out, err := run(t, dir, "", "user", "sessions", "alice")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 1+want || !strings.HasPrefix(lines[0], "CREATED") {
			t.Fatalf("user sessions: want a header and %d sessions:\n%s", want, out)
		}
		if strings.Contains(out, "pss_") || strings.Contains(out, second.Token) || strings.Contains(out, hex.EncodeToString(parley.HashToken(second.Token))) {
			t.Fatalf("user sessions shows a token:\n%s", out)
		}
	}
	sessions(3)

	if out, err := run(t, dir, "", "user", "sign-out", "alice"); err != nil || !strings.Contains(out, "ended 2 sessions of alice") {
		t.Fatalf("sign-out: %q, %v; want it to have ended alice's 2 live sessions", out, err)
	}
	if _, err := alice.Me(ctx); err == nil {
		t.Error("a session works after sign-out")
	}
	sessions(1) // the one that had expired, listed still

	s, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, dir, "a new long password\n", "user", "passwd", "alice"); err != nil || !strings.Contains(out, "new password") {
		t.Fatalf("passwd: %q, %v", out, err)
	}
	if _, err := env.Client.WithToken(s.Token).Me(ctx); err == nil {
		t.Error("a session works after passwd")
	}
	if _, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice")); err == nil {
		t.Error("the old password still works")
	}
	if _, err := env.Client.SignIn(ctx, "alice", "a new long password"); err != nil {
		t.Errorf("the new password does not work: %v", err)
	}
	if got := actionsAbout(t, dir, "alice"); !slices.Equal(got, []string{parley.ActionUserPassword, parley.ActionUserSignOut}) {
		t.Errorf("decisions about alice, latest first: %v", got)
	}
}

// `parley user rename`, run beside the server, gives a member a new display
// name, which the API shows at once, and an empty one gives them their
// username; each is in `parley audit`.
func TestCLI_UserRename(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	dir := env.Server.Config
	if out, err := run(t, dir, "", "user", "rename", "alice", " Alice Liddell "); err != nil || !strings.Contains(out, `alice is named "Alice Liddell"`) {
		t.Fatalf("rename: %q, %v", out, err)
	}
	if me := apptest.MustMe(t, alice); me.DisplayName != "Alice Liddell" {
		t.Errorf("after rename, alice is named %q", me.DisplayName)
	}
	if out, err := run(t, dir, "", "user", "rename", "alice", ""); err != nil || !strings.Contains(out, `alice is named "alice"`) {
		t.Fatalf("rename to nothing: %q, %v", out, err)
	}
	if me := apptest.MustMe(t, alice); me.DisplayName != "alice" {
		t.Errorf("after an empty name, alice is named %q, want her username", me.DisplayName)
	}
	if got := actionsAbout(t, dir, "alice"); !slices.Equal(got, []string{parley.ActionUserRename, parley.ActionUserRename}) {
		t.Errorf("decisions about alice, latest first: %v", got)
	}
}

// TestCLI_UserCommandsEndStreamsSayingWhy: `parley user sign-out`,
// `disable` and `delete`, run beside the server, end the member's realtime
// streams on the server at the server's next sweep of its streams'
// sessions, though the command's process has no way to tell the server's.
// The close reason says why, as the change's own event would have: a
// session ended (sign in again), or an account disabled or deleted
// (signing in again will not help).
func TestCLI_UserCommandsEndStreamsSayingWhy(t *testing.T) {
	for _, tc := range []struct {
		command []string
		reason  string
	}{
		{[]string{"user", "sign-out", "alice"}, "session ended: sign in again"},
		{[]string{"user", "disable", "alice"}, "account disabled"},
		{[]string{"user", "delete", "alice", "--yes"}, "account deleted"},
	} {
		t.Run(tc.command[1], func(t *testing.T) {
			env := apptest.Start(t)
			alice := env.MustMember(t, "alice")
			ctx := context.Background()
			stream, err := alice.Events(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			if out, err := run(t, env.Server.Config, "", tc.command...); err != nil {
				t.Fatalf("%v: %v\n%s", tc.command, err, out)
			}
			if err := env.Server.Service.CheckSessions(ctx); err != nil {
				t.Fatal(err)
			}
			wait, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_, err = stream.Next(wait)
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != tc.reason {
				t.Fatalf("alice's stream after %v: %v; want it closed with 1008, %q", tc.command, err, tc.reason)
			}
		})
	}
}

// Every member command answers bad input with an error naming what is
// wrong, and changes nothing.
func TestCLI_UserBadInput(t *testing.T) {
	dir := apptest.Install(t)
	if _, err := run(t, dir, "long-enough-password\n", "user", "add", "alice", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		stdin string
		args  []string
		want  string
	}{
		"PasswdShort":     {"short\n", []string{"user", "passwd", "alice"}, "password must be"},
		"PasswdNobody":    {"long-enough-password\n", []string{"user", "passwd", "nobody"}, "nobody"},
		"PasswdNoName":    {"long-enough-password\n", []string{"user", "passwd"}, "accepts 1 arg"},
		"DisableNobody":   {"", []string{"user", "disable", "nobody"}, "nobody"},
		"EnableTwoNames":  {"", []string{"user", "enable", "alice", "bob"}, "accepts 1 arg"},
		"SessionsNobody":  {"", []string{"user", "sessions", "nobody"}, "nobody"},
		"SignOutNobody":   {"", []string{"user", "sign-out", "nobody"}, "nobody"},
		"RenameNobody":    {"", []string{"user", "rename", "nobody", "Nobody"}, "nobody"},
		"RenameNoName":    {"", []string{"user", "rename", "alice"}, "accepts 2 arg"},
		"RenameBadName":   {"", []string{"user", "rename", "alice", "Mallory\u202e"}, "display_name must not contain"},
		"AuditLimitZero":  {"", []string{"audit", "--limit", "0"}, "at least 1"},
		"AuditStrayArg":   {"", []string{"audit", "everything"}, "unknown command"},
		"UnsuspendNobody": {"", []string{"app", "unsuspend", "pc_nonexistent"}, "not found"},
		"DeleteNobody":    {"", []string{"user", "delete", "nobody", "--yes"}, "nobody"},
		"DeleteNoName":    {"", []string{"user", "delete", "--yes"}, "accepts 1 arg"},
		"DeleteMistyped":  {"alicia\n", []string{"user", "delete", "alice"}, "nothing was deleted"},
		"DeleteNoAnswer":  {"", []string{"user", "delete", "alice"}, "nothing was deleted"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := run(t, dir, tc.stdin, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if got := actionsAbout(t, dir, "alice"); !slices.Equal(got, []string{parley.ActionUserAdd}) {
		t.Errorf("decisions about alice after bad input: %v", got)
	}
	if _, err := env(t, dir).Client.SignIn(context.Background(), "alice", "long-enough-password"); err != nil {
		t.Errorf("alice's password changed: %v", err)
	}
}

// `parley user delete`, run beside the server once the operator typed the
// name again, deletes the account as the member can themselves: their
// sessions and their app's token end, their messages become tombstones,
// they cannot sign in, and the name stays taken. The deletion is in
// `parley audit`; deleting again, or enabling the account, is refused, as
// is an unknown name.
func TestCLI_UserDelete(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, alice, th.ID, "hello bob")
	apptest.MustSend(t, bob, th.ID, "hello alice")
	partner := env.MustPartner(t, "Listener")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "profile"}, apptest.Answer{})
	app := env.Client.WithToken(tok.AccessToken)
	dir := env.Server.Config

	if out, err := run(t, dir, "", "user", "delete", "--help"); err != nil || !strings.Contains(out, "--yes") || !strings.Contains(out, "reserved") {
		t.Fatalf("user delete --help: %q, %v", out, err)
	}
	out, err := run(t, dir, "alice\n", "user", "delete", "alice")
	if err != nil || !strings.Contains(out, "Type alice") || !strings.Contains(out, "deleted the account of alice") {
		t.Fatalf("user delete: %q, %v", out, err)
	}
	for name, c := range map[string]interface {
		Me(context.Context) (*client.User, error)
	}{"alice's session": alice, "the app's token": app} {
		if _, err := c.Me(ctx); client.StatusOf(err) != http.StatusUnauthorized {
			t.Errorf("%s after the deletion: %v, want 401", name, err)
		}
	}
	if _, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice")); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("signing in as the deleted alice: %v, want 401", err)
	}
	if _, err := env.Client.CreateAccount(ctx, "alice", "another password", ""); client.StatusOf(err) != http.StatusConflict {
		t.Errorf("registering the deleted alice's name: %v, want 409", err)
	}
	page, err := bob.Messages(ctx, th.ID, client.MessagesQuery{After: client.Seq(0)})
	if err != nil || len(page.Messages) != 2 || page.Messages[0].DeletedAt == nil || page.Messages[0].Seq != 1 || page.Messages[1].Text != "hello alice" {
		t.Fatalf("the thread as bob sees it: %+v, %v", page, err)
	}

	out, err = run(t, dir, "", "audit")
	if err != nil || !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool {
		return strings.Contains(l, parley.OperatorConsole) && strings.Contains(l, parley.ActionUserDelete) && strings.Contains(l, "alice")
	}) {
		t.Errorf("audit does not list the deletion: %v\n%s", err, out)
	}
	if _, err := run(t, dir, "", "user", "delete", "alice", "--yes"); err == nil || !strings.Contains(err.Error(), "is deleted") {
		t.Errorf("deleting alice again: %v; want a refusal saying she is deleted already", err)
	}
	if _, err := run(t, dir, "", "user", "enable", "alice"); err == nil || !strings.Contains(err.Error(), "is deleted") {
		t.Errorf("enabling the deleted alice: %v; want a refusal saying she is deleted", err)
	}
	if _, err := run(t, dir, "", "app", "add", "--name", "Orphan", "--redirect-uri", "https://orphan.example/cb", "--owner", "alice"); err == nil ||
		!strings.Contains(err.Error(), "is deleted") {
		t.Errorf("an app for the deleted alice: %v; want a refusal saying she is deleted", err)
	}
	if got := actionsAbout(t, dir, "alice"); !slices.Equal(got, []string{parley.ActionUserDelete}) {
		t.Errorf("decisions about alice, latest first: %v", got)
	}
}

// A command run beside a server tells the server's realtime streams what
// it changed, through the store's outbox: bob, whose stream is open,
// learns at once that the deleted alice's message is gone, and alice's own
// stream ends.
func TestCLI_UserDeleteReachesOpenStreams(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	sent := apptest.MustSend(t, alice, th.ID, "hello bob")
	bobs, err := bob.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bobs.Close()
	alices, err := alice.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer alices.Close()

	if out, err := run(t, env.Server.Config, "", "user", "delete", "alice", "--yes"); err != nil {
		t.Fatalf("user delete: %v\n%s", err, out)
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		ev, err := bobs.Next(wait)
		if err != nil {
			t.Fatalf("bob's stream, waiting for the deletion of alice's message: %v", err)
		}
		if ev.Type == "message.deleted" {
			if !strings.Contains(string(ev.Data), sent.ID) {
				t.Errorf("bob was told of another deletion: %s", ev.Data)
			}
			break
		}
	}
	for {
		if _, err := alices.Next(wait); err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation {
				t.Errorf("alice's stream ended with %v; want 1008", err)
			}
			break
		}
	}
}

// Events of one thread may come out of order: `parley user delete` run
// beside a server hands its thread.updated to the server through the
// database, a second or so late, and a member's leaving through the
// server, after it, is told at once. Each thread.updated carries the
// thread's version, so that a client keeping the higher holds the newer:
// the participants of the last event bob gets may be older, never those
// of the event with the highest version, which are as the group now is.
func TestCLI_UserDeleteTellsThreadChangesInOrderOfVersion(t *testing.T) {
	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alice, bob, carol, dave := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol"), env.MustMember(t, "dave")
	for _, friend := range []*client.Client{bob, carol, dave} {
		apptest.MustFriends(t, alice, friend)
	}
	group := apptest.MustThread(t, alice, "bob", "carol", "dave")
	bobs, err := bob.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bobs.Close()
	if out, err := run(t, env.Server.Config, "", "user", "delete", "carol", "--yes"); err != nil {
		t.Fatalf("user delete: %v\n%s", err, out)
	}
	if err := dave.LeaveThread(ctx, group.ID); err != nil {
		t.Fatal(err)
	}
	newest := client.ThreadChange{Thread: &client.Thread{Version: -1}}
	wait, stop := context.WithTimeout(ctx, 5*time.Second)
	defer stop()
	for told := 0; told < 2; {
		ev, err := bobs.Next(wait)
		if err != nil {
			t.Fatalf("bob told of %d of the two changes: %v", told, err)
		}
		if ev.Type != client.EventThreadUpdated || ev.ThreadID != group.ID {
			continue
		}
		told++
		var change client.ThreadChange
		if err := json.Unmarshal(ev.Data, &change); err != nil {
			t.Fatal(err)
		}
		if change.Thread.Version > newest.Thread.Version {
			newest = change
		}
	}
	now, err := bob.Thread(ctx, group.ID)
	if err != nil {
		t.Fatal(err)
	}
	participants, err := bob.Participants(ctx, group.ID)
	if err != nil {
		t.Fatal(err)
	}
	if newest.Thread.Version != now.Version || len(newest.Participants) != len(participants) {
		t.Errorf("the newest thread.updated by version: %d with %d participants; the group now: %d with %d",
			newest.Thread.Version, len(newest.Participants), now.Version, len(participants))
	}
}

// `parley user rename` run beside a server tells the streams of those who
// see the member's name, as the member's own renaming does.
func TestCLI_UserRenameReachesOpenStreams(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	bobs, err := bob.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bobs.Close()
	if out, err := run(t, env.Server.Config, "", "user", "rename", "alice", "Alice Liddell"); err != nil {
		t.Fatalf("user rename: %v\n%s", err, out)
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		ev, err := bobs.Next(wait)
		if err != nil {
			t.Fatalf("bob's stream, waiting for alice's new name: %v", err)
		}
		if ev.Type == client.EventUserUpdated {
			if !strings.Contains(string(ev.Data), `"display_name":"Alice Liddell"`) {
				t.Errorf("bob was told %s", ev.Data)
			}
			return
		}
	}
}

// `parley audit` lists the newest decisions first, as many as --limit says.
func TestCLI_Audit(t *testing.T) {
	dir := apptest.Install(t)
	for _, name := range []string{"alice", "bob", "carol"} {
		if _, err := run(t, dir, "long-enough-password\n", "user", "add", name, "--password-stdin"); err != nil {
			t.Fatal(err)
		}
	}
	out, err := run(t, dir, "", "audit", "--limit", "2")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "AT") || !strings.Contains(lines[1], "carol") || !strings.Contains(lines[2], "bob") {
		t.Fatalf("audit --limit 2:\n%s", out)
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, parley.OperatorConsole) || !strings.Contains(l, parley.ActionUserAdd) {
			t.Errorf("audit row %q: want the console and %s", l, parley.ActionUserAdd)
		}
	}
}

// actionsAbout returns the actions of the decisions about the member named
// username, latest first.
func actionsAbout(t *testing.T, dir config.Config, username string) []string {
	t.Helper()
	var got []string
	for _, a := range decisions(t, dir) {
		if a.SubjectName == username {
			got = append(got, a.Action)
		}
	}
	return got
}

// env starts a server on the install.
func env(t *testing.T, dir config.Config) *apptest.Env {
	return apptest.Start(t, func(c *config.Config) { c.DataDir, c.Database = dir.DataDir, dir.Database })
}

// TestCLI_PromptEndsWithTheStopSignal: Ctrl-C or SIGTERM while `user
// delete` or `user passwd` waits for its answer ends the command and
// changes nothing. StopContext turns the signal into the end of the
// command's context, and so takes from it its default of ending the
// process: a prompt that kept reading would leave the operator's Ctrl-C
// doing nothing.
func TestCLI_PromptEndsWithTheStopSignal(t *testing.T) {
	install := apptest.Install(t)
	if _, err := run(t, install, "a long password\n", "user", "add", "alice", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"user", "delete", "alice"}, {"user", "passwd", "alice"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			unanswered, never := io.Pipe()
			defer never.Close()
			ctx, stop := context.WithCancel(context.Background())
			var out bytes.Buffer
			done := make(chan error, 1)
			go func() {
				done <- app.Main(ctx, onInstall(install, args...), app.IO{In: unanswered, Out: &out, Err: &out, Getenv: func(string) string { return "" }})
			}()
			time.Sleep(200 * time.Millisecond) // at the prompt
			stop()                             // as StopContext does on Ctrl-C
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "nothing was changed") {
					t.Errorf("stopped at its prompt: %v\n%s", err, out.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("still waits at its prompt after Ctrl-C:\n%s", out.String())
			}
		})
	}
	if out, _ := run(t, install, "", "user", "list"); !strings.Contains(out, "active") {
		t.Errorf("alice after the stopped commands:\n%s", out)
	}
}
