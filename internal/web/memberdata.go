package web

import (
	"context"
	"net/http"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/service"
)

// The member's account page, which the bar's avatar opens: who is signed in
// and a way out, here or everywhere else (the bar's own Sign out is hidden
// on a phone's narrow screen), their display name
// (service.SetDisplayName), a new password (service.ChangePassword), a
// download of everything Parley keeps of theirs (service.Export), and the
// deletion of their account, which asks for the password again and a
// ticked box, and then signs them out.

const (
	accountDataPath     = "/account/data"
	accountOthersPath   = "/account/sign-out-others"
	accountNamePath     = "/account/name"
	accountPasswordPath = "/account/password"
	accountExportPath   = "/account/export"
	accountDeletePath   = "/account/delete"
)

func (p *Pages) routeMemberData(mux *http.ServeMux) {
	mux.HandleFunc("GET "+accountDataPath, p.handleAccountData)
	mux.HandleFunc("POST "+accountOthersPath, p.handleSignOutOthers)
	mux.HandleFunc("POST "+accountNamePath, p.handleNameChange)
	mux.HandleFunc("POST "+accountPasswordPath, p.handlePasswordChange)
	mux.HandleFunc("GET "+accountExportPath, p.handleAccountExport)
	mux.HandleFunc("POST "+accountDeletePath, p.handleAccountDelete)
}

// dataPage is what the account page shows.
type dataPage struct {
	shell
	// Notice says what the last change did.
	Notice string
	// Name is the display name the form shows: the member's, or what they
	// sent that was refused.
	Name string
	// NameError says why the display name was not changed, PasswordError
	// why the password was not, Error why the account was not deleted.
	NameError, PasswordError, Error string
	// NewPasswordRefused says that PasswordError is about the new password,
	// not the current one: the page puts the focus on the field at fault.
	NewPasswordRefused bool
	// Confirmed keeps the deletion's box ticked when the member ticked it
	// and something else was wrong; without it, Error is about the box.
	Confirmed bool
	// Apps are the apps the member registered, which the deletion leaves
	// running for the members who use them.
	Apps []*parley.App
}

// accountNotices are the account page's notices after a change, by ?done=.
var accountNotices = map[string]string{
	"name":     "Your name is saved.",
	"others":   "You are signed out everywhere else.",
	"password": "Your password is changed, and you are signed out everywhere else.",
}

// sectionAccount marks the account page, under the bar's avatar.
const sectionAccount = "account"

// accountPage returns the account page, the member as the store has them
// now: a node may have taken its caller, and the name in it, from its cache.
func (p *Pages) accountPage(ctx context.Context, w http.ResponseWriter, r *http.Request) (dataPage, error) {
	sh, err := p.newShell(ctx, w, r, "Your account", "")
	if err != nil {
		return dataPage{}, err
	}
	sh.Section = sectionAccount
	me, err := p.svc.Me(ctx)
	if err != nil {
		return dataPage{}, err
	}
	sh.Me = me.Ref()
	apps, err := p.svc.MyApps(ctx)
	if err != nil {
		return dataPage{}, err
	}
	return dataPage{shell: sh, Name: me.DisplayName, Apps: apps}, nil
}

func (p *Pages) handleAccountData(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.accountMember(w, r)
	if !ok {
		return
	}
	page, err := p.accountPage(ctx, w, r)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	page.Notice = accountNotices[r.URL.Query().Get("done")]
	p.render(w, http.StatusOK, "data", page)
}

// handleSignOutOthers ends every session of the member's but this
// browser's.
func (p *Pages) handleSignOutOthers(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedAccount(w, r)
	if !ok {
		return
	}
	if _, err := p.svc.SignOutOthers(ctx); err != nil {
		p.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, accountDataPath+"?done=others", http.StatusSeeOther)
}

// handleNameChange gives the member the display name they sent; otherwise
// it shows the page again with why nothing changed, and the name as sent.
func (p *Pages) handleNameChange(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedAccount(w, r)
	if !ok {
		return
	}
	name := r.PostFormValue("display_name")
	if _, err := p.svc.SetDisplayName(ctx, name); err != nil {
		p.renderAccountError(w, r, ctx, err, func(page *dataPage, msg string) { page.Name, page.NameError = name, msg })
		return
	}
	http.Redirect(w, r, accountDataPath+"?done=name", http.StatusSeeOther)
}

// handlePasswordChange gives the member the new password once they gave
// their current one, and keeps the browser's proof that it signed in
// (knowndevice.go) good under it; otherwise it shows the page again with
// why nothing changed.
func (p *Pages) handlePasswordChange(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedAccount(w, r)
	if !ok {
		return
	}
	proof, err := p.svc.ChangePassword(service.WithDeviceProof(ctx, p.deviceProofOf(r)), r.PostFormValue("current"), r.PostFormValue("new"))
	if err == nil {
		http.SetCookie(w, p.cookies.New(deviceCookie, proof, service.DeviceProofTTL))
		http.Redirect(w, r, accountDataPath+"?done=password", http.StatusSeeOther)
		return
	}
	p.renderAccountError(w, r, ctx, err, func(page *dataPage, msg string) {
		page.PasswordError, page.NewPasswordRefused = msg, parley.ErrorCode(err) == parley.EINVALID
	})
}

func (p *Pages) handleAccountExport(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.accountMember(w, r)
	if !ok {
		return
	}
	e, err := p.svc.Export(ctx)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	a := httpapi.NewLongAnswer(w)
	if err := httpapi.WriteExport(ctx, a, e); err != nil {
		a.Fail(ctx, p.log, "write export", err)
		p.renderError(w, r, err)
	}
}

// handleAccountDelete deletes the member's account once they gave their
// password and ticked the box, and sends the signed-out browser to the
// sign-in page, which says so; otherwise it shows the page again with why
// nothing was deleted.
func (p *Pages) handleAccountDelete(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedAccount(w, r)
	if !ok {
		return
	}
	var err error = parley.Errorf(parley.EINVALID, "tick the box to confirm: nothing was deleted")
	if r.PostFormValue("confirm") == "yes" {
		err = p.svc.DeleteAccount(service.WithDeviceProof(ctx, p.deviceProofOf(r)), r.PostFormValue("password"))
	}
	if err == nil {
		http.SetCookie(w, p.cookies.New(sessionCookie, "", -time.Second))
		http.Redirect(w, r, signInPath+"?done=deleted", http.StatusSeeOther)
		return
	}
	p.renderAccountError(w, r, ctx, err, func(page *dataPage, msg string) {
		page.Error, page.Confirmed = msg, r.PostFormValue("confirm") == "yes"
	})
}

// renderAccountError shows the account page again with what was wrong
// with the member's form, which show puts in its place on the page, or
// else the error's own page.
func (p *Pages) renderAccountError(w http.ResponseWriter, r *http.Request, ctx context.Context, err error, show func(*dataPage, string)) {
	switch parley.ErrorCode(err) {
	case parley.EINVALID, parley.EFORBIDDEN, parley.ETHROTTLED:
	default:
		p.renderError(w, r, err)
		return
	}
	page, pageErr := p.accountPage(ctx, w, r)
	if pageErr != nil {
		p.renderError(w, r, pageErr)
		return
	}
	show(&page, parley.ErrorMessage(err))
	setRetryAfter(w, err)
	p.render(w, httpapi.StatusOf(err), "data", page)
}
