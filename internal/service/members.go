package service

import (
	"context"
	"strings"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/password"
)

// Operators' hand on members' accounts: a new password, disabling and
// enabling an account, and the member's sessions. Each is for operators,
// and recorded as their decision in the transaction that makes it.

// findMember returns the member named username: ENOTFOUND naming it when
// there is none, and ECONFLICT when their account is deleted, which
// nothing may change any more. In a write it holds the member's row until
// the write ends (FindUserForUpdate), before the write changes anything,
// so that a sign-in at once either waits for the change or was made before
// it, and is undone by it (passwordCheck.allows).
func findMember(ctx context.Context, tx parley.Tx, username string) (*parley.User, error) {
	u, err := tx.FindUserByUsername(ctx, parley.NormalizeUsername(username))
	if err == nil {
		u, err = tx.FindUserForUpdate(ctx, u.ID)
	}
	if isNotFound(err) {
		return nil, parley.Errorf(parley.ENOTFOUND, "no member is called %q", strings.TrimSpace(username))
	} else if err == nil && u.Deleted {
		return nil, parley.Errorf(parley.ECONFLICT, "the account of %q is deleted", u.Username)
	}
	return u, err
}

// SetPassword gives the member named username a new password and ends
// every session they have, since the usual reason is an account someone
// else may hold; the grants they gave apps stay. EINVALID for a password
// too short or too long.
func (s *Service) SetPassword(ctx context.Context, username, pw string) (u *parley.User, err error) {
	actor, err := operator(ctx)
	if err != nil {
		return nil, err
	}
	if err := parley.ValidatePassword(pw); err != nil {
		return nil, err
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return nil, err
	}
	var sessions [][]byte
	err = s.decide(ctx, func(tx parley.Tx, record recorder) error {
		if u, err = findMember(ctx, tx, username); err != nil {
			return err
		}
		if err := tx.SetPasswordHash(ctx, u.ID, hash); err != nil {
			return err
		}
		if sessions, err = tx.DeleteUserSessions(ctx, u.ID, nil, s.Now()); err != nil {
			return err
		}
		return record(actor, parley.ActionUserPassword, u.ID, u.Username)
	})
	if err == nil {
		s.publishSessionsEnded(ctx, u.ID, sessions)
	}
	return u, err
}

// SetDisabled disables the account of the member named username, or
// enables it again. A disabled member cannot sign in (SignIn answers
// EUNAUTHORIZED), and disabling ends at once every session they have and
// every grant they gave apps, each grant as if they had revoked it: the
// apps' tokens stop working, their webhook endpoints get grant.revoked and
// their streams end. Enabling gives nothing back: the member signs in
// again, and connects apps again. Either is a no-op, though still
// recorded, when the account is already so.
func (s *Service) SetDisabled(ctx context.Context, username string, disabled bool) (u *parley.User, err error) {
	actor, err := operator(ctx)
	if err != nil {
		return nil, err
	}
	action := parley.ActionUserEnable
	if disabled {
		action = parley.ActionUserDisable
	}
	var ended accessEnded
	err = s.decide(ctx, func(tx parley.Tx, record recorder) error {
		ended = accessEnded{}
		if u, err = findMember(ctx, tx, username); err != nil {
			return err
		}
		if err := tx.SetDisabled(ctx, u.ID, disabled); err != nil {
			return err
		}
		u.Disabled = disabled
		if disabled {
			if ended, err = s.endAccess(ctx, tx, u.ID, true); err != nil {
				return err
			}
		}
		return record(actor, action, u.ID, u.Username)
	})
	if err != nil {
		return u, err
	}
	if ended.hooked {
		s.WakeWebhooks()
	}
	s.publishAccountEnded(ctx, u.ID, ended.sessions, accountDisabled)
	s.publishGrantsEnded(ctx, []string{u.ID}, ended.grants, "an operator disabled the member's account")
	return u, nil
}

// accessEnded is what endAccess ended, to tell once its write commits.
type accessEnded struct {
	// sessions are the token hashes of the member's sessions, for
	// publishSessionsEnded; grants the IDs of their grants, for
	// publishGrantsEnded.
	sessions [][]byte
	grants   []string
	// hooked is set when a webhook delivery was queued.
	hooked bool
}

// endAccess ends every live session of the member and every grant they gave
// apps, each grant in force as if they had revoked it (revokeGrant),
// logged as an operator's revocation when byOperator, and
// each that ran out and is not yet marked so as the expiry job would end
// it (endExpiredGrant): so that what happened to the member's grants is in
// their log before the account is disabled or deleted, not after.
func (s *Service) endAccess(ctx context.Context, tx parley.Tx, userID string, byOperator bool) (accessEnded, error) {
	revoked := parley.ActionGrantRevoked
	if byOperator {
		revoked = parley.ActionGrantRevokedByOperator
	}
	var ended accessEnded
	var err error
	now := s.Now()
	if ended.sessions, err = tx.DeleteUserSessions(ctx, userID, nil, now); err != nil {
		return accessEnded{}, err
	}
	grants, err := tx.FindUserGrants(ctx, userID)
	if err != nil {
		return accessEnded{}, err
	}
	for _, g := range grants {
		switch {
		case g.ActiveAt(now):
			h, err := s.revokeGrant(ctx, tx, g, now, revoked)
			if err != nil {
				return accessEnded{}, err
			}
			ended.hooked = ended.hooked || h
		case g.RevokedAt == nil:
			app, err := tx.FindAppByClientID(ctx, g.ClientID)
			if err != nil {
				return accessEnded{}, err
			}
			if err := s.endExpiredGrant(ctx, tx, g, app.Name); err != nil {
				return accessEnded{}, err
			}
			ended.hooked = true
		default:
			continue
		}
		ended.grants = append(ended.grants, g.ID)
	}
	return ended, nil
}

// UserSessions returns the sessions of the member named username, expired
// or not, the newest first; it is for operators. Parley keeps when each
// began and ends, not when it was last used nor from where; the token's
// hash is in the result, and is for no one to show.
func (s *Service) UserSessions(ctx context.Context, username string) (sessions []*parley.Session, err error) {
	if _, err := operator(ctx); err != nil {
		return nil, err
	}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		u, err := findMember(ctx, tx, username)
		if err != nil {
			return err
		}
		sessions, err = tx.FindUserSessions(ctx, u.ID)
		return err
	})
	return sessions, err
}

// RenameUser gives the member named username the display name name, as
// SetDisplayName takes it; it is for operators, to take off a name that
// passes for someone else's or offends, and is recorded as their decision.
// ECONFLICT when the account is deleted (findMember). Those who see the
// member's name are told, as of SetDisplayName.
func (s *Service) RenameUser(ctx context.Context, username, name string) (u *parley.User, err error) {
	actor, err := operator(ctx)
	if err != nil {
		return nil, err
	}
	var told []string
	err = s.decide(ctx, func(tx parley.Tx, record recorder) error {
		if u, err = findMember(ctx, tx, username); err != nil {
			return err
		}
		name, err := displayName(name, u.Username)
		if err != nil {
			return err
		}
		if told, err = rename(ctx, tx, u, name); err != nil {
			return err
		}
		return record(actor, parley.ActionUserRename, u.ID, u.Username)
	})
	if err != nil {
		return nil, err
	}
	s.renamed(ctx, u, told)
	return u, nil
}

// SignOutUser ends every session of the member named username and returns
// how many it ended; it is for operators. The grants they gave apps stay.
func (s *Service) SignOutUser(ctx context.Context, username string) (n int64, err error) {
	actor, err := operator(ctx)
	if err != nil {
		return 0, err
	}
	var u *parley.User
	var ended [][]byte
	err = s.decide(ctx, func(tx parley.Tx, record recorder) error {
		if u, err = findMember(ctx, tx, username); err != nil {
			return err
		}
		if ended, err = tx.DeleteUserSessions(ctx, u.ID, nil, s.Now()); err != nil {
			return err
		}
		return record(actor, parley.ActionUserSignOut, u.ID, u.Username)
	})
	if err != nil {
		return 0, err
	}
	s.publishSessionsEnded(ctx, u.ID, ended)
	return int64(len(ended)), nil
}
