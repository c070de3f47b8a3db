package oauth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// storage is op.Storage over Parley's service layer: the library asks, the
// service decides, and storage translates domain errors into the
// protocol's. Authorization requests, codes and tokens are kept by the
// service, every token, code and secret as its SHA-256 hash; members'
// consent comes through the login and consent pages.
type storage struct {
	svc      *service.Service
	keys     *Keys
	loginURL string
}

var _ op.Storage = (*storage)(nil)

// CreateAuthRequest stores a validated authorization request. On top of the
// library's checks it requires PKCE with S256 of every client (RFC 9700
// section 2.1.1), with a well-formed code_challenge, and a redirect URI
// registered for the app (registeredRedirect). hintUserID is the
// subject of the request's id_token_hint, which the library has verified
// (an expired ID token of Parley's is a hint as good as a live one), or "".
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, hintUserID string) (op.AuthRequest, error) {
	app, err := s.svc.OAuthApp(ctx, req.ClientID)
	if err != nil {
		return nil, clientError(err)
	}
	if !registeredRedirect(app, req.RedirectURI) {
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("redirect_uri must be one registered for the app, byte for byte but for the port of http on a loopback IP")
	}
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method S256 is required (RFC 7636)")
	}
	if !wellFormedPKCE(req.CodeChallenge) {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, -, ., _ and ~ (RFC 7636 section 4.2)")
	}
	for _, p := range []struct {
		name   string
		values []string
	}{{"state", []string{req.State}}, {"nonce", []string{req.Nonce}}, {"response_mode", []string{string(req.ResponseMode)}}} {
		if slices.ContainsFunc(p.values, unstorable) {
			return nil, oidc.ErrInvalidRequest().WithDescription("%s must be text of at most %d bytes, without control characters", p.name, maxParamBytes)
		}
	}
	if slices.ContainsFunc(req.Prompt, func(p string) bool { return !slices.Contains(prompts, p) }) {
		return nil, oidc.ErrInvalidRequest().WithDescription("prompt may hold only %s (OpenID Connect Core section 3.1.2.1)", strings.Join(prompts, ", "))
	}
	scopes := parley.NewScopes(req.Scopes)
	if len(scopes) == 0 {
		return nil, oidc.ErrInvalidScope().WithDescription("scope names none of the scopes Parley grants: %s", parley.AllScopes())
	}
	r := &parley.AuthRequest{
		ID: parley.NewID(), ClientID: req.ClientID, RedirectURI: req.RedirectURI, State: req.State,
		Nonce: req.Nonce, Scopes: scopes, ResponseMode: string(req.ResponseMode),
		CodeChallenge: req.CodeChallenge, Prompt: slices.Compact(slices.Sorted(slices.Values(req.Prompt))), MaxAge: maxAge(req.MaxAge),
		HintUserID: hintUserID, CreatedAt: s.svc.Now(),
	}
	if err := s.svc.CreateAuthRequest(ctx, r); err != nil {
		if parley.ErrorCode(err) == parley.ETHROTTLED {
			// An error at the redirect URI can carry no Retry-After: the
			// description says when (RFC 6749 section 4.1.2.1).
			return nil, &oidc.Error{ErrorType: temporarilyUnavailable, Description: parley.ErrorMessage(err)}
		}
		return nil, hideInternal(err)
	}
	return authRequest{r}, nil
}

// prompts are the values of the prompt parameter OpenID Connect defines;
// any other is refused, so that a request's row keeps at most these.
var prompts = []string{oidc.PromptNone, oidc.PromptLogin, oidc.PromptConsent, oidc.PromptSelectAccount}

// maxParamBytes bounds each parameter of an authorization request that
// its stored row keeps.
const maxParamBytes = 4096

// unstorable reports whether a parameter an authorization request's row
// keeps is other than text both engines store as sent. PostgreSQL refuses
// what is not UTF-8, and NUL: such a row, stored by SQLite, would stop the
// copy of the install to PostgreSQL.
func unstorable(v string) bool {
	return len(v) > maxParamBytes || !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl)
}

// wellFormedPKCE reports whether a code_verifier or a code_challenge is 43
// to 128 characters of the unreserved set (RFC 7636 sections 4.1 and 4.2),
// as S256's BASE64URL encoding of a SHA-256 hash is.
func wellFormedPKCE(c string) bool {
	return len(c) >= 43 && len(c) <= 128 && !strings.ContainsFunc(c, func(r rune) bool {
		return !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || strings.ContainsRune("-._~", r))
	})
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	r, err := s.svc.AuthRequest(ctx, id)
	if err != nil {
		return nil, hideInternal(err)
	}
	// A request refused went back to its app already, refused: the
	// library, finding it unapproved, would tell the app again, otherwise.
	if r.CodeHash != nil || r.RefusedAt != nil || s.svc.Now().Sub(r.CreatedAt) >= parley.AuthRequestTTL {
		return nil, oidc.ErrInvalidRequest().WithDescription("this authorization request is no longer open")
	}
	return authRequest{r}, nil
}

// AuthRequestByCode is not routed: codes are redeemed by redeemCode, which
// checks what the client presents with the code (tokenServer.CodeExchange).
func (s *storage) AuthRequestByCode(context.Context, string) (op.AuthRequest, error) {
	return nil, errNotRouted()
}

// redeemCode redeems a code: once, within a minute of consent, by the
// client it was issued to, with the request's PKCE verifier and redirect
// URI; a code presented again by its client revokes every token it issued.
func (s *storage) redeemCode(ctx context.Context, in service.CodeExchange) (authRequest, error) {
	r, err := s.svc.RedeemCode(ctx, in)
	if err != nil {
		return authRequest{}, grantError(err)
	}
	return authRequest{r}, nil
}

// SaveAuthCode records the one code issued for a request.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	err := s.svc.SetAuthCode(ctx, id, code)
	if parley.ErrorCode(err) == parley.ECONFLICT {
		return oidc.ErrInvalidRequest().WithDescription("%s", parley.ErrorMessage(err))
	}
	return hideInternal(err)
}

// DeleteAuthRequest is called once a code is exchanged. The request stays,
// marked used, so that a replay of its code is caught; old ones are pruned
// as new requests arrive.
func (s *storage) DeleteAuthRequest(context.Context, string) error { return nil }

// CreateAccessToken issues an access token without a refresh token.
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	access, _, exp, err := s.issue(ctx, req, "", false)
	return access, exp, err
}

// CreateAccessAndRefreshTokens issues an access token and a refresh token.
// For a refresh, the presented token is used up by the issue, so that it
// can be exchanged only once, and its successor keeps its scope, however
// the request narrowed the access token's (RFC 6749 section 6).
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	return s.issue(ctx, req, current, true)
}

// issue asks the service for the tokens of a code's request or a refresh
// token's family.
func (s *storage) issue(ctx context.Context, req op.TokenRequest, current string, withRefresh bool) (accessID, refresh string, exp time.Time, err error) {
	in := service.TokenIssue{
		UserID: req.GetSubject(), Scopes: parley.NewScopes(req.GetScopes()), Refresh: current, WithRefresh: withRefresh,
	}
	switch r := req.(type) {
	case authRequest:
		in.FamilyID, in.GrantID, in.ClientID = r.r.ID, r.r.GrantID, r.r.ClientID
	case *refreshRequest:
		in.FamilyID, in.GrantID, in.ClientID = r.token.FamilyID, r.token.GrantID, r.token.ClientID
		in.RefreshScopes = r.token.Scopes
	default:
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	t, err := s.svc.IssueTokens(ctx, in)
	if err != nil {
		return "", "", time.Time{}, grantError(err)
	}
	// The token response and the ID token say what the token may do:
	// the grant may hold less than the code's request asked.
	switch r := req.(type) {
	case authRequest:
		r.r.Scopes = t.Scopes
	case *refreshRequest:
		r.scopes = t.Scopes.Strings()
	}
	return t.AccessID, t.Refresh, t.ExpiresAt, nil
}

// lookUpRefresh looks up a refresh token, presented by the client
// clientID, for its exchange. A refresh token presented by its client
// after it was used means it leaked: the service revokes its whole family
// (RFC 9700 section 4.14.2); another client's is refused.
func (s *storage) lookUpRefresh(ctx context.Context, token, clientID string) (*refreshRequest, error) {
	ref, err := s.svc.RefreshFor(ctx, token, clientID)
	if err != nil {
		return nil, grantError(err)
	}
	return &refreshRequest{token: &ref.Token, authTime: ref.AuthTime, scopes: ref.Token.Scopes.Strings()}, nil
}

// TokenRequestByRefreshToken is not routed: the token endpoint looks a
// refresh token up with the client presenting it (lookUpRefresh).
func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errNotRouted()
}

// TerminateSession serves RP-initiated logout; Parley's sessions are
// ended from its own pages, so there is nothing to do here.
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

// errNotRouted answers the library's own paths to the userinfo,
// introspection and revocation endpoints, which are not routed: Parley
// serves them on its own terms, through the service (endpoints.go).
func errNotRouted() *oidc.Error {
	return oidc.ErrServerError().WithDescription("this endpoint is served by Parley, not the library")
}

// GetRefreshTokenInfo is not routed: see errNotRouted.
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", errNotRouted()
}

// RevokeToken is not routed: see errNotRouted.
func (s *storage) RevokeToken(context.Context, string, string, string) *oidc.Error {
	return errNotRouted()
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.keys.signing(), nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	var keys []op.Key
	for _, k := range s.keys.verifying() {
		keys = append(keys, publicKey{k})
	}
	return keys, nil
}

// GetClientByClientID returns an app that may take part: a suspended one
// can neither start a sign-in nor exchange codes and tokens.
func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	app, err := s.svc.OAuthApp(ctx, clientID)
	if err != nil {
		return nil, clientError(err)
	}
	return &client{app: app, loginURL: s.loginURL}, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	_, err := s.svc.AuthenticateClient(ctx, clientID, secret)
	return clientError(err)
}

// SetUserinfoFromScopes fills the ID token's claims, which replace its
// subject: it carries the subject alone (see IDTokenUserinfoClaimsAssertion).
func (s *storage) SetUserinfoFromScopes(_ context.Context, info *oidc.UserInfo, userID, _ string, _ []string) error {
	info.Subject = userID
	return nil
}

// SetUserinfoFromToken is not routed: see errNotRouted.
func (s *storage) SetUserinfoFromToken(context.Context, *oidc.UserInfo, string, string, string) error {
	return errNotRouted()
}

// SetIntrospectionFromToken is not routed: see errNotRouted.
func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errNotRouted()
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID would serve JWT client assertions and the JWT
// bearer grant (RFC 7523), which Parley does not accept.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, oidc.ErrUnauthorizedClient().WithDescription("JWT client authentication is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType().WithDescription("the JWT bearer grant is not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// storageFull is the server_error, answered with 507, of a write the full
// disk refused: it says so, without the store's own words.
func storageFull(err error) *oidc.Error {
	return oidc.ErrServerError().WithDescription("%s", parley.ErrorMessage(err))
}

// clientError translates the service's refusal of a client into
// invalid_client; other errors pass unchanged.
func clientError(err error) error {
	switch parley.ErrorCode(err) {
	case parley.EUNAUTHORIZED, parley.ENOTFOUND, parley.EFORBIDDEN:
		return oidc.ErrInvalidClient().WithDescription("%s", parley.ErrorMessage(err))
	}
	return hideInternal(err)
}

// grantError translates the service's refusal of a code or refresh token
// into invalid_grant, saying why (RFC 6749 section 5.2); other errors pass
// unchanged. A full disk refuses nothing: the code or token stays good,
// and the client is told to try again later, with 507 as the API tells it;
// nor does a database out of reach, which is temporarily_unavailable with
// 503 (see hideInternal), nor another failure of the server's own.
func grantError(err error) error {
	switch parley.ErrorCode(err) {
	case "", parley.EINTERNAL, parley.EUNAVAILABLE:
		return hideInternal(err)
	case parley.EFULL:
		return op.NewStatusError(storageFull(err), http.StatusInsufficientStorage)
	}
	return oidc.ErrInvalidGrant().WithDescription("%s", parley.ErrorMessage(err))
}

// hideInternal tells an app of a failure of the server's own as
// server_error, saying nothing of the server's insides: the library would
// put the error's text, the store's words among it, in error_description.
// The error is the response's parent, which whoever answers logs
// (endpoints.writeError, Provider.serverFailure, the library's handlers).
// A database out of reach is no failure to log at each request, but a
// wait, which the server logs once as it begins and once as it ends
// (internal/health): it is temporarily_unavailable with 503 (see
// unavailable). Parley's errors that an app can act on, and the library's
// own, pass unchanged; so does nil.
func hideInternal(err error) error {
	if err == nil {
		return nil
	}
	var oe *oidc.Error
	if errors.As(err, &oe) {
		return err
	}
	switch parley.ErrorCode(err) {
	case parley.EUNAVAILABLE:
		return op.NewStatusError(unavailable(err), http.StatusServiceUnavailable)
	case parley.EINTERNAL:
		return oidc.ErrServerError().WithParent(err).WithDescription("the server failed to answer; try again later")
	}
	return err
}

// temporarilyUnavailable is RFC 6749's error for a server "currently unable
// to handle the request due to a temporary overloading or maintenance",
// which the library has no constructor for.
const temporarilyUnavailable = "temporarily_unavailable"

// unavailable is the error of a request the server cannot serve while its
// database is out of reach (parley.ErrDatabaseUnreachable, err its parent):
// temporarily_unavailable, answered with status 503 and Retry-After where
// the server answers the app itself (endpoints.writeError, guard).
//
// RFC 6749 defines temporarily_unavailable for the authorization endpoint
// alone (section 4.1.2.1), as the one way to say 503 through a redirect;
// its token endpoint errors (section 5.2), and those of introspection,
// revocation and userinfo, have no code for it, and RFC 6749 has no
// server_error there either. So the status and Retry-After say it, as they
// do for every HTTP client and proxy on the way, and the body, which must
// carry an error, carries the code RFC 6749 gives the same case, which
// Parley answers at these endpoints with 429 already when a rate limit
// refuses (endpoints.writeError): an app meets one error for "wait and try
// again". server_error would tell it that the server failed, and
// invalid_grant or invalid_client that its code, token or secret is bad.
// Through the redirect of a request whose client and redirect URI were
// checked, the library sends it as it is, with the request's state.
func unavailable(err error) *oidc.Error {
	e := &oidc.Error{ErrorType: temporarilyUnavailable}
	return e.WithParent(err).WithDescription("%s", parley.ErrorMessage(err))
}
