// Package oauth is Parley's OAuth 2.0 authorization server and OpenID
// Connect provider: the protocol machinery of zitadel/oidc's op package with
// its storage an adapter over internal/service, which decides (storage.go).
//
// What Parley adds to the library, and where:
//   - PKCE with S256 for every client and exact redirect URIs (RFC 9700
//     section 2.1.1), in CreateAuthRequest;
//   - single-use codes whose replay revokes what they issued, and rotating
//     refresh tokens whose reuse revokes their family, in the service;
//   - the token, introspection, revocation and userinfo endpoints to the
//     letter of RFC 6749, 6750, 7009 and 7662, in endpoints.go;
//   - the issuer in every authorization response (RFC 9207), in
//     issuerInResponses, and advertised by discovery;
//   - opaque access tokens: the token is the token ID and subject sealed with
//     AES-256-GCM; the store keeps the SHA-256 of the ID. internal/service
//     opens tokens with the same key to authenticate API calls.
//
// Members sign in and consent on internal/web's pages, which the provider
// sends them to (LoginPath) and which send them back (CallbackURL).
package oauth

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/parleyhq/parley"
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
	// LoginPath is internal/web's sign-in page, where the provider sends a
	// member with the request's ID.
	LoginPath = "/oauth2/login"
)

// Provider serves the OAuth 2.0 and OpenID Connect endpoints.
type Provider struct {
	op      *op.Provider
	issuer  string
	handler http.Handler
}

// New returns a provider whose issuer is the server's public URL. A plain
// http issuer is accepted for loopback and development use.
func New(issuer string, svc *service.Service, keys *Keys, log *slog.Logger) (*Provider, error) {
	issuer = strings.TrimSuffix(issuer, "/")
	cfg := &op.Config{
		CodeMethodS256:        true,
		GrantTypeRefreshToken: true,
		SupportedScopes:       parley.AllScopes().Strings(),
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "azp", "at_hash",
			"c_hash", "amr", "name", "preferred_username"},
	}
	opts := []op.Option{
		op.WithCrypto(keys.Sealer),
		op.WithLogger(log),
		op.WithCustomEndpoints(op.NewEndpoint(AuthorizePath), op.NewEndpoint(TokenPath), op.NewEndpoint(UserinfoPath),
			op.NewEndpoint(RevocationPath), op.NewEndpoint(endSessionPath), op.NewEndpoint(KeysPath)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(IntrospectionPath)),
	}
	if strings.HasPrefix(issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	st := &storage{svc: svc, keys: keys, loginURL: LoginPath}
	provider, err := op.NewProvider(cfg, st, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return nil, err
	}
	p := &Provider{op: provider, issuer: issuer}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DiscoveryPath, p.handleDiscovery)
	secure := strings.HasPrefix(issuer, "https://")
	mux.Handle(AuthorizePath+"/", issuerInResponses(requireBoundRequest(provider), issuer, secure))
	mux.Handle(AuthorizePath, issuerInResponses(provider, issuer, secure))
	mux.Handle(PathPrefix, provider)
	endpoints := newEndpoints(provider, st, log)
	for _, path := range []string{TokenPath, IntrospectionPath, RevocationPath, UserinfoPath} {
		mux.Handle(path, endpoints)
	}
	p.handler = mux
	return p, nil
}

// ServeHTTP serves discovery and everything under /oauth2/ but the pages.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.handler.ServeHTTP(w, r) }

// Issuer returns the issuer identifier: the server's public URL.
func (p *Provider) Issuer() string { return p.issuer }

// CallbackURL is where the consent page sends the member once a request is
// approved: the provider then issues the code and redirects to the app.
func (p *Provider) CallbackURL(ctx context.Context, requestID string) string {
	return op.AuthCallbackURL(p.op)(op.ContextWithIssuer(ctx, p.issuer), requestID)
}

// DenyURL is where the consent page sends the member who said no: the app's
// redirect URI with error access_denied, its state and the issuer.
func (p *Provider) DenyURL(r *parley.AuthRequest) (string, error) {
	e := oidc.ErrAccessDenied().WithDescription("the member did not allow access")
	e.State = r.State
	u, err := op.AuthResponseURL(r.RedirectURI, oidc.ResponseTypeCode, oidc.ResponseMode(r.ResponseMode), e, p.op.Encoder())
	if err != nil {
		return "", err
	}
	return withIssuer(u, p.issuer), nil
}

// handleDiscovery serves the library's discovery document, narrowed to what
// Parley supports and with RFC 9207's flag added.
func (p *Provider) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	d := op.CreateDiscoveryConfig(op.ContextWithIssuer(r.Context(), p.issuer), p.op, p.op.Storage())
	d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	d.ResponseModesSupported = []string{string(oidc.ResponseModeQuery)}
	d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	// Confidential clients authenticate with their secret, public ones with
	// their client_id alone, at each endpoint (clientCredentials).
	auth := []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	d.TokenEndpointAuthMethodsSupported = auth
	d.IntrospectionEndpointAuthMethodsSupported = auth
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
const requestCookiePrefix = "parley_req_"

// Bound reports whether the request comes from the browser that started
// sign-in request id.
func Bound(r *http.Request, id string) bool {
	c, err := r.Cookie(requestCookiePrefix + id)
	return id != "" && err == nil && c.Value == "1"
}

// requireBoundRequest guards the callback that issues codes.
func requireBoundRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Bound(r, r.URL.Query().Get("id")) {
			http.Error(w, "This sign-in was started in another browser. Start again from the app.", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// issuerInResponses adds the iss parameter to every authorization response
// the provider redirects to an app with, success or error (RFC 9207), so an
// app talking to several servers can tell which one answered. A redirect to
// the sign-in page binds the request to the browser.
func issuerInResponses(next http.Handler, issuer string, secure bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&issuerWriter{ResponseWriter: w, issuer: issuer, secure: secure}, r)
	})
}

type issuerWriter struct {
	http.ResponseWriter
	issuer string
	secure bool
	wrote  bool
}

func (w *issuerWriter) WriteHeader(code int) {
	if !w.wrote && code >= 300 && code < 400 {
		if loc := w.Header().Get("Location"); strings.HasPrefix(loc, LoginPath+"?") {
			if u, err := url.Parse(loc); err == nil {
				http.SetCookie(w, &http.Cookie{
					Name: requestCookiePrefix + u.Query().Get("id"), Value: "1", Path: PathPrefix,
					MaxAge: int(parley.AuthRequestTTL.Seconds()), HttpOnly: true, Secure: w.secure, SameSite: http.SameSiteLaxMode,
				})
			}
		} else if loc != "" {
			w.Header().Set("Location", withIssuer(loc, w.issuer))
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
// a code or an error. Other redirects, such as to the sign-in page, stay.
func withIssuer(location, issuer string) string {
	u, err := url.Parse(location)
	if err != nil {
		return location
	}
	q := u.Query()
	if !q.Has("code") && !q.Has("error") {
		return location
	}
	q.Set("iss", issuer)
	u.RawQuery = q.Encode()
	return u.String()
}
