package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// Prefixes of app credentials. A client ID never holds ':', which OAuth
// token formats use as a separator.
const (
	clientIDPrefix     = "pc_"
	clientSecretPrefix = "pcs_"
)

// NewApp holds what registering an app takes.
type NewApp struct {
	Name         string
	RedirectURIs []string
	Public       bool
	Purpose      string
	Homepage     string
	// Key, if set, registers one app however often the member asks with
	// it: a form posted twice (a double click, a reload of its answer).
	Key string
}

// RegisteredApp is an app just registered, with its secret: the only time
// the secret is shown. Public clients have none.
type RegisteredApp struct {
	*parley.App
	ClientSecret string `json:"client_secret,omitempty"`
	// Again is set when the registration's key had registered the app
	// already: its secret was returned then, and is not now.
	Again bool `json:"-"`
}

// RegisterApp registers an app owned by the signed-in member: ECONFLICT
// when they own parley.MaxOwnApps apps already, or a live app has the
// name; ETHROTTLED when they registered parley.MaxAppsPerDay in the last
// 24 hours. Asked again with a NewApp.Key it registered an app with, it
// returns that app, Again, however many they own, or ECONFLICT when the
// app has been deleted since.
func (s *Service) RegisterApp(ctx context.Context, in NewApp) (*RegisteredApp, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	if in.Key != "" {
		if err := parley.ValidateIdempotencyKey(in.Key); err != nil {
			return nil, err
		}
	}
	state := parley.AppActive
	if s.opts.AppsRequireReview {
		state = parley.AppPending
	}
	reg, err := s.registerApp(ctx, in, state, appOwner{id: c.User.ID, key: in.Key}, nil)
	// ECONFLICT or ETHROTTLED: the key registered an app already, or the
	// member has no room for another, as when the key's app was their
	// last; either way, the key's app, if there is one, is the answer.
	if code := parley.ErrorCode(err); in.Key != "" && (code == parley.ECONFLICT || code == parley.ETHROTTLED) {
		var app *parley.App
		if s.store.Read(ctx, func(tx parley.Tx) (err error) {
			app, err = tx.FindAppByRegistrationKey(ctx, c.User.ID, in.Key)
			return err
		}) == nil {
			if deleted(app) {
				return nil, parley.Errorf(parley.ECONFLICT, "this form registered %s, which has been deleted since: open the form again to register another app", app.Name)
			}
			return &RegisteredApp{App: app, Again: true}, nil
		}
	}
	return reg, err
}

// RegisterAppFor registers an app for operators, owned by the member named
// ownerUsername, or by no one when it is empty. A deleted account owns
// nothing more: ECONFLICT. parley.MaxOwnApps does not hold the operator
// back; the app counts against it when the member registers one.
func (s *Service) RegisterAppFor(ctx context.Context, in NewApp, ownerUsername string) (*RegisteredApp, error) {
	actor, err := operator(ctx)
	if err != nil {
		return nil, err
	}
	return s.registerApp(ctx, in, parley.AppActive, appOwner{username: ownerUsername}, &actor)
}

// appOwner names who owns a new app: a member by ID (their own
// registration, with the key they registered it with, if any), by
// username (an operator's, looked up in the write that registers the app,
// where the decision is recorded), or no one.
type appOwner struct{ id, username, key string }

// registerApp validates and stores a new app, in state, owned by owner;
// with actor, the write records the registration as that operator's
// decision.
func (s *Service) registerApp(ctx context.Context, in NewApp, state string, owner appOwner, actor *parley.OperatorAction) (*RegisteredApp, error) {
	app := &parley.App{
		ClientID:     clientIDPrefix + parley.NewID(),
		Name:         strings.TrimSpace(in.Name),
		RedirectURIs: in.RedirectURIs,
		Homepage:     strings.TrimSpace(in.Homepage),
		Purpose:      strings.TrimSpace(in.Purpose),
		ClientType:   parley.ClientConfidential,
		State:        state,
		CreatedAt:    s.Now(),
	}
	if in.Public {
		app.ClientType = parley.ClientPublic
	}
	if err := app.Validate(); err != nil {
		return nil, err
	}
	// A member's app may not pass for the server itself: only an
	// operator's registration may name it so.
	if actor == nil && parley.NamesServer(app.Name) {
		return nil, parley.Errorf(parley.EINVALID, "name must not hold %q, this server's name: only its operators may give an app that name", parley.ServerName)
	}
	reg := &RegisteredApp{App: app}
	var secretHash []byte
	if !in.Public {
		reg.ClientSecret, secretHash = newToken(clientSecretPrefix)
	}
	err := s.decide(ctx, func(tx parley.Tx, record recorder) error {
		app.OwnerID = owner.id
		if owner.id != "" {
			if err := s.roomForOwnApp(ctx, tx, owner.id); err != nil {
				return err
			}
		}
		if actor == nil {
			if err := nameFree(ctx, tx, app.Name); err != nil {
				return err
			}
		}
		if owner.username != "" {
			u, err := findMember(ctx, tx, owner.username)
			if err != nil {
				return err
			}
			app.OwnerID = u.ID
		}
		if err := tx.CreateApp(ctx, app, secretHash); err != nil {
			return err
		}
		if actor == nil {
			// A member's app claims its name; an operator's may share one.
			if err := tx.ClaimAppName(ctx, app.ClientID); parley.ErrorCode(err) == parley.ECONFLICT {
				return nameTaken(app.Name)
			} else if err != nil {
				return err
			}
		}
		if owner.key != "" {
			if err := tx.SetAppRegistrationKey(ctx, app.ClientID, owner.key); err != nil {
				return err
			}
		}
		if actor == nil {
			return nil
		}
		return record(*actor, parley.ActionAppAdd, app.ClientID, app.Name)
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}

// roomForOwnApp returns ECONFLICT when the member owns parley.MaxOwnApps
// apps, not deleted, or more, and so may register no other themselves,
// and ETHROTTLED when they were given parley.MaxAppsPerDay apps or more in
// the last 24 hours, deleted since or not, with how long until the
// earliest of those is a day old. It holds the member's account
// until the write ends (FindUserForUpdate): of two registrations at once,
// on one server or several, the later waits for the earlier and counts
// its app.
func (s *Service) roomForOwnApp(ctx context.Context, tx parley.Tx, ownerID string) error {
	if _, err := tx.FindUserForUpdate(ctx, ownerID); err != nil {
		return err
	}
	n, err := tx.CountLiveApps(ctx, ownerID)
	if err != nil {
		return err
	}
	if n >= parley.MaxOwnApps {
		return parley.Errorf(parley.ECONFLICT, "you have %d apps, and a member may register %d: delete one you no longer use to make room",
			n, parley.MaxOwnApps)
	}
	now := s.Now()
	n, first, err := tx.CountAppsRegisteredSince(ctx, ownerID, now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	if n >= parley.MaxAppsPerDay {
		return parley.ThrottledError(fmt.Sprintf("apps registered in 24 hours: a member may register %d a day", parley.MaxAppsPerDay),
			first.Add(24*time.Hour).Sub(now))
	}
	return nil
}

// nameFree returns ECONFLICT when an app not deleted has the name, as
// parley.AppNameKey compares names: a member's app may not pass for
// another on its consent page. Of two registrations of one name at the
// same moment, the store refuses the later's claim (ClaimAppName), with
// the same error; lookalikes from other scripts are not caught
// (parley.AppNameKey says which are): the consent page names who
// registered each app, and whether an operator reviewed it.
func nameFree(ctx context.Context, tx parley.Tx, name string) error {
	app, err := tx.FindLiveAppByName(ctx, name)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	return nameTaken(app.Name)
}

// nameTaken is the ECONFLICT of a registration under a live app's name.
func nameTaken(name string) error {
	return parley.Errorf(parley.ECONFLICT, "an app named %q is registered already: choose another name", name)
}

// MyApps lists the apps the signed-in member registered.
func (s *Service) MyApps(ctx context.Context) ([]*parley.App, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	return s.findApps(ctx, c.User.ID)
}

// AllApps lists every app; it is for operators.
func (s *Service) AllApps(ctx context.Context) ([]*parley.App, error) {
	if _, err := operator(ctx); err != nil {
		return nil, err
	}
	return s.findApps(ctx, "")
}

func (s *Service) findApps(ctx context.Context, ownerID string) (apps []*parley.App, err error) {
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		apps, err = tx.FindApps(ctx, ownerID)
		return err
	})
	return slices.DeleteFunc(apps, deleted), err
}

// deleted reports whether the app was deleted, by an operator or its owner.
func deleted(a *parley.App) bool { return a.State == parley.AppDeleted }

// findLiveApp returns the app with the client ID, or ENOTFOUND when there
// is none or it was deleted. In a write it holds the app's row
// until the write ends (FindAppForUpdate): what an operator or the owner
// decides about an app at once on another server waits for it, and may
// not write back a state this write changed.
func findLiveApp(ctx context.Context, tx parley.Tx, clientID string) (*parley.App, error) {
	app, err := tx.FindAppForUpdate(ctx, clientID)
	if err == nil && deleted(app) {
		return nil, parley.Errorf(parley.ENOTFOUND, "app not found")
	}
	return app, err
}

// ApproveAllThreads records an operator's review that lets members grant
// the app every thread (reach "all"); it is for operators.
func (s *Service) ApproveAllThreads(ctx context.Context, clientID string) (*parley.App, error) {
	return s.reviewApp(ctx, clientID, parley.ActionAppApproveAll, func(a *parley.App) { a.AllThreadsApproved = true })
}

// ApproveApp lets members connect an app that waits for review
// (Options.AppsRequireReview); it is for operators. An app not waiting
// stays as it is; the decision is recorded either way.
func (s *Service) ApproveApp(ctx context.Context, clientID string) (*parley.App, error) {
	return s.reviewApp(ctx, clientID, parley.ActionAppApprove, func(a *parley.App) {
		if a.State == parley.AppPending {
			a.State = parley.AppActive
		}
	})
}

// UnapproveAllThreads withdraws an operator's approval for the app to
// reach all threads; it is for operators. Members may no longer grant it
// thread scope "all", and the grants in force that reach all threads end
// at once, as if their members had revoked them (grant.revoked to the
// app's endpoints, its streams end): the members connect it again with a
// narrower reach.
func (s *Service) UnapproveAllThreads(ctx context.Context, clientID string) (app *parley.App, err error) {
	actor, err := operator(ctx)
	if err != nil {
		return nil, err
	}
	var ended appGrantsEnded
	err = s.decide(ctx, func(tx parley.Tx, record recorder) error {
		if app, err = findLiveApp(ctx, tx, clientID); err != nil {
			return err
		}
		app.AllThreadsApproved = false
		if err := tx.UpdateAppReview(ctx, clientID, app.State, false); err != nil {
			return err
		}
		reachAll := func(g *parley.Grant) bool { return g.ThreadScope == parley.ThreadScopeAll }
		if ended, err = s.endAppGrants(ctx, tx, clientID, reachAll, s.revokeGrantIn(ctx, tx, parley.ActionGrantRevokedByOperator)); err != nil {
			return err
		}
		return record(actor, parley.ActionAppUnapprove, app.ClientID, app.Name)
	})
	if err == nil {
		s.tellGrantsEnded(ctx, ended, "an operator withdrew the app's approval to reach all conversations")
	}
	return app, err
}

// DeleteApp deletes an app; it is for operators. Every grant in force of
// the app ends at once, as if its member had revoked it (grant.revoked to
// the app's endpoints, its streams end), and the app works nowhere again:
// its sign-ins, tokens and secret are refused as an unknown client's, and
// it is listed nowhere, not even to its owner. Its record stays, so that
// members' histories and access logs that name it stay intact. What was
// held for it while it was suspended is withdrawn: its grant.revoked is
// all it is told.
func (s *Service) DeleteApp(ctx context.Context, clientID string) (*parley.App, error) {
	actor, err := operator(ctx)
	if err != nil {
		return nil, err
	}
	return s.deleteApp(ctx, clientID, appDeletion{
		find:     findLiveApp,
		grantEnd: parley.ActionGrantRevokedByOperator,
		record: func(record recorder, app *parley.App) error {
			return record(actor, parley.ActionAppDelete, app.ClientID, app.Name)
		},
		why: "an operator deleted the app",
	})
}

// DeleteMyApp deletes an app the signed-in member owns, as an operator's
// DeleteApp does, and so makes room for another under parley.MaxOwnApps:
// its grants end at once, each logged to its member as
// parley.ActionGrantRevokedByDeveloper, and it works nowhere again. An app
// of another, or one deleted already, is not found.
func (s *Service) DeleteMyApp(ctx context.Context, clientID string) (*parley.App, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	app, err := s.deleteApp(ctx, clientID, appDeletion{
		find: func(ctx context.Context, tx parley.Tx, clientID string) (*parley.App, error) {
			return ownApp(ctx, tx, c, clientID)
		},
		grantEnd: parley.ActionGrantRevokedByDeveloper,
		why:      "the app's developer deleted it",
	})
	if err == nil {
		s.log.InfoContext(ctx, "app deleted by its owner", "client_id", app.ClientID, "app", app.Name, "owner_id", c.User.ID)
	}
	return app, err
}

// appDeletion is who deletes an app: how the app is found (an operator's
// any live app, a member's only their own), the action each ended grant
// is logged to its member with, what is recorded of the decision, if
// anything, and why the grants' streams end.
type appDeletion struct {
	find     func(ctx context.Context, tx parley.Tx, clientID string) (*parley.App, error)
	grantEnd string
	record   func(recorder, *parley.App) error
	why      string
}

// deleteApp deletes the app as by says (DeleteApp).
func (s *Service) deleteApp(ctx context.Context, clientID string, by appDeletion) (app *parley.App, err error) {
	var ended appGrantsEnded
	err = s.decide(ctx, func(tx parley.Tx, record recorder) error {
		if app, err = by.find(ctx, tx, clientID); err != nil {
			return err
		}
		if ended, err = s.endAppGrants(ctx, tx, clientID, everyGrant, s.revokeGrantIn(ctx, tx, by.grantEnd)); err != nil {
			return err
		}
		if app.State == parley.AppSuspended {
			// Released to be screened again, and withdrawn there, as the
			// app is deleted (screenWebhooks).
			if err := tx.ReleaseWebhooks(ctx, clientID, s.Now()); err != nil {
				return err
			}
			ended.hooked = true
		}
		app.State = parley.AppDeleted
		if err := tx.UpdateAppReview(ctx, clientID, app.State, app.AllThreadsApproved); err != nil {
			return err
		}
		if by.record == nil {
			return nil
		}
		return by.record(record, app)
	})
	if err == nil {
		s.tellGrantsEnded(ctx, ended, by.why)
	}
	return app, err
}

// appGrantsEnded is what a decision about an app did to its
// grants in force: the grants it ended, or stopped (a suspension: not
// revoked, they work again with a reinstated app), by member and ID, and
// whether a webhook delivery was queued.
type appGrantsEnded struct {
	users, grants []string
	hooked        bool
}

// everyGrant matches every grant.
func everyGrant(*parley.Grant) bool { return true }

// endAppGrants ends, by end, each of the app's grants in force that match,
// and returns them.
func (s *Service) endAppGrants(ctx context.Context, tx parley.Tx, clientID string, match func(*parley.Grant) bool,
	end func(*parley.Grant, time.Time) (hooked bool, err error)) (appGrantsEnded, error) {
	var out appGrantsEnded
	now := s.Now()
	grants, err := tx.FindAppGrants(ctx, clientID, now)
	if err != nil {
		return out, err
	}
	for _, g := range grants {
		if !match(g) {
			continue
		}
		hooked, err := end(g, now)
		if err != nil {
			return appGrantsEnded{}, err
		}
		out.hooked = out.hooked || hooked
		out.users, out.grants = append(out.users, g.UserID), append(out.grants, g.ID)
	}
	return out, nil
}

// revokeGrantIn ends a grant in tx as its member's revocation does,
// logged to the member as action: who ended it.
func (s *Service) revokeGrantIn(ctx context.Context, tx parley.Tx, action string) func(*parley.Grant, time.Time) (bool, error) {
	return func(g *parley.Grant, now time.Time) (bool, error) {
		return s.revokeGrant(ctx, tx, g, now, action)
	}
}

// tellGrantsEnded, once the decision is written, wakes the webhook sender
// for what it queued, and ends the grants' streams on every node, saying
// why.
func (s *Service) tellGrantsEnded(ctx context.Context, ended appGrantsEnded, why string) {
	if ended.hooked {
		s.WakeWebhooks()
	}
	s.publishGrantsEnded(ctx, ended.users, ended.grants, why)
}

// SuspendApp stops an app; it is for operators. Each grant in force of an
// active app reaches the app's endpoints as a grant.revoked event.
func (s *Service) SuspendApp(ctx context.Context, clientID string) (*parley.App, error) {
	return s.reviewApp(ctx, clientID, parley.ActionAppSuspend, func(a *parley.App) { a.State = parley.AppSuspended })
}

// ReinstateApp lets a suspended app work again; it is for operators. The
// app's grants that have not ended since work again with it, as they were,
// and the deliveries held while it was suspended (heldWhileSuspended) are
// due at once.
// An app suspended while it waited for review (the operator's page offers
// suspension to turn one away) is let in by its reinstatement, as by
// ApproveApp: both are the operator's decision that members may connect
// it. An app not suspended stays as it is, as ApproveApp leaves an app not
// waiting: above all a pending app, which only ApproveApp lets members
// connect. The decision is recorded either way.
func (s *Service) ReinstateApp(ctx context.Context, clientID string) (*parley.App, error) {
	return s.reviewApp(ctx, clientID, parley.ActionAppReinstate, func(a *parley.App) {
		if a.State == parley.AppSuspended {
			a.State = parley.AppActive
		}
	})
}

// reviewApp makes an operator's decision about an app and records it.
func (s *Service) reviewApp(ctx context.Context, clientID, action string, change func(*parley.App)) (app *parley.App, err error) {
	actor, err := operator(ctx)
	if err != nil {
		return nil, err
	}
	var suspended appGrantsEnded
	reinstated := false
	err = s.decide(ctx, func(tx parley.Tx, record recorder) error {
		suspended, reinstated = appGrantsEnded{}, false
		app, err = findLiveApp(ctx, tx, clientID)
		if err != nil {
			return err
		}
		was := app.State
		change(app)
		if err := tx.UpdateAppReview(ctx, clientID, app.State, app.AllThreadsApproved); err != nil {
			return err
		}
		if err := record(actor, action, app.ClientID, app.Name); err != nil {
			return err
		}
		if was == parley.AppActive && app.State == parley.AppSuspended {
			// Each grant in force reaches the app's endpoints as
			// grant.revoked, and its streams end.
			suspended, err = s.endAppGrants(ctx, tx, clientID, everyGrant, func(g *parley.Grant, now time.Time) (bool, error) {
				return s.enqueueGrantEnded(ctx, tx, g, parley.GrantEndSuspended, now)
			})
		}
		if was == parley.AppSuspended && app.State == parley.AppActive {
			// What was held while it was suspended is sent now, or
			// withdrawn if its grant no longer reaches it.
			reinstated = true
			err = tx.ReleaseWebhooks(ctx, clientID, s.Now())
		}
		return err
	})
	if err == nil {
		s.tellGrantsEnded(ctx, suspended, "an operator suspended the app")
	}
	if err == nil && reinstated {
		s.WakeWebhooks()
	}
	return app, err
}
