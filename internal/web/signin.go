package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/oauth"
	"github.com/parleyhq/parley/internal/service"
)

// showAuthorizeError is the page for an authorization request the provider
// cannot answer to the app (see oauth.Provider.ShowErrorsWith): the app's
// request, or, with a status of 500 or more, the server.
func (p *Pages) showAuthorizeError(w http.ResponseWriter, status int, message string) {
	securityHeaders(w.Header())
	page := errorPage{
		Title: "This sign-in link does not work",
		Error: "The app sent you here with a sign-in request Parley cannot answer: " + message +
			". Go back to the app; if it happens again, tell its developer.",
	}
	if status >= http.StatusInternalServerError {
		page = errorPage{Title: "Parley could not answer", Error: "Parley could not answer this sign-in: " + message + "."}
	}
	p.render(w, status, "error", page)
}

// showUnsent is the page of an authorization error the provider did not
// send to an app no operator vouched for (oauth.Unsent): it says which
// app's request could not be accepted and why, where the app answers, and
// leads back to it.
func (p *Pages) showUnsent(w http.ResponseWriter, r *http.Request, u oauth.Unsent) {
	securityHeaders(w.Header())
	w.Header().Set("Cache-Control", "no-store")
	page := unsentPage{Title: "This sign-in request could not be accepted", Unsent: u, Back: template.URL(u.URL)}
	if scheme, _, _ := strings.Cut(u.URL, ":"); !strings.Contains(scheme, ".") {
		// An http or https URI goes through the template's own check; a
		// native app's redirect URI has a reverse domain name as its
		// scheme (parley.App.Validate), which the check would refuse.
		page.Back = ""
	}
	p.render(w, http.StatusBadRequest, "unsent", page)
}

// unsentPage is what the page of an error response not sent shows.
type unsentPage struct {
	Title string
	oauth.Unsent
	// Back is the error response's URL for a native app's scheme, which
	// the template takes as it is.
	Back template.URL
}

// BackURL is the link back to the app.
func (u unsentPage) BackURL() any {
	if u.Back != "" {
		return u.Back
	}
	return u.URL
}

// loginPage is what the sign-in page shows.
type loginPage struct {
	Title, AppName, RequestID, CSRF, Username, Error string
	// Next is the page to go to once signed in, when not the inbox (see
	// localPath), or, on the account pages' sign-in, the connected apps.
	Next string
	// Notice says what just happened, such as the account's deletion.
	Notice string
	// Action is where the form posts.
	Action string
	// Again is set when the member is signed in but the app wants a fresh
	// sign-in.
	Again bool
	// SignUp is the address of the sign-up page, which goes on to where
	// this sign-in would have; empty while registration is closed, or when
	// the member is asked to sign in again.
	SignUp string
}

// appSignIn is the sign-in page of an app's sign-in request id. A person
// without an account may make one and come back to the request, unless
// they are signed in already and asked again.
func (p *Pages) appSignIn(id string, next *service.Next, again bool) loginPage {
	page := loginPage{Title: "Sign in", Action: oauth.LoginPath, RequestID: id, AppName: next.AppName, Again: again}
	if !again && p.svc.RegistrationOpen() {
		page.SignUp = signUpURL(loginURL(id))
	}
	return page
}

// unbound refuses a sign-in request the browser did not start.
func (p *Pages) unbound(w http.ResponseWriter, r *http.Request, id string) bool {
	if p.provider.Bound(r, id) {
		return false
	}
	p.render(w, http.StatusForbidden, "error", errorPage{
		Title: "Start again", Error: "This sign-in was started in another browser, or has expired. Go back to the app and start again.",
	})
	return true
}

func (p *Pages) handleLogin(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	ctx, next := p.proceed(w, r, id)
	if next == nil {
		return
	}
	switch next.Step {
	case service.StepSignIn:
		// A member with a session is asked again because the app wants a
		// fresh sign-in (prompt=login, max_age).
		page := p.appSignIn(id, next, parley.CallerFromContext(ctx) != nil)
		page.CSRF = p.csrfToken(w, r)
		p.render(w, http.StatusOK, "login", page)
	case service.StepConsent:
		http.Redirect(w, r, consentURL(id), http.StatusSeeOther)
	}
}

// proceed takes a sign-in request as far as it goes without asking the
// member (service.Continue) and returns where it goes next, for the page to
// show that step, with the context of the member signed in, if any. When
// the request goes back to the app instead, approved, or refused because
// the app asked that no page be shown (prompt=none) or another member
// signed in than the one it named, or this browser did not start it
// (unbound), or on an error, proceed has answered and returns nil.
func (p *Pages) proceed(w http.ResponseWriter, r *http.Request, id string) (context.Context, *service.Next) {
	if p.unbound(w, r, id) {
		return nil, nil
	}
	ctx, err := p.member(r)
	if err != nil {
		ctx = r.Context()
	}
	next, err := p.svc.Continue(ctx, id)
	switch {
	case err != nil:
		p.renderError(w, r, err)
	case next.Step == service.StepDone:
		http.Redirect(w, r, p.provider.CallbackURL(ctx, id), http.StatusSeeOther)
	case next.Refused():
		p.refuseStep(w, r, next)
	default:
		return ctx, next
	}
	return ctx, nil
}

// refuseStep sends the member back to the app with the error of the step
// the service refused the request at (service.Next.Refused).
func (p *Pages) refuseStep(w http.ResponseWriter, r *http.Request, next *service.Next) {
	why, ok := stepRefusals[next.Step]
	if !ok {
		p.renderError(w, r, fmt.Errorf("web: no refusal for step %d", next.Step))
		return
	}
	p.refuse(w, r, next.Request, why)
}

// stepRefusals are what the app is told of a request the service refused
// (service.Next.Refused) at each step.
var stepRefusals = map[service.Step]oauth.Refusal{
	service.StepAnotherMember: oauth.AnotherMember,
	service.StepSignIn:        oauth.LoginRequired,
	service.StepConsent:       oauth.ConsentRequired,
}

// refuse sends the member back to the app with an authorization error, or
// shows it, for an app no operator vouched for (oauth.Provider.Refuse).
func (p *Pages) refuse(w http.ResponseWriter, r *http.Request, req *parley.AuthRequest, why oauth.Refusal) {
	if err := p.provider.Refuse(w, r, req, why); err != nil {
		p.renderError(w, r, err)
	}
}

func (p *Pages) handleLoginPost(w http.ResponseWriter, r *http.Request) {
	if !p.checkCSRF(w, r) {
		return
	}
	id := r.PostFormValue("id")
	if p.unbound(w, r, id) {
		return
	}
	next, err := p.svc.Continue(r.Context(), id)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	if next.Refused() {
		// prompt=none: the app is told, as on the page's GET.
		p.refuseStep(w, r, next)
		return
	}
	if p.signIn(w, r, p.appSignIn(id, next, false)) {
		http.Redirect(w, r, consentURL(id), http.StatusSeeOther)
	}
}

// signIn checks the posted username and password and sets the session
// cookie. When they are wrong it shows the form again, as page, with the
// error, and returns false. A session the browser held until then ends:
// its cookie is replaced, and a session no browser holds would otherwise
// stay valid until it lapses.
func (p *Pages) signIn(w http.ResponseWriter, r *http.Request, page loginPage) bool {
	page.Username = r.PostFormValue("username")
	signedIn, err := p.svc.SignIn(service.WithDeviceProof(r.Context(), p.deviceProofOf(r)), page.Username, r.PostFormValue("password"))
	if err != nil {
		setRetryAfter(w, err)
		page.CSRF, page.Error = p.csrfToken(w, r), parley.ErrorMessage(err)
		p.render(w, httpapi.StatusOf(err), "login", page)
		return false
	}
	if ctx, err := p.member(r); err == nil {
		if err := p.svc.SignOut(ctx); err != nil {
			p.log.Error("end the session a new sign-in replaces", "err", err)
		}
	}
	// The cookie lasts as long as the session (--session-ttl).
	http.SetCookie(w, p.cookies.New(sessionCookie, signedIn.Token, signedIn.ExpiresAt.Sub(p.svc.Now())))
	http.SetCookie(w, p.cookies.New(deviceCookie, signedIn.DeviceProof, service.DeviceProofTTL))
	return true
}

// deviceProofOf returns the device proof the browser holds, if any, for
// the password checks made for its request (service.WithDeviceProof).
func (p *Pages) deviceProofOf(r *http.Request) string {
	proof, _ := p.cookies.Value(r, deviceCookie)
	return proof
}

// loginURL is the sign-in page of an app's sign-in request id.
func loginURL(id string) string { return oauth.LoginPath + "?id=" + url.QueryEscape(id) }
