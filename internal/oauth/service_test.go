package oauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
)

// TestUserinfo_IsAProfileRead: the provider answers through the service, so
// userinfo is logged in the member's access log as GET /api/v1/me is.
func TestUserinfo_IsAProfileRead(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "profile"}, apptest.Answer{})
	var info map[string]any
	if err := bearerJSON(env.URL+"/oauth2/userinfo", tok.AccessToken, &info); err != nil {
		t.Fatal(err)
	}
	var page service.AccessLogPage
	if _, err := alice.Do(context.Background(), "GET", "/api/v1/me/access-log", nil, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) == 0 {
		t.Fatal("nothing logged")
	}
	e := page.Entries[0]
	if e.Action != "profile" || e.ClientID != partner.App.ClientID {
		t.Errorf("newest entry %s by %s, want the profile read by %s", e.Action, e.ClientID, partner.App.ClientID)
	}
}

// TestRefresh_AccessTokenEndsWithItsGrant: an access token issued within
// an hour of its grant's end is issued until that end, not for the hour:
// expires_in tells the app when the token stops working. (The library
// counts expires_in from the machine's clock, which the test's server
// clock runs 30 days less 10 minutes ahead of here: expires_in is then 30
// days, where a token issued for the hour would say 30 days and 50
// minutes.)
func TestRefresh_AccessTokenEndsWithItsGrant(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "messages.read", "offline_access"}, apptest.Answer{Expiry: "30d"})
	env.Clock.Advance(30*24*time.Hour - 10*time.Minute)
	refreshed, err := partner.Config.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if life, grantLeft := time.Duration(refreshed.ExpiresIn)*time.Second, 30*24*time.Hour; life > grantLeft {
		t.Fatalf("an access token issued 10 minutes before its grant ends says it lasts %v more than the grant", life-grantLeft)
	}
}

// TestDiscovery_EveryClaimSupportedIsIssued: each claim discovery lists in
// claims_supported is one the provider gives, in the ID token or from
// userinfo, to an app that asked for the profile with a nonce.
func TestDiscovery_EveryClaimSupportedIsIssued(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid", "profile"}
	verifier := oauth2.GenerateVerifier()
	got := apptest.NewBrowser().SignIn(t, cfg.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("nonce", "n0nce")), "alice", apptest.Answer{})
	tok, err := cfg.Exchange(context.Background(), got.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token %q", raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	issued := map[string]any{}
	if err := json.Unmarshal(payload, &issued); err != nil {
		t.Fatal(err)
	}
	if err := bearerJSON(env.URL+"/oauth2/userinfo", tok.AccessToken, &issued); err != nil {
		t.Fatal(err)
	}
	var d struct {
		Claims []string `json:"claims_supported"`
	}
	getJSON(t, env.URL+"/.well-known/openid-configuration", &d)
	for _, c := range d.Claims {
		if _, ok := issued[c]; !ok {
			t.Errorf("claims_supported lists %q, which neither the ID token nor userinfo carries", c)
		}
	}
}

// TestEndSession_NotServed: Parley offers no RP-initiated logout
// (discovery names no end_session_endpoint; members sign out on Parley's
// own pages), so its path is not found, whatever is sent to it: not a
// server error for a form it cannot parse.
func TestEndSession_NotServed(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	for name, send := range map[string]func() (*http.Response, error){
		"Get":          func() (*http.Response, error) { return http.Get(env.URL + "/oauth2/end_session?id_token_hint=x") },
		"MalformedGet": func() (*http.Response, error) { return http.Get(env.URL + "/oauth2/end_session?%zz") },
		"MalformedPost": func() (*http.Response, error) {
			return http.Post(env.URL+"/oauth2/end_session", "application/x-www-form-urlencoded", strings.NewReader("%zz"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := send()
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("answered %d, want 404", resp.StatusCode)
			}
		})
	}
}
