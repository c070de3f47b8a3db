package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
)

// singlePageApp is a partner's app that runs in the browser alone, from
// its own origin: it signs the member in with Parley (authorization code
// with PKCE, as a public client), then calls, from that origin, the token
// endpoint, userinfo, the API and revocation, and shows what it read.
const singlePageApp = `<!doctype html><meta charset="utf-8"><title>Tunes</title><pre id="out"></pre>
<script type="module">
const parley = %q, clientID = %q, redirect = location.origin + "/callback";
const b64 = a => btoa(String.fromCharCode(...new Uint8Array(a))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const post = fields => ({method: "POST", body: new URLSearchParams(fields)});
const show = v => document.getElementById("out").textContent = JSON.stringify(v);
try {
const conf = await (await fetch(parley + "/.well-known/openid-configuration")).json();
const q = new URLSearchParams(location.search);
if (!q.has("code")) {
  const verifier = b64(crypto.getRandomValues(new Uint8Array(32)));
  sessionStorage.verifier = verifier;
  const challenge = b64(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  location = conf.authorization_endpoint + "?" + new URLSearchParams({response_type: "code", client_id: clientID,
    redirect_uri: redirect, scope: "openid profile threads.read", state: "s", code_challenge: challenge, code_challenge_method: "S256"});
} else {
  const token = await (await fetch(conf.token_endpoint, post({grant_type: "authorization_code", code: q.get("code"),
    redirect_uri: redirect, client_id: clientID, code_verifier: sessionStorage.verifier}))).json();
  const bearer = {headers: {Authorization: "Bearer " + token.access_token}};
  const me = await (await fetch(conf.userinfo_endpoint, bearer)).json();
  const threads = await fetch(parley + "/api/v1/threads", bearer);
  const revoked = await fetch(conf.revocation_endpoint, post({token: token.access_token, client_id: clientID}));
  const after = await fetch(parley + "/api/v1/threads", bearer);
  show({username: me.preferred_username, threads: threads.status, revoked: revoked.status, after: after.status,
    challenge: after.headers.get("WWW-Authenticate")});
}
} catch (e) {
  show({error: String(e)}); // a fetch the browser refused: a TypeError
}
</script>`

// A single-page app, served from an origin of its own, signs a member in
// with Parley and uses its token from that origin: discovery, the token
// endpoint, userinfo, the API and revocation all answer it, and it reads
// the challenge of the token it revoked.
func TestSinglePageApp_Browser(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	var clientID string
	spa := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, singlePageApp, env.URL, clientID)
	}))
	t.Cleanup(spa.Close)
	clientID = env.MustPartner(t, "Tunes", func(a *service.NewApp) {
		a.Public, a.RedirectURIs = true, []string{spa.URL + "/callback"}
	}).App.ClientID

	b := apptest.Chromium(t)
	must(t, chromedp.Do(b, chromedp.Navigate(spa.URL)))
	waitFor(t, b, `!!document.querySelector("input[name=password], #out:not(:empty)")`)
	if location(t, b).Host == strings.TrimPrefix(spa.URL, "http://") {
		t.Fatalf("the app did not send the browser to sign in: %s", text(t, b, `#out`))
	}
	// The sign-in page whole, not one the browser is leaving: a field
	// found on that one is gone by the time it is filled in.
	waitFor(t, b, `document.readyState === "complete" && !!document.querySelector("input[name=username]")`)
	must(t, chromedp.Do(b,
		chromedp.SetValue(chromedp.CSS(`input[name=username]`), "alice"),
		chromedp.SetValue(chromedp.CSS(`input[name=password]`), apptest.Password("alice")),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value=approve]`)),
		chromedp.Click(chromedp.CSS(`button[value=approve]`)),
	))
	var got struct {
		Username                string
		Threads, Revoked, After int
		Challenge, Error        string
	}
	if err := json.Unmarshal([]byte(text(t, b, `#out:not(:empty)`)), &got); err != nil {
		t.Fatal(err)
	}
	if got.Username != "alice" || got.Threads != http.StatusOK || got.Revoked != http.StatusOK || got.After != http.StatusUnauthorized ||
		!strings.Contains(got.Challenge, `error="invalid_token"`) {
		t.Errorf("the app read %+v", got)
	}
	if u := location(t, b).String(); !strings.HasPrefix(u, spa.URL+"/callback?") {
		t.Errorf("the app's page is at %s", u)
	}
}
