package service

import (
	"context"
	"slices"
	"time"

	"github.com/parleyhq/parley"
)

// An app's owner keeps its registration up to date: the redirect URIs it
// may send members back to, and its client secret, whose rotation lets
// the secret it replaced work on for a while.

// MyApp returns an app the signed-in member registered; another's app is
// not found.
func (s *Service) MyApp(ctx context.Context, clientID string) (app *parley.App, err error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		app, err = ownApp(ctx, tx, c, clientID)
		return err
	})
	return app, err
}

// AppsRequireReview reports whether operators review every app a member
// registers (Options.AppsRequireReview), and so every redirect URI its
// owner adds (SetRedirectURIs).
func (s *Service) AppsRequireReview() bool { return s.opts.AppsRequireReview }

// SetRedirectURIs replaces the redirect URIs of an app the signed-in
// member owns, checked as at registration. Sign-ins already under way
// keep the URI they started with.
//
// Operators reviewed an app as it was, codes going to the redirect URIs
// they saw. A URI they did not see (one added, or one put in another's
// place) is recorded as the owner's parley.ActionAppRedirectChanged beside
// the operators' decisions, and:
//
//   - an approval for reach "all" is withdrawn, and the app waits for
//     review again: members may no longer grant it thread scope "all"
//     until an operator approves it again. The grants they gave already
//     stay, as the app's tokens do, since they were given to the app
//     operators reviewed and where new codes go changes nothing they
//     reach.
//   - where operators review every member's app
//     (Options.AppsRequireReview), an active app is pending again, until
//     an operator approves it (ApproveApp): as for an app just registered,
//     no one may connect it, and its tokens are refused, since a pending
//     app's are (parley.TokenGrant.Refusal), so that none of its sign-ins
//     send a code to the URI before an operator has seen it. Its grants
//     are not ended: its approval lets them work again as they were. A
//     suspended app stays suspended.
//
// Removing URIs only, codes go to fewer places operators saw: the app
// stays as it is.
func (s *Service) SetRedirectURIs(ctx context.Context, clientID string, uris []string) (app *parley.App, err error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	err = s.decide(ctx, func(tx parley.Tx, record recorder) error {
		if app, err = ownApp(ctx, tx, c, clientID); err != nil {
			return err
		}
		reviewed := app.RedirectURIs
		app.RedirectURIs = uris
		if err := app.Validate(); err != nil {
			return err
		}
		if err := tx.UpdateAppRedirectURIs(ctx, clientID, uris); err != nil {
			return err
		}
		if !slices.ContainsFunc(uris, func(u string) bool { return !slices.Contains(reviewed, u) }) {
			return nil
		}
		reviewAgain := s.opts.AppsRequireReview && app.State == parley.AppActive
		if app.AllThreadsApproved || reviewAgain {
			app.AllThreadsApproved = false
			if reviewAgain {
				app.State = parley.AppPending
			}
			if err := tx.UpdateAppReview(ctx, clientID, app.State, false); err != nil {
				return err
			}
		}
		return record(parley.OperatorAction{ActorID: c.User.ID, Actor: c.User.Username}, parley.ActionAppRedirectChanged, app.ClientID, app.Name)
	})
	return app, err
}

// RotateAppSecret gives a confidential app the signed-in member owns a new
// client secret, returned this once. For parley.AppSecretRotation the
// secret it replaces authenticates the app beside it, so that a running
// deployment can change over in its own time; a rotation during that time
// ends the older secret's. oldUntil is the app's OldSecretUntil as the
// member last read it, which tells the secret they mean to rotate: when
// the app's differs, the secret was rotated (or the old one ended) since,
// and ECONFLICT changes nothing, so that a request sent twice does not end
// at once the grace of the secret the app's servers still use. A public
// client has no secret to rotate: EINVALID.
func (s *Service) RotateAppSecret(ctx context.Context, clientID string, oldUntil *time.Time) (*RegisteredApp, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	secret, hash := newToken(clientSecretPrefix)
	var app *parley.App
	err = s.store.Write(ctx, func(tx parley.Tx) (err error) {
		if app, err = confidentialOwned(ctx, tx, c, clientID); err != nil {
			return err
		}
		if !sameTime(app.OldSecretUntil, oldUntil) {
			return parley.Errorf(parley.ECONFLICT, "this page is out of date: the secret was rotated, or the old one stopped, since it was shown, and this changed nothing (a new secret is shown once, when it is made): reload the page, and rotate again if you still mean to")
		}
		if err := tx.RotateAppSecret(ctx, clientID, hash, s.Now().Add(parley.AppSecretRotation)); err != nil {
			return err
		}
		app, err = tx.FindAppByClientID(ctx, clientID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &RegisteredApp{App: app, ClientSecret: secret}, nil
}

// EndOldAppSecret stops the client secret a rotation replaced from
// authenticating a confidential app the signed-in member owns, at once,
// and returns the app. A public client has no secret: EINVALID.
func (s *Service) EndOldAppSecret(ctx context.Context, clientID string) (app *parley.App, err error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		if _, err := confidentialOwned(ctx, tx, c, clientID); err != nil {
			return err
		}
		if err := tx.EndOldAppSecret(ctx, clientID); err != nil {
			return err
		}
		app, err = tx.FindAppByClientID(ctx, clientID)
		return err
	})
	return app, err
}

// confidentialOwned returns the app c owns, as ownApp does, when it is a
// confidential client: a public client has no secret, EINVALID.
func confidentialOwned(ctx context.Context, tx parley.Tx, c *parley.Caller, clientID string) (*parley.App, error) {
	app, err := ownApp(ctx, tx, c, clientID)
	if err != nil {
		return nil, err
	}
	if app.ClientType != parley.ClientConfidential {
		return nil, parley.Errorf(parley.EINVALID, "a public client has no secret")
	}
	return app, nil
}

// sameTime reports whether a and b are both nil or the same instant.
func sameTime(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}
