package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
)

// Reports: beside another member's message, Report (the flag) opens a
// form that reports it to the server's operators, with a reason and an
// optional note (service.FlagMessage); the conversation then says it was
// done. Operators read what members reported at /operator/reports, each
// message as it was when reported, and dismiss the reports or delete the
// message for everyone.

// reportReason is one reason the report form offers.
type reportReason struct{ Reason, Words string }

// reportReasons are the reasons the report form offers, in
// parley.FlagReasons' order.
var reportReasons = []reportReason{
	{parley.FlagSpam, "Spam: advertising, a scam, or the same thing again and again"},
	{parley.FlagAbuse, "Abuse: harassment, threats or hate"},
	{parley.FlagOther, "Something else: say what below, if you can"},
}

// reasonWords say each reason briefly, on the operators' page.
var reasonWords = map[string]string{parley.FlagSpam: "Spam", parley.FlagAbuse: "Abuse", parley.FlagOther: "Something else"}

// threadNotices are the notices a conversation's page shows after an
// action, by ?done=.
var threadNotices = map[string]string{
	"reported":        "Reported. The operators of this server will read the message; its sender is not told.",
	"reported-before": "You had reported this message already: the operators have it.",
}

// flag reports a message to the operators and goes back to the
// conversation, which says so.
func (p *Pages) flag(ctx context.Context, r *http.Request) (string, error) {
	f, created, err := p.svc.FlagMessage(ctx, r.PathValue("mid"), parley.Flag{Reason: r.PostFormValue("reason"), Note: formText(r, "note")})
	if err != nil {
		return "", err
	}
	done := "reported"
	if !created {
		done = "reported-before"
	}
	return threadURL(f.ThreadID) + "?done=" + done + "#m" + strconv.FormatInt(f.Seq, 10), nil
}

const operatorReportsPath = operatorPath + "/reports"

// reportsPage is what the operators' page of reports shows.
type reportsPage struct {
	Title, CSRF string
	Me          parley.UserRef
	Messages    []service.FlaggedMessage
	// Reports is how many reports the page shows.
	Reports int
	// Notice says what the last decision did.
	Notice string
	// Full is set when the page shows service.MaxOpenFlags reports, and
	// there may be more.
	Full bool
}

// countFlags returns how many flags the messages have.
func countFlags(flagged []service.FlaggedMessage) int {
	n := 0
	for _, m := range flagged {
		n += len(m.Flags)
	}
	return n
}

func (p *Pages) handleOperatorReports(w http.ResponseWriter, r *http.Request) {
	ctx, err := p.member(r)
	if err != nil {
		p.renderError(w, r, parley.Errorf(parley.ENOTFOUND, "not found"))
		return
	}
	flagged, err := p.svc.OpenFlags(ctx)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	n := countFlags(flagged)
	p.render(w, http.StatusOK, "reports", reportsPage{
		Title: "Reports", CSRF: p.csrfToken(w, r), Me: parley.CallerFromContext(ctx).User, Messages: flagged, Reports: n, Full: n == service.MaxOpenFlags,
		Notice: reportNotices[r.URL.Query().Get("done")],
	})
}

// reportDecisions maps the path's decision about a reported message to
// the service's. The form names the newest report the page showed
// (through): one made since stays open.
var reportDecisions = map[string]func(*service.Service, context.Context, string, string) error{
	"dismiss": (*service.Service).DismissFlags,
	"delete":  (*service.Service).DeleteFlaggedMessage,
}

// reportNotices are the notices the reports page shows after a decision,
// by ?done=.
var reportNotices = map[string]string{
	"dismiss": "Dismissed: the message stays as it is, and its reports are closed.",
	"delete":  "Deleted for everyone, and its reports are closed.",
}

func (p *Pages) handleReportDecision(w http.ResponseWriter, r *http.Request) {
	ctx, err := p.member(r)
	decide, ok := reportDecisions[r.PathValue("decision")]
	if err != nil || !ok {
		p.renderError(w, r, parley.Errorf(parley.ENOTFOUND, "not found"))
		return
	}
	if !p.checkCSRF(w, r) || !p.admitted(ctx, w, r) {
		return
	}
	if err := decide(p.svc, ctx, r.PathValue("mid"), r.PostFormValue("through")); err != nil {
		p.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, operatorReportsPath+"?done="+url.QueryEscape(r.PathValue("decision")), http.StatusSeeOther)
}
