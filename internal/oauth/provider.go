// Package oauth is Parley's OAuth 2.0 authorization server and OpenID
// Connect provider: the protocol machinery of zitadel/oidc's op package with
// its storage an adapter over internal/service, which decides (storage.go).
//
// What Parley adds to the library, and where:
//   - PKCE with S256 for every client and exact redirect URIs but for a
//     loopback IP's port (RFC 9700 sections 2.1 and 2.1.1), in
//     CreateAuthRequest;
//   - single-use codes whose replay revokes what they issued, and rotating
//     refresh tokens whose reuse revokes their family, in the service;
//   - the token, introspection, revocation and userinfo endpoints to the
//     letter of RFC 6749, 6750, 7009 and 7662, with each app's token
//     requests and each address's failed client authentications rate
//     limited, in endpoints.go;
//   - an authorization request is refused when a parameter comes twice
//     (RFC 6749 section 3.1), on Parley's own page when the client or its
//     redirect URI is in doubt, in authorize, or when no operator vouched
//     for the app (RFC 9700 section 4.11.2), in vouchedErrors;
//   - the issuer in every authorization response (RFC 9207), in the query
//     or the fragment, in issuerInResponses, and advertised by discovery;
//   - opaque access tokens: the token is the token ID and subject sealed with
//     AES-256-GCM; the store keeps the SHA-256 of the ID. internal/service
//     opens tokens with the same keys to authenticate API calls;
//   - keys that rotate, kept in the database, wrapped or not, or in a file
//     (keys.go, keyplace.go).
//
// Members sign in and consent on internal/web's pages, which the provider
// sends them to (LoginPath) and which send them back (CallbackURL).
package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/cookie"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/service"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Paths of the provider's endpoints. Discovery lives at the issuer's
// /.well-known/openid-configuration (OpenID Connect Discovery section 4).
const (
	DiscoveryPath     = "/.well-known/openid-configuration"
	PathPrefix        = "/oauth2/"
	AuthorizePath     = "/oauth2/authorize"
	TokenPath         = "/oauth2/token"
	UserinfoPath      = "/oauth2/userinfo"
	RevocationPath    = "/oauth2/revoke"
	IntrospectionPath = "/oauth2/introspect"
	KeysPath          = "/oauth2/keys"
	endSessionPath    = "/oauth2/end_session"
	// callbackPath is where the consent page sends the member to have the
	// library issue the code (CallbackURL).
	callbackPath = AuthorizePath + "/callback"
	// LoginPath is internal/web's sign-in page, where the provider sends a
	// member with the request's ID.
	LoginPath = "/oauth2/login"
)

// Provider serves the OAuth 2.0 and OpenID Connect endpoints.
type Provider struct {
	op      *op.Provider
	storage *storage
	issuer  string
	cookies cookie.Site
	handler http.Handler
	log     *slog.Logger
	// errorPage shows the member an authorization request that cannot be
	// answered to the app; see ShowErrorsWith.
	errorPage func(w http.ResponseWriter, status int, message string)
	// unsentPage shows the member an error response not sent to an app
	// no operator vouched for; see ShowUnsentWith.
	unsentPage func(w http.ResponseWriter, r *http.Request, u Unsent)
}

// New returns a provider whose issuer is the server's public URL. A plain
// http issuer is accepted for loopback and development use. Calls with an
// app's access token (userinfo) spend the app's allowance of limits, as
// the API's do.
func New(issuer string, svc *service.Service, keys *Keys, limits httpapi.Limits, log *slog.Logger) (*Provider, error) {
	issuer = strings.TrimSuffix(issuer, "/")
	cfg := &op.Config{
		CodeMethodS256:        true,
		GrantTypeRefreshToken: true,
		SupportedScopes:       append(parley.AllScopes().Strings(), string(parley.ScopeReportsRead)),
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "azp", "at_hash",
			"c_hash", "amr", "name", "preferred_username"},
	}
	opts := []op.Option{
		op.WithCrypto(keys),
		op.WithLogger(log),
		op.WithCustomEndpoints(op.NewEndpoint(AuthorizePath), op.NewEndpoint(TokenPath), op.NewEndpoint(UserinfoPath),
			op.NewEndpoint(RevocationPath), op.NewEndpoint(endSessionPath), op.NewEndpoint(KeysPath)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(IntrospectionPath)),
		// Parley's own policy answers cross-origin requests (see crossOriginPaths).
		op.WithCORSOptions(nil),
	}
	if strings.HasPrefix(issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	st := &storage{svc: svc, keys: keys, loginURL: LoginPath}
	provider, err := op.NewProvider(cfg, st, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return nil, err
	}
	p := &Provider{
		op: provider, storage: st, issuer: issuer, errorPage: plainErrorPage, unsentPage: plainUnsentPage,
		cookies: cookie.SiteOf(issuer), log: log,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DiscoveryPath, p.handleDiscovery)
	// The pages send the member to the callback, by a redirect: a GET.
	mux.Handle("GET "+callbackPath, p.issuerInResponses(p.requireBoundRequest(provider)))
	// A browser comes by GET, or by POST (OpenID Connect Core section
	// 3.1.2.1); any other method is answered as on every path (Unmatched).
	authorize := p.authorize(p.issuerInResponses(provider))
	mux.Handle("GET "+AuthorizePath, authorize)
	mux.Handle("POST "+AuthorizePath, authorize)
	mux.Handle("GET "+KeysPath, provider)
	endpoints := newEndpoints(provider, st, limits, log)
	for _, path := range []string{TokenPath, IntrospectionPath, RevocationPath, UserinfoPath} {
		mux.Handle(path, endpoints)
	}
	// Any other path, end_session's among them, is not found, and a method
	// a path does not take is not allowed, as problems, as the API answers
	// them: the library's router would answer in plain text. No
	// RP-initiated logout: discovery names no end_session_endpoint, and
	// members sign out on Parley's own pages.
	mux.Handle("/", httpapi.Unmatched(mux))
	cross := httpapi.CrossOrigin(mux)
	p.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(crossOriginPaths, r.URL.Path) {
			cross.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	return p, nil
}

// crossOriginPaths are the paths a page of an app's own origin may call
// (httpapi.CrossOrigin): what a single-page app fetches to sign in and
// use its tokens. The pages the member's browser is sent to, authorize
// and the callback among them, are no such call.
var crossOriginPaths = []string{DiscoveryPath, KeysPath, TokenPath, IntrospectionPath, RevocationPath, UserinfoPath}

// ServeHTTP serves discovery and everything under /oauth2/ but the pages:
// the endpoints, and a problem (RFC 9457) for any other path.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.handler.ServeHTTP(w, r) }

// Issuer returns the issuer identifier: the server's public URL.
func (p *Provider) Issuer() string { return p.issuer }

// CallbackURL is where the consent page sends the member once a request is
// approved: the provider then issues the code and redirects to the app.
func (p *Provider) CallbackURL(ctx context.Context, requestID string) string {
	return op.AuthCallbackURL(p.op)(op.ContextWithIssuer(ctx, p.issuer), requestID)
}

// ShowErrorsWith sets the page that shows the member an authorization
// request the provider cannot answer to the app, because its client or
// redirect URI is in doubt (RFC 6749 section 4.1.2.1), with status 400, or
// because the server failed to look them up, with status 503 (the failure
// logged, but for a database out of reach, which the server logs once as
// it begins and once as it ends, and which the answer gives Retry-After
// for). Until it is set, the message goes out as plain text.
func (p *Provider) ShowErrorsWith(page func(w http.ResponseWriter, status int, message string)) {
	p.errorPage = page
}

func plainErrorPage(w http.ResponseWriter, status int, message string) {
	http.Error(w, message, status)
}

// Unsent is an authorization error response the provider did not send to
// the app by itself, because no operator vouched for the app
// (service.AppVouchedFor): any member may register one, with a redirect
// URI on any site, and an error response sent there at once would make
// Parley's address a way to that site with no page of Parley's, an open
// redirector (RFC 9700 section 4.11.2). The member is shown why the app's
// request could not be accepted, and may go back to the app by URL.
type Unsent struct {
	// AppName is the app's name, Host its redirect URI's host (or scheme,
	// for a native app's URI without one).
	AppName, Host string
	// Error and Description are the error response's error and
	// error_description.
	Error, Description string
	// URL is the error response at the app's redirect URI.
	URL string
}

// ShowUnsentWith sets the page that shows the member an error response
// not sent to an app no operator vouched for (Unsent), with status 400.
// Until it is set, it goes out as plain text.
func (p *Provider) ShowUnsentWith(page func(w http.ResponseWriter, r *http.Request, u Unsent)) {
	p.unsentPage = page
}

func plainUnsentPage(w http.ResponseWriter, _ *http.Request, u Unsent) {
	http.Error(w, u.AppName+"'s request could not be accepted: "+u.Description+" ("+u.Error+"). Go back to the app at "+u.URL, http.StatusBadRequest)
}

// refuseClient shows the member why the request's client is refused: it
// is unknown or suspended, or, a failure of the server's own, could not be
// looked up (serverFailure).
func (p *Provider) refuseClient(w http.ResponseWriter, r *http.Request, err error) {
	if !p.serverFailure(w, r, err) {
		p.errorPage(w, http.StatusBadRequest, clientRefusal(err))
	}
}

// serverFailure shows the member a page, with status 503, when err is a
// failure of the server's own, and reports whether it was one. Without
// the request's client and redirect URI, looked up, nothing can go back to
// the app (RFC 6749 section 4.1.2.1). A database out of reach is no fault
// to log at every request: the server logs it once as it begins and once
// as it ends (internal/health), and the page says to try again in a few
// seconds, as its Retry-After does. Any other failure is logged.
func (p *Provider) serverFailure(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case parley.ErrorCode(err) == parley.EUNAVAILABLE:
		retryAfter(w.Header(), err)
		p.errorPage(w, http.StatusServiceUnavailable, "it cannot reach its database just now; try again in a few seconds")
	case serverError(err):
		p.log.ErrorContext(r.Context(), "oauth authorize", "path", r.URL.Path, "err", err)
		p.errorPage(w, http.StatusServiceUnavailable, "the server failed to answer; try again in a moment")
	default:
		return false
	}
	return true
}

// serverError reports whether err is a failure of the server's own, as
// hideInternal tells it to an app.
func serverError(err error) bool {
	oe, ok := errors.AsType[*oidc.Error](err)
	return ok && oe.ErrorType == oidc.ServerError
}

// Refusal is why an authorization request goes back to the app without a
// code, as the pages decide it.
type Refusal int

// Refusals (RFC 6749 section 4.1.2.1, OpenID Connect Core section 3.1.2.6).
const (
	// Denied: the member said no on the consent page (access_denied).
	Denied Refusal = iota
	// LoginRequired: the app asked that no page be shown (prompt=none),
	// but the member must sign in (login_required).
	LoginRequired
	// ConsentRequired: the app asked that no page be shown, but the
	// member must answer the consent page (consent_required).
	ConsentRequired
	// AnotherMember: the app named a member (id_token_hint), and another
	// signed in (login_required, OpenID Connect Core section 3.1.2.1).
	AnotherMember
)

// refusals are the errors the app receives; OpenID Connect's
// consent_required has no constructor in the library.
var refusals = map[Refusal]oidc.Error{
	Denied:          {ErrorType: oidc.AccessDenied, Description: "the member did not allow access"},
	LoginRequired:   {ErrorType: oidc.LoginRequired, Description: "prompt=none, but the member must sign in"},
	ConsentRequired: {ErrorType: "consent_required", Description: "prompt=none, but the member must approve the request"},
	AnotherMember:   {ErrorType: oidc.LoginRequired, Description: "another member signed in than id_token_hint names"},
}

// Refuse ends a request without a code, as the pages decide: it sends the
// member to the app's redirect URI with the error, the request's state
// and the issuer, in the response mode the app asked for. A member who
// said no on the consent page, which names the app, goes there at once;
// one the app asked not to be shown a page (prompt=none, id_token_hint)
// goes there at once only if an operator vouched for the app, and is
// shown why otherwise (Unsent). It fails, having written nothing, when
// the app may no longer sign members in or cannot be looked up.
func (p *Provider) Refuse(w http.ResponseWriter, r *http.Request, req *parley.AuthRequest, why Refusal) error {
	e := refusals[why]
	u, err := p.errorURL(req.RedirectURI, req.State, oidc.ResponseMode(req.ResponseMode), &e)
	if err != nil {
		return err
	}
	if why == Denied {
		http.Redirect(w, r, u, http.StatusSeeOther)
		return nil
	}
	app, err := p.storage.svc.OAuthApp(r.Context(), req.ClientID)
	if err != nil {
		return err
	}
	http.Redirect(p.vouchedErrors(w, r, app), r, u, http.StatusSeeOther)
	return nil
}

// errorURL is an authorization error response at redirectURI.
func (p *Provider) errorURL(redirectURI, state string, mode oidc.ResponseMode, e *oidc.Error) (string, error) {
	e.State = state
	u, err := op.AuthResponseURL(redirectURI, oidc.ResponseTypeCode, mode, e, p.op.Encoder())
	if err != nil {
		return "", err
	}
	return withIssuer(u, p.issuer), nil
}

// authorize checks at the authorization endpoint what the library takes as
// it comes. A parameter given more than once is an error (RFC 6749 section
// 3.1), and so is a request the library cannot read, or a response_mode
// other than query and fragment. While the client or the redirect URI is in
// doubt (missing, given twice, unknown, suspended, not registered exactly),
// the error is shown to the member on Parley's page and never redirected
// (RFC 6749 section 4.1.2.1); once both are certain, every error goes to the
// redirect URI, by itself only for an app an operator vouched for
// (vouchedErrors), with the state and the issuer: invalid_request,
// unsupported_response_type for a response_type other than code,
// request_uri_not_supported (OpenID Connect Core section 3.1.2.6), or
// invalid_request for an id_token_hint that is not an ID token the provider
// issued to the app (see hintRefusal). The
// library's own checks then answer to the redirect URI too: the client
// presents as native (client.ApplicationType) so that its plain-text
// refusals of registered redirect URIs cannot occur.
func (p *Provider) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			p.errorPage(w, http.StatusBadRequest, "its parameters cannot be read")
			return
		}
		dropEmpty(r.Form)
		dropEmpty(r.PostForm)
		twice := repeated(r.Form, authorizeParams)
		for _, name := range []string{"client_id", "redirect_uri"} {
			switch {
			case slices.Contains(twice, name):
				p.errorPage(w, http.StatusBadRequest, name+" is given more than once")
				return
			case r.Form.Get(name) == "":
				p.errorPage(w, http.StatusBadRequest, name+" is missing")
				return
			}
		}
		c, err := p.storage.GetClientByClientID(r.Context(), r.Form.Get("client_id"))
		if err != nil {
			p.refuseClient(w, r, err)
			return
		}
		redirectURI := r.Form.Get("redirect_uri")
		if !registeredRedirect(c.(*client).app, redirectURI) {
			p.errorPage(w, http.StatusBadRequest, "redirect_uri is not one registered for the app")
			return
		}
		state, mode := r.Form.Get("state"), oidc.ResponseMode(r.Form.Get("response_mode"))
		if slices.Contains(twice, "state") {
			state = ""
		}
		var refusal *oidc.Error
		switch req, err := op.ParseAuthorizeRequest(r, p.op.Decoder()); {
		case len(twice) > 0:
			refusal = oidc.ErrInvalidRequest().WithDescription("%s is given more than once", twice[0])
		case mode != "" && mode != oidc.ResponseModeQuery && mode != oidc.ResponseModeFragment:
			refusal, mode = oidc.ErrInvalidRequest().WithDescription("response_mode must be query or fragment"), ""
		case err != nil:
			refusal = oidc.ErrInvalidRequest().WithDescription("the request's parameters cannot be read")
		case req.ResponseType == "":
			refusal = oidc.ErrInvalidRequest().WithDescription("response_type is missing: send response_type=code")
		case req.ResponseType != oidc.ResponseTypeCode:
			refusal = &oidc.Error{ErrorType: "unsupported_response_type", Description: "only response_type=code is supported"}
		case len(req.Scopes) == 0:
			// RFC 6749 section 3.3: without a default, a request with no
			// scope is invalid_scope (the library says invalid_request).
			refusal = oidc.ErrInvalidScope().WithDescription("scope is missing: ask for openid and what the app needs, of %s", parley.AllScopes())
		case r.Form.Get("request_uri") != "":
			// Discovery says request_uri_parameter_supported: false; the
			// library would go on without the parameters it names.
			refusal = &oidc.Error{ErrorType: "request_uri_not_supported", Description: "request_uri is not supported: send the parameters in the request"}
		case req.IDTokenHint != "":
			refusal = p.hintRefusal(r.Context(), req.IDTokenHint, req.ClientID)
		}
		guarded := p.vouchedErrors(w, r, c.(*client).app)
		if refusal == nil {
			next.ServeHTTP(guarded, r)
			return
		}
		if slices.Contains(twice, "response_mode") {
			mode = "" // the default for the code flow: query
		}
		u, err := p.errorURL(redirectURI, state, mode, refusal)
		if err != nil {
			p.errorPage(w, http.StatusBadRequest, "redirect_uri cannot be answered")
			return
		}
		http.Redirect(guarded, r, u, http.StatusFound)
	})
}

// vouchedErrors passes what is written to w through, but for an error
// response redirected to an app no operator vouched for
// (service.AppVouchedFor), which it shows the member on the page of
// ShowUnsentWith instead (Unsent). Whether the app is vouched for is
// looked up only then; a failure to look it up is logged and shows the
// page, but for a database out of reach, which shows the page of
// serverFailure.
func (p *Provider) vouchedErrors(w http.ResponseWriter, r *http.Request, app *parley.App) http.ResponseWriter {
	return &unvouchedWriter{ResponseWriter: w, request: r, provider: p, app: app}
}

type unvouchedWriter struct {
	http.ResponseWriter
	request  *http.Request
	provider *Provider
	app      *parley.App
	wrote    bool
	// shown is set once the page replaced the redirect: the redirect's
	// body is dropped.
	shown bool
}

func (w *unvouchedWriter) WriteHeader(code int) {
	if !w.wrote && code >= 300 && code < 400 {
		if u, ok := unsentOf(w.Header().Get("Location")); ok {
			if vouched, err := w.provider.vouched(w.request, w.app); !vouched {
				w.Header().Del("Location")
				w.wrote, w.shown = true, true
				if err == nil || !w.provider.serverFailure(w.ResponseWriter, w.request, err) {
					u.AppName = w.app.Name
					w.provider.unsentPage(w.ResponseWriter, w.request, u)
				}
				return
			}
		}
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *unvouchedWriter) Write(b []byte) (int, error) {
	if w.shown {
		return len(b), nil
	}
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// vouched reports whether an operator vouched for app. When it cannot be
// looked up, it is not: a database out of reach is returned, for the
// member to be told (serverFailure), and another failure is logged.
func (p *Provider) vouched(r *http.Request, app *parley.App) (bool, error) {
	ok, err := p.storage.svc.AppVouchedFor(r.Context(), app.ClientID)
	switch {
	case err == nil:
		return ok, nil
	case parley.ErrorCode(err) == parley.EUNAVAILABLE:
		return false, err
	}
	p.log.ErrorContext(r.Context(), "oauth: app vouched for", "client_id", app.ClientID, "err", err)
	return false, nil
}

// unsentOf returns the error response at location as Unsent, but for the
// app's name, or false when location is no error response: it carries no
// error in its query nor, with response_mode=fragment, in its fragment.
func unsentOf(location string) (Unsent, bool) {
	u, err := url.Parse(location)
	if err != nil {
		return Unsent{}, false
	}
	params := u.Query()
	if !params.Has("error") {
		if params, err = url.ParseQuery(u.EscapedFragment()); err != nil || !params.Has("error") {
			return Unsent{}, false
		}
	}
	host := u.Host
	if host == "" {
		host = u.Scheme + ":"
	}
	return Unsent{Host: host, Error: params.Get("error"), Description: params.Get("error_description"), URL: location}, true
}

// hintRefusal returns why an id_token_hint is refused, or nil. A hint is
// an ID token the provider issued to the app that sends it: a JWT with the
// provider as its issuer, signed by one of its keys, expired or not (OpenID
// Connect Core section 3.1.2.1 takes an expired one as a hint, "about the
// End-User's current or past authenticated session with the Client"), with
// the app among its audience. Any other hint is an invalid request
// (section 3.1.2.6): the library answers it login_required, which tells
// the app to have the member sign in, when signing in cannot help. A hint
// that is the app's, of a member other than the one signed in, keeps the
// library's and the pages' answer: the sign-in page, or login_required
// with prompt=none.
func (p *Provider) hintRefusal(ctx context.Context, hint, clientID string) *oidc.Error {
	ctx = op.ContextWithIssuer(ctx, p.issuer)
	claims, err := op.VerifyIDTokenHint[*oidc.TokenClaims](ctx, hint, p.op.IDTokenHintVerifier(ctx))
	if err != nil && !errors.As(err, &op.IDTokenHintExpiredError{}) {
		return oidc.ErrInvalidRequest().WithDescription("id_token_hint is not an ID token this server issued: send one it issued, expired or not, or none")
	}
	if !slices.Contains(claims.Audience, clientID) {
		return oidc.ErrInvalidRequest().WithDescription("id_token_hint was issued to another app: send one issued to this app, or none")
	}
	return nil
}

// authorizeParams are the parameters of an authorization request (RFC 6749
// section 4.1.1, OpenID Connect Core section 3.1.2.1 and 6, RFC 7636): only
// these are refused when given twice, as RFC 6749 section 3.1 has the
// server ignore others.
var authorizeParams = []string{
	"response_type", "client_id", "redirect_uri", "scope", "state", "response_mode", "nonce", "display", "prompt",
	"max_age", "ui_locales", "id_token_hint", "login_hint", "acr_values", "claims_locales", "claims", "request",
	"request_uri", "registration", "code_challenge", "code_challenge_method",
}

// repeated returns those of params given more than once in form, in order.
func repeated(form url.Values, params []string) []string { return givenTimes(form, params, 2) }

// given returns those of params that form holds, in order.
func given(form url.Values, params []string) []string { return givenTimes(form, params, 1) }

// givenTimes returns those of params given at least n times in form, in
// order.
func givenTimes(form url.Values, params []string, n int) []string {
	var names []string
	for _, name := range params {
		if len(form[name]) >= n {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// dropEmpty takes out of form the parameters sent without a value, which
// RFC 6749 (sections 3.1 and 3.2) has treated as if omitted: a client
// sending prompt= or scope= asks for no prompt or scope, and one sending
// client_secret= beside HTTP Basic authenticates one way. The library,
// parsing the form again, finds it parsed.
func dropEmpty(form url.Values) {
	for name, values := range form {
		if values = slices.DeleteFunc(values, func(v string) bool { return v == "" }); len(values) == 0 {
			delete(form, name)
		} else {
			form[name] = values
		}
	}
}

// handleDiscovery serves the library's discovery document, narrowed to what
// Parley supports and with RFC 9207's flag added.
func (p *Provider) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	d := op.CreateDiscoveryConfig(op.ContextWithIssuer(r.Context(), p.issuer), p.op, p.op.Storage())
	d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	d.ResponseModesSupported = []string{string(oidc.ResponseModeQuery), string(oidc.ResponseModeFragment)}
	d.GrantTypesSupported = grantTypes
	// Confidential clients authenticate with their secret, public ones with
	// their client_id alone (clientCredentials), at every endpoint but
	// introspection, which only an authenticated client may call.
	auth := []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	d.TokenEndpointAuthMethodsSupported = auth
	d.IntrospectionEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost}
	d.RevocationEndpointAuthMethodsSupported = auth
	d.TokenEndpointAuthSigningAlgValuesSupported = nil
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
	d.RevocationEndpointAuthSigningAlgValuesSupported = nil
	d.RequestObjectSigningAlgValuesSupported = nil
	d.DeviceAuthorizationEndpoint, d.CheckSessionIframe, d.EndSessionEndpoint = "", "", ""
	doc := struct {
		*oidc.DiscoveryConfiguration
		ISSParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
	}{d, true}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(doc)
}

// A sign-in request belongs to the browser that started it: when the
// authorize endpoint sends a browser to the sign-in page, it also gives it a
// cookie naming the request, and the pages and the callback that issues the
// code serve that request only to a browser holding the cookie. Without it,
// anyone who started a sign-in could lure a member to approve it and take
// the code (a login CSRF on the app).
//
// A browser keeps the cookies of its latest maxBoundRequests requests: a
// new one expires those of older requests it still holds. Kept for their
// whole 10 minutes, they piled up: an app that sends a browser to the
// authorize endpoint again and again (a redirect loop) gave it hundreds,
// until browsers dropped the server's other cookies, the member's session
// among them, to keep them, or the requests' headers outgrew what the
// server reads (431). A browser that starts more sign-ins than that at
// once loses the oldest; started again, each works. Each request keeps a
// cookie of its own, not a place in one cookie's list, so that two
// sign-ins started at once, in two tabs, do not write over each other.
// They are for the whole site, as all of the server's cookies are (package
// cookie), so they also go with the requests of pages; at most 15 short
// ones, for ten minutes after a sign-in.
const (
	requestCookiePrefix = "parley_req_"
	maxBoundRequests    = 16
)

// Bound reports whether the request comes from the browser that started
// sign-in request id.
func (p *Provider) Bound(r *http.Request, id string) bool {
	v, ok := p.cookies.Value(r, requestCookiePrefix+id)
	return id != "" && ok && v == "1"
}

// bindRequest gives the browser of r the cookie of request id, and expires
// the cookies of its other requests but the latest maxBoundRequests-1.
func (p *Provider) bindRequest(w http.ResponseWriter, r *http.Request, id string) {
	var held []string
	for _, name := range p.cookies.Names(r) {
		if other, ok := strings.CutPrefix(name, requestCookiePrefix); ok && other != id {
			held = append(held, other)
		}
	}
	slices.Sort(held) // IDs sort in the order they were made
	for _, old := range held[:max(0, len(held)-(maxBoundRequests-1))] {
		http.SetCookie(w, p.cookies.New(requestCookiePrefix+old, "", -1))
	}
	http.SetCookie(w, p.cookies.New(requestCookiePrefix+id, "1", parley.AuthRequestTTL))
}

// requireBoundRequest guards the callback that issues codes: the request
// must be the browser's own (Bound), and its app still one that may sign
// members in. An app suspended or deleted since the member's consent hears
// nothing, as at the authorization endpoint: the member is shown why
// (RFC 6749 section 4.1.2.1: no redirect for an invalid client). So is a
// request the server fails to look up, its database out of reach among
// such failures (serverFailure): its redirect URI is not known.
func (p *Provider) requireBoundRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		if !p.Bound(r, id) {
			http.Error(w, "This sign-in was started in another browser. Start again from the app.", http.StatusForbidden)
			return
		}
		req, err := p.storage.AuthRequestByID(r.Context(), id)
		if err != nil && p.serverFailure(w, r, err) {
			return
		}
		if err == nil {
			if _, err := p.storage.GetClientByClientID(r.Context(), req.GetClientID()); err != nil {
				p.refuseClient(w, r, err)
				return
			}
			if !req.Done() {
				// The member has yet to answer (a link or a reload
				// ahead of them): the library would answer the app
				// interaction_required, and the member's answer would
				// then be a second answer to the same request. They are
				// taken back to answering.
				http.Redirect(w, r, LoginPath+"?id="+url.QueryEscape(id), http.StatusSeeOther)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// clientRefusal says why an app may not sign members in, from
// GetClientByClientID's error: unknown, suspended or waiting for review.
func clientRefusal(err error) string {
	if e, ok := errors.AsType[*oidc.Error](err); ok && e.Description != "" {
		return e.Description
	}
	return "the app is unknown or suspended"
}

// issuerInResponses adds the iss parameter to every authorization response
// the provider redirects to an app with, success or error (RFC 9207), so an
// app talking to several servers can tell which one answered. A redirect to
// the sign-in page binds the request to the browser.
func (p *Provider) issuerInResponses(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&issuerWriter{ResponseWriter: w, request: r, provider: p}, r)
	})
}

type issuerWriter struct {
	http.ResponseWriter
	request  *http.Request
	provider *Provider
	wrote    bool
}

func (w *issuerWriter) WriteHeader(code int) {
	if !w.wrote && code >= 300 && code < 400 {
		if loc := w.Header().Get("Location"); strings.HasPrefix(loc, LoginPath+"?") {
			if u, err := url.Parse(loc); err == nil {
				w.provider.bindRequest(w, w.request, u.Query().Get("id"))
			}
		} else if loc != "" {
			w.Header().Set("Location", withIssuer(loc, w.provider.issuer))
		}
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *issuerWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// withIssuer adds iss to an authorization response: a redirect that carries
// a code or an error, in its query or its fragment (response_mode=fragment).
// Other redirects, such as to the sign-in page, stay.
func withIssuer(location, issuer string) string {
	u, err := url.Parse(location)
	if err != nil {
		return location
	}
	if q := u.Query(); q.Has("code") || q.Has("error") {
		q.Set("iss", issuer)
		u.RawQuery = q.Encode()
		return u.String()
	}
	if f, err := url.ParseQuery(u.EscapedFragment()); err == nil && (f.Has("code") || f.Has("error")) {
		f.Set("iss", issuer)
		u.RawFragment = f.Encode()
		u.Fragment, _ = url.PathUnescape(u.RawFragment)
		return u.String()
	}
	return location
}
