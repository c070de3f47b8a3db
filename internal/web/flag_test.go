package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_ReportAMessage, without a script: beside another's
// message, not one's own nor a deleted one, Report opens a form of the
// reasons and a note; sending it says it was done, and again that it was
// done before. Operators find it at /operator/reports as it was, with who
// reported whom, why, and the note, all escaped; they dismiss it, or
// delete the message for everyone, and the record of decisions says so.
// To anyone else the page does not exist.
func TestMessenger_ReportAMessage(t *testing.T) {
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	env.MustMember(t, "olga")
	mustOperator(t, env, "olga")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	rude := apptest.MustSend(t, alice, th.ID, `you <b>will</b> regret this`)
	spam := apptest.MustSend(t, alice, th.ID, "cheap watches")
	own := apptest.MustSend(t, bob, th.ID, "what?")
	gone := apptest.MustSend(t, alice, th.ID, "soon deleted")
	if err := alice.DeleteMessage(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	b, o := newScriptless(t, env.URL), newScriptless(t, env.URL)
	b.signIn("bob")
	o.signIn("olga")
	base := "/t/" + th.ID

	p := b.get(base)
	for _, m := range []*client.Message{rude, spam} {
		if !strings.Contains(p.body, `action="`+base+`/messages/`+m.ID+`/flag"`) {
			t.Errorf("alice's message %q offers no report", m.Text)
		}
	}
	for _, m := range []*client.Message{own, gone} {
		if strings.Contains(p.body, `/messages/`+m.ID+`/flag"`) {
			t.Errorf("the message %s offers a report: bob's own, or deleted", m.ID)
		}
	}
	for _, words := range []string{`value="spam"`, `value="abuse"`, `value="other"`, `name="note"`, "Member alice is not told who reported it."} {
		if !strings.Contains(p.body, words) {
			t.Errorf("the report form lacks %q", words)
		}
	}

	p = b.post(p, base+"/messages/"+rude.ID+"/flag", url.Values{"reason": {"abuse"}, "note": {`a threat <script>`}})
	if p.status != http.StatusOK || p.url.Query().Get("done") != "reported" || !strings.Contains(p.body, "Reported. The operators of this server will read the message") {
		t.Fatalf("after reporting: %d %s, want the conversation saying it was reported", p.status, p.url)
	}
	p = b.post(p, base+"/messages/"+rude.ID+"/flag", url.Values{"reason": {"spam"}})
	if !strings.Contains(p.body, "You had reported this message already") {
		t.Fatalf("reporting again: %s, want the conversation saying it was done before", p.url)
	}
	for _, bad := range []url.Values{{"reason": {"rude"}}, {}, {"reason": {"spam"}, "note": {strings.Repeat("x", 501)}}} {
		if p := b.post(b.get(base), base+"/messages/"+spam.ID+"/flag", bad); p.status != http.StatusBadRequest {
			t.Errorf("a report %v: %d, want 400", bad, p.status)
		}
	}
	if p := b.post(b.get(base), base+"/messages/"+own.ID+"/flag", url.Values{"reason": {"spam"}}); p.status != http.StatusForbidden {
		t.Errorf("bob reports his own message: %d, want 403", p.status)
	}

	// Only operators find the reports.
	for _, who := range []*scriptless{b, newScriptless(t, env.URL)} {
		if p := who.get("/operator/reports"); p.status != http.StatusNotFound {
			t.Errorf("/operator/reports to a member or no one: %d, want 404", p.status)
		}
	}
	if p := b.post(b.get(base), "/operator/reports/"+rude.ID+"/delete", url.Values{}); p.status != http.StatusNotFound {
		t.Errorf("a member's decision about a report: %d, want 404", p.status)
	}
	if _, err := alice.EditMessage(ctx, rude.ID, "sorry"); err != nil {
		t.Fatal(err)
	}
	if got := o.get("/operator").body; !strings.Contains(got, "Reports (1 waiting)</a>") {
		t.Errorf("the app review page does not say that a report waits")
	}
	reports := o.get("/operator/reports")
	for _, words := range []string{
		"A message by Member alice", html.EscapeString(`you <b>will</b> regret this`), "<strong>Abuse</strong>, by Member bob",
		// The note isolated from the page's words, as names and
		// previews are: a control of direction in it turns only itself.
		`<q><bdi>` + html.EscapeString(`a threat <script>`) + `</bdi></q>`, `action="/operator/reports/` + rude.ID + `/dismiss"`,
	} {
		if !strings.Contains(reports.body, words) {
			t.Errorf("the reports page lacks %q", words)
		}
	}
	if strings.Contains(reports.body, "<script>") || strings.Contains(reports.body, "<b>will") {
		t.Errorf("the reports page holds unescaped markup from a message or a note")
	}

	// through names the newest report a decision's form shows.
	through := func(page *page, messageID string) url.Values {
		t.Helper()
		m := regexp.MustCompile(`action="/operator/reports/` + messageID + `/dismiss">\n<input type="hidden" name="csrf" value="[^"]*"><input type="hidden" name="through" value="([^"]+)">`).FindStringSubmatch(page.body)
		if m == nil {
			t.Fatalf("the reports page has no decision about %s", messageID)
		}
		return url.Values{"through": {m[1]}}
	}
	p = o.post(reports, "/operator/reports/"+rude.ID+"/dismiss", through(reports, rude.ID))
	if !strings.Contains(p.body, "Dismissed") || !strings.Contains(p.body, `id="no-reports"`) {
		t.Fatalf("after dismissing: %s", p.url)
	}
	if f, err := bob.Flag(ctx, rude.ID); err != nil || f.Resolution != client.FlagDismissed {
		t.Fatalf("bob's report after the dismissal: %+v, %v", f, err)
	}
	if p := o.post(reports, "/operator/reports/"+rude.ID+"/dismiss", through(reports, rude.ID)); p.status != http.StatusNotFound {
		t.Errorf("dismissing again: %d, want 404", p.status)
	}

	if _, _, err := bob.FlagMessage(ctx, spam.ID, client.FlagSpam, ""); err != nil {
		t.Fatal(err)
	}
	reports = o.get("/operator/reports")
	if p := o.answer(o.http.PostForm(env.URL+"/operator/reports/"+spam.ID+"/delete", url.Values{"csrf": {"forged"}})); p.status != http.StatusForbidden {
		t.Errorf("a decision without the page's token: %d, want 403", p.status)
	}
	p = o.post(reports, "/operator/reports/"+spam.ID+"/delete", through(reports, spam.ID))
	if !strings.Contains(p.body, "Deleted for everyone") {
		t.Fatalf("after deleting: %s", p.url)
	}
	page, err := alice.Messages(ctx, th.ID, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.Messages {
		if m.ID == spam.ID && m.DeletedAt == nil {
			t.Fatalf("the reported message is still there after the operators deleted it")
		}
	}
	decisions := o.get("/operator").body
	for _, words := range []string{"dismissed the reports of a message by alice", "deleted a reported message by alice"} {
		if !strings.Contains(decisions, words) {
			t.Errorf("the record of decisions lacks %q", words)
		}
	}
}
