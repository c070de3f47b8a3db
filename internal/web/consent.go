package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/oauth"
	"github.com/parleyhq/parley/internal/service"
)

// consentPath is the consent page, the step of an app's sign-in that
// follows the sign-in page (oauth.LoginPath), under the provider's prefix.
const consentPath = "/oauth2/consent"

// consentPage is what the consent page shows.
type consentPage struct {
	Title, CSRF, Error string
	Consent            *service.Consent
	// Choice is what the form shows chosen.
	Choice consentChoice
}

// Expiries are the lengths the form offers for the grant.
func (consentPage) Expiries() []parley.GrantExpiry { return parley.GrantExpiries }

// RedirectHost is where the member's browser goes after they answer: the
// host (and port) of the request's redirect URI, or its scheme, "scheme:",
// for a native app's URI, which has no host.
func (c consentPage) RedirectHost() string {
	u, err := url.Parse(c.Consent.Request.RedirectURI)
	if err != nil {
		return c.Consent.Request.RedirectURI
	}
	if u.Host == "" {
		return u.Scheme + ":"
	}
	return u.Host
}

// HomepageHost is the host of the app's homepage, "" when it gave none.
func (c consentPage) HomepageHost() string {
	u, err := url.Parse(c.Consent.App.Homepage)
	if c.Consent.App.Homepage == "" || err != nil {
		return ""
	}
	return u.Host
}

// purposeShown is how many characters of an app's purpose the consent
// page shows before the rest, behind a disclosure, so that a long purpose
// does not push what the member decides out of sight on a small screen.
const purposeShown = 160

// purposeCut is where the consent page cuts the app's purpose: after
// about purposeShown characters, at a space or line break when there is
// one, or len(purpose) when it is short enough to show whole.
func (c consentPage) purposeCut() int {
	p := c.Consent.App.Purpose
	if utf8.RuneCountInString(p) <= purposeShown+purposeShown/4 {
		return len(p)
	}
	cut := len(string([]rune(p)[:purposeShown]))
	if i := strings.LastIndexAny(p[:cut], " \n"); i > cut/2 {
		cut = i
	}
	return cut
}

// PurposeShown is the app's purpose as the consent page shows it first.
func (c consentPage) PurposeShown() string { return c.Consent.App.Purpose[:c.purposeCut()] }

// PurposeRest is the rest of the app's purpose, behind a disclosure; ""
// when the page shows it whole.
func (c consentPage) PurposeRest() string {
	return strings.TrimLeft(c.Consent.App.Purpose[c.purposeCut():], " \n")
}

// Reach is the words for a grant's thread scope, scope, as the consent
// page and the connected apps page both say it.
func (c consentPage) Reach(scope string) reachWords {
	return reachWords{Scope: scope, App: c.Consent.App.Name}
}

// reachWords is what the "reach" template says: which conversations an
// app may reach under a grant of thread scope Scope.
type reachWords struct{ Scope, App string }

// findAmongOver is the most conversations the consent page lists without a
// box that finds one among them.
const findAmongOver = 8

// Findable reports whether the consent page offers a box that finds a
// conversation to tick: for a first grant, among more than findAmongOver.
func (c consentPage) Findable() bool {
	return c.Consent.Current == nil && len(c.Consent.Threads) > findAmongOver
}

// consentChoice is what the consent form shows chosen: the page's
// defaults, or, on the page shown again for an answer refused, what the
// member chose, so that a scope they unticked does not come back ticked
// and the conversations they ticked stay ticked.
type consentChoice struct {
	ThreadScope, Expiry string
	// posted says the choice is the member's: scopes are ticked only as
	// they were, not all of them.
	posted          bool
	scopes, threads []string
}

// defaultChoice is what the consent page chooses unasked: the app's own
// conversations only, for the shortest time, every scope asked ticked.
func defaultChoice() consentChoice {
	return consentChoice{ThreadScope: parley.ThreadScopeApp, Expiry: defaultExpiry}
}

// postedChoice is the choice a consent form posted; a thread scope or an
// expiry not among the page's choices shows as the page's default.
func postedChoice(form url.Values) consentChoice {
	c := defaultChoice()
	c.posted, c.scopes, c.threads = true, form["scope"], form["threads"]
	switch scope := form.Get("thread_scope"); scope {
	case parley.ThreadScopeApp, parley.ThreadScopeSelected, parley.ThreadScopeAll:
		c.ThreadScope = scope
	}
	if _, ok := parley.FindGrantExpiry(form.Get("expiry")); ok {
		c.Expiry = form.Get("expiry")
	}
	return c
}

// Scope reports whether the scope's box is ticked.
func (c consentChoice) Scope(s parley.Scope) bool {
	return !c.posted || slices.Contains(c.scopes, string(s))
}

// Thread reports whether the conversation's box is ticked.
func (c consentChoice) Thread(id string) bool { return slices.Contains(c.threads, id) }

func (p *Pages) handleConsent(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	ctx, next := p.proceed(w, r, id)
	if next == nil {
		return
	}
	if next.Step == service.StepSignIn {
		http.Redirect(w, r, loginURL(id), http.StatusSeeOther)
		return
	}
	con, err := p.svc.ConsentFor(ctx, id)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	p.render(w, http.StatusOK, "consent", consentPage{Title: "Connect " + con.App.Name, CSRF: p.csrfToken(w, r), Consent: con, Choice: defaultChoice()})
}

// defaultExpiry is the lifetime the consent page ticks unasked, and the one
// a form posted without its choice grants: the shortest, never "until I
// revoke it".
var defaultExpiry = parley.GrantExpiries[0].Choice

func (p *Pages) handleConsentPost(w http.ResponseWriter, r *http.Request) {
	if !p.checkCSRF(w, r) {
		return
	}
	id := r.PostFormValue("id")
	if p.unbound(w, r, id) {
		return
	}
	ctx, err := p.member(r)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	if !p.admitted(ctx, w, r) {
		return
	}
	if r.PostFormValue("action") != "approve" {
		req, err := p.svc.Deny(ctx, id)
		if err != nil {
			p.renderError(w, r, err)
			return
		}
		p.refuse(w, r, req, oauth.Denied)
		return
	}
	choice := r.PostFormValue("expiry")
	if choice == "" {
		choice = defaultExpiry
	}
	expiry := time.Duration(-1) // refused by the service as not one of the choices
	if e, ok := parley.FindGrantExpiry(choice); ok {
		expiry = e.Lifetime
	}
	d := service.Decision{
		Scopes: parley.NewScopes(r.PostForm["scope"]), ThreadScope: r.PostFormValue("thread_scope"), ThreadIDs: r.PostForm["threads"], Expiry: expiry,
	}
	if _, err := p.svc.Approve(ctx, id, d); err != nil {
		if parley.ErrorCode(err) == parley.EUNAUTHORIZED {
			// The sign-in grew older than the app allows (max_age).
			http.Redirect(w, r, loginURL(id), http.StatusSeeOther)
			return
		}
		if p.approvedBy(ctx, id, err) {
			// The same answer again (a double click, a reload of the
			// post): it goes where the first went, the callback, which
			// issues the request's one code, once.
			http.Redirect(w, r, p.provider.CallbackURL(ctx, id), http.StatusSeeOther)
			return
		}
		con, cerr := p.svc.ConsentFor(ctx, id)
		if cerr != nil || parley.ErrorCode(err) != parley.EINVALID && !con.Full() {
			p.renderError(w, r, err)
			return
		}
		page := consentPage{Title: "Connect " + con.App.Name, CSRF: p.csrfToken(w, r), Consent: con, Choice: postedChoice(r.PostForm)}
		if !con.Full() {
			// A full consent's page says why, and how to make room, itself.
			page.Error = parley.ErrorMessage(err)
		}
		p.render(w, httpapi.StatusOf(err), "consent", page)
		return
	}
	http.Redirect(w, r, p.provider.CallbackURL(ctx, id), http.StatusSeeOther)
}

// approvedBy reports whether err, an approval's, refused the request
// because the member on ctx approved it already.
func (p *Pages) approvedBy(ctx context.Context, id string, err error) bool {
	if parley.ErrorCode(err) != parley.ECONFLICT {
		return false
	}
	req, err := p.svc.AuthRequest(ctx, id)
	return err == nil && req.Done() && req.ApprovedAt != nil && req.UserID == parley.CallerFromContext(ctx).User.ID
}

// consentURL is the consent page of an app's sign-in request id.
func consentURL(id string) string { return consentPath + "?id=" + url.QueryEscape(id) }
