package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
)

// An operator whose rights are revoked while signed in, with the operator
// page open, can make no decision from it at the next request.
func TestOperatorPages_DemotedWhileSignedIn(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "olga")
	env.MustMember(t, "mallory")
	mustOperator(t, env, "olga")
	films := env.MustPartnerOf(t, "Films", "mallory")
	olga := newScriptless(t, env.URL)
	olga.signIn("olga")
	review := olga.get("/operator")
	if review.status != http.StatusOK {
		t.Fatalf("/operator: %d", review.status)
	}
	if _, err := env.Server.Service.SetOperator(service.ConsoleContext(context.Background()), "olga", false); err != nil {
		t.Fatal(err)
	}
	if p := olga.post(review, "/operator/apps/"+films.App.ClientID+"/suspend", url.Values{}); p.status != http.StatusNotFound {
		t.Errorf("a demoted operator suspending: %d", p.status)
	}
	if appState(t, env, films.App.ClientID).State != parley.AppActive {
		t.Fatal("a demoted operator suspended the app")
	}
	if p := olga.get("/operator"); p.status != http.StatusNotFound {
		t.Errorf("/operator for a demoted operator: %d", p.status)
	}
}
