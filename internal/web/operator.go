package web

import (
	"context"
	"html/template"
	"net/http"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
)

// The operator pages: apps waiting for review with what they ask for, the
// other apps, and the buttons that approve reach "all" or withdraw it,
// suspend and reinstate, above the record of operators' decisions; and
// the messages members reported (flags.go). The service decides
// who is an operator; to everyone else, signed in or not, the pages do
// not exist.

const operatorPath = "/operator"

// operatorDecisions maps the path's decision to the service's.
var operatorDecisions = map[string]func(*service.Service, context.Context, string) (*parley.App, error){
	"admit":     (*service.Service).ApproveApp,
	"approve":   (*service.Service).ApproveAllThreads,
	"withdraw":  (*service.Service).UnapproveAllThreads,
	"suspend":   (*service.Service).SuspendApp,
	"reinstate": (*service.Service).ReinstateApp,
}

func (p *Pages) routeOperator(mux *http.ServeMux) {
	mux.HandleFunc("GET "+operatorPath, p.handleOperator)
	mux.HandleFunc("POST "+operatorPath+"/apps/{client}/{decision}", p.handleOperatorDecision)
	mux.HandleFunc("GET "+operatorReportsPath, p.handleOperatorReports)
	mux.HandleFunc("POST "+operatorReportsPath+"/{mid}/{decision}", p.handleReportDecision)
}

// operatorPage is what the operator page shows.
type operatorPage struct {
	Title, CSRF string
	Me          parley.UserRef
	Review      *service.Review
	// Reports is how many reports wait for the operators.
	Reports int
}

func (p *Pages) handleOperator(w http.ResponseWriter, r *http.Request) {
	ctx, err := p.member(r)
	if err != nil {
		p.renderError(w, r, parley.Errorf(parley.ENOTFOUND, "not found"))
		return
	}
	review, err := p.svc.ReviewApps(ctx)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	flagged, err := p.svc.OpenFlags(ctx)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	p.render(w, http.StatusOK, "operator", operatorPage{
		Title: "App review", CSRF: p.csrfToken(w, r), Me: parley.CallerFromContext(ctx).User, Review: review, Reports: countFlags(flagged),
	})
}

func (p *Pages) handleOperatorDecision(w http.ResponseWriter, r *http.Request) {
	ctx, err := p.member(r)
	decide, ok := operatorDecisions[r.PathValue("decision")]
	if err != nil || !ok {
		p.renderError(w, r, parley.Errorf(parley.ENOTFOUND, "not found"))
		return
	}
	if !p.checkCSRF(w, r) || !p.admitted(ctx, w, r) {
		return
	}
	if _, err := decide(p.svc, ctx, r.PathValue("client")); err != nil {
		p.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, operatorPath, http.StatusSeeOther)
}

// operatorFuncs are the operator pages' own template functions; they
// share the messenger's (messengerFuncs), "name" among them.
var operatorFuncs = template.FuncMap{"decision": describeDecision, "reviewItem": newReviewItem, "reason": func(r string) string { return reasonWords[r] },
	"navItem": func(current string, me parley.UserRef, reports int) operatorNav {
		return operatorNav{Current: current, Me: me, Reports: reports}
	}}

// operatorNav is the operator pages' row of links, with the page shown.
type operatorNav struct {
	Current string
	Me      parley.UserRef
	// Reports is how many reports wait for the operators.
	Reports int
}

// reviewItem is one app on the operator page with the decisions its
// buttons make.
type reviewItem struct {
	service.AppReview
	CSRF      string
	Decisions []string
}

func newReviewItem(page operatorPage, app service.AppReview, decisions ...string) reviewItem {
	return reviewItem{AppReview: app, CSRF: page.CSRF, Decisions: decisions}
}

// decisionWords says what each recorded decision was, after who made it.
var decisionWords = map[string]string{
	parley.ActionUserAdd:              "created the account of",
	parley.ActionGrantOperator:        "made an operator:",
	parley.ActionRevokeOperator:       "ended operator rights of",
	parley.ActionAppApproveAll:        "approved reach “all” for",
	parley.ActionAppSuspend:           "suspended",
	parley.ActionAppReinstate:         "reinstated",
	parley.ActionAppApprove:           "approved",
	parley.ActionAppUnapprove:         "withdrew reach “all” from",
	parley.ActionAppDelete:            "deleted",
	parley.ActionAppAdd:               "registered",
	parley.ActionUserPassword:         "set a new password for",
	parley.ActionUserDisable:          "disabled",
	parley.ActionUserEnable:           "enabled",
	parley.ActionUserSignOut:          "signed out",
	parley.ActionUserRename:           "gave a new display name to",
	parley.ActionUserDelete:           "deleted the account of",
	parley.ActionKeysRotate:           "rotated the provider's",
	parley.ActionKeysMove:             "moved the provider's keys to",
	parley.ActionFlagsDismiss:         "dismissed the reports of a message by",
	parley.ActionFlaggedMessageDelete: "deleted a reported message by",
	parley.ActionAppRedirectChanged:   "changed the redirect URIs, withdrawing reach “all”, of",
}

// describeDecision says in words what a recorded decision was.
func describeDecision(action string) string {
	if words, ok := decisionWords[action]; ok {
		return words
	}
	return action
}
