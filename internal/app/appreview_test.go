package app_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// With --apps-require-review, an app a member registers is pending: the
// authorization page refuses it, saying why, until `parley app approve`;
// then members connect it as usual. Apps operators register need no review.
func TestCLI_AppsRequireReview(t *testing.T) {
	env := apptest.Start(t, func(c *config.Config) { c.AppsRequireReview = true })
	owner := env.MustMember(t, "owner")
	env.MustMember(t, "alice")
	ctx := context.Background()
	var reg struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		State        string `json:"state"`
	}
	if _, err := owner.Do(ctx, "POST", "/api/v1/apps", map[string]any{
		"name": "Films", "redirect_uris": []string{apptest.RedirectURI}, "purpose": "Films your friends like",
	}, &reg); err != nil {
		t.Fatal(err)
	}
	if reg.State != parley.AppPending {
		t.Fatalf("a member's new app is %q, want pending", reg.State)
	}
	partner := &apptest.Partner{
		App: &service.RegisteredApp{App: &parley.App{ClientID: reg.ClientID}, ClientSecret: reg.ClientSecret},
		Config: &oauth2.Config{ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, RedirectURL: apptest.RedirectURI,
			Endpoint: oauth2.Endpoint{AuthURL: env.URL + "/oauth2/authorize", TokenURL: env.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}},
	}
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	page := apptest.NewBrowser().Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if page.Status != http.StatusBadRequest || !strings.Contains(page.Body, "waiting for an operator") {
		t.Fatalf("authorizing a pending app: %d\n%s", page.Status, page.Body)
	}

	dir := env.Server.Config
	out, err := run(t, dir, "", "app", "list")
	if err != nil || !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool {
		f := strings.Fields(l)
		return len(f) > 4 && f[0] == reg.ClientID && f[3] == "owner" && f[4] == parley.AppPending
	}) {
		t.Fatalf("app list does not show the app pending, owned by owner: %v\n%s", err, out)
	}
	// Reach "all" first lets no member connect it, and says so.
	if out, err := run(t, dir, "", "app", "approve", reg.ClientID, "--reach", "all"); err != nil ||
		!strings.Contains(out, "but it waits for review: parley app approve "+reg.ClientID+" lets them") {
		t.Fatalf("approve --reach all of the app waiting: %q, %v", out, err)
	}
	if out, err := run(t, dir, "", "app", "approve", reg.ClientID); err != nil || !strings.Contains(out, "may be connected") {
		t.Fatalf("approve: %q, %v", out, err)
	}
	if tok := env.MustToken(t, partner, "alice", []string{"openid"}, apptest.Answer{}); tok.AccessToken == "" {
		t.Fatal("no token after approval")
	}
	env.MustToken(t, env.MustPartner(t, "Operators' own"), "alice", []string{"openid"}, apptest.Answer{})
	if got := actionsAbout(t, dir, "Films"); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values([]string{parley.ActionAppApproveAll, parley.ActionAppApprove}))) {
		t.Errorf("decisions about the app: %v", got)
	}
}

// `parley app unapprove` ends the grants that reach all threads, as
// revocations, and members may no longer grant that reach; grants of a
// narrower reach stay.
func TestCLI_AppUnapprove(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	env.MustMember(t, "bob")
	partner := env.MustPartner(t, "Films")
	dir := env.Server.Config
	if out, err := run(t, dir, "", "app", "approve", partner.App.ClientID, "--reach", "all"); err != nil {
		t.Fatalf("approve --reach all: %q, %v", out, err)
	}
	all := env.MustToken(t, partner, "alice", []string{"openid", "profile"}, apptest.Answer{ThreadScope: parley.ThreadScopeAll})
	narrow := env.MustToken(t, partner, "bob", []string{"openid", "profile"}, apptest.Answer{})
	if _, err := env.Client.WithToken(all.AccessToken).Me(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, dir, "", "app", "unapprove", partner.App.ClientID); err != nil || !strings.Contains(out, "may no longer be granted all threads") {
		t.Fatalf("unapprove: %q, %v", out, err)
	}
	ctx := context.Background()
	if _, err := env.Client.WithToken(all.AccessToken).Me(ctx); err == nil {
		t.Error("a grant of all threads works after unapprove")
	}
	if _, err := env.Client.WithToken(narrow.AccessToken).Me(ctx); err != nil {
		t.Errorf("a grant of the app's own threads ended: %v", err)
	}
	if _, err := run(t, dir, "", "app", "unapprove", "pc_nonexistent"); err == nil {
		t.Error("unapproving an unknown app succeeded")
	}
	if got := actionsAbout(t, dir, "Films"); !slices.Equal(got, []string{parley.ActionAppUnapprove, parley.ActionAppApproveAll, parley.ActionAppAdd}) {
		t.Errorf("decisions about the app: %v", got)
	}
}

// `parley app delete` ends the app's grants at once, as revocations, and
// the app works nowhere again: not its tokens, not its sign-in page, not
// an operator's unsuspend; no list shows it.
func TestCLI_AppDelete(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Films")
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
	id := partner.App.ClientID
	if out, err := run(t, dir, "", "app", "delete", id); err != nil || !strings.Contains(out, "is deleted") {
		t.Fatalf("delete: %q, %v", out, err)
	}
	ctx := context.Background()
	if _, err := app.Me(ctx); err == nil {
		t.Error("the deleted app's token works")
	}
	wait, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := stream.Next(wait); err == nil || wait.Err() != nil {
		t.Error("the deleted app's stream is still open after 2s")
	}
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	page := apptest.NewBrowser().Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if page.Status != http.StatusBadRequest || !strings.Contains(page.Body, "unknown client") {
		t.Errorf("authorizing a deleted app: %d\n%s", page.Status, page.Body)
	}
	if out, err := run(t, dir, "", "app", "list"); err != nil || strings.Contains(out, id) {
		t.Errorf("app list shows the deleted app: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"app", "unsuspend", id}, {"app", "delete", id}, {"app", "approve", id}} {
		if _, err := run(t, dir, "", args...); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("%v of a deleted app: %v; want not found", args, err)
		}
	}
	if got := actionsAbout(t, dir, "Films"); !slices.Equal(got, []string{parley.ActionAppDelete, parley.ActionAppAdd}) {
		t.Errorf("decisions about the app: %v", got)
	}
}
