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
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/service"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The endpoints an app calls server to server: token (RFC 6749 section 3.2),
// introspection (RFC 7662), revocation (RFC 7009) and userinfo (OpenID
// Connect Core section 5.3). They are served by the library's server
// (op.RegisterServer), with the token grants overridden where Parley's rules
// differ from the library's (tokenServer), and with introspection,
// revocation and userinfo answered by Parley's own handlers on the library's
// router: the library's ones know access tokens only, require a secret of
// every client and answer some failures in plain text. Where clients
// authenticate, Parley authenticates them once, and holds them to their
// rate limits, before the library or its handlers see the request
// (endpoints.authenticated).

// newEndpoints returns the handler of the four endpoints, userinfo's calls
// held to limits.
func newEndpoints(provider *op.Provider, st *storage, limits httpapi.Limits, log *slog.Logger) http.Handler {
	ts := &tokenServer{
		LegacyServer: op.NewLegacyServer(provider, op.Endpoints{Token: op.NewEndpoint(TokenPath)}),
		st:           st,
	}
	e := &endpoints{svc: st.svc, limits: limits, log: log}
	lib := op.RegisterServer(ts, ts.Endpoints(),
		op.WithHTTPMiddleware(op.NewIssuerInterceptor(provider.IssuerFromRequest).Handler),
		op.WithServerCORSOptions(nil), // the provider's own policy answers (crossOriginPaths)
		op.WithSetRouter(func(r chi.Router) {
			r.Post(IntrospectionPath, e.handleIntrospect)
			r.Post(RevocationPath, e.handleRevoke)
			r.Get(UserinfoPath, e.handleUserinfo)
			r.Post(UserinfoPath, e.handleUserinfo)
		}),
	)
	mux := http.NewServeMux()
	mux.Handle(TokenPath, guard(supportedGrants(e.authenticated(publicClientCredentials(lib), true)), tokenParams, true))
	mux.Handle(IntrospectionPath, guard(e.authenticated(lib, true), tokenQueryParams, true))
	mux.Handle(RevocationPath, guard(e.authenticated(lib, false), tokenQueryParams, true))
	mux.Handle(UserinfoPath, guard(lib, userinfoParams, false))
	return mux
}

// The parameters each endpoint defines: the token endpoint's (RFC 6749
// sections 2.3.1, 4.1.3, 4.4.2 and 6, RFC 7636, RFC 7523's assertion),
// introspection's and revocation's (RFC 7662, RFC 7009) and userinfo's
// (RFC 6750 section 2.2). Only these are refused when sent twice or, where
// clients authenticate, in the URL: RFC 6749 sections 3.1 and 3.2 have
// the server ignore parameters it does not know, such as RFC 8707's
// resource, which a client sends once for each resource.
var (
	clientParams     = []string{"client_id", "client_secret", "client_assertion", "client_assertion_type"}
	tokenParams      = append([]string{"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "scope"}, clientParams...)
	tokenQueryParams = append([]string{"token", "token_type_hint"}, clientParams...)
	userinfoParams   = []string{"access_token"}
)

// guard answers what the four endpoints answer alike:
//   - every response, success or error, is marked not to be stored (RFC 6749
//     section 5.1, RFC 6750 section 3, RFC 7662 section 2.2);
//   - only POST is taken, and GET too for userinfo: another method is 405
//     with Allow, a problem (RFC 9457) as the provider's other paths
//     answer it, for it is no OAuth request;
//   - a parameter sent without a value is as if omitted, and one of the
//     endpoint's own (params) sent twice is invalid_request (RFC 6749
//     sections 3.1 and 3.2), whether in the query, the body or both; so is
//     the Authorization header sent twice;
//   - where clients authenticate, one of the endpoint's own parameters in
//     the URL's query is invalid_request (RFC 6749 section 3.2: they are
//     a form in the body), as logs on the way would keep it;
//   - any other parameter is left to be ignored;
//   - where clients authenticate, a request without client credentials is
//     invalid_client, and every 401 challenges for HTTP Basic (RFC 6749
//     section 5.2); at userinfo, every 400 is challenged as the
//     invalid_request of a bearer token (RFC 6750 section 3.1);
//   - every 503, a database out of reach (see unavailable), says when to
//     try again (Retry-After, RFC 9110 section 10.2.3).
func guard(next http.Handler, params []string, clientAuth bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		if clientAuth {
			w = &defaultHeader{ResponseWriter: w, status: http.StatusUnauthorized, name: "WWW-Authenticate", value: `Basic realm="parley"`}
		} else {
			w = &defaultHeader{ResponseWriter: w, status: http.StatusBadRequest, name: "WWW-Authenticate", value: `Bearer error="invalid_request"`}
		}
		// The library writes the token endpoint's errors, and a 503 of
		// its (unavailable) carries no Retry-After of its own.
		w = &defaultHeader{ResponseWriter: w, status: http.StatusServiceUnavailable, name: "Retry-After",
			value: httpapi.RetryAfter(parley.ErrDatabaseUnreachable.RetryAfter)}
		if r.Method != http.MethodPost && (clientAuth || r.Method != http.MethodGet) {
			allow := []string{http.MethodPost}
			if !clientAuth {
				allow = []string{http.MethodGet, http.MethodPost}
			}
			httpapi.MethodNotAllowed(w, r, allow)
			return
		}
		if err := r.ParseForm(); err != nil {
			writeOAuthError(w, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("the form could not be parsed"))
			return
		}
		dropEmpty(r.Form)
		dropEmpty(r.PostForm)
		if len(r.Header.Values("Authorization")) > 1 {
			// One credential a request (RFC 9110 section 11.6.2): not the
			// first of two.
			writeOAuthError(w, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("the Authorization header was sent more than once"))
			return
		}
		if inURL := given(r.URL.Query(), params); clientAuth && len(inURL) > 0 {
			// RFC 6749 section 3.2: a client's request to these endpoints
			// is a form in the body. A code, a refresh token or a secret
			// in the URL would be kept by every log on the way.
			writeOAuthError(w, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("%s goes in the request's body, not its URL", inURL[0]))
			return
		}
		if twice := repeated(r.Form, params); len(twice) > 0 {
			writeOAuthError(w, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("%s was sent more than once", twice[0]))
			return
		}
		if clientAuth {
			if _, _, err := clientCredentials(r); err != nil {
				writeOAuthError(w, statusOf(err), err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// supportedGrants answers a grant_type that discovery does not list with
// unsupported_grant_type (RFC 6749 section 5.2). The library would answer
// some of them unauthorized_client, which says the client may not use a
// grant the server supports.
func supportedGrants(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g := oidc.GrantType(r.Form.Get("grant_type")); g != "" && !slices.Contains(grantTypes, g) {
			writeOAuthError(w, http.StatusBadRequest, oidc.ErrUnsupportedGrantType().WithDescription("grant_type must be authorization_code, refresh_token or client_credentials"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// publicClientCredentials answers a public client's client_credentials
// request itself: the client authenticated as a public client does, by its
// client_id alone, but may not use the grant, which is unauthorized_client
// (RFC 6749 sections 4.4 and 5.2). The library would refuse it before
// Parley's exchange (tokenServer.ClientCredentialsExchange) is asked, as
// invalid_client with 400, which says the client failed to authenticate.
func publicClientCredentials(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if oidc.GrantType(r.Form.Get("grant_type")) == oidc.GrantTypeClientCredentials && clientOf(r.Context()).ClientType == parley.ClientPublic {
			writeOAuthError(w, http.StatusBadRequest, oidc.ErrUnauthorizedClient().WithDescription("a public app may not get a token for itself: only a confidential one, with its secret, may"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientKey is the context key of the client a request authenticated as.
type clientKey struct{}

// authenticatedClient is the client a request authenticated as and the
// secret it authenticated with, "" for a public client.
type authenticatedClient struct {
	app    *parley.App
	secret string
}

// clientOf returns the client the request authenticated as
// (endpoints.authenticated), or nil.
func clientOf(ctx context.Context) *parley.App {
	c, _ := ctx.Value(clientKey{}).(authenticatedClient)
	return c.app
}

// clientSecretOf returns the secret the client authenticated with
// (endpoints.authenticated): an app's own token lasts as long as it does.
func clientSecretOf(ctx context.Context) string {
	c, _ := ctx.Value(clientKey{}).(authenticatedClient)
	return c.secret
}

// authenticated authenticates the calling client, once, before next sees
// the request, and passes it on in the request's context: a failure is
// invalid_client (RFC 6749 section 5.2), and too many failures from the
// client's address a refusal by rate limit (see writeError). With limited,
// the request counts against the app's allowance of token requests
// (service.AdmitTokenRequest), which the token and introspection endpoints
// share.
func (e *endpoints) authenticated(next http.Handler, limited bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app, secret, ok := e.client(w, r)
		if !ok {
			return
		}
		if limited {
			if err := e.svc.AdmitTokenRequest(r.Context(), app); err != nil {
				e.writeError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, authenticatedClient{app, secret})))
	})
}

// defaultHeader adds a header, such as a challenge, to the answers of one
// status that carry none.
type defaultHeader struct {
	http.ResponseWriter
	status      int
	name, value string
}

func (w *defaultHeader) WriteHeader(code int) {
	if code == w.status && w.Header().Get(w.name) == "" {
		w.Header().Set(w.name, w.value)
	}
	w.ResponseWriter.WriteHeader(code)
}

// clientCredentials returns the client's ID and secret, from HTTP Basic
// (form-urlencoded, RFC 6749 section 2.3.1) or from the body. A public
// client sends its client_id alone. Credentials sent both ways are
// invalid_request; none at all, or a client_id that is not text (see
// parley.IsText), invalid_client.
func clientCredentials(r *http.Request) (id, secret string, _ *oidc.Error) {
	id, secret, err := sentCredentials(r)
	if err == nil && !parley.IsText(id) {
		return "", "", oidc.ErrInvalidClient().WithDescription("client_id is not valid UTF-8 or holds a NUL byte")
	}
	return id, secret, err
}

// sentCredentials returns the client credentials as sent, for
// clientCredentials.
func sentCredentials(r *http.Request) (id, secret string, _ *oidc.Error) {
	if user, pass, ok := r.BasicAuth(); ok {
		if r.PostForm.Has("client_secret") || r.PostForm.Has("client_assertion") {
			return "", "", oidc.ErrInvalidRequest().WithDescription("authenticate the client one way only (RFC 6749 section 2.3)")
		}
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return "", "", oidc.ErrInvalidClient().WithDescription("the Basic credentials are not form-urlencoded")
		}
		if form := r.PostForm.Get("client_id"); form != "" && form != id {
			return "", "", oidc.ErrInvalidRequest().WithDescription("client_id differs from the Basic credentials")
		}
		return id, secret, nil
	}
	if r.PostForm.Has("client_assertion") {
		return "", "", oidc.ErrInvalidClient().WithDescription("client assertions are not accepted: use HTTP Basic")
	}
	id = r.PostForm.Get("client_id")
	if id == "" {
		return "", "", oidc.ErrInvalidClient().WithDescription("authenticate the client: HTTP Basic, or client_id alone for a public client")
	}
	return id, r.PostForm.Get("client_secret"), nil
}

// statusOf is the status of an OAuth error (RFC 6749 section 5.2).
func statusOf(e *oidc.Error) int {
	switch e.ErrorType {
	case oidc.InvalidClient:
		return http.StatusUnauthorized
	case oidc.ServerError:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// writeOAuthError answers with an OAuth error as JSON (RFC 6749 section 5.2).
func writeOAuthError(w http.ResponseWriter, status int, e *oidc.Error) {
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// tokenServer is the library's server for the token endpoint with Parley's
// client authentication and grants.
type tokenServer struct {
	*op.LegacyServer
	st *storage
}

// VerifyClient returns the client that authenticated before any grant is
// looked at (endpoints.authenticated), so a failed authentication is always
// invalid_client with status 401 (RFC 6749 section 5.2), never
// invalid_grant. The library reads the credentials again: a client_id of
// its reading that is not the one authenticated is refused too.
func (s *tokenServer) VerifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	app := clientOf(ctx)
	if app == nil || app.ClientID != r.Data.ClientID {
		return nil, op.NewStatusError(oidc.ErrInvalidClient().WithDescription("client authentication failed"), http.StatusUnauthorized)
	}
	return &client{app: app, loginURL: s.st.loginURL}, nil
}

// CodeExchange exchanges an authorization code (RFC 6749 section 4.1.3).
// The service checks what the client presents with the code before the
// code counts as used, so a failed attempt leaves it to the legitimate
// exchange. Every code was issued with a PKCE challenge, so a missing
// code_verifier is as wrong as a wrong one (RFC 7636 section 4.6), and so
// is one too short, too long or of other characters than section 4.1
// allows, whatever its challenge.
func (s *tokenServer) CodeExchange(ctx context.Context, r *op.ClientRequest[oidc.AccessTokenRequest]) (*op.Response, error) {
	in := service.CodeExchange{Code: r.Data.Code, ClientID: r.Client.GetID(), RedirectURI: r.Data.RedirectURI}
	if r.Data.CodeVerifier != "" {
		if !wellFormedPKCE(r.Data.CodeVerifier) {
			return nil, oidc.ErrInvalidGrant().WithDescription("code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, -, ., _ and ~ (RFC 7636 section 4.1)")
		}
		in.VerifierChallenge = oidc.NewSHACodeChallenge(r.Data.CodeVerifier)
	}
	req, err := s.st.redeemCode(ctx, in)
	if err != nil {
		return nil, err
	}
	return s.tokens(ctx, req, r.Client, r.Data.Code, "")
}

// RefreshToken exchanges a refresh token for its successor (RFC 6749
// section 6), within the scopes of the original grant.
func (s *tokenServer) RefreshToken(ctx context.Context, r *op.ClientRequest[oidc.RefreshTokenRequest]) (*op.Response, error) {
	req, err := s.st.lookUpRefresh(ctx, r.Data.RefreshToken, r.Client.GetID())
	if err != nil {
		return nil, err
	}
	if err := op.ValidateRefreshTokenScopes(r.Data.Scopes, req); err != nil {
		return nil, oidc.ErrInvalidScope().WithDescription("a refresh may only narrow the scopes the member granted")
	}
	return s.tokens(ctx, req, r.Client, "", r.Data.RefreshToken)
}

// ClientCredentialsExchange issues a confidential app a token for itself
// (RFC 6749 section 4.4): no refresh token, no ID token, and only the
// reports.read scope, which reaches the app's own reports and nothing else.
// A public client is unauthorized_client; another scope, invalid_scope; a
// secret its owner stopped since it authenticated, invalid_client.
func (s *tokenServer) ClientCredentialsExchange(ctx context.Context, r *op.ClientRequest[oidc.ClientCredentialsRequest]) (*op.Response, error) {
	app := r.Client.(*client).app
	issued, scopes, err := s.st.svc.IssueClientToken(ctx, app, clientSecretOf(ctx), r.Data.Scope)
	switch parley.ErrorCode(err) {
	case "":
	case parley.EFORBIDDEN:
		return nil, oidc.ErrUnauthorizedClient().WithDescription("%s", parley.ErrorMessage(err))
	case parley.EINVALID:
		return nil, oidc.ErrInvalidScope().WithDescription("%s", parley.ErrorMessage(err))
	case parley.EUNAUTHORIZED:
		return nil, op.NewStatusError(clientError(err), http.StatusUnauthorized)
	default:
		return nil, hideInternal(err)
	}
	access, err := op.CreateBearerToken(issued.AccessID, service.ClientSubject(app.ClientID), s.Provider().Crypto())
	if err != nil {
		return nil, err
	}
	return op.NewResponse(&oidc.AccessTokenResponse{
		AccessToken: access, TokenType: oidc.BearerToken, Scope: scopes.Strings(),
		ExpiresIn: uint64(issued.ExpiresAt.Sub(s.st.svc.Now()).Round(time.Second).Seconds()),
	}), nil
}

// tokenRequest is a code's request or a refresh token's, as the library
// issues tokens for them.
type tokenRequest interface {
	op.IDTokenRequest
	op.TokenRequest
}

// tokens issues the token response (RFC 6749 section 5.1), with an ID token
// only for the openid scope (OpenID Connect Core section 3.1.2.1).
func (s *tokenServer) tokens(ctx context.Context, req tokenRequest, c op.Client, code, refresh string) (*op.Response, error) {
	access, newRefresh, validity, err := op.CreateAccessToken(ctx, req, c.AccessTokenType(), s.Provider(), c, refresh)
	if err != nil {
		return nil, err
	}
	resp := &oidc.AccessTokenResponse{
		AccessToken: access, RefreshToken: newRefresh, TokenType: oidc.BearerToken,
		ExpiresIn: uint64(validity.Seconds()), Scope: req.GetScopes(),
	}
	if slices.Contains(req.GetScopes(), oidc.ScopeOpenID) {
		if resp.IDToken, err = op.CreateIDToken(ctx, op.IssuerFromContext(ctx), req, c.IDTokenLifetime(), access, code, s.st, c); err != nil {
			return nil, err
		}
	}
	return op.NewResponse(resp), nil
}

// endpoints holds Parley's own handlers of introspection, revocation and
// userinfo.
type endpoints struct {
	svc    *service.Service
	limits httpapi.Limits
	log    *slog.Logger
}

// client authenticates the calling client, answering invalid_client when it
// fails, and returns it with the secret it sent; a public client
// authenticates with its client_id alone.
func (e *endpoints) client(w http.ResponseWriter, r *http.Request) (*parley.App, string, bool) {
	id, secret, oerr := clientCredentials(r)
	if oerr != nil {
		writeOAuthError(w, statusOf(oerr), oerr)
		return nil, "", false
	}
	app, err := e.svc.AuthenticateClient(r.Context(), id, secret)
	if err != nil {
		e.writeError(w, r, clientError(err))
		return nil, "", false
	}
	return app, secret, true
}

// clientAndToken returns the client that authenticated and the token it
// asks about (RFC 7662 section 2.1, RFC 7009 section 2.1), which it must
// send.
func clientAndToken(w http.ResponseWriter, r *http.Request) (*parley.App, string, bool) {
	token := r.PostForm.Get("token")
	if token == "" {
		writeOAuthError(w, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("token is missing"))
		return nil, "", false
	}
	return clientOf(r.Context()), token, true
}

// writeError answers with err as an OAuth error; one that is not an
// OAuth error is logged and answered as server_error. A full disk is
// server_error with 507, as the API answers it, and is logged by the
// server when it fills, not here.
//
// A request a rate limit refused is 429 with Retry-After (RFC 6585 section
// 4), which HTTP clients and proxies take as "back off", and the error
// temporarily_unavailable, saying when to try again. RFC 6749 defines no
// error for it at these endpoints; temporarily_unavailable is the one it
// defines for the same case at the authorization endpoint (section
// 4.1.2.1), where Parley answers it when an address opens too many
// requests, so an app meets one error for one case. slow_down (RFC 8628
// section 3.5) tells a device to poll less often, and is no answer to a
// client that asked once.
//
// A request the server could not serve because its database is out of
// reach is 503 with Retry-After and temporarily_unavailable too (see
// unavailable), and is not logged: the server logs the outage once as it
// begins and once as it ends (internal/health), not at every request.
func (e *endpoints) writeError(w http.ResponseWriter, r *http.Request, err error) {
	switch parley.ErrorCode(err) {
	case parley.EFULL:
		writeOAuthError(w, http.StatusInsufficientStorage, storageFull(err))
		return
	case parley.ETHROTTLED:
		retryAfter(w.Header(), err)
		writeOAuthError(w, http.StatusTooManyRequests, &oidc.Error{ErrorType: temporarilyUnavailable, Description: parley.ErrorMessage(err)})
		return
	case parley.EUNAVAILABLE:
		retryAfter(w.Header(), err)
		writeOAuthError(w, http.StatusServiceUnavailable, unavailable(err))
		return
	}
	oe, ok := errors.AsType[*oidc.Error](err)
	if !ok || oe.ErrorType == oidc.ServerError {
		// A failure of the server's own, the store's error its parent
		// when hideInternal made it.
		e.log.ErrorContext(r.Context(), "oauth endpoint", "path", r.URL.Path, "err", err)
	}
	if !ok {
		oe = oidc.ErrServerError()
	}
	writeOAuthError(w, statusOf(oe), oe)
}

// retryAfter sets Retry-After on h to the wait err says (a rate limit's, or
// an unreachable database's), if it says one.
func retryAfter(h http.Header, err error) {
	if pe, ok := errors.AsType[*parley.Error](err); ok && pe.RetryAfter > 0 {
		h.Set("Retry-After", httpapi.RetryAfter(pe.RetryAfter))
	}
}

// handleIntrospect answers token introspection (RFC 7662) for the client's
// own tokens, access and refresh alike. Any other token is inactive, with
// nothing more said (section 2.2).
func (e *endpoints) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	app, token, ok := clientAndToken(w, r)
	if !ok {
		return
	}
	if app.ClientType == parley.ClientPublic {
		// RFC 7662 section 2.1: the endpoint requires authorization, so
		// that it is no way to scan for tokens, and a public app's
		// client_id, in every authorization URL it sends, is none.
		writeOAuthError(w, http.StatusUnauthorized, oidc.ErrInvalidClient().WithDescription("a public app cannot authenticate, so it may not introspect: call userinfo with the token to learn whether it works"))
		return
	}
	resp := &oidc.IntrospectionResponse{}
	tg, err := e.svc.IntrospectToken(r.Context(), app.ClientID, token)
	switch parley.ErrorCode(err) {
	case "":
		resp.Active, resp.Scope, resp.ClientID, resp.Subject = true, tg.Scopes().Strings(), tg.Token.ClientID, tg.User.ID
		// A token stops working when its grant ends, if that comes first.
		resp.Expiration, resp.IssuedAt = oidc.FromTime(tg.Until()), oidc.FromTime(tg.Token.CreatedAt)
		resp.Audience, resp.Issuer = []string{tg.Token.ClientID}, op.IssuerFromContext(r.Context())
		// token_type is an access token's type (RFC 7662 section 2.2,
		// RFC 6749 section 5.1), which a refresh token has none of.
		if tg.Token.Kind != parley.TokenRefresh {
			resp.TokenType = oidc.BearerToken
		}
	case parley.ENOTFOUND:
	default:
		e.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleRevoke revokes one of the client's tokens (RFC 7009): an access
// token, or a refresh token with every token of its family. An unknown
// token is answered as revoked (section 2.2).
func (e *endpoints) handleRevoke(w http.ResponseWriter, r *http.Request) {
	app, token, ok := clientAndToken(w, r)
	if !ok {
		return
	}
	err := e.svc.RevokeToken(r.Context(), app.ClientID, token)
	if parley.ErrorCode(err) == parley.EFORBIDDEN {
		// RFC 7009 section 2.2.1 answers as RFC 6749 section 5.2 does,
		// where a token issued to another client is invalid_grant.
		err = oidc.ErrInvalidGrant().WithDescription("%s", parley.ErrorMessage(err))
	}
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// handleUserinfo answers the userinfo endpoint (OpenID Connect Core section
// 5.3) for an access token sent as RFC 6750 says: in the Authorization
// header, or in a form body, and one way only (section 2). Failures are
// challenged as RFC 6750 section 3 says: a bare Bearer challenge when no
// token was sent, invalid_request for a token sent two ways, invalid_token
// for a token that does not authenticate an app, insufficient_scope for
// one without openid (an app's own token, of the client-credentials grant,
// included). A call spends the app's allowance of requests, as one to the
// API with the token does, and over it is 429 with Retry-After: each is
// a read logged for the member. A call the server cannot answer because
// its database is out of reach is 503 with Retry-After and
// temporarily_unavailable (see unavailable), challenged with nothing: RFC
// 6750 section 3's challenges say what is wrong with the token, and
// nothing is known to be.
func (e *endpoints) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	token := httpapi.BearerToken(r.Header.Get("Authorization"))
	switch {
	case token != "" && r.Form.Get("access_token") != "":
		bearerError(w, http.StatusBadRequest, "invalid_request",
			"send the access token one way only: in the Authorization header or in the body (RFC 6750 section 2)", "")
		return
	case token == "" && r.Method == http.MethodPost:
		token = r.PostForm.Get("access_token")
	}
	if token == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	u, scopes, err := e.userinfo(r, w.Header(), token)
	switch parley.ErrorCode(err) {
	case "":
	case parley.EUNAUTHORIZED:
		bearerError(w, http.StatusUnauthorized, "invalid_token", parley.ErrorMessage(err), "")
		return
	case parley.ESCOPE:
		bearerError(w, http.StatusForbidden, "insufficient_scope", parley.ErrorMessage(err), string(parley.ScopeOpenID))
		return
	default:
		e.writeError(w, r, err)
		return
	}
	info := &oidc.UserInfo{Subject: u.ID}
	if scopes.Has(parley.ScopeProfile) {
		info.PreferredUsername, info.Name = u.Username, u.DisplayName
	}
	writeJSON(w, http.StatusOK, info)
}

// userinfo authenticates a userinfo call's token, admits the call by its
// caller's rate limit, setting its fields on h, and reads the member.
func (e *endpoints) userinfo(r *http.Request, h http.Header, token string) (*parley.User, parley.Scopes, error) {
	c, err := e.svc.Authenticate(r.Context(), token)
	if err != nil {
		return nil, nil, err
	}
	if err := e.limits.Admit(r, h, c, e.log); err != nil {
		return nil, nil, err
	}
	return e.svc.Userinfo(parley.NewContextWithCaller(r.Context(), c))
}

// bearerError answers a refused bearer token (RFC 6750 section 3.1), in the
// challenge and in the body alike.
func bearerError(w http.ResponseWriter, status int, code, description, scope string) {
	challenge := `Bearer error="` + code + `", error_description="` + challengeSafe(description) + `"`
	if scope != "" {
		challenge += `, scope="` + scope + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// challengeSafe keeps the characters RFC 6750 section 3 allows in a
// challenge's quoted error_description.
func challengeSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}
