package web

import (
	"context"
	"net/http"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
)

// The member's own pages: the apps connected to their account, with a
// button to revoke each, and their access log, per app, with whether its
// chain verifies. They sign in with the same session cookie as the
// sign-in pages of "Sign in with Parley".

const (
	accountSignInPath = "/account/sign-in"
	accountAppsPath   = "/account/apps"
	accountRevokePath = "/account/apps/revoke"
	accountLogPath    = "/account/access-log"
)

func (p *Pages) handleAccountSignIn(w http.ResponseWriter, r *http.Request) {
	if _, err := p.member(r); err == nil {
		http.Redirect(w, r, accountAppsPath, http.StatusSeeOther)
		return
	}
	p.render(w, http.StatusOK, "login", loginPage{Title: "Sign in", Action: accountSignInPath, CSRF: p.csrfToken(w, r)})
}

func (p *Pages) handleAccountSignInPost(w http.ResponseWriter, r *http.Request) {
	if !p.checkCSRF(w, r) {
		return
	}
	if p.signIn(w, r, loginPage{Title: "Sign in", Action: accountSignInPath}) {
		http.Redirect(w, r, accountAppsPath, http.StatusSeeOther)
	}
}

// appsPage is what the connected apps page shows.
type appsPage struct {
	Title, CSRF string
	Member      parley.UserRef
	Apps        []*parley.ConnectedApp
}

func (p *Pages) handleAccountApps(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.accountMember(w, r)
	if !ok {
		return
	}
	apps, err := p.svc.ConnectedApps(ctx)
	if err != nil {
		p.renderError(w, err)
		return
	}
	p.render(w, http.StatusOK, "apps", appsPage{
		Title: "Connected apps", CSRF: p.csrfToken(w, r), Member: parley.CallerFromContext(ctx).User, Apps: apps,
	})
}

func (p *Pages) handleAccountRevoke(w http.ResponseWriter, r *http.Request) {
	if !p.checkCSRF(w, r) {
		return
	}
	ctx, ok := p.accountMember(w, r)
	if !ok {
		return
	}
	if err := p.svc.RevokeGrant(ctx, r.PostFormValue("grant")); err != nil {
		p.renderError(w, err)
		return
	}
	http.Redirect(w, r, accountAppsPath, http.StatusSeeOther)
}

// logPage is what the access log page shows.
type logPage struct {
	Title        string
	Member       parley.UserRef
	App          string // the client ID the page keeps to, if any
	Page         *service.AccessLogPage
	Verification *service.Verification
}

func (p *Pages) handleAccountLog(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.accountMember(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	app := q.Get("app")
	page, err := p.svc.AccessLog(ctx, service.AccessLogQuery{ClientID: app, Cursor: q.Get("cursor")})
	if err != nil {
		p.renderError(w, err)
		return
	}
	v, err := p.svc.VerifyAccessLog(ctx)
	if err != nil {
		p.renderError(w, err)
		return
	}
	title := "Access log"
	if app != "" {
		title = "Access log of one app"
		if len(page.Entries) > 0 {
			title = "What " + page.Entries[0].AppName + " did"
		}
	}
	p.render(w, http.StatusOK, "accesslog", logPage{
		Title: title, Member: parley.CallerFromContext(ctx).User, App: app, Page: page, Verification: v,
	})
}

// accountMember returns the request's context with its signed-in member,
// or sends the browser to sign in first.
func (p *Pages) accountMember(w http.ResponseWriter, r *http.Request) (context.Context, bool) {
	ctx, err := p.member(r)
	if err != nil {
		http.Redirect(w, r, accountSignInPath, http.StatusSeeOther)
		return nil, false
	}
	return ctx, true
}

// actionWords says in plain words what each access log action was.
var actionWords = map[string]string{
	string(parley.ScopeProfile):          "Read your username and display name",
	string(parley.ScopeFriendsRead):      "Read your list of friends",
	string(parley.ScopeThreadsRead):      "Read your conversations' titles and activity",
	string(parley.ScopeParticipantsRead): "Read who is in a conversation",
	string(parley.ScopeMessagesRead):     "Read messages in a conversation",
	string(parley.ScopeMessagesWrite):    "Sent a message",
	string(parley.ScopeMessagesDelete):   "Deleted a message",
	string(parley.ScopeSharesWrite):      "Shared a link",
	parley.ActionGrantCreated:            "You connected it",
	parley.ActionGrantWidened:            "You gave it more access",
	parley.ActionGrantExpired:            "Its access expired",
	parley.ActionGrantRevoked:            "You revoked its access",
	parley.ActionThreadClosed:            "Closed a conversation to all apps",
	parley.ActionThreadReopened:          "Reopened a conversation to apps",
}

// describeAction returns an action in plain words, or as it is.
func describeAction(action string) string {
	if words, ok := actionWords[action]; ok {
		return words
	}
	return action
}

// formatDate writes a time for the pages, in UTC.
func formatDate(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") }
