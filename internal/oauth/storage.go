package oauth

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/parleyhq/parley"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Token lifetimes.
const (
	// codeTTL bounds the time between consent and the code's exchange
	// (RFC 6749 section 4.1.2 advises at most ten minutes).
	codeTTL = time.Minute
	// AccessTokenTTL is how long an access token works.
	AccessTokenTTL = time.Hour
	// refreshTokenTTL is how long an unused refresh token works; each use
	// replaces it with a new one. The grant's own expiry still applies.
	refreshTokenTTL = 30 * 24 * time.Hour
	// authRequestRetention keeps answered requests so that a replayed code
	// is recognised long after its short life.
	authRequestRetention = 24 * time.Hour
)

// storage is op.Storage over Parley's store: authorization requests, codes
// and tokens are rows; members' consent comes from the service through the
// login and consent pages. Every token, code and secret is kept as its
// SHA-256 hash.
type storage struct {
	store    parley.Store
	keys     *Keys
	loginURL string
}

var _ op.Storage = (*storage)(nil)

// CreateAuthRequest stores a validated authorization request. On top of the
// library's checks it requires PKCE with S256 of every client (RFC 9700
// section 2.1.1) and an exact redirect URI match, also for native apps'
// loopback URIs.
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	var r *parley.AuthRequest
	err := s.store.Write(ctx, func(tx parley.Tx) error {
		app, err := tx.FindAppByClientID(ctx, req.ClientID)
		if err != nil {
			return err
		}
		if !exactRedirect(app, req.RedirectURI) {
			return oidc.ErrInvalidRequestRedirectURI().WithDescription("redirect_uri must match a registered one exactly")
		}
		if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
			return oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method S256 is required (RFC 7636)")
		}
		now := parley.Now()
		r = &parley.AuthRequest{
			ID: parley.NewID(), ClientID: req.ClientID, RedirectURI: req.RedirectURI, State: req.State,
			Nonce: req.Nonce, Scopes: parley.NewScopes(req.Scopes), ResponseMode: string(req.ResponseMode),
			CodeChallenge: req.CodeChallenge, Prompt: req.Prompt, MaxAge: maxAge(req.MaxAge), CreatedAt: now,
		}
		if err := tx.DeleteAuthRequestsBefore(ctx, now.Add(-authRequestRetention)); err != nil {
			return err
		}
		return tx.CreateAuthRequest(ctx, r)
	})
	if err != nil {
		return nil, err
	}
	return authRequest{r}, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	var r *parley.AuthRequest
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		r, err = tx.FindAuthRequest(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if r.CodeHash != nil || parley.Now().Sub(r.CreatedAt) > parley.AuthRequestTTL {
		return nil, oidc.ErrInvalidRequest().WithDescription("this authorization request is no longer open")
	}
	return authRequest{r}, nil
}

// AuthRequestByCode redeems a code: once, within codeTTL of consent. A code
// presented again revokes every token it issued (RFC 6749 section 4.1.2).
// The code counts as used from here, before the client is authenticated, so
// that two racing exchanges cannot both succeed.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	var r *parley.AuthRequest
	replayed := false
	err := s.store.Write(ctx, func(tx parley.Tx) (err error) {
		replayed = false
		if r, err = tx.FindAuthRequestByCode(ctx, parley.HashToken(code)); err != nil {
			return err
		}
		now := parley.Now()
		if r.CodeUsedAt != nil {
			replayed = true
			return tx.RevokeTokenFamily(ctx, r.ID, now)
		}
		r.CodeUsedAt = &now
		return tx.UpdateAuthRequest(ctx, r)
	})
	switch {
	case parley.ErrorCode(err) == parley.ENOTFOUND:
		return nil, oidc.ErrInvalidGrant().WithDescription("the code is invalid")
	case err != nil:
		return nil, err
	case replayed:
		return nil, oidc.ErrInvalidGrant().WithDescription("the code was already used; the tokens it issued are revoked")
	case r.ApprovedAt == nil || parley.Now().Sub(*r.ApprovedAt) > codeTTL:
		return nil, oidc.ErrInvalidGrant().WithDescription("the code has expired")
	}
	return authRequest{r}, nil
}

// SaveAuthCode records the one code issued for a request.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.store.Write(ctx, func(tx parley.Tx) error {
		r, err := tx.FindAuthRequest(ctx, id)
		if err != nil {
			return err
		}
		if r.CodeHash != nil {
			return oidc.ErrInvalidRequest().WithDescription("a code was already issued for this request")
		}
		r.CodeHash = parley.HashToken(code)
		return tx.UpdateAuthRequest(ctx, r)
	})
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
// For a refresh, the presented token is used up in the same transaction,
// so that it can be exchanged only once.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	return s.issue(ctx, req, current, true)
}

// issue stores the tokens for a code's request or a refresh token's family.
func (s *storage) issue(ctx context.Context, req op.TokenRequest, current string, withRefresh bool) (accessID, refresh string, exp time.Time, err error) {
	var family, grantID, clientID string
	switch r := req.(type) {
	case authRequest:
		family, grantID, clientID = r.r.ID, r.r.GrantID, r.r.ClientID
	case *refreshRequest:
		family, grantID, clientID = r.token.FamilyID, r.token.GrantID, r.token.ClientID
	default:
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	now := parley.Now()
	accessID, refresh = parley.RandomToken(), ""
	if withRefresh {
		refresh = parley.RandomToken()
	}
	exp = now.Add(AccessTokenTTL)
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		if current != "" {
			if fresh, err := tx.UseToken(ctx, parley.HashToken(current), now); err != nil {
				return err
			} else if !fresh {
				return errRefreshReused
			}
		}
		tok := parley.OAuthToken{
			Hash: parley.HashToken(accessID), Kind: parley.TokenAccess, FamilyID: family, GrantID: grantID,
			ClientID: clientID, UserID: req.GetSubject(), Scopes: parley.NewScopes(req.GetScopes()),
			CreatedAt: now, ExpiresAt: exp,
		}
		if err := tx.CreateToken(ctx, &tok); err != nil {
			return err
		}
		if !withRefresh {
			return nil
		}
		tok.Hash, tok.Kind, tok.ExpiresAt = parley.HashToken(refresh), parley.TokenRefresh, now.Add(refreshTokenTTL)
		return tx.CreateToken(ctx, &tok)
	})
	if errors.Is(err, errRefreshReused) {
		s.revokeFamily(ctx, family)
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the refresh token was already used; its tokens are revoked")
	}
	return accessID, refresh, exp, err
}

var errRefreshReused = errors.New("oauth: refresh token reused")

// revokeFamily revokes every token descending from one code. Its failure is
// not the client's to handle, so it goes unreported beyond the refusal.
func (s *storage) revokeFamily(ctx context.Context, family string) {
	s.store.Write(context.WithoutCancel(ctx), func(tx parley.Tx) error {
		return tx.RevokeTokenFamily(ctx, family, parley.Now())
	})
}

// TokenRequestByRefreshToken looks up a refresh token for its exchange. A
// refresh token presented after it was used means it leaked: its whole
// family is revoked (RFC 9700 section 4.14.2).
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	var tg *parley.TokenGrant
	var r *parley.AuthRequest
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		if tg, err = tx.FindTokenGrant(ctx, parley.HashToken(token)); err != nil {
			return err
		}
		// The request records when the member signed in; requests are
		// pruned after a day, while refresh tokens live on.
		r, err = tx.FindAuthRequest(ctx, tg.Token.FamilyID)
		if parley.ErrorCode(err) == parley.ENOTFOUND {
			r, err = &parley.AuthRequest{}, nil
		}
		return err
	})
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return nil, op.ErrInvalidRefreshToken
	} else if err != nil {
		return nil, err
	}
	if tg.Token.Kind != parley.TokenRefresh {
		return nil, op.ErrInvalidRefreshToken
	}
	if tg.Token.UsedAt != nil {
		s.revokeFamily(ctx, tg.Token.FamilyID)
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token was already used; its tokens are revoked")
	}
	if !tg.ActiveAt(parley.Now()) {
		return nil, op.ErrInvalidRefreshToken
	}
	authTime := tg.Token.CreatedAt
	if r.AuthTime != nil {
		authTime = *r.AuthTime
	}
	return &refreshRequest{token: &tg.Token, authTime: authTime, scopes: tg.Token.Scopes.Strings()}, nil
}

// TerminateSession serves RP-initiated logout; Parley's sessions are
// ended from its own pages, so there is nothing to do here.
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

// GetRefreshTokenInfo tells the revocation endpoint whether a token is one
// of the client's refresh tokens. The token itself serves as its ID.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	tok, err := s.findToken(ctx, token)
	if err != nil || tok.Kind != parley.TokenRefresh || tok.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return tok.UserID, token, nil
}

// RevokeToken revokes an access token (by its ID) or a refresh token, with
// every token of its family for a refresh token (RFC 7009 section 2.1). An
// unknown token is not an error; another client's token is refused.
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, _, clientID string) *oidc.Error {
	tok, err := s.findToken(ctx, tokenOrID)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return nil
	} else if err != nil {
		return oidc.ErrServerError()
	}
	if tok.ClientID != clientID {
		return oidc.ErrUnauthorizedClient().WithDescription("the token was issued to another client")
	}
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		if tok.Kind == parley.TokenRefresh {
			return tx.RevokeTokenFamily(ctx, tok.FamilyID, parley.Now())
		}
		return tx.RevokeToken(ctx, tok.Hash, parley.Now())
	})
	if err != nil {
		return oidc.ErrServerError()
	}
	return nil
}

func (s *storage) findToken(ctx context.Context, token string) (tok *parley.OAuthToken, err error) {
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		tok, err = tx.FindToken(ctx, parley.HashToken(token))
		return err
	})
	return tok, err
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.keys.signing, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.keys.signing}}, nil
}

// GetClientByClientID returns an active app; a suspended one can neither
// start a sign-in nor exchange codes and tokens.
func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	var app *parley.App
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		app, err = tx.FindAppByClientID(ctx, clientID)
		return err
	})
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	} else if err != nil {
		return nil, err
	}
	if app.State != parley.AppActive {
		return nil, oidc.ErrInvalidClient().WithDescription("the app is suspended")
	}
	return &client{app: app, loginURL: s.loginURL}, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret in constant time.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	var hash []byte
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		hash, err = tx.FindAppSecretHash(ctx, clientID)
		return err
	})
	if err != nil && parley.ErrorCode(err) != parley.ENOTFOUND {
		return err
	}
	if len(hash) == 0 || subtle.ConstantTimeCompare(parley.HashToken(secret), hash) != 1 {
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	return nil
}

// SetUserinfoFromScopes fills the ID token's claims, which replace its
// subject: it carries the subject alone (see IDTokenUserinfoClaimsAssertion).
func (s *storage) SetUserinfoFromScopes(_ context.Context, info *oidc.UserInfo, userID, _ string, _ []string) error {
	info.Subject = userID
	return nil
}

// SetUserinfoFromToken answers the userinfo endpoint for an access token.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	tg, err := s.activeAccessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	info.Subject = tg.User.ID
	if tg.Token.Scopes.Has(parley.ScopeProfile) {
		info.PreferredUsername, info.Name = tg.User.Username, tg.User.DisplayName
	}
	return nil
}

// SetIntrospectionFromToken answers introspection (RFC 7662) for the client
// the token was issued to; to any other client the token is inactive.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	tg, err := s.activeAccessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	if tg.Token.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("the token was issued to another client")
	}
	resp.Scope = tg.Token.Scopes.Strings()
	resp.ClientID, resp.TokenType, resp.Subject = tg.Token.ClientID, oidc.BearerToken, tg.User.ID
	resp.Expiration, resp.IssuedAt = oidc.FromTime(tg.Token.ExpiresAt), oidc.FromTime(tg.Token.CreatedAt)
	resp.Audience = []string{tg.Token.ClientID}
	if tg.Token.Scopes.Has(parley.ScopeProfile) {
		resp.Username = tg.User.Username
	}
	return nil
}

func (s *storage) activeAccessToken(ctx context.Context, tokenID, subject string) (tg *parley.TokenGrant, err error) {
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		tg, err = tx.FindTokenGrant(ctx, parley.HashToken(tokenID))
		return err
	})
	if err == nil && (tg.Token.Kind != parley.TokenAccess || tg.User.ID != subject || !tg.ActiveAt(parley.Now())) {
		err = oidc.ErrInvalidRequest().WithDescription("the token is not active")
	}
	return tg, err
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
