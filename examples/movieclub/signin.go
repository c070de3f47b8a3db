package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley/client"
	"golang.org/x/oauth2"
)

// Cookies. Their names are movieclub's own: a browser shares cookies
// between ports of one host, and in development Parley runs beside it.
const (
	loginCookie   = "movieclub_login"
	sessionCookie = "movieclub_session"
)

// sessionLife is how long a sign-in lasts, on movieclub's side: a session
// ends then whether or not the browser still sends its cookie.
const sessionLife = 12 * time.Hour

// needed are the scopes movieclub cannot work without, of those it asks
// for: the member may untick any of them on Parley's consent page.
var needed = []string{client.ScopeSharesWrite, client.ScopeMessagesRead}

// handleLogin starts signing in with Parley: a fresh state, nonce and PKCE
// verifier, kept in the browser for the callback, and off to Parley.
func (a *App) handleLogin(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	a.setCookie(w, loginCookie, state+"."+nonce+"."+verifier, "/callback", 10*time.Minute)
	http.Redirect(w, r, a.oauth.AuthCodeURL(state,
		oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("nonce", nonce),
	), http.StatusFound)
}

// handleCallback is the redirect URI: it checks the answer came for the
// sign-in this browser started, exchanges the code, and learns from the ID
// token who signed in.
func (a *App) handleCallback(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(loginCookie)
	a.setCookie(w, loginCookie, "", "/callback", -time.Second)
	started := []string{}
	if err == nil {
		started = strings.Split(c.Value, ".")
	}
	q := r.URL.Query()
	if len(started) != 3 || !sameSecret(q.Get("state"), started[0]) {
		a.fail(w, http.StatusBadRequest, "This sign-in was not started here. Please sign in again.")
		return
	}
	nonce, verifier := started[1], started[2]
	// RFC 9207: the answer names who sent it, so that an answer from
	// another server cannot pass for Parley's.
	if q.Get("iss") != a.cfg.ParleyURL {
		a.fail(w, http.StatusBadRequest, "This answer did not come from Parley.")
		return
	}
	if e := q.Get("error"); e != "" {
		a.fail(w, http.StatusForbidden, "Parley did not sign you in ("+e+").")
		return
	}
	tok, err := a.oauth.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		log.Printf("token exchange: %v", err)
		a.fail(w, http.StatusBadGateway, "Parley did not confirm the sign-in. Please try again.")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	memberID, err := a.memberOf(raw, nonce, time.Now())
	if err != nil {
		log.Printf("ID token: %v", err)
		a.fail(w, http.StatusBadGateway, "Parley's answer could not be checked. Please try again.")
		return
	}
	// The member may have unticked scopes on the consent page: work with
	// what was granted, which here must be all of it. Signing in again
	// asks Parley for what is missing.
	granted, _ := tok.Extra("scope").(string)
	for _, s := range needed {
		if !slices.Contains(strings.Fields(granted), s) {
			a.fail(w, http.StatusForbidden, "Movie Club sends the film to your friend and shows you their replies, "+
				"and needs you to allow both on Parley. Sign in again and leave them ticked.")
			return
		}
	}
	// The member's client acts through their grant with this token. A
	// refresh needs offline_access, which movieclub does not ask for: when
	// the token runs out, the member signs in again.
	api := client.New(a.cfg.ParleyURL).WithTokenSource(a.oauth.TokenSource(context.Background(), tok))
	id, s := rand.Text(), &session{memberID: memberID, csrf: rand.Text(), expires: time.Now().Add(sessionLife)}
	a.mem.mu.Lock()
	if old, err := r.Cookie(sessionCookie); err == nil {
		delete(a.mem.sessions, old.Value) // a session is never taken over by a new sign-in
	}
	m := a.mem.members[memberID]
	if m == nil {
		m = &member{id: memberID}
		a.mem.members[memberID] = m
	}
	m.api, m.accessToken, m.expiry = api, tok.AccessToken, tok.Expiry
	a.mem.sessions[id] = s
	threads := make([]string, len(m.threads))
	for i, t := range m.threads {
		threads[i] = t.id
	}
	a.mem.mu.Unlock()
	// Catch up on what changed while the member was away and webhooks
	// could not be acted on; forget the threads the grant no longer
	// reaches.
	for _, t := range threads {
		if err := a.catchUp(r.Context(), m, t); refused(err) {
			a.forgetThread(m, t)
		} else if err != nil {
			log.Printf("catch up thread %s: %v", t, err)
		}
	}
	a.setCookie(w, sessionCookie, id, "/", sessionLife)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// memberOf checks an ID token's claims and returns the member it names.
// The token came straight from Parley's token endpoint, on a connection
// movieclub opened to Parley's URL (https in production), so OpenID Connect
// Core section 3.1.3.7 lets a client skip checking its signature; the
// claims are still checked. A token from anywhere else would need its
// signature checked against Parley's keys (/oauth2/keys).
func (a *App) memberOf(raw, nonce string, now time.Time) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", errors.New("no ID token: ask for the openid scope")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var claims struct {
		Issuer   string          `json:"iss"`
		Subject  string          `json:"sub"`
		Audience json.RawMessage `json:"aud"`
		Nonce    string          `json:"nonce"`
		Expiry   int64           `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", err
	}
	var audience []string
	if json.Unmarshal(claims.Audience, &audience) != nil {
		audience = []string{""}
		json.Unmarshal(claims.Audience, &audience[0])
	}
	switch {
	case claims.Issuer != a.cfg.ParleyURL:
		return "", errors.New("the ID token is from another issuer")
	case !slices.Contains(audience, a.cfg.ClientID):
		return "", errors.New("the ID token is for another app")
	case !sameSecret(claims.Nonce, nonce):
		return "", errors.New("the ID token is for another sign-in")
	case now.Unix() >= claims.Expiry:
		return "", errors.New("the ID token expired")
	case claims.Subject == "":
		return "", errors.New("the ID token names no one")
	}
	return claims.Subject, nil
}

// handleLogout signs the browser out. When it was the member's last
// session, movieclub stops acting for them, as it acts only while they use
// it: it revokes their access token at Parley and forgets it, with
// everything read through it. Their grant stays: their next sign-in skips
// Parley's consent page.
func (a *App) handleLogout(w http.ResponseWriter, r *http.Request) {
	_, m := a.signedIn(w, r)
	if m == nil {
		return
	}
	c, _ := r.Cookie(sessionCookie)
	a.mem.mu.Lock()
	delete(a.mem.sessions, c.Value)
	last, now := true, time.Now()
	for _, other := range a.mem.sessions {
		if other.memberID == m.id && now.Before(other.expires) {
			last = false
			break
		}
	}
	token := m.accessToken
	a.mem.mu.Unlock()
	if last {
		// Forgotten unless they signed in again meanwhile; revoked even if
		// the browser goes before Parley answers.
		a.mem.forget(m.id, token)
		if err := a.revoke(context.WithoutCancel(r.Context()), token); err != nil {
			// Kept no more, the token runs out within the hour.
			log.Printf("revoke: %v", err)
		}
	}
	a.setCookie(w, sessionCookie, "", "/", -time.Second)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// session returns the browser's session, or nil; an ended one is
// forgotten.
func (a *App) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	a.mem.mu.Lock()
	defer a.mem.mu.Unlock()
	s := a.mem.sessions[c.Value]
	if s != nil && !time.Now().Before(s.expires) {
		delete(a.mem.sessions, c.Value)
		return nil
	}
	return s
}

// signedIn returns the session and member of a form post whose CSRF token
// is right; otherwise it answers the request and returns nil.
func (a *App) signedIn(w http.ResponseWriter, r *http.Request) (*session, *member) {
	s := a.session(r)
	if s == nil {
		a.fail(w, http.StatusUnauthorized, "Please sign in first.")
		return nil, nil
	}
	if !sameSecret(r.PostFormValue("csrf"), s.csrf) {
		a.fail(w, http.StatusForbidden, "This form has expired. Please go back and try again.")
		return nil, nil
	}
	a.mem.mu.Lock()
	defer a.mem.mu.Unlock()
	m := a.mem.members[s.memberID]
	if m == nil {
		a.fail(w, http.StatusUnauthorized, "Please sign in again.")
	}
	return s, m
}

// setCookie sets (or, with maxAge -time.Second, clears) one of movieclub's
// cookies: HttpOnly, SameSite=Lax (so that it comes back with Parley's
// redirect to the callback), Secure on https.
func (a *App) setCookie(w http.ResponseWriter, name, value, path string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(a.cfg.PublicURL, "https://"),
	})
}
