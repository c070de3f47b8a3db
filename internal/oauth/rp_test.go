package oauth_test

import (
	"context"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/client/rs"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"
)

// TestRelyingParty_WholeFlow drives the provider with zitadel's relying
// party, as an app built on a certified OpenID Connect library would:
// discovery, PKCE, the ID token verified against the JWKS, userinfo,
// refresh, introspection (as a resource server) and revocation.
func TestRelyingParty_WholeFlow(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	ctx := context.Background()

	party, err := rp.NewRelyingPartyOIDC(ctx, env.URL, partner.App.ClientID, partner.App.ClientSecret, apptest.RedirectURI,
		[]string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeOfflineAccess}, rp.WithAuthStyle(oauth2.AuthStyleInHeader),
		rp.WithVerifierOpts(rp.WithNonce(func(ctx context.Context) string { n, _ := ctx.Value(nonceKey{}).(string); return n })))
	if err != nil {
		t.Fatal(err)
	}
	verifier := oauth2.GenerateVerifier()
	authURL := rp.AuthURL("st4te", party, rp.WithCodeChallenge(oidc.NewSHACodeChallenge(verifier)),
		func() []oauth2.AuthCodeOption {
			return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("nonce", "n0nce")}
		})
	got := apptest.NewBrowser().SignIn(t, authURL, "alice", apptest.Answer{})
	if got.Get("state") != "st4te" || got.Get("iss") != env.URL {
		t.Fatalf("authorization response %v", got)
	}
	// The nonce the app sent comes back in the ID token, and only there: an
	// ID token from a refresh carries none.
	tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](context.WithValue(ctx, nonceKey{}, "n0nce"), got.Get("code"), party,
		rp.WithCodeVerifier(verifier))
	if err != nil {
		t.Fatal(err)
	}
	sub := apptest.MustMe(t, alice).ID
	if tokens.IDTokenClaims.Subject != sub || tokens.IDTokenClaims.Nonce != "n0nce" {
		t.Errorf("ID token claims %+v", tokens.IDTokenClaims)
	}

	info, err := rp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, oidc.BearerToken, sub, party)
	if err != nil || info.PreferredUsername != "alice" {
		t.Fatalf("userinfo %+v, %v", info, err)
	}

	fresh, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, party, tokens.RefreshToken, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if fresh.IDTokenClaims == nil || fresh.IDTokenClaims.Subject != sub {
		t.Errorf("refreshed ID token claims %+v", fresh.IDTokenClaims)
	}

	server, err := rs.NewResourceServerClientCredentials(ctx, env.URL, partner.App.ClientID, partner.App.ClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	intro, err := rs.Introspect[*oidc.IntrospectionResponse](ctx, server, fresh.AccessToken)
	if err != nil || !intro.Active || intro.Subject != sub || intro.ClientID != partner.App.ClientID {
		t.Fatalf("introspection %+v, %v", intro, err)
	}

	if err := rp.RevokeToken(ctx, party, fresh.RefreshToken, "refresh_token"); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{fresh.AccessToken, fresh.RefreshToken} {
		if intro, err := rs.Introspect[*oidc.IntrospectionResponse](ctx, server, tok); err != nil || intro.Active {
			t.Errorf("after revoking the refresh token, introspection %+v, %v", intro, err)
		}
	}
	if _, err := rp.Userinfo[*oidc.UserInfo](ctx, fresh.AccessToken, oidc.BearerToken, sub, party); err == nil {
		t.Error("userinfo answered for a revoked family")
	}
}

// nonceKey carries the nonce the relying party expects in an ID token.
type nonceKey struct{}
