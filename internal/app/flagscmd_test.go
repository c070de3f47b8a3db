package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// `parley flags`, beside the server: list shows the reports that wait,
// with the message as it was; dismiss and delete decide on them, as the
// operators' page does, recorded as the console's; a message no one
// reported is refused.
func TestCLI_Flags(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	rude := apptest.MustSend(t, alice, th.ID, "you will regret this")
	spam := apptest.MustSend(t, alice, th.ID, "cheap watches")
	unreported := apptest.MustSend(t, alice, th.ID, "hello")
	for _, m := range []*client.Message{rude, spam} {
		if _, _, err := bob.FlagMessage(ctx, m.ID, client.FlagAbuse, "note on "+m.Text); err != nil {
			t.Fatal(err)
		}
	}
	install := env.Server.Config

	out, err := run(t, install, "", "flags", "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], rude.ID) || !strings.Contains(lines[1], `"you will regret this"`) || !strings.Contains(lines[1], "bob") {
		t.Fatalf("flags list:\n%s\nwant bob's two reports, the oldest first", out)
	}
	out, err = run(t, install, "", "flags", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		FlagID                               string `json:"flag_id"`
		Sender, Reporter, Reason, Note, Text string
	}
	var reported []line
	for l := range strings.Lines(out) {
		var r line
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("flags list --json: %q: %v", l, err)
		}
		reported = append(reported, r)
	}
	if first := reported[0]; len(reported) != 2 || first.Sender != "alice" || first.Reporter != "bob" || first.FlagID == "" ||
		first.Reason != "abuse" || first.Note != "note on you will regret this" || first.Text != "you will regret this" {
		t.Fatalf("flags list --json: %q", out)
	}

	if out, err := run(t, install, "", "flags", "dismiss", rude.ID, reported[0].FlagID); err != nil || !strings.Contains(out, "dismissed") {
		t.Fatalf("flags dismiss: %q, %v", out, err)
	}
	if out, err := run(t, install, "", "flags", "delete", spam.ID, reported[1].FlagID); err != nil || !strings.Contains(out, "deleted for everyone") {
		t.Fatalf("flags delete: %q, %v", out, err)
	}
	if _, err := run(t, install, "", "flags", "delete", unreported.ID, reported[1].FlagID); err == nil {
		t.Fatal("flags delete of a message no one reported: no error")
	}
	page, err := alice.Messages(ctx, th.ID, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.Messages {
		if gone := m.DeletedAt != nil; gone != (m.ID == spam.ID) {
			t.Errorf("%q deleted %v: want the reported spam alone deleted", m.Text, gone)
		}
	}
	if out, err := run(t, install, "", "flags", "list"); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("flags list after both decisions: %q, %v; want the header alone", out, err)
	}
	card, err := alice.Share(ctx, client.NewShare{To: "bob", URL: "https://watches.example/", Title: "Watches", Note: "cheap"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bob.FlagMessage(ctx, card.ID, client.FlagSpam, ""); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, install, "", "flags", "list"); err != nil || !strings.Contains(out, `"Watches <https://watches.example/> cheap"`) {
		t.Fatalf("flags list of a share card: %q, %v; want its title, link and note", out, err)
	}
	var got []string
	for _, a := range decisions(t, install) {
		if a.Actor == parley.OperatorConsole && (a.Action == parley.ActionFlagsDismiss || a.Action == parley.ActionFlaggedMessageDelete) {
			got = append(got, a.Action+" "+a.Subject+" "+a.SubjectName)
		}
	}
	if len(got) != 2 {
		t.Fatalf("the console's decisions about reports: %q", got)
	}
}
