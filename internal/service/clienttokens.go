package service

import (
	"context"
	"strings"

	"github.com/parleyhq/parley"
)

// An app's own tokens, from the OAuth 2.0 client-credentials grant (RFC
// 6749 section 4.4). They act for no member, so they may hold only scopes
// that reach no member's data: reports.read, the app's share reports. The
// sealed token names its subject clientSubjectPrefix + client ID, which no
// member's ID can be, and a call with it is refused everywhere but the
// reports (caller).

// clientScopes are the scopes an app may ask for itself.
var clientScopes = parley.Scopes{parley.ScopeReportsRead}

// clientSubjectPrefix starts the subject of an app's own token.
const clientSubjectPrefix = "app:"

// ClientSubject is the subject sealed into an app's own access token.
func ClientSubject(clientID string) string { return clientSubjectPrefix + clientID }

// IssueClientToken issues a confidential app an access token for itself,
// with the scopes asked for, all by default, that lasts while secret, the
// one the app authenticated with, does (parley.ClientToken.SecretHash). A
// public client is EFORBIDDEN: it has no secret to prove it is the app; a
// scope other than reports.read is EINVALID; a secret that stopped
// authenticating the app since, EUNAUTHORIZED.
func (s *Service) IssueClientToken(ctx context.Context, app *parley.App, secret string, scopes []string) (*IssuedTokens, parley.Scopes, error) {
	if app.ClientType != parley.ClientConfidential {
		return nil, nil, parley.Errorf(parley.EFORBIDDEN, "only a confidential app may get a token for itself")
	}
	granted := clientScopes
	if len(scopes) > 0 {
		granted = nil
		for _, sc := range scopes {
			if !clientScopes.Has(parley.Scope(sc)) {
				return nil, nil, parley.Errorf(parley.EINVALID, "an app may ask only for %s for itself", clientScopes)
			}
			if !granted.Has(parley.Scope(sc)) {
				granted = append(granted, parley.Scope(sc))
			}
		}
	}
	now := s.Now()
	out := &IssuedTokens{AccessID: parley.RandomToken(), ExpiresAt: now.Add(AccessTokenTTL)}
	err := s.store.Write(ctx, func(tx parley.Tx) error {
		// Held, so that a rotation or a stop of the secret, which forgets
		// its tokens, comes wholly before this token or after it.
		locked, err := tx.FindAppForUpdate(ctx, app.ClientID)
		if err != nil {
			return err
		}
		hash, oldHash, err := tx.FindAppSecretHashes(ctx, app.ClientID)
		if err != nil {
			return err
		}
		if !secretMatches(secret, hash, oldHash, locked.OldSecretWorks(now)) {
			return parley.Errorf(parley.EUNAUTHORIZED, "client authentication failed")
		}
		return tx.CreateClientToken(ctx, &parley.ClientToken{
			Hash: parley.HashToken(out.AccessID), ClientID: app.ClientID, Scopes: granted,
			SecretHash: parley.HashToken(secret), CreatedAt: now, ExpiresAt: out.ExpiresAt,
		})
	})
	if err != nil {
		return nil, nil, err
	}
	return out, granted, nil
}

// AuthenticateReportReader resolves a bearer token for the share reports:
// an app's own token while it lasts and the app is active, or any token
// Authenticate takes.
func (s *Service) AuthenticateReportReader(ctx context.Context, token string) (*parley.Caller, error) {
	hash, subject, ok := s.openAccessToken(token)
	clientID, own := strings.CutPrefix(subject, clientSubjectPrefix)
	if !ok || !own {
		return s.Authenticate(ctx, token)
	}
	var ct *parley.ClientToken
	var app *parley.App
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		ct, app, err = tx.FindClientToken(ctx, hash)
		return err
	})
	switch {
	case isNotFound(err) || err == nil && ct.ClientID != clientID:
		return nil, invalidToken()
	case err != nil:
		return nil, err
	case !s.Now().Before(ct.ExpiresAt):
		return nil, parley.Errorf(parley.EUNAUTHORIZED, "the access token expired")
	case app.State != parley.AppActive:
		return nil, parley.Errorf(parley.EUNAUTHORIZED, "%s", app.Refusal())
	}
	return &parley.Caller{Client: &parley.ClientAccess{App: app, Scopes: ct.Scopes}}, nil
}

// errClientTokenElsewhere refuses an app's own token, live, where a
// member's session or grant is needed: everywhere but the share reports.
// It is insufficient_scope, not invalid_token (RFC 6750 section 3.1): the
// token is good, and a client that took it for a dead one would fetch
// another alike, to be refused again.
var errClientTokenElsewhere = parley.Errorf(parley.ESCOPE, "an app's own token (client credentials) reads the app's share reports only")

// ownToken opens an app's own access token into its hash; it reports false
// for any other token.
func (s *Service) ownToken(token string) ([]byte, bool) {
	hash, subject, ok := s.openAccessToken(token)
	return hash, ok && strings.HasPrefix(subject, clientSubjectPrefix)
}

// revokeClientToken revokes an app's own token, by its hash, for the app
// that holds it (RFC 7009 section 2.1): the token is forgotten. An unknown
// token is not an error; another app's is EFORBIDDEN.
func (s *Service) revokeClientToken(ctx context.Context, clientID string, hash []byte) error {
	if _, err := s.ownTokenGrant(ctx, clientID, hash); isNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	return s.store.Write(ctx, func(tx parley.Tx) error { return tx.DeleteClientToken(ctx, hash) })
}

// ownTokenGrant returns an app's own token as introspection shows it: a
// token of no grant, whose subject is ClientSubject. An unknown token is
// ENOTFOUND, another app's EFORBIDDEN.
func (s *Service) ownTokenGrant(ctx context.Context, clientID string, hash []byte) (*parley.TokenGrant, error) {
	var ct *parley.ClientToken
	var app *parley.App
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		ct, app, err = tx.FindClientToken(ctx, hash)
		return err
	})
	switch {
	case err != nil:
		return nil, err
	case ct.ClientID != clientID:
		return nil, parley.Errorf(parley.EFORBIDDEN, "the token was issued to another client")
	}
	return &parley.TokenGrant{
		Token: parley.OAuthToken{Hash: hash, Kind: parley.TokenAccess, ClientID: ct.ClientID, Scopes: ct.Scopes,
			CreatedAt: ct.CreatedAt, ExpiresAt: ct.ExpiresAt},
		App: *app, User: parley.UserRef{ID: ClientSubject(ct.ClientID)},
	}, nil
}
