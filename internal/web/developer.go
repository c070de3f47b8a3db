package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/reportchart"
	"github.com/parleyhq/parley/internal/service"
)

// The developer console, for members who register apps: their apps, a
// form to register one, and for each app its redirect URIs, its client
// secret (rotated and shown once; the one it replaced works on until the
// owner stops it or parley.AppSecretRotation passes), its webhook
// endpoints with their deliveries, redelivery and signing secret rotated
// (shown once, the old one signing on for parley.WebhookSecretRotation),
// and its share report as
// a chart. Everything
// goes through the service, which lets a member see and change only the
// apps they own.

const developerPath = "/account/developer"

func (p *Pages) routeDeveloper(mux *http.ServeMux) {
	mux.HandleFunc("GET "+developerPath, p.handleDeveloper)
	mux.HandleFunc("POST "+developerPath+"/apps", p.handleAppRegister)
	mux.HandleFunc("GET "+developerPath+"/apps/{app}", p.handleDevApp)
	mux.HandleFunc("GET "+developerPath+"/apps/{app}/report.svg", p.handleDevReportChart)
	mux.HandleFunc("POST "+developerPath+"/apps/{app}/delete", p.handleAppDelete)
	mux.HandleFunc("POST "+developerPath+"/apps/{app}/redirect-uris", p.handleRedirectURIs)
	mux.HandleFunc("POST "+developerPath+"/apps/{app}/secret", p.handleSecretRotate)
	mux.HandleFunc("POST "+developerPath+"/apps/{app}/secret/end-old", p.handleOldSecretEnd)
	mux.HandleFunc("POST "+developerPath+"/apps/{app}/webhooks", p.handleHookCreate)
	mux.HandleFunc("GET "+developerPath+"/apps/{app}/webhooks/{hook}", p.handleDevHook)
	mux.HandleFunc("POST "+developerPath+"/apps/{app}/webhooks/{hook}/delete", p.handleHookDelete)
	mux.HandleFunc("POST "+developerPath+"/apps/{app}/webhooks/{hook}/secret", p.handleHookSecretRotate)
	mux.HandleFunc("POST "+developerPath+"/apps/{app}/webhooks/{hook}/deliveries/{delivery}/redeliver", p.handleRedeliver)
}

func appPath(clientID string) string { return developerPath + "/apps/" + url.PathEscape(clientID) }

func hookPath(clientID, id string) string {
	return appPath(clientID) + "/webhooks/" + url.PathEscape(id)
}

// developerPage is what the console's first page shows: the member's apps
// and the form to register one, filled in again after a mistake.
type developerPage struct {
	shell
	Apps   []*parley.App
	Notice string
	Error  string
	Form   service.NewApp
	URIs   string
}

func (p *Pages) handleDeveloper(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.accountMember(w, r)
	if !ok {
		return
	}
	p.showDeveloper(w, r, ctx, http.StatusOK, developerPage{Notice: consoleNotices[r.URL.Query().Get("done")]})
}

// showDeveloper renders the console's first page, with page's form and error.
func (p *Pages) showDeveloper(w http.ResponseWriter, r *http.Request, ctx context.Context, status int, page developerPage) {
	apps, err := p.svc.MyApps(ctx)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	if page.shell, err = p.appsShell(ctx, w, r, tabDeveloper); err != nil {
		p.renderError(w, r, err)
		return
	}
	page.Apps = apps
	p.render(w, status, "developer", page)
}

// lines splits a text area into its non-empty lines.
func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (p *Pages) handleAppRegister(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedAccount(w, r)
	if !ok {
		return
	}
	in := service.NewApp{
		Name: r.PostFormValue("name"), Purpose: formText(r, "purpose"), Homepage: r.PostFormValue("homepage"),
		RedirectURIs: lines(formText(r, "redirect_uris")), Public: r.PostFormValue("client_type") == parley.ClientPublic,
		Key: r.PostFormValue("key"),
	}
	reg, err := p.svc.RegisterApp(ctx, in)
	if err == nil && reg.Again {
		http.Redirect(w, r, appPath(reg.App.ClientID)+"?done=registered", http.StatusSeeOther)
		return
	}
	if err != nil {
		// A form the member can mend, one app too many, or too many in a
		// day: said above the form.
		if code := parley.ErrorCode(err); code != parley.EINVALID && code != parley.ECONFLICT && code != parley.ETHROTTLED {
			p.renderError(w, r, err)
			return
		}
		p.showDeveloper(w, r, ctx, httpapi.StatusOf(err), developerPage{Error: parley.ErrorMessage(err), Form: in, URIs: formText(r, "redirect_uris")})
		return
	}
	p.showApp(w, r, ctx, http.StatusCreated, reg.App.ClientID, appPage{Secret: reg.ClientSecret, Notice: "Registered. Copy the client secret now: it is shown only this once."})
}

// appPage is what an app's page in the console shows.
type appPage struct {
	shell
	App    *parley.App
	Hooks  []*parley.WebhookEndpoint
	Events []string
	Notice string
	Error  string
	Secret string // a client secret just made, shown once
	Hook   *service.CreatedWebhookEndpoint
	// HookURL and HookEvents are what the endpoint form holds: what was
	// posted, after a mistake, so that nothing ticked is ticked again by
	// the page; nothing on a first load.
	HookURL    string
	HookEvents []string
	HookError  string // said by the endpoint form, where the answer to it scrolls
	URIs       string // the redirect URIs as the form holds them
	ChartURL   string
	// ReviewRequired says that operators review every member's app, and
	// so every redirect URI its owner adds.
	ReviewRequired bool
	// OldSecretUntil is when the client secret a rotation replaced stops
	// working; nil when it works no more.
	OldSecretUntil *time.Time
}

// Ticked reports whether the endpoint form holds event ticked.
func (a appPage) Ticked(event string) bool { return slices.Contains(a.HookEvents, event) }

// StateWords says what the app's state means for it, in words its
// developer can act on.
func (a appPage) StateWords() string {
	switch a.App.State {
	case parley.AppActive:
		if a.App.AllThreadsApproved {
			return "Active: members can connect it, and this server's operators approved it to reach all of a member's conversations."
		}
		return "Active: members can connect it, for the conversations they choose."
	case parley.AppPending:
		return "Waiting for this server's operators to review it: no member can connect it yet."
	case parley.AppSuspended:
		return "Suspended by this server's operators: no member can connect it, its tokens do not work and its webhooks are sent nothing new " +
			"until they reinstate it. The grants members gave it are kept, and work again then."
	}
	return a.App.State
}

// OldUntil is the app's OldSecretUntil in microseconds, "" when it has
// none. The rotation form carries it to say which secret it rotates, so
// that the form posted again (a double click, a reload of its answer) is
// refused rather than rotating the secret it just made.
func (a appPage) OldUntil() string { return microsOf(a.App.OldSecretUntil) }

func (p *Pages) handleDevApp(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.accountMember(w, r)
	if !ok {
		return
	}
	p.showApp(w, r, ctx, http.StatusOK, r.PathValue("app"), appPage{Notice: consoleNotices[r.URL.Query().Get("done")]})
}

// consoleNotices are the notices the console shows after a change, by ?done=.
var consoleNotices = map[string]string{
	"uris":        "Saved the redirect URIs.",
	"uris-review": "Saved the redirect URIs. The app waits for this server's operators to review it: until they approve it, no one can connect it and its tokens are refused.",
	"hook-gone":   "Deleted the webhook endpoint.",
	"redelivered": "The delivery is being sent again.",
	"old-secret":  "The old client secret no longer works.",
	"app-gone":    "Deleted the app: its grants have ended, and it works nowhere again.",
	"registered": "This form had registered the app already (it was sent twice, by a double click or a reload). " +
		"Its client secret, if it has one, was shown only in answer to the first: if you did not copy it, rotate it below.",
}

// showApp renders an app's page, with page's notice, error and secrets.
func (p *Pages) showApp(w http.ResponseWriter, r *http.Request, ctx context.Context, status int, clientID string, page appPage) {
	app, err := p.svc.MyApp(ctx, clientID)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	if page.Hooks, err = p.svc.WebhookEndpoints(ctx, clientID); err != nil {
		p.renderError(w, r, err)
		return
	}
	if page.shell, err = p.appsShell(ctx, w, r, app.Name); err != nil {
		p.renderError(w, r, err)
		return
	}
	page.Tab = tabDeveloper
	page.App, page.Events, page.ChartURL = app, parley.WebhookEvents, appPath(clientID)+"/report.svg"
	page.ReviewRequired = p.svc.AppsRequireReview()
	if app.OldSecretWorks(p.svc.Now()) {
		page.OldSecretUntil = app.OldSecretUntil
	}
	if page.URIs == "" {
		page.URIs = strings.Join(app.RedirectURIs, "\n")
	}
	p.render(w, status, "devapp", page)
}

// handleDevReportChart serves the app's share report of the last 14 days
// as the chart the API draws, an image the page shows with <img>: an SVG
// opened as an image runs no script, and its own policy allows none. With
// ?layout=narrow it is drawn for a phone's screen.
func (p *Pages) handleDevReportChart(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.accountMember(w, r)
	if !ok {
		return
	}
	layout := reportchart.Wide
	switch r.URL.Query().Get("layout") {
	case "":
	case "narrow":
		layout = reportchart.Narrow
	default:
		p.renderError(w, r, parley.Errorf(parley.EINVALID, "layout must be narrow, or left out"))
		return
	}
	report, err := p.svc.AppShareReport(ctx, r.PathValue("app"), service.ReportQuery{})
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.Write(layout.SVG(report))
}

func (p *Pages) handleRedirectURIs(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedAccount(w, r)
	if !ok {
		return
	}
	id := r.PathValue("app")
	app, err := p.svc.SetRedirectURIs(ctx, id, lines(formText(r, "redirect_uris")))
	if err != nil {
		if parley.ErrorCode(err) != parley.EINVALID {
			p.renderError(w, r, err)
			return
		}
		p.showApp(w, r, ctx, httpapi.StatusOf(err), id, appPage{Error: parley.ErrorMessage(err), URIs: formText(r, "redirect_uris")})
		return
	}
	done := "uris"
	if app.State == parley.AppPending {
		done = "uris-review"
	}
	http.Redirect(w, r, appPath(id)+"?done="+done, http.StatusSeeOther)
}

func (p *Pages) handleSecretRotate(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedAccount(w, r)
	if !ok {
		return
	}
	id := r.PathValue("app")
	oldUntil, err := postedOldUntil(r)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	reg, err := p.svc.RotateAppSecret(ctx, id, oldUntil)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	p.showApp(w, r, ctx, http.StatusOK, id, appPage{Secret: reg.ClientSecret,
		Notice: "A new client secret: copy it now, it is shown only this once. The old one works beside it until the time below."})
}

func (p *Pages) handleOldSecretEnd(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedAccount(w, r)
	if !ok {
		return
	}
	id := r.PathValue("app")
	if _, err := p.svc.EndOldAppSecret(ctx, id); err != nil {
		p.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, appPath(id)+"?done=old-secret", http.StatusSeeOther)
}

func (p *Pages) handleAppDelete(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedAccount(w, r)
	if !ok {
		return
	}
	if _, err := p.svc.DeleteMyApp(ctx, r.PathValue("app")); err != nil {
		p.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, developerPath+"?done=app-gone", http.StatusSeeOther)
}

func (p *Pages) handleHookCreate(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedAccount(w, r)
	if !ok {
		return
	}
	id := r.PathValue("app")
	hookURL, events := strings.TrimSpace(r.PostFormValue("url")), r.PostForm["events"]
	// The form posted again after a mistake holds what was typed and
	// ticked, not every event: posted as it comes back, it subscribes to
	// what the developer chose.
	again := appPage{HookURL: hookURL, HookEvents: events}
	if len(events) == 0 {
		again.HookError = "tick at least one event: those your app acts on"
		p.showApp(w, r, ctx, http.StatusBadRequest, id, again)
		return
	}
	hook, err := p.svc.CreateWebhookEndpoint(ctx, id, hookURL, events)
	if err != nil {
		if code := parley.ErrorCode(err); code != parley.EINVALID && code != parley.ECONFLICT && code != parley.ETHROTTLED {
			p.renderError(w, r, err)
			return
		}
		again.HookError = parley.ErrorMessage(err)
		p.showApp(w, r, ctx, httpapi.StatusOf(err), id, again)
		return
	}
	p.showApp(w, r, ctx, http.StatusCreated, id, appPage{Hook: hook})
}

func (p *Pages) handleHookDelete(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedAccount(w, r)
	if !ok {
		return
	}
	id := r.PathValue("app")
	if err := p.svc.DeleteWebhookEndpoint(ctx, id, r.PathValue("hook")); err != nil {
		p.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, appPath(id)+"?done=hook-gone", http.StatusSeeOther)
}

// hookPage is what an endpoint's page shows: its deliveries, newest first,
// with every attempt, and its signing secret rotated.
type hookPage struct {
	shell
	App    *parley.App
	Hook   *parley.WebhookEndpoint
	Page   *service.WebhookDeliveryPage
	Next   string
	Notice string
	Error  string
	Secret string // a signing secret just made, shown once
	// OldSecretUntil is when the signing secret a rotation replaced stops
	// signing; nil when it signs no more.
	OldSecretUntil *time.Time
}

// OldUntil is the endpoint's OldSecretUntil in microseconds, "" when it
// has none. The rotation form carries it to say which secret it rotates,
// so that the form posted again (a reload of its answer, a second click)
// is refused rather than rotating the secret it just made and ending at
// once the one the receiver still uses.
func (h hookPage) OldUntil() string { return microsOf(h.Hook.OldSecretUntil) }

// Grace is how long a replaced signing secret signs beside the new one.
func (hookPage) Grace() string {
	return strconv.Itoa(int(parley.WebhookSecretRotation.Hours())) + " hours"
}

// postedOldUntil reads a rotation form's old_until, the microseconds
// microsOf wrote: nil when the form showed no older secret.
func postedOldUntil(r *http.Request) (*time.Time, error) {
	v := r.PostFormValue("old_until")
	if v == "" {
		return nil, nil
	}
	us, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, parley.Errorf(parley.EINVALID, "old_until must be a number")
	}
	t := time.UnixMicro(us)
	return &t, nil
}

// microsOf writes a time as a rotation form carries it, in microseconds;
// "" for none.
func microsOf(t *time.Time) string {
	if t == nil {
		return ""
	}
	return strconv.FormatInt(t.UnixMicro(), 10)
}

func (p *Pages) handleDevHook(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.accountMember(w, r)
	if !ok {
		return
	}
	p.showHook(w, r, ctx, http.StatusOK, hookPage{Notice: consoleNotices[r.URL.Query().Get("done")]})
}

// showHook renders the page of the request's endpoint, with page's
// notice, error and secret.
func (p *Pages) showHook(w http.ResponseWriter, r *http.Request, ctx context.Context, status int, hp hookPage) {
	id, hookID := r.PathValue("app"), r.PathValue("hook")
	app, err := p.svc.MyApp(ctx, id)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	hook, err := p.svc.WebhookEndpoint(ctx, id, hookID)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	cursor := ""
	if r.Method == http.MethodGet {
		cursor = r.URL.Query().Get("cursor")
	}
	page, err := p.svc.WebhookDeliveries(ctx, id, hookID, cursor, 0)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	sh, err := p.appsShell(ctx, w, r, "Deliveries to "+hook.URL)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	sh.Tab = tabDeveloper
	hp.shell, hp.App, hp.Hook, hp.Page = sh, app, hook, page
	if hook.OldSecretUntil != nil && p.svc.Now().Before(*hook.OldSecretUntil) {
		hp.OldSecretUntil = hook.OldSecretUntil
	}
	if page.NextCursor != "" {
		hp.Next = hookPath(id, hookID) + "?cursor=" + url.QueryEscape(page.NextCursor)
	}
	p.render(w, status, "devhook", hp)
}

// handleHookSecretRotate gives the endpoint a new signing secret, shown
// once; the old one signs beside it for parley.WebhookSecretRotation.
func (p *Pages) handleHookSecretRotate(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedAccount(w, r)
	if !ok {
		return
	}
	id, hookID := r.PathValue("app"), r.PathValue("hook")
	oldUntil, err := postedOldUntil(r)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	rotated, err := p.svc.RotateWebhookSecret(ctx, id, hookID, &service.SecretShown{OldUntil: oldUntil})
	if parley.ErrorCode(err) == parley.ECONFLICT {
		p.showHook(w, r, ctx, http.StatusConflict, hookPage{Error: parley.ErrorMessage(err)})
		return
	} else if err != nil {
		p.renderError(w, r, err)
		return
	}
	p.showHook(w, r, ctx, http.StatusOK, hookPage{Secret: rotated.Secret,
		Notice: "A new signing secret: copy it now, it is shown only this once. The old one signs beside it until the time below."})
}

func (p *Pages) handleRedeliver(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedAccount(w, r)
	if !ok {
		return
	}
	id, hookID := r.PathValue("app"), r.PathValue("hook")
	if err := p.svc.RedeliverWebhook(ctx, id, hookID, r.PathValue("delivery")); err != nil {
		// A page shown before the endpoint was disabled: said on its page.
		if parley.ErrorCode(err) != parley.ECONFLICT {
			p.renderError(w, r, err)
			return
		}
		p.showHook(w, r, ctx, http.StatusConflict, hookPage{Error: parley.ErrorMessage(err)})
		return
	}
	http.Redirect(w, r, hookPath(id, hookID)+"?done=redelivered", http.StatusSeeOther)
}
