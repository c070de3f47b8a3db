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
// and a way out (the bar's own Sign out is hidden on a phone's narrow
// screen), a download of everything Parley keeps of theirs
// (service.Export), and the deletion of their account, which asks for the
// password again and a ticked box, and then signs them out.

const (
	accountDataPath   = "/account/data"
	accountExportPath = "/account/export"
	accountDeletePath = "/account/delete"
)

func (p *Pages) routeMemberData(mux *http.ServeMux) {
	mux.HandleFunc("GET "+accountDataPath, p.handleAccountData)
	mux.HandleFunc("GET "+accountExportPath, p.handleAccountExport)
	mux.HandleFunc("POST "+accountDeletePath, p.handleAccountDelete)
}

// dataPage is what the account page shows.
type dataPage struct {
	shell
	// Error says why the account was not deleted.
	Error string
}

// sectionAccount marks the account page, under the bar's avatar.
const sectionAccount = "account"

// accountShell returns the shell of the account page.
func (p *Pages) accountShell(ctx context.Context, w http.ResponseWriter, r *http.Request) (shell, error) {
	sh, err := p.newShell(ctx, w, r, "Your account", "")
	sh.Section = sectionAccount
	return sh, err
}

func (p *Pages) handleAccountData(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.accountMember(w, r)
	if !ok {
		return
	}
	sh, err := p.accountShell(ctx, w, r)
	if err != nil {
		p.renderError(w, err)
		return
	}
	p.render(w, http.StatusOK, "data", dataPage{shell: sh})
}

func (p *Pages) handleAccountExport(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.accountMember(w, r)
	if !ok {
		return
	}
	e, err := p.svc.Export(ctx)
	if err != nil {
		p.renderError(w, err)
		return
	}
	if err := httpapi.WriteExport(ctx, w, e); err != nil {
		p.log.Error("write export", "err", err)
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
		err = p.svc.DeleteAccount(service.WithDeviceProof(ctx, deviceProofOf(r)), r.PostFormValue("password"))
	}
	if err == nil {
		http.SetCookie(w, p.cookie(sessionCookie, "", -time.Second))
		http.Redirect(w, r, signInPath+"?done=deleted", http.StatusSeeOther)
		return
	}
	switch parley.ErrorCode(err) {
	case parley.EINVALID, parley.EFORBIDDEN, parley.ETHROTTLED:
	default:
		p.renderError(w, err)
		return
	}
	sh, shErr := p.accountShell(ctx, w, r)
	if shErr != nil {
		p.renderError(w, shErr)
		return
	}
	p.render(w, httpapi.StatusOf(err), "data", dataPage{shell: sh, Error: parley.ErrorMessage(err)})
}
