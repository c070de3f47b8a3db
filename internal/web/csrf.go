package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"

	"github.com/parleyhq/parley"
)

// csrfKeyName names the server key that signs CSRF tokens.
const csrfKeyName = "web.csrf"

// csrfToken returns the token the page's forms carry, setting the
// browser's CSRF cookie on first use. A page asks for the token once for
// each part of it that holds forms: the cookie it sets is added to the
// request too, so that every part's forms carry the token of the one
// cookie the browser keeps.
func (p *Pages) csrfToken(w http.ResponseWriter, r *http.Request) string {
	browser, ok := p.cookies.Value(r, csrfCookie)
	if !ok || len(browser) < minCSRFCookieLen {
		browser = parley.RandomToken()
		c := p.cookies.New(csrfCookie, browser, 0)
		http.SetCookie(w, c)
		// The request's copies made for its handlers share its header.
		cookies := r.Cookies()
		r.Header.Del("Cookie")
		for _, old := range cookies {
			if old.Name != c.Name {
				r.AddCookie(old)
			}
		}
		r.AddCookie(&http.Cookie{Name: c.Name, Value: browser})
	}
	return base64.RawURLEncoding.EncodeToString(p.csrfMAC(browser, r))
}

// minCSRFCookieLen is the shortest CSRF cookie taken as the browser's
// random value; a shorter one is replaced.
const minCSRFCookieLen = 32

// csrfMAC is the CSRF token of a browser's random value and the session
// its request carries (none before sign-in): an HMAC under the server's
// CSRF key. Without the key no one can make a token, and a token is worth
// nothing with another browser's cookie or another session.
func (p *Pages) csrfMAC(browser string, r *http.Request) []byte {
	session, _ := p.cookies.Value(r, sessionCookie)
	mac := hmac.New(sha256.New, p.csrfKey)
	mac.Write([]byte(browser))
	mac.Write([]byte{0})
	mac.Write([]byte(session))
	return mac.Sum(nil)
}

// checkCSRF refuses a form whose token is not the one this browser's pages
// carry (validCSRF), as formExpired says.
func (p *Pages) checkCSRF(w http.ResponseWriter, r *http.Request) bool {
	if p.validCSRF(r) {
		return true
	}
	p.formExpired(w, r)
	return false
}

// formExpired answers a form refused for its token. The steps of an app's
// sign-in send the member back to the app, which starts them; the other
// pages, to reload the page.
func (p *Pages) formExpired(w http.ResponseWriter, r *http.Request) {
	again := "Reload the page and try again."
	if slices.Contains(ProviderPaths(), r.URL.Path) {
		again = "Go back to the app and start again."
	}
	p.render(w, http.StatusForbidden, "error", errorPage{
		Title: "Form expired", Error: "This form has expired or did not come from Parley. " + again,
	})
}

// validCSRF reports whether a form's token is the one this browser's pages
// carry: not missing, empty, short, made for another browser or another
// session, nor made by anyone but the server. The comparison takes
// constant time.
func (p *Pages) validCSRF(r *http.Request) bool {
	browser, ok := p.cookies.Value(r, csrfCookie)
	sent, decodeErr := base64.RawURLEncoding.DecodeString(r.PostFormValue("csrf"))
	return ok && len(browser) >= minCSRFCookieLen && decodeErr == nil && hmac.Equal(sent, p.csrfMAC(browser, r))
}

// checkSignInCSRF is checkCSRF for the messenger's and the account pages'
// sign-in and sign-up forms. A browser whose member signed in, in another
// tab, after the form was shown posts it with a token made before their
// session: a form that names that member is sent on to next, a local
// path, as the form's page would send it now; one that names another is
// refused as expired, not carried on as the member signed in. A form
// with a valid token signs in anew, as another member if it says so.
func (p *Pages) checkSignInCSRF(w http.ResponseWriter, r *http.Request, next string) bool {
	if p.validCSRF(r) {
		return true
	}
	if ctx, err := p.member(r); err == nil &&
		parley.CallerFromContext(ctx).User.Username == parley.NormalizeUsername(strings.TrimSpace(r.PostFormValue("username"))) {
		http.Redirect(w, r, next, http.StatusSeeOther)
	} else {
		p.formExpired(w, r)
	}
	return false
}
