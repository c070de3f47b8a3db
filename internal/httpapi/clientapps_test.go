package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// The client registers and lists a developer's apps, narrows a grant, and
// reads and verifies the member's access log, over HTTP.
func TestClient_AppsGrantsAndAccessLog(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()

	reg, err := w.alice.CreateApp(ctx, client.NewApp{Name: "Reader", RedirectURIs: []string{"https://reader.example/cb"}, Purpose: "reads"})
	if err != nil || reg.ClientID == "" || reg.ClientSecret == "" || reg.Name != "Reader" || reg.ClientType != "confidential" {
		t.Fatalf("CreateApp: %+v, %v", reg, err)
	}
	public, err := w.alice.CreateApp(ctx, client.NewApp{Name: "Phone", RedirectURIs: []string{"com.example.phone:/cb"}, Public: true})
	if err != nil || public.ClientSecret != "" || public.ClientType != "public" {
		t.Fatalf("CreateApp public: %+v, %v", public, err)
	}
	if _, err := w.alice.CreateApp(ctx, client.NewApp{Name: "No redirect"}); client.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("an app without a redirect URI: %v, want 400", err)
	}
	apps, err := w.alice.Apps(ctx)
	if err != nil || len(apps) != 2 || apps[0].ClientID != reg.ClientID || apps[1].ClientID != public.ClientID {
		t.Fatalf("Apps: %+v, %v", apps, err)
	}
	if apps, err := w.bob.Apps(ctx); err != nil || len(apps) != 0 {
		t.Errorf("bob's apps: %+v, %v", apps, err)
	}

	partner := w.env.MustPartner(t, "Films")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "shares.write", "messages.read"}, apptest.Answer{ThreadScope: "selected", Threads: []string{w.aliceBob}})
	app := w.env.Client.WithToken(tok.AccessToken)
	if _, err := app.Apps(ctx); client.StatusOf(err) != http.StatusForbidden {
		t.Errorf("an app's token lists apps: %v, want 403", err)
	}
	if _, err := app.AccessLog(ctx, client.AccessLogQuery{}); client.StatusOf(err) != http.StatusForbidden {
		t.Errorf("an app's token reads the access log: %v, want 403", err)
	}
	if _, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{}); err != nil {
		t.Fatal(err)
	}
	grants, err := w.alice.ConnectedApps(ctx)
	if err != nil || len(grants) != 1 {
		t.Fatalf("ConnectedApps: %+v, %v", grants, err)
	}
	narrowed, err := w.alice.NarrowGrant(ctx, grants[0].ID, client.GrantNarrowing{Scopes: []string{"shares.write"}})
	if err != nil || slices.Contains(narrowed.Scopes, "messages.read") || !slices.Contains(narrowed.Scopes, "shares.write") {
		t.Fatalf("NarrowGrant: %+v, %v", narrowed, err)
	}
	if _, err := w.alice.NarrowGrant(ctx, grants[0].ID, client.GrantNarrowing{Scopes: []string{"messages.read"}}); client.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("keeping a scope the grant lost: %v, want 400", err)
	}
	if _, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{}); client.StatusOf(err) != http.StatusForbidden {
		t.Errorf("reading after messages.read was taken out: %v, want 403", err)
	}

	page, err := w.alice.AccessLog(ctx, client.AccessLogQuery{App: partner.App.ClientID, Limit: 2})
	if err != nil || len(page.Entries) != 2 || page.NextCursor == "" {
		t.Fatalf("AccessLog: %+v, %v", page, err)
	}
	if page.Entries[0].Action != parley.ActionGrantNarrowed || page.Entries[1].Action != "messages.read" {
		t.Errorf("the newest entries: %q, %q", page.Entries[0].Action, page.Entries[1].Action)
	}
	rest, err := w.alice.AccessLog(ctx, client.AccessLogQuery{App: partner.App.ClientID, Cursor: page.NextCursor})
	if err != nil || len(rest.Entries) != 1 || rest.Entries[0].Action != parley.ActionGrantCreated || rest.NextCursor != "" {
		t.Fatalf("the next page: %+v, %v", rest, err)
	}
	v, err := w.alice.VerifyAccessLog(ctx)
	if err != nil || !v.Intact || v.Entries < 3 || v.Break != nil {
		t.Fatalf("VerifyAccessLog: %+v, %v", v, err)
	}
}
