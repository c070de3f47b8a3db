package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
)

// mustOperator makes the member an operator, as `parley user
// grant-operator` does.
func mustOperator(t testing.TB, env *apptest.Env, username string) {
	t.Helper()
	if _, err := env.Server.Service.SetOperator(service.ConsoleContext(context.Background()), username, true); err != nil {
		t.Fatal(err)
	}
}

// appState returns the app as the store holds it.
func appState(t *testing.T, env *apptest.Env, clientID string) *parley.App {
	t.Helper()
	apps, err := env.Server.Service.AllApps(service.ConsoleContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range apps {
		if a.ClientID == clientID {
			return a
		}
	}
	t.Fatalf("no app %s", clientID)
	return nil
}

// Operators see the apps waiting for review with what they ask for, approve
// reach "all", suspend and reinstate, and find each decision listed with
// who made it. To anyone else the pages do not exist, and a decision
// posted without the page's CSRF token changes nothing.
func TestOperatorPages(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "olga")
	env.MustMember(t, "mallory")
	mustOperator(t, env, "olga")
	films := env.MustPartnerOf(t, "Films", "mallory", func(in *service.NewApp) {
		in.Purpose, in.Homepage = "Films your friends recommend", "https://films.example/"
	})
	xss := env.MustPartner(t, "<script>alert(1)</script>", func(in *service.NewApp) {
		in.Purpose = `"><img src=x onerror=alert(1)>`
	})
	id := films.App.ClientID

	t.Run("HiddenFromOthers", func(t *testing.T) {
		anonymous := newScriptless(t, env.URL)
		member := newScriptless(t, env.URL)
		member.signIn("mallory")
		for who, b := range map[string]*scriptless{"no one signed in": anonymous, "a member": member} {
			if p := b.get("/operator"); p.status != http.StatusNotFound || strings.Contains(p.body, "Films") {
				t.Errorf("%s at /operator: %d\n%s", who, p.status, p.body)
			}
		}
		inbox := member.get("/")
		if p := member.post(inbox, "/operator/apps/"+id+"/approve", url.Values{}); p.status != http.StatusNotFound {
			t.Errorf("a member approving: %d\n%s", p.status, p.body)
		}
		if appState(t, env, id).AllThreadsApproved {
			t.Fatal("a member's post approved the app")
		}
	})

	olga := newScriptless(t, env.URL)
	olga.signIn("olga")
	review := olga.get("/operator")
	t.Run("WaitingWithWhatTheyAskFor", func(t *testing.T) {
		waiting, _, _ := strings.Cut(review.body, `id="reviewed"`)
		for _, want := range []string{"Waiting for review (2)", `data-client-id="` + id + `"`, "Films your friends recommend",
			`href="https://films.example/"`, "@mallory", apptest.RedirectURI, "Approve reach “all” for Films"} {
			if !strings.Contains(waiting, want) {
				t.Errorf("the waiting apps lack %q:\n%s", want, waiting)
			}
		}
		if strings.Contains(review.body, "<script>alert") || strings.Contains(review.body, "<img src=x") ||
			!strings.Contains(review.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("the app named %q is not shown as text:\n%s", xss.App.Name, review.body)
		}
	})

	t.Run("ForgedDecisionRefused", func(t *testing.T) {
		p := olga.answer(olga.http.PostForm(env.URL+"/operator/apps/"+id+"/suspend", url.Values{"csrf": {"forged"}}))
		if p.status != http.StatusForbidden || appState(t, env, id).State != parley.AppActive {
			t.Fatalf("a forged suspend: %d, app %s", p.status, appState(t, env, id).State)
		}
	})

	t.Run("Decisions", func(t *testing.T) {
		p := olga.post(review, "/operator/apps/"+id+"/approve", url.Values{})
		if p.url.Path != "/operator" || !appState(t, env, id).AllThreadsApproved {
			t.Fatalf("approve ends at %s, app %+v", p.url, appState(t, env, id))
		}
		if !strings.Contains(p.body, "Approved for reach “all” (1)") {
			t.Errorf("the approved app is not listed as approved:\n%s", p.body)
		}
		p = olga.post(p, "/operator/apps/"+id+"/suspend", url.Values{})
		if appState(t, env, id).State != parley.AppSuspended || !strings.Contains(p.body, "Reinstate Films") {
			t.Fatalf("suspend: app %s\n%s", appState(t, env, id).State, p.body)
		}
		p = olga.post(p, "/operator/apps/"+id+"/reinstate", url.Values{})
		if appState(t, env, id).State != parley.AppActive {
			t.Fatalf("reinstate: app %s", appState(t, env, id).State)
		}
		// Reach "all" is withdrawn without suspending the app.
		if !strings.Contains(p.body, "Withdraw reach “all” from Films") {
			t.Fatalf("the approved app offers no withdrawal of reach “all”:\n%s", p.body)
		}
		p = olga.post(p, "/operator/apps/"+id+"/withdraw", url.Values{})
		if app := appState(t, env, id); app.AllThreadsApproved || app.State != parley.AppActive {
			t.Fatalf("withdraw: app %s, approved for all %v; want active, not approved", app.State, app.AllThreadsApproved)
		}
		if !strings.Contains(p.body, "Approved for reach “all” (0)") {
			t.Errorf("the withdrawn app is still listed as approved:\n%s", p.body)
		}
		_, log, _ := strings.Cut(p.body, `id="decision-log"`)
		rows := strings.Split(log, "<tr data-action=")[1:]
		want := []string{"olga</td><td>withdrew reach “all” from Films", "olga</td><td>reinstated Films", "olga</td><td>suspended Films", "olga</td><td>approved reach “all” for Films",
			"the console</td><td>registered &lt;script&gt;", "the console</td><td>registered Films", "the console</td><td>made an operator: olga"}
		if len(rows) != len(want) {
			t.Fatalf("%d decisions listed, want %d:\n%s", len(rows), len(want), log)
		}
		for i, w := range want {
			if !strings.Contains(rows[i], w) {
				t.Errorf("decision %d is %q, want it to read %q", i, rows[i], w)
			}
		}
		if p := olga.post(p, "/operator/apps/pc_nonexistent/suspend", url.Values{}); p.status != http.StatusNotFound {
			t.Errorf("suspending an unknown app: %d", p.status)
		}
	})
}

// An app approved for reach "all" before it was let in, or while it is
// suspended, is listed where it waits, marked as approved for reach "all":
// the one waiting for review offers to let it in, and the suspended one
// to withdraw reach "all" before it works again, which leaves it
// suspended.
func TestOperatorPages_ApprovedForAllButNotIn(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.AppsRequireReview = true })
	owner := env.MustMember(t, "owner")
	env.MustMember(t, "olga")
	mustOperator(t, env, "olga")
	svc, console := env.Server.Service, service.ConsoleContext(context.Background())
	var pending struct {
		ClientID string `json:"client_id"`
	}
	if _, err := owner.Do(context.Background(), "POST", "/api/v1/apps", map[string]any{
		"name": "Films", "redirect_uris": []string{apptest.RedirectURI}, "purpose": "Films to friends",
	}, &pending); err != nil {
		t.Fatal(err)
	}
	suspended := env.MustPartner(t, "Tunes").App.ClientID
	for _, id := range []string{pending.ClientID, suspended} {
		if _, err := svc.ApproveAllThreads(console, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.SuspendApp(console, suspended); err != nil {
		t.Fatal(err)
	}

	olga := newScriptless(t, env.URL)
	olga.signIn("olga")
	p := olga.get("/operator")
	waiting, rest, _ := strings.Cut(p.body, `id="reviewed"`)
	_, suspendedSection, _ := strings.Cut(rest, `id="suspended"`)
	for section, want := range map[string][]string{
		waiting:          {"/operator/apps/" + pending.ClientID + "/admit", "/operator/apps/" + pending.ClientID + "/withdraw", "Approved for reach “all”"},
		suspendedSection: {"/operator/apps/" + suspended + "/withdraw", "/operator/apps/" + suspended + "/reinstate", "Approved for reach “all”"},
	} {
		for _, w := range want {
			if !strings.Contains(section, w) {
				t.Errorf("the operator page lacks %s in its section:\n%s", w, section)
			}
		}
	}

	p = olga.post(p, "/operator/apps/"+pending.ClientID+"/admit", url.Values{})
	if a := appState(t, env, pending.ClientID); a.State != parley.AppActive || !a.AllThreadsApproved {
		t.Errorf("admitted: state %s, approved for all %v; want active, approved", a.State, a.AllThreadsApproved)
	}
	olga.post(p, "/operator/apps/"+suspended+"/withdraw", url.Values{})
	if a := appState(t, env, suspended); a.State != parley.AppSuspended || a.AllThreadsApproved {
		t.Errorf("withdrawn while suspended: state %s, approved for all %v; want suspended, not approved", a.State, a.AllThreadsApproved)
	}
}

// The messenger's bar links to the operator pages for an operator, on every
// page that carries it, and for no one else: the server decides from the
// account as it stands at each request, so the link goes with the
// operator's rights.
func TestOperatorPages_LinkedForOperatorsOnly(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "olga")
	env.MustMember(t, "mallory")
	mustOperator(t, env, "olga")
	olga, mallory := newScriptless(t, env.URL), newScriptless(t, env.URL)
	olga.signIn("olga")
	mallory.signIn("mallory")
	for _, path := range []string{"/", "/friends", "/new", "/account/apps", "/account/access-log", "/account/data", "/account/developer"} {
		if p := olga.get(path); p.status != http.StatusOK || !strings.Contains(p.body, `href="/operator"`) {
			t.Errorf("an operator's %s (%d) has no link to the operator pages", path, p.status)
		}
		if p := mallory.get(path); p.status != http.StatusOK || strings.Contains(p.body, `href="/operator"`) {
			t.Errorf("a member's %s (%d) links to the operator pages", path, p.status)
		}
	}
	if _, err := env.Server.Service.SetOperator(service.ConsoleContext(context.Background()), "olga", false); err != nil {
		t.Fatal(err)
	}
	if p := olga.get("/"); strings.Contains(p.body, `href="/operator"`) {
		t.Error("the link stays after the member's operator rights end")
	}
}

// In a real browser an operator follows the bar's link to the app review
// (the bar fitting a phone's screen with it), approves an app waiting for review with
// the keyboard and sees the decision listed; the page passes the axe-core
// check. With PARLEY_SCREENSHOTS set, it is saved at 1280 and 375 px.
func TestOperatorPages_Browser(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "olga")
	env.MustMember(t, "mallory")
	mustOperator(t, env, "olga")
	films := env.MustPartnerOf(t, "Films", "mallory", func(in *service.NewApp) {
		in.Purpose, in.Homepage = "Films your friends recommend, from the links you share", "https://films.example/"
	})
	env.MustPartner(t, xssScript, func(in *service.NewApp) { in.Purpose = xssImg })
	suspended := env.MustPartner(t, "Old radio")
	if _, err := env.Server.Service.SuspendApp(service.ConsoleContext(context.Background()), suspended.App.ClientID); err != nil {
		t.Fatal(err)
	}
	ctx := apptest.Chromium(t)
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/sign-in"),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "olga"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), apptest.Password("olga")),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.welcome`)),
	))
	apptest.Screenshot(t, ctx, "operator-inbox")
	checkAccessibility(t, ctx, "empty inbox, an operator's")
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.bar nav a[href="/operator"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#decision-log`)),
	))
	apptest.Screenshot(t, ctx, "operator")
	checkAccessibility(t, ctx, "operator")

	approve := `article[data-client-id="` + films.App.ClientID + `"] form[action$="/approve"] button`
	must(t, chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(approve)), pressEnter(approve)))
	waitFor(t, ctx, `document.querySelector("#decision-log tbody tr").dataset.action === "app.approve_all"`)
	if got := text(t, ctx, `#decision-log tbody tr`); !strings.Contains(got, "olga") || !strings.Contains(got, "approved reach “all” for Films") {
		t.Errorf("the latest decision reads %q", got)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("main img, main script").length`)); err != nil || n != 0 {
		t.Errorf("the page holds %d elements made from an app's name or purpose (%v)", n, err)
	}
	apptest.Screenshot(t, ctx, "operator-decided")
	checkAccessibility(t, ctx, "operator, after a decision")
}
