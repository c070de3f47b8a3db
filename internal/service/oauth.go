package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/ratelimit"
)

// The OAuth provider's decisions. internal/oauth speaks the protocol and
// adapts zitadel/oidc's storage onto these methods; what they decide —
// which apps may take part, whether a code or a token is still good, what a
// token lets its app learn — is decided here and nowhere else. Errors are
// domain errors: EUNAUTHORIZED for a client or token that does not
// authenticate, EINVALID for a code or refresh token that cannot be
// exchanged (its message says why, for the app's developer), ENOTFOUND for
// what the caller may not know of.

// Lifetimes of what the provider issues.
const (
	// codeTTL bounds the time between consent and the code's exchange
	// (RFC 6749 section 4.1.2 advises at most ten minutes).
	codeTTL = time.Minute
	// AccessTokenTTL is how long an access token works: as long as the key
	// that sealed it must open it.
	AccessTokenTTL = time.Hour
	// refreshTokenTTL is how long an unused refresh token works; each use
	// replaces it with a new one. The grant's own expiry still applies.
	refreshTokenTTL = 30 * 24 * time.Hour
	// authRequestRetention keeps answered requests so that a replayed code
	// is recognised long after its short life. A request whose tokens are
	// in force stays beyond it: refreshed ID tokens carry its auth_time.
	authRequestRetention = 24 * time.Hour
	// expiredTokenKept is how long a token is kept after it expired; then
	// the next issue of tokens deletes it. A used refresh token is so kept
	// until its own expiry and a day: presented again before then, it is
	// recognised as reused, and its family revoked.
	expiredTokenKept = 24 * time.Hour
)

// appRefusal says why an app may not take part in sign-ins and token
// exchanges, or returns nil: the one rule for apps an operator suspended,
// or has yet to approve. It does not name the app: its words go into
// OAuth's error_description, whose characters RFC 6749 section 5.2 limits
// to printable ASCII without quotes or backslashes, which an app's name
// need not keep to; the pages that show them name the app beside them.
func appRefusal(app *parley.App) error {
	switch app.State {
	case parley.AppActive:
		return nil
	case parley.AppPending:
		return parley.Errorf(parley.EFORBIDDEN, "the app is waiting for an operator's review: no one may connect it yet")
	case parley.AppDeleted:
		return parley.Errorf(parley.ENOTFOUND, "unknown client")
	}
	return parley.Errorf(parley.EFORBIDDEN, "the app is suspended")
}

// OAuthApp returns an app that may start a sign-in: ENOTFOUND for an
// unknown client, EFORBIDDEN for a suspended app.
func (s *Service) OAuthApp(ctx context.Context, clientID string) (app *parley.App, err error) {
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		app, err = findClientApp(ctx, tx, clientID)
		return err
	})
	if isNotFound(err) {
		return nil, parley.Errorf(parley.ENOTFOUND, "unknown client")
	} else if err != nil {
		return nil, err
	}
	if err := appRefusal(app); err != nil {
		return nil, err
	}
	return app, nil
}

// AppVouchedFor reports whether an operator vouched for the app with the
// client ID: registered it (parley app add) or approved it (parley app
// approve, with or without --reach all, or a button of /operator), as the
// decisions recorded about it say, since its owner last changed its
// redirect URIs to one operators did not see
// (parley.ActionAppRedirectChanged). The provider sends an authorization
// error to the redirect URI of such an app by itself; any other app's, a
// member's own registration no operator looked at, may be any site, and
// the member is shown the error first (RFC 9700 section 4.11.2).
func (s *Service) AppVouchedFor(ctx context.Context, clientID string) (vouched bool, err error) {
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		actions, err := tx.FindOperatorActionsAbout(ctx, clientID) // the oldest first
		vouched = false
		for _, a := range actions {
			switch a.Action {
			case parley.ActionAppAdd, parley.ActionAppApprove, parley.ActionAppApproveAll:
				vouched = true
			case parley.ActionAppRedirectChanged:
				vouched = false
			}
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("service: app vouched for: %w", err)
	}
	return vouched, nil
}

// findClientApp is tx.FindAppByClientID for a client_id an app sent: one
// that no app has, not UTF-8 or holding a control character such as NUL,
// is not found, as SQLite finds nothing of it, where PostgreSQL would
// refuse its bytes with an error of the server's own.
func findClientApp(ctx context.Context, tx parley.Tx, clientID string) (*parley.App, error) {
	if !utf8.ValidString(clientID) || strings.ContainsFunc(clientID, unicode.IsControl) {
		return nil, parley.Errorf(parley.ENOTFOUND, "app not found")
	}
	return tx.FindAppByClientID(ctx, clientID)
}

// Client authentication and the token endpoints are held to two rate
// limits (Options.Limiter), shared by the nodes: an app that authenticated
// to its own allowance of requests, and a client address to its
// allowance of failed authentications.
var (
	// tokenRequestsPerClient holds each app's requests to the token and
	// introspection endpoints (a public client's from each address) to 10
	// a second, with bursts of 300. An
	// honest app needs a token when a member signs in and, since access
	// tokens last an hour, at most one refresh per member an hour: 10 a
	// second is 36,000 an hour, far above what one app of a self-hosted
	// server needs; the burst takes a crowd signing in at once, or a job
	// refreshing a few hundred members' tokens in a row. Each
	// request is a write and, with openid, an RS256 signature: without a
	// limit one app's loop could take the server from every other.
	// Revocation is not held to it: an app that learns of a leak must be
	// able to end every token it holds at once, and a token whose
	// revocation was refused stays alive (RFC 7009 section 2.2.1).
	tokenRequestsPerClient = ratelimit.Policy{Name: "token requests", Rate: 10, Burst: 300}
	// failedClientAuthsPerAddress holds the failed client authentications
	// of one client address, at the token, introspection and revocation
	// endpoints, to 60 at once, then one a second; once they are spent,
	// every request from the address is refused before the client is looked
	// up. Failures count per address, not per client_id as sent, so that
	// no one can spend an app's allowance, or stop the app, by sending its
	// public client_id with a wrong secret: only the clients of the
	// failing address wait. An honest app fails only when its secret is
	// wrong, and then every request of its fails anyway.
	failedClientAuthsPerAddress = ratelimit.Policy{Name: "failed client authentications", Rate: 1, Burst: 60}
)

// AuthenticateClient authenticates an app as an OAuth client (RFC 6749
// section 2.3): a confidential client by its secret, compared in constant
// time, or by the secret a rotation replaced while it still works
// (parley.AppSecretRotation), a public client by its client ID alone. An
// unknown client, a suspended app, a wrong or missing secret, or a secret
// sent by a public client is EUNAUTHORIZED, and counts against the client
// address's failedClientAuthsPerAddress; once that is spent, the address's
// requests are ETHROTTLED, whatever they send.
func (s *Service) AuthenticateClient(ctx context.Context, clientID, secret string) (app *parley.App, err error) {
	err = s.countFailures(ctx, failedClientAuthsPerAddress, "client-auth", func() error {
		app, err = s.authenticateClient(ctx, clientID, secret)
		return err
	})
	return app, err
}

// AdmitTokenRequest counts a request of an app that authenticated to the
// token or introspection endpoint against tokenRequestsPerClient: ETHROTTLED
// over it. A public client authenticates with its client_id alone, which
// is no secret, so its requests count per client address: anyone could
// otherwise spend its allowance and keep its members from signing in or
// refreshing their tokens. Its requests come from its members' devices, each
// with an allowance of its own.
func (s *Service) AdmitTokenRequest(ctx context.Context, app *parley.App) error {
	if s.opts.Limiter == nil {
		return nil
	}
	key := "token:client:" + app.ClientID
	if addr := parley.ClientAddrFromContext(ctx); app.ClientType == parley.ClientPublic && addr != "" {
		key += " from " + addressKey(addr)
	}
	if d := s.opts.Limiter.Allow(key, tokenRequestsPerClient); !d.Allowed {
		return s.rateLimited(ctx, tokenRequestsPerClient, key, d.RetryAfter, "token requests from this app")
	}
	return nil
}

// authenticateClient is AuthenticateClient without its limit.
func (s *Service) authenticateClient(ctx context.Context, clientID, secret string) (*parley.App, error) {
	var app *parley.App
	var hash, oldHash []byte
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		if app, err = findClientApp(ctx, tx, clientID); err != nil {
			return err
		}
		if app.ClientType == parley.ClientPublic {
			return nil
		}
		hash, oldHash, err = tx.FindAppSecretHashes(ctx, clientID)
		return err
	})
	failed := parley.Errorf(parley.EUNAUTHORIZED, "client authentication failed")
	switch {
	case isNotFound(err):
		return nil, failed
	case err != nil:
		return nil, err
	case app.ClientType == parley.ClientPublic && secret != "":
		return nil, failed
	case app.ClientType != parley.ClientPublic && !secretMatches(secret, hash, oldHash, app.OldSecretWorks(s.Now())):
		return nil, failed
	}
	if err := appRefusal(app); err != nil {
		return nil, parley.Errorf(parley.EUNAUTHORIZED, "%s", parley.ErrorMessage(err))
	}
	return app, nil
}

// secretMatches reports whether secret is the one hash is of, or, when
// oldWorks, the one oldHash is of. Both comparisons take constant time and
// both are made, so the time taken tells nothing of which matched.
func secretMatches(secret string, hash, oldHash []byte, oldWorks bool) bool {
	sum := parley.HashToken(secret)
	current := len(hash) > 0 && subtle.ConstantTimeCompare(sum, hash) == 1
	old := len(oldHash) > 0 && subtle.ConstantTimeCompare(sum, oldHash) == 1
	return current || old && oldWorks
}

// authRequestsPerAddress holds the authorization requests one client
// address opens to a rate: 60 at once, then one a second. Each is a row,
// written before anyone signs in, for no more than an app's public
// client_id and redirect URI: without a limit one client could fill the
// disk. It is a rate limit (Options.Limiter), shared by the nodes.
var authRequestsPerAddress = ratelimit.Policy{Name: "authorization requests", Rate: 1, Burst: 60}

// CreateAuthRequest stores an authorization request the provider checked,
// and prunes requests that have gone unanswered past their life and those
// answered long ago. ETHROTTLED when the client's address has opened too
// many.
func (s *Service) CreateAuthRequest(ctx context.Context, r *parley.AuthRequest) error {
	if addr := parley.ClientAddrFromContext(ctx); addr != "" && s.opts.Limiter != nil {
		key := "authorize:address:" + addressKey(addr)
		if d := s.opts.Limiter.Allow(key, authRequestsPerAddress); !d.Allowed {
			return s.rateLimited(ctx, authRequestsPerAddress, key, d.RetryAfter, "authorization requests from this address")
		}
	}
	return s.store.Write(ctx, func(tx parley.Tx) error {
		if err := tx.DeleteAuthRequestsBefore(ctx, r.CreatedAt.Add(-authRequestRetention), r.CreatedAt.Add(-parley.AuthRequestTTL)); err != nil {
			return err
		}
		return tx.CreateAuthRequest(ctx, r)
	})
}

// AuthRequest returns a stored authorization request.
func (s *Service) AuthRequest(ctx context.Context, id string) (r *parley.AuthRequest, err error) {
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		r, err = tx.FindAuthRequest(ctx, id)
		return err
	})
	return r, err
}

// SetAuthCode records the one code issued for an approved request;
// ECONFLICT when one was issued already, or the request is not approved.
func (s *Service) SetAuthCode(ctx context.Context, requestID, code string) error {
	return s.store.Write(ctx, func(tx parley.Tx) error {
		r, err := tx.FindAuthRequest(ctx, requestID)
		if err != nil {
			return err
		}
		switch {
		case r.CodeHash != nil:
			return parley.Errorf(parley.ECONFLICT, "a code was already issued for this request")
		case !r.Done() || r.RefusedAt != nil:
			return parley.Errorf(parley.ECONFLICT, "this request was not approved")
		}
		r.CodeHash = parley.HashToken(code)
		return tx.UpdateAuthRequest(ctx, r)
	})
}

// CodeExchange is what a client presents to exchange a code for tokens
// (RFC 6749 section 4.1.3).
type CodeExchange struct {
	Code string
	// ClientID is the client that authenticated to exchange the code.
	ClientID string
	// RedirectURI is the redirect_uri sent with the code.
	RedirectURI string
	// VerifierChallenge is the S256 code_challenge of the code_verifier
	// sent (RFC 7636 section 4.6), "" when none was sent.
	VerifierChallenge string
}

// RedeemCode checks a code's exchange and returns the request it was
// issued for: once, within codeTTL of consent, by the client it was issued
// to, with the PKCE verifier of the request's challenge and the request's
// redirect URI. The code is spent by IssueTokens, in the transaction that
// issues its tokens, so only an exchange that succeeds uses it. A used code
// presented again by its client revokes every token it issued (RFC 6749
// section 4.1.2); another client can neither use nor spend it. A code that
// cannot be exchanged is EINVALID, saying why.
func (s *Service) RedeemCode(ctx context.Context, in CodeExchange) (*parley.AuthRequest, error) {
	var r *parley.AuthRequest
	var refusal error
	var replayed bool
	refuse := func(format string, args ...any) error {
		refusal = parley.Errorf(parley.EINVALID, format, args...)
		return nil
	}
	unknown := "the code is unknown: use the code of the latest authorization response"
	err := s.store.Write(ctx, func(tx parley.Tx) (err error) {
		refusal, replayed = nil, false
		if r, err = tx.FindAuthRequestByCode(ctx, parley.HashToken(in.Code)); err != nil {
			return err
		}
		now := s.Now()
		switch {
		case r.ClientID != in.ClientID:
			return refuse("the code was issued to another client")
		case r.CodeUsedAt != nil:
			refusal, replayed = parley.Errorf(parley.EINVALID, "%s", codeReused), true
			return tx.RevokeTokenFamily(ctx, r.ID, now)
		case r.ApprovedAt == nil:
			return refuse("%s", unknown)
		case now.Sub(*r.ApprovedAt) >= codeTTL:
			return refuse("code expired: exchange the code within a minute of the member's consent")
		case in.VerifierChallenge == "":
			return refuse("code_verifier is missing: the code was issued for a PKCE code_challenge")
		case subtle.ConstantTimeCompare([]byte(in.VerifierChallenge), []byte(r.CodeChallenge)) != 1:
			return refuse("code_verifier does not match the code_challenge of the authorization request")
		case in.RedirectURI != r.RedirectURI:
			return refuse("redirect_uri differs from the one of the authorization request")
		}
		return nil
	})
	switch {
	case isNotFound(err):
		return nil, parley.Errorf(parley.EINVALID, "%s", unknown)
	case err != nil:
		return nil, err
	case replayed:
		s.warnReplay(ctx, r.ClientID, r.UserID, codeReused)
		return nil, refusal
	case refusal != nil:
		return nil, refusal
	}
	return r, nil
}

// TokenIssue asks for the tokens of one grant: for a code's exchange, whose
// code the issue spends, or for a refresh token's, which the issue uses up.
type TokenIssue struct {
	// FamilyID is the authorization request the tokens descend from.
	FamilyID string
	GrantID  string
	ClientID string
	UserID   string
	// Scopes are the access token's.
	Scopes parley.Scopes
	// Refresh is the refresh token being exchanged; "" for a code's
	// exchange, whose request is FamilyID.
	Refresh string
	// RefreshScopes are the new refresh token's scopes when they differ
	// from Scopes: a refresh may narrow the access token, but the refresh
	// token keeps the scope of the one it replaces (RFC 6749 section 6).
	RefreshScopes parley.Scopes
	// WithRefresh asks for a refresh token beside the access token.
	WithRefresh bool
}

// IssuedTokens are tokens just issued. AccessID is the access token's ID,
// which the provider seals into the token the app gets.
type IssuedTokens struct {
	AccessID  string
	Refresh   string
	ExpiresAt time.Time
	// Scopes are the access token's: those asked that the grant still
	// holds, which a member may have narrowed since the code was issued.
	Scopes parley.Scopes
}

// IssueTokens issues an access token, and a refresh token if asked, while
// the grant and its app are in force; the access token until its grant's
// end if that comes within AccessTokenTTL. The code or refresh token exchanged
// is used up in the same transaction, so it can be exchanged only once, and
// an exchange racing another finds it used: a code used already was
// replayed, and what it issued is revoked (RFC 6749 section 4.1.2); a
// refresh token used already leaked, and its whole family is revoked (RFC
// 9700 section 4.14.2). A grant that ended, or a code or refresh token used
// already, is EINVALID, saying why. Tokens expired for expiredTokenKept go
// in the same write.
func (s *Service) IssueTokens(ctx context.Context, in TokenIssue) (*IssuedTokens, error) {
	now := s.Now()
	out := &IssuedTokens{AccessID: parley.RandomToken(), ExpiresAt: now.Add(AccessTokenTTL)}
	if in.WithRefresh {
		out.Refresh = parley.RandomToken()
	}
	err := s.store.Write(ctx, func(tx parley.Tx) error {
		if err := tx.DeleteTokensExpiredBefore(ctx, now.Add(-expiredTokenKept)); err != nil {
			return err
		}
		if in.Refresh != "" {
			if fresh, err := tx.UseToken(ctx, parley.HashToken(in.Refresh), now); err != nil {
				return err
			} else if !fresh {
				return errRefreshReused
			}
		} else if err := spendCode(ctx, tx, in.FamilyID, now); err != nil {
			return err
		}
		g, err := tx.FindGrantByID(ctx, in.GrantID)
		if err != nil {
			return err
		}
		app, err := tx.FindAppByClientID(ctx, in.ClientID)
		if err != nil {
			return err
		}
		// The grant and app decide as they do for a token of theirs.
		tg := parley.TokenGrant{
			Token: parley.OAuthToken{Kind: parley.TokenAccess, GrantID: in.GrantID, Scopes: in.Scopes, ExpiresAt: out.ExpiresAt},
			Grant: *g, App: *app,
		}
		if why := tg.Refusal(now); why != "" {
			return parley.Errorf(parley.EINVALID, "%s", why)
		}
		// It works no longer than its grant, and says so (expires_in);
		// and for no more than the grant holds now, and says so (scope).
		out.ExpiresAt, out.Scopes = tg.Until(), tg.Scopes()
		tok := parley.OAuthToken{
			Hash: parley.HashToken(out.AccessID), Kind: parley.TokenAccess, FamilyID: in.FamilyID, GrantID: in.GrantID,
			ClientID: in.ClientID, UserID: in.UserID, Scopes: out.Scopes, CreatedAt: now, ExpiresAt: out.ExpiresAt,
		}
		if err := tx.CreateToken(ctx, &tok); err != nil {
			return err
		}
		if !in.WithRefresh {
			return nil
		}
		tok.Hash, tok.Kind, tok.ExpiresAt = parley.HashToken(out.Refresh), parley.TokenRefresh, now.Add(refreshTokenTTL)
		if in.RefreshScopes != nil {
			tok.Scopes = in.RefreshScopes.Within(g.Scopes)
		}
		return tx.CreateToken(ctx, &tok)
	})
	switch {
	case errors.Is(err, errRefreshReused):
		return nil, s.revokeFamily(ctx, in.FamilyID, in.ClientID, in.UserID, refreshReused)
	case errors.Is(err, errCodeReused):
		return nil, s.revokeFamily(ctx, in.FamilyID, in.ClientID, in.UserID, codeReused)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

var (
	errRefreshReused = errors.New("service: refresh token reused")
	errCodeReused    = errors.New("service: code reused")
)

// The refusals of a code and of a refresh token presented again.
const (
	codeReused    = "code already used; the tokens it issued are revoked"
	refreshReused = "refresh token already used; its family is revoked"
)

// spendCode marks the code of request id used at now, and returns
// errCodeReused when it was already: an exchange racing this one spent it.
func spendCode(ctx context.Context, tx parley.Tx, id string, now time.Time) error {
	r, err := tx.FindAuthRequest(ctx, id)
	if err != nil {
		return err
	}
	if r.CodeUsedAt != nil {
		return errCodeReused
	}
	r.CodeUsedAt = &now
	return tx.UpdateAuthRequest(ctx, r)
}

// revokeFamily revokes every token descending from one code, after the
// code or one of its refresh tokens was presented again (warnReplay), and
// returns the refusal for the app, which says why. A failure to revoke is
// not the app's to handle: it is logged.
func (s *Service) revokeFamily(ctx context.Context, familyID, clientID, userID, why string) error {
	ctx = context.WithoutCancel(ctx)
	s.warnReplay(ctx, clientID, userID, why)
	err := s.store.Write(ctx, func(tx parley.Tx) error { return tx.RevokeTokenFamily(ctx, familyID, s.Now()) })
	if err != nil {
		s.log.ErrorContext(ctx, "revoke token family", "err", err)
	}
	return parley.Errorf(parley.EINVALID, "%s", why)
}

// warnReplay logs a code or refresh token presented again, whose tokens
// are revoked: a sign that the credential was stolen (RFC 9700 section
// 4.14), for the operator, naming the app, the member and the address it
// came from, as failed sign-ins are logged.
func (s *Service) warnReplay(ctx context.Context, clientID, userID, why string) {
	s.log.WarnContext(ctx, "credential presented again: its tokens are revoked", "client_id", clientID, "user", userID, "client", clientAddr(ctx), "why", why)
}

// Refresh is a refresh token about to be exchanged.
type Refresh struct {
	Token parley.OAuthToken
	// AuthTime is when the member signed in for the code the token
	// descends from.
	AuthTime time.Time
}

// RefreshFor returns what a refresh token, presented by the client
// clientID, stands for, while the token, its grant and its app are in
// force. A refresh token presented by its own client after it was
// exchanged leaked: its whole family is revoked. Another client's, used or
// not, is refused before anything else, and changes nothing: a client
// holding someone else's token neither uses it nor spends it, as with a
// code (RedeemCode). A token that cannot be exchanged is EINVALID, saying
// why.
func (s *Service) RefreshFor(ctx context.Context, token, clientID string) (*Refresh, error) {
	var tg *parley.TokenGrant
	var r *parley.AuthRequest
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		if tg, err = tx.FindTokenGrant(ctx, parley.HashToken(token)); err != nil {
			return err
		}
		// The request records when the member signed in; it stays while
		// its family has a token in force (DeleteAuthRequestsBefore), but
		// older servers pruned it after a day.
		r, err = tx.FindAuthRequest(ctx, tg.Token.FamilyID)
		if isNotFound(err) {
			r, err = &parley.AuthRequest{}, nil
		}
		return err
	})
	switch {
	case isNotFound(err) || err == nil && tg.Token.Kind != parley.TokenRefresh:
		return nil, parley.Errorf(parley.EINVALID, "the refresh token is unknown")
	case err != nil:
		return nil, err
	case tg.Token.ClientID != clientID:
		return nil, parley.Errorf(parley.EINVALID, "the refresh token was issued to another client")
	case tg.Token.UsedAt != nil:
		return nil, s.revokeFamily(ctx, tg.Token.FamilyID, tg.Token.ClientID, tg.Token.UserID, refreshReused)
	}
	if why := tg.Refusal(s.Now()); why != "" {
		return nil, parley.Errorf(parley.EINVALID, "%s", why)
	}
	// A refresh issues tokens for what the grant still allows.
	tg.Token.Scopes = tg.Scopes()
	ref := &Refresh{Token: tg.Token, AuthTime: tg.Token.CreatedAt}
	if r.AuthTime != nil {
		ref.AuthTime = *r.AuthTime
	}
	return ref, nil
}

// openAccessToken opens a sealed access token into the hash of its ID and
// its subject.
func (s *Service) openAccessToken(token string) (hash []byte, subject string, ok bool) {
	if s.opts.AccessTokens == nil {
		return nil, "", false
	}
	plain, err := s.opts.AccessTokens.Decrypt(token)
	if err != nil {
		return nil, "", false
	}
	tokenID, subject, ok := strings.Cut(plain, ":")
	if !ok {
		return nil, "", false
	}
	return parley.HashToken(tokenID), subject, true
}

// clientToken finds one of a client's tokens, access or refresh, as the
// client presents it: ENOTFOUND for an unknown token, EFORBIDDEN for
// another client's.
func (s *Service) clientToken(ctx context.Context, clientID, token string) (*parley.TokenGrant, error) {
	hash, subject, sealed := s.openAccessToken(token)
	if !sealed {
		hash = parley.HashToken(token)
	}
	var tg *parley.TokenGrant
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		tg, err = tx.FindTokenGrant(ctx, hash)
		return err
	})
	switch {
	case isNotFound(err) || err == nil && sealed != (tg.Token.Kind == parley.TokenAccess):
		return nil, parley.Errorf(parley.ENOTFOUND, "unknown token")
	case err != nil:
		return nil, err
	case sealed && tg.User.ID != subject:
		return nil, parley.Errorf(parley.ENOTFOUND, "unknown token")
	case tg.Token.ClientID != clientID:
		return nil, parley.Errorf(parley.EFORBIDDEN, "the token was issued to another client")
	}
	return tg, nil
}

// IntrospectToken returns what one of a client's tokens stands for while
// it is in force (RFC 7662 section 2.2). An unknown, ended or another
// client's token is ENOTFOUND: the client learns nothing of it.
func (s *Service) IntrospectToken(ctx context.Context, clientID, token string) (*parley.TokenGrant, error) {
	var tg *parley.TokenGrant
	var err error
	if hash, own := s.ownToken(token); own {
		tg, err = s.ownTokenGrant(ctx, clientID, hash)
	} else {
		tg, err = s.clientToken(ctx, clientID, token)
	}
	if parley.ErrorCode(err) == parley.EFORBIDDEN || err == nil && tg.Refusal(s.Now()) != "" {
		return nil, parley.Errorf(parley.ENOTFOUND, "unknown token")
	}
	return tg, err
}

// RevokeToken revokes one of a client's tokens (RFC 7009 section 2.1): an
// access token alone, a refresh token with every token of its family. An
// unknown token is not an error; another client's is EFORBIDDEN.
func (s *Service) RevokeToken(ctx context.Context, clientID, token string) error {
	if hash, own := s.ownToken(token); own {
		return s.revokeClientToken(ctx, clientID, hash)
	}
	tg, err := s.clientToken(ctx, clientID, token)
	if isNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	return s.store.Write(ctx, func(tx parley.Tx) error {
		if tg.Token.Kind == parley.TokenRefresh {
			return tx.RevokeTokenFamily(ctx, tg.Token.FamilyID, s.Now())
		}
		return tx.RevokeToken(ctx, tg.Token.Hash, s.Now())
	})
}

// Userinfo answers OpenID Connect's userinfo endpoint for the caller, as
// Authenticate found it from the call's access token (OpenID Connect Core
// section 5.3): the member the token acts for, and the token's scopes,
// which decide the claims. With profile it is a profile read, logged as
// Me's is; without, only the member's ID is given, and it is logged as an
// openid read. A caller that is not an app acting for a member, a member
// signed in included, is EUNAUTHORIZED; an app without the openid scope
// is ESCOPE.
func (s *Service) Userinfo(ctx context.Context) (*parley.User, parley.Scopes, error) {
	if c := parley.CallerFromContext(ctx); c == nil || c.App == nil && c.Client == nil {
		return nil, nil, invalidToken()
	}
	c, err := caller(ctx, parley.ScopeOpenID)
	if err != nil {
		return nil, nil, err
	}
	var u *parley.User
	err = s.store.Read(ctx, func(tx parley.Tx) (err error) {
		u, err = tx.FindUserByID(ctx, c.User.ID)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	read := parley.ScopeOpenID
	if c.App.Scopes.Has(parley.ScopeProfile) {
		read = parley.ScopeProfile
	}
	return u, c.App.Scopes, s.logRead(ctx, c, access{read, "", []string{c.User.ID}, nil})
}
