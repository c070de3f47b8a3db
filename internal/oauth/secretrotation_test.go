package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// everywhere is every endpoint at which an app authenticates with its
// secret.
var everywhere = []string{"token", "refresh", "introspect", "revoke"}

// A confidential client's owner rotates its secret: the secret replaced
// keeps authenticating the app everywhere it authenticates (the code
// exchange, refresh, introspection and revocation, through the real
// golang.org/x/oauth2 client where it speaks) beside the new one for
// parley.AppSecretRotation, then stops. A second rotation in that time
// ends the first replaced secret, and the owner may stop the old one at
// once. A wrong secret is refused all along; a public client has no secret
// to rotate or stop.
func TestClientSecretRotation(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	svc := env.Server.Service
	caller, err := svc.Authenticate(ctx, alice.Token())
	if err != nil {
		t.Fatal(err)
	}
	asAlice := parley.NewContextWithCaller(ctx, caller)
	partner := env.MustPartnerOf(t, "Tunes", "alice")
	// until is when the secret the last rotation replaced stops working.
	var until time.Time
	rotate := func(t *testing.T) *oauth2.Config {
		t.Helper()
		before := env.Clock.Now().Truncate(time.Microsecond)
		app, err := svc.MyApp(asAlice, partner.App.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		reg, err := svc.RotateAppSecret(asAlice, partner.App.ClientID, app.OldSecretUntil)
		if err != nil {
			t.Fatal(err)
		}
		apptest.Secret(reg.ClientSecret)
		if u := reg.App.OldSecretUntil; u == nil || u.Before(before.Add(parley.AppSecretRotation)) || u.After(env.Clock.Now().Add(parley.AppSecretRotation)) {
			t.Fatalf("after a rotation OldSecretUntil is %v, want %v from then", u, parley.AppSecretRotation)
		}
		until = *reg.App.OldSecretUntil
		cfg := *partner.Config
		cfg.ClientSecret = reg.ClientSecret
		return &cfg
	}
	wrong := *partner.Config
	wrong.ClientSecret = "pcs_guess"
	want := func(t *testing.T, current *oauth2.Config, secrets map[string]*oauth2.Config, accepted map[string][]string) {
		t.Helper()
		for name, cfg := range secrets {
			if got := acceptedAt(t, env, current, cfg); !slices.Equal(got, accepted[name]) {
				t.Errorf("the %s secret is accepted at %q, want %q", name, got, accepted[name])
			}
		}
	}

	first := partner.Config
	second := rotate(t)
	t.Run("OldWorksBesideNew", func(t *testing.T) {
		want(t, second, map[string]*oauth2.Config{"first": first, "second": second, "wrong": &wrong},
			map[string][]string{"first": everywhere, "second": everywhere, "wrong": nil})
	})

	third := rotate(t)
	t.Run("RotatingAgainEndsTheOlder", func(t *testing.T) {
		want(t, third, map[string]*oauth2.Config{"first": first, "second": second, "third": third},
			map[string][]string{"first": nil, "second": everywhere, "third": everywhere})
	})

	t.Run("OldStopsAfterTheGrace", func(t *testing.T) {
		// The test clock runs with the wall clock too: a minute before
		// the end leaves the checks, slow under the race detector, time.
		env.Clock.Advance(until.Sub(env.Clock.Now()) - time.Minute)
		want(t, third, map[string]*oauth2.Config{"second": second}, map[string][]string{"second": everywhere})
		env.Clock.Advance(time.Minute)
		want(t, third, map[string]*oauth2.Config{"second": second, "third": third, "wrong": &wrong},
			map[string][]string{"second": nil, "third": everywhere, "wrong": nil})
	})

	t.Run("StopTheOldNow", func(t *testing.T) {
		fourth := rotate(t)
		app, err := svc.EndOldAppSecret(asAlice, partner.App.ClientID)
		if err != nil || app.OldSecretUntil != nil {
			t.Fatalf("stopping the old secret: %+v, %v", app, err)
		}
		want(t, fourth, map[string]*oauth2.Config{"third": third, "fourth": fourth},
			map[string][]string{"third": nil, "fourth": everywhere})
	})

	t.Run("PublicClientHasNoSecret", func(t *testing.T) {
		phone := env.MustPartnerOf(t, "Phone", "alice", func(a *service.NewApp) { a.Public = true })
		if phone.App.ClientSecret != "" {
			t.Fatal("a public client got a secret")
		}
		if _, err := svc.RotateAppSecret(asAlice, phone.App.ClientID, nil); parley.ErrorCode(err) != parley.EINVALID {
			t.Errorf("rotating a public client's secret: %v, want EINVALID", err)
		}
		if _, err := svc.EndOldAppSecret(asAlice, phone.App.ClientID); parley.ErrorCode(err) != parley.EINVALID {
			t.Errorf("stopping a public client's old secret: %v, want EINVALID", err)
		}
	})
}

// acceptedAt tries cfg's client secret at every endpoint where an app
// authenticates, with codes and tokens that current's secret gets, and
// returns the endpoints that let it in, in the order of everywhere.
func acceptedAt(t *testing.T, env *apptest.Env, current, cfg *oauth2.Config) []string {
	t.Helper()
	ctx := context.Background()
	scopes := []string{"openid", "offline_access"}
	tok := env.MustToken(t, &apptest.Partner{Config: current}, "alice", scopes, apptest.Answer{})
	var in []string

	try := *cfg
	try.Scopes = scopes
	verifier := oauth2.GenerateVerifier()
	code := apptest.NewBrowser().SignIn(t, try.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "alice", apptest.Answer{}).Get("code")
	if _, err := try.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		in = append(in, "token")
	} else {
		refusedClient(t, "token", err)
	}
	if _, err := try.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		in = append(in, "refresh")
	} else {
		refusedClient(t, "refresh", err)
	}
	for _, endpoint := range []string{"introspect", "revoke"} {
		a := call(t, "POST", env.URL+"/oauth2/"+endpoint, url.Values{"token": {tok.AccessToken}}, cfg.ClientID, cfg.ClientSecret)
		switch a.Status {
		case http.StatusOK:
			in = append(in, endpoint)
		default:
			a.want(t, http.StatusUnauthorized, "invalid_client")
		}
	}
	return in
}

// refusedClient fails unless err is the token endpoint's refusal of the
// client's authentication (RFC 6749 section 5.2).
func refusedClient(t *testing.T, what string, err error) {
	t.Helper()
	if re, ok := err.(*oauth2.RetrieveError); !ok || re.ErrorCode != "invalid_client" {
		t.Errorf("%s: %v, want invalid_client", what, err)
	}
}
