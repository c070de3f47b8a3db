package service

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/password"
)

// sessionTokenPrefix marks a first-party session token, so that a leaked one
// is recognisable and lookups go to the right table.
const sessionTokenPrefix = "pss_"

// NewAccount holds what creating an account takes.
type NewAccount struct {
	Username    string
	Password    string
	DisplayName string
	// Operator makes the account an operator's; only CreateUser honours it.
	Operator bool
}

// ErrRegistrationClosed is Register's answer while registration is closed.
var ErrRegistrationClosed = parley.Errorf(parley.EFORBIDDEN, "registration is closed on this server")

// RegistrationOpen reports whether anyone may create an account
// (Register): pages offer it only then.
func (s *Service) RegistrationOpen() bool { return s.opts.OpenRegistration }

// Register creates an account through the API; ErrRegistrationClosed
// (EFORBIDDEN) when registration is closed, ECONFLICT for a username taken
// or kept from sign-up (parley.ReservedUsername), ETHROTTLED when the
// client's address has made many accounts lately.
func (s *Service) Register(ctx context.Context, in NewAccount) (*parley.User, error) {
	if !s.opts.OpenRegistration {
		return nil, ErrRegistrationClosed
	}
	var throttle []throttleKey
	if addr := parley.ClientAddrFromContext(ctx); addr != "" {
		throttle = append(throttle, throttleKey{"sign-up:address:" + addressKey(addr), signUpAddressRule(s.opts.SignUpsPerAddress), nil})
	}
	if name := parley.NormalizeUsername(in.Username); parley.ReservedUsername(name) {
		return nil, parley.Errorf(parley.ECONFLICT, "username %q is kept for the server and its operators: choose another", name)
	}
	in.Operator = false
	return s.createUser(ctx, in, throttle, nil)
}

// CreateUser creates an account regardless of the registration setting,
// an operator's when in.Operator is set; it is for operators.
func (s *Service) CreateUser(ctx context.Context, in NewAccount) (*parley.User, error) {
	actor, err := operator(ctx)
	if err != nil {
		return nil, err
	}
	return s.createUser(ctx, in, nil, &actor)
}

// createUser creates an account once it passes the throttle; an attempt
// with a taken username counts as much as one that succeeds. An operator's
// creating it is recorded as their decision.
func (s *Service) createUser(ctx context.Context, in NewAccount, throttle []throttleKey, actor *parley.OperatorAction) (*parley.User, error) {
	u := &parley.User{
		ID:        parley.NewID(),
		Username:  parley.NormalizeUsername(in.Username),
		CreatedAt: s.Now(),
		Operator:  in.Operator,
	}
	if err := parley.ValidateUsername(u.Username); err != nil {
		return nil, err
	}
	if err := parley.ValidatePassword(in.Password); err != nil {
		return nil, err
	}
	var err error
	if u.DisplayName, err = displayName(in.DisplayName, u.Username); err != nil {
		return nil, err
	}
	if _, err := s.begin(ctx, "new accounts from your address", throttle...); err != nil {
		return nil, err
	}
	hash, err := password.Hash(in.Password)
	if err != nil {
		return nil, err
	}
	err = s.decide(ctx, func(tx parley.Tx, record recorder) error {
		if err := tx.CreateUser(ctx, u, hash); err != nil || actor == nil {
			return err
		}
		if err := record(*actor, parley.ActionUserAdd, u.ID, u.Username); err != nil || !u.Operator {
			return err
		}
		return record(*actor, parley.ActionGrantOperator, u.ID, u.Username)
	})
	if parley.ErrorCode(err) == parley.ECONFLICT {
		return nil, parley.Errorf(parley.ECONFLICT, "username %q is taken", u.Username)
	}
	return u, err
}

// Users lists every member; it is for operators (ENOTFOUND for anyone
// else).
func (s *Service) Users(ctx context.Context) (users []*parley.User, err error) {
	if _, err := operator(ctx); err != nil {
		return nil, err
	}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		users, err = tx.FindUsers(ctx)
		return err
	})
	return users, err
}

// dummyHash is checked against when a username is unknown, so that a failed
// sign-in takes as long whether or not the account exists.
var dummyHash = sync.OnceValue(func() string {
	h, _ := password.Hash("parley-dummy-password")
	return h
})

// SignedIn is a session a sign-in opened.
type SignedIn struct {
	// Token is the session's bearer token, which is never stored: only
	// its hash is.
	Token     string
	User      *parley.User
	ExpiresAt time.Time
	// DeviceProof proves that the device signed in as the member, for it
	// to send with its later sign-ins (WithDeviceProof), which others'
	// failures cannot then hold up (knowndevice.go).
	DeviceProof string
}

// SignIn checks a member's password and opens a session.
// Failures slow further sign-ins to the same username, and from the same
// client address, down: ETHROTTLED says how long to wait. Every attempt
// is logged with the username and the client address, never the password.
func (s *Service) SignIn(ctx context.Context, username, pw string) (*SignedIn, error) {
	in, u, err := s.signIn(ctx, username, pw)
	// A name no account has is not logged: it may be a password typed
	// into the wrong field.
	var who []any
	if u != nil {
		who = []any{"user", u.Username, "user_id", u.ID}
	}
	switch code := parley.ErrorCode(err); {
	case err == nil:
		s.log.InfoContext(ctx, "signed in", append(who, "client", clientAddr(ctx))...)
	case code == parley.EUNAUTHORIZED:
		s.log.WarnContext(ctx, "sign-in failed", append(who, "client", clientAddr(ctx), "reason", parley.ErrorMessage(err))...)
		// Only the right password learns that the account is disabled
		// (signIn); a wrong one is a credentials failure, as it says.
		if u != nil && u.Disabled && parley.ErrorMessage(err) == disabledMessage {
			s.signInFailed("disabled")
		} else {
			s.signInFailed("credentials")
		}
	case code == parley.ETHROTTLED: // begin logged the throttling
		s.signInFailed("throttled")
	default:
		s.log.ErrorContext(ctx, "sign-in", append(who, "client", clientAddr(ctx), "err", err)...)
	}
	if err != nil {
		return nil, err
	}
	return in, nil
}

// signIn is SignIn unlogged; it returns the account the username names,
// if one does, with an error too.
func (s *Service) signIn(ctx context.Context, username, pw string) (*SignedIn, *parley.User, error) {
	u, keys, err := s.checkPassword(ctx, username, pw, "")
	if err != nil {
		return nil, u, err
	}
	if u.Disabled {
		return nil, u, errDisabled()
	}

	proof, err := s.newDeviceProof(ctx, u.Username, keys.stored())
	if err != nil {
		return nil, u, err
	}
	token, tokenHash := newToken(sessionTokenPrefix)
	now := s.Now()
	sess := &parley.Session{TokenHash: tokenHash, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.opts.SessionTTL)}
	// Each sign-in also deletes the sessions, anyone's, that expired
	// longer ago than they are kept: there are none most of the time, and
	// an index finds that at once. It ends the member's oldest past
	// parley.MaxSessions, holding their account so that sign-ins at once,
	// on one server or several, count each other's.
	var ended [][]byte
	err = s.store.Write(ctx, func(tx parley.Tx) (err error) {
		if err := keys.allows(ctx, tx, u.ID); err != nil {
			return err
		}
		if err := tx.DeleteSessionsExpiredBefore(ctx, now.Add(-parley.ExpiredSessionKept)); err != nil {
			return err
		}
		if _, err := tx.FindUserForUpdate(ctx, u.ID); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		ended, err = tx.DeleteSessionsBeyond(ctx, u.ID, parley.MaxSessions, now)
		return err
	})
	if err != nil {
		return nil, u, err
	}
	if len(ended) > 0 {
		s.log.InfoContext(ctx, "oldest sessions ended by a sign-in", "user", u.Username, "user_id", u.ID, "client", clientAddr(ctx), "sessions_ended", len(ended))
		s.publishSessionsEnded(ctx, u.ID, ended)
	}
	return &SignedIn{Token: token, User: u, ExpiresAt: sess.ExpiresAt, DeviceProof: proof}, u, nil
}

// clientAddr is the client address to log of a call: the network client's,
// or "console" for a command an operator runs.
func clientAddr(ctx context.Context) string {
	if addr := parley.ClientAddrFromContext(ctx); addr != "" {
		return addr
	}
	return "console"
}

// passwordCheck is what a password check leaves for the write of what the
// password allows: the throttle keys it counted its attempt under, the
// account's and the client address's, the attempt, the hash the password
// matched, and, when that hash was made at an earlier cost, the password
// hashed again at today's (password.Rehash).
type passwordCheck struct {
	account, address, hash, rehash string
	attempt                        attempt
}

// stored is the hash of the password once the write of what it allows
// has stored it.
func (k passwordCheck) stored() string {
	if k.rehash != "" {
		return k.rehash
	}
	return k.hash
}

// allows checks, in the write of what the password allows, that the
// member's account is as the check found it: neither disabled nor deleted
// since, with the same password. It holds the member's row until the write
// ends (FindUserForUpdate), as an operator's change to the account does
// (findMember): a change made at once, on any server, either came first
// and is seen here, or waits for this write and then undoes what it made.
// A hash made at an earlier cost is replaced by the rehash, so that every
// account's check takes as long as an unknown name's (dummyHash) from
// then on; another check of the password that stored the same rehash
// meanwhile is the same password. Then it clears the account's failures
// and takes the attempt back from the address.
func (k passwordCheck) allows(ctx context.Context, tx parley.Tx, userID string) error {
	u, err := tx.FindUserForUpdate(ctx, userID)
	if err != nil {
		return err
	}
	hash, err := tx.FindPasswordHash(ctx, userID)
	switch {
	case err != nil:
		return err
	case u.Deleted || hash != k.hash && (k.rehash == "" || hash != k.rehash):
		return errWrongPassword()
	case u.Disabled:
		return errDisabled()
	}
	if k.rehash != "" && hash == k.hash {
		if err := tx.SetPasswordHash(ctx, userID, k.rehash); err != nil {
			return err
		}
	}
	return succeeded(ctx, tx, k.account, k.address, k.attempt)
}

// errWrongPassword is a sign-in's answer to a wrong username or password.
func errWrongPassword() error {
	return parley.Errorf(parley.EUNAUTHORIZED, "wrong username or password")
}

// errDisabled is a sign-in's answer for a disabled account.
func errDisabled() error {
	return parley.Errorf(parley.EUNAUTHORIZED, "%s", disabledMessage)
}

// disabledMessage is errDisabled's message.
const disabledMessage = "this account is disabled: ask an operator"

// checkPassword returns the member named username if pw is their
// password, as a sign-in checks it: EUNAUTHORIZED otherwise, for a deleted
// account too, and the same time spent whether or not the account exists.
// A wrong password for an account that exists returns the account too, for
// the log.
// Each check counts as a failed sign-in until what it allows succeeds
// (passwordCheck.allows); failures slow further checks down. They are
// counted under the username, or under the device proof ctx carries for
// it (knowndevice.go), or under own, the throttle key of a signed-in
// member's session when it is the member's own password given again
// (checkOwnPassword), so that a stranger's failures to the username hold
// up neither the member's browser nor their session.
func (s *Service) checkPassword(ctx context.Context, username, pw, own string) (*parley.User, passwordCheck, error) {
	denied := errWrongPassword()
	name := parley.NormalizeUsername(username)
	valid := parley.ValidateUsername(name) == nil // no account has another name
	addr := parley.ClientAddrFromContext(ctx)
	var byAddress throttleKey
	if addr != "" {
		byAddress = throttleKey{"sign-in:address:" + addressKey(addr), signInAddressRule, nil}
	}
	if valid && s.opts.Limiter != nil {
		// An address its failures hold back is refused before its
		// attempt counts for the account, as begin would refuse it, so
		// that it leaves nothing behind for each username it tries, nor
		// spends the member's allowance from that address.
		if addr != "" {
			if err := s.throttled(ctx, "failed sign-ins", byAddress); err != nil {
				return nil, passwordCheck{}, err
			}
		}
		// Counted for the account from this address: a stranger's
		// attempts, refused or not, spend their own address's allowance,
		// never the member's.
		key := signInAccountKey + name
		if addr != "" {
			key += signInFrom + addressKey(addr)
		}
		if d := s.opts.Limiter.Allow(key, signInsPerAccount); !d.Allowed {
			return nil, passwordCheck{}, s.rateLimited(ctx, signInsPerAccount, key, d.RetryAfter, "sign-ins to this account")
		}
	}
	var u *parley.User
	var hash string
	var throttle []throttleKey
	var keys passwordCheck
	var err error
	if valid {
		if u, hash, err = s.passwordOf(ctx, name); err != nil {
			return nil, keys, err
		}
		keys.account = signInAccountKey + name
		if u != nil && own != "" {
			keys.account = own
		} else if u != nil {
			if device, ok := s.knownDevice(ctx, name, hash); ok {
				// Throttled apart from the username's other sign-ins
				// (knowndevice.go).
				keys.account = device
			}
		}
		throttle = append(throttle, throttleKey{keys.account, signInAccountRule, u})
	}
	if addr != "" {
		keys.address = byAddress.key
		throttle = append(throttle, byAddress)
	}
	if keys.attempt, err = s.begin(ctx, "failed sign-ins", throttle...); err != nil {
		return nil, keys, err
	}
	if u == nil {
		password.Check(pw, dummyHash())
		return nil, keys, denied
	}
	if ok, err := password.Check(pw, hash); err != nil {
		return nil, keys, err
	} else if !ok {
		return u, keys, denied
	}
	keys.hash = hash
	if password.NeedsRehash(hash) {
		// Made at an earlier cost: allows stores it again at today's.
		// The device proofs made under the earlier hash end with it, as
		// a new password's would.
		if keys.rehash, err = password.Rehash(pw, hash); err != nil {
			return nil, keys, err
		}
	}
	return u, keys, nil
}

// passwordOf returns the member named name and the hash of their
// password; no member and no error when no account has that name, or its
// account is deleted.
func (s *Service) passwordOf(ctx context.Context, name string) (u *parley.User, hash string, err error) {
	err = s.store.Read(ctx, func(tx parley.Tx) (err error) {
		if u, err = tx.FindUserByUsername(ctx, name); err != nil {
			return err
		}
		hash, err = tx.FindPasswordHash(ctx, u.ID)
		return err
	})
	switch {
	case isNotFound(err) || err == nil && u.Deleted:
		return nil, "", nil
	case err != nil:
		return nil, "", err
	}
	return u, hash, nil
}

// signInFailed tells Options.SignInFailed of a sign-in refused for reason.
func (s *Service) signInFailed(reason string) {
	if s.opts.SignInFailed != nil {
		s.opts.SignInFailed(reason)
	}
}

// SignOut ends the caller's current session, and with it the realtime
// streams opened with it.
func (s *Service) SignOut(ctx context.Context) error {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return err
	}
	if err := s.store.Write(ctx, func(tx parley.Tx) error {
		// Held, as a password change holds it (stillAllowed).
		if _, err := tx.FindUserForUpdate(ctx, c.User.ID); err != nil {
			return err
		}
		return tx.DeleteSession(ctx, c.SessionTokenHash)
	}); err != nil {
		return err
	}
	s.publishSessionsEnded(ctx, c.User.ID, [][]byte{c.SessionTokenHash})
	return nil
}

// SignOutOthers ends every session of the signed-in member but the
// current one, on every node at its next request, with the realtime
// streams opened with them, and returns how many it ended. The grants they
// gave apps stay.
func (s *Service) SignOutOthers(ctx context.Context) (int, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return 0, err
	}
	var ended [][]byte
	err = s.store.Write(ctx, func(tx parley.Tx) (err error) {
		// Held, as a password change holds it (stillAllowed).
		if _, err := tx.FindUserForUpdate(ctx, c.User.ID); err != nil {
			return err
		}
		ended, err = tx.DeleteUserSessions(ctx, c.User.ID, c.SessionTokenHash, s.Now())
		return err
	})
	if err != nil {
		return 0, err
	}
	s.log.InfoContext(ctx, "signed out everywhere else", "user", c.User.Username, "user_id", c.User.ID, "client", clientAddr(ctx), "sessions_ended", len(ended))
	s.publishSessionsEnded(ctx, c.User.ID, ended)
	return len(ended), nil
}

// SetDisplayName gives the signed-in member the display name name, as
// account creation takes it: trimmed, and their username when empty. What
// they sent before shows the new name, as every read looks names up; this
// node's cache of callers forgets the member, so their next request shows
// it too, and other nodes' within callerCacheFor. The member's clients and
// those of everyone who sees their name get user.updated (rename).
func (s *Service) SetDisplayName(ctx context.Context, name string) (u *parley.User, err error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	if name, err = displayName(name, c.User.Username); err != nil {
		return nil, err
	}
	var told []string
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		if u, err = tx.FindUserByID(ctx, c.User.ID); err != nil {
			return err
		}
		told, err = rename(ctx, tx, u, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.renamed(ctx, u, told)
	return u, nil
}

// rename gives the member u the display name name in tx, and returns who
// is to be told of it (renamed): the member, and those who take part in a
// thread with them or are their friends; no one when u has that name.
func rename(ctx context.Context, tx parley.Tx, u *parley.User, name string) ([]string, error) {
	if u.DisplayName == name {
		return nil, nil
	}
	if err := tx.SetDisplayName(ctx, u.ID, name); err != nil {
		return nil, err
	}
	u.DisplayName = name
	contacts, err := tx.FindContactIDs(ctx, u.ID)
	return append(contacts, u.ID), err
}

// renamed makes this node's cache of callers forget the member u, renamed,
// and tells the members told of it (user.updated).
func (s *Service) renamed(ctx context.Context, u *parley.User, told []string) {
	s.callers.forgetUser(u.ID)
	if len(told) > 0 {
		s.publish(ctx, told, parley.NewEvent(parley.EventUserUpdated, "", parley.UserUpdated{User: u.Ref()}))
	}
}

// displayName is the display name name asks for, of the member with the
// username: trimmed, and the username when empty; EINVALID when it cannot
// be one.
func displayName(name, username string) (string, error) {
	name = strings.TrimSpace(name)
	if err := parley.ValidateDisplayName(name); err != nil {
		return "", err
	}
	if name == "" {
		return username, nil
	}
	return name, nil
}

// ChangePassword gives the signed-in member the password newPW once they
// gave their current one, checked as a sign-in checks it (its throttles
// and rate limit, the device proof of ctx): EFORBIDDEN when it is wrong,
// as their session holds. Every other session of the member ends, and
// with it the realtime streams opened with it; the current one lasts. The
// grants they gave apps stay, as they do when an operator sets a password:
// they are revoked under Connected apps. It returns a device proof of the
// browser under the new password (SignedIn.DeviceProof), as every proof
// made under the old one ends (knowndevice.go).
func (s *Service) ChangePassword(ctx context.Context, currentPW, newPW string) (deviceProof string, err error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return "", err
	}
	if err := parley.ValidatePassword(newPW); err != nil {
		return "", err
	}
	if newPW == currentPW {
		return "", parley.Errorf(parley.EINVALID, "the new password is the one you have: choose another")
	}
	u, keys, err := s.checkOwnPassword(ctx, c, currentPW, "change it")
	if err != nil {
		return "", err
	}
	hash, err := password.Hash(newPW)
	if err != nil {
		return "", err
	}
	// The proof is made before the write, so that once the password is
	// changed nothing is left to fail.
	proof, err := s.newDeviceProof(ctx, u.Username, hash)
	if err != nil {
		return "", err
	}
	var ended [][]byte
	err = s.store.Write(ctx, func(tx parley.Tx) (err error) {
		if err := s.stillAllowed(ctx, tx, c, u.ID, keys); err != nil {
			return err
		}
		if err := tx.SetPasswordHash(ctx, u.ID, hash); err != nil {
			return err
		}
		ended, err = tx.DeleteUserSessions(ctx, u.ID, c.SessionTokenHash, s.Now())
		return err
	})
	if err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "password changed", "user", u.Username, "user_id", u.ID, "client", clientAddr(ctx), "sessions_ended", len(ended))
	s.publishSessionsEnded(ctx, u.ID, ended)
	return proof, nil
}

// errPasswordWrong refuses a password a signed-in member gave again: it
// is EFORBIDDEN, not EUNAUTHORIZED, as their session holds.
var errPasswordWrong = parley.Errorf(parley.EFORBIDDEN, "the password is wrong")

// checkOwnPassword checks the password the signed-in member c gave again,
// to do what doing says, as a sign-in checks it (checkPassword). Their
// session is confirmed first: one that ended is told so (EUNAUTHORIZED),
// not that the password is wrong, and spends none of the password's
// allowances. A wrong password is EFORBIDDEN, as their session holds, and
// is logged and counted as a failed sign-in, under the session
// (signInSessionKey) rather than the username.
func (s *Service) checkOwnPassword(ctx context.Context, c *parley.Caller, pw, doing string) (*parley.User, passwordCheck, error) {
	if err := s.ConfirmSession(ctx); err != nil {
		return nil, passwordCheck{}, err
	}
	u, keys, err := s.checkPassword(ctx, c.User.Username, pw, sessionThrottleKey(c))
	switch parley.ErrorCode(err) {
	case parley.EUNAUTHORIZED:
		s.log.WarnContext(ctx, "sign-in failed", "user", c.User.Username, "user_id", c.User.ID, "client", clientAddr(ctx),
			"reason", "the password given to "+doing+" is wrong")
		s.signInFailed("credentials")
		return nil, passwordCheck{}, errPasswordWrong
	case parley.ETHROTTLED:
		s.signInFailed("throttled")
	}
	return u, keys, err
}

// stillAllowed refuses, in the write that acts on a password checked by
// checkOwnPassword, what the check no longer allows: the password is no
// longer the member's (a new one, set meanwhile on another device, ends
// what the old one allows; keys.allows holds the member's row), or the
// session of c ended meanwhile. Ending a member's sessions holds their row
// too (SignOut, SignOutOthers), so that of the two, one comes wholly after
// the other.
func (s *Service) stillAllowed(ctx context.Context, tx parley.Tx, c *parley.Caller, userID string, keys passwordCheck) error {
	if err := keys.allows(ctx, tx, userID); parley.ErrorCode(err) == parley.EUNAUTHORIZED {
		return errPasswordWrong
	} else if err != nil {
		return err
	}
	lasting, err := tx.FindLastingSessions(ctx, [][]byte{c.SessionTokenHash}, s.Now())
	if err != nil {
		return err
	}
	if len(lasting) == 0 {
		return parley.ErrInvalidToken
	}
	return nil
}

// Authenticate resolves a bearer token to its caller: a member's session
// token, or an app's access token, which stands for the member's grant and
// works only while the token, the grant and the app all do. EUNAUTHORIZED
// when the token is unknown, expired, revoked or malformed. A member's
// session may come from the node's cache, with a check the store makes at
// the request's first statement (parley.CallerCheck); an app's token is
// looked up.
func (s *Service) Authenticate(ctx context.Context, token string) (*parley.Caller, error) {
	if s.isSessionToken(token) {
		return s.authenticateSession(ctx, token)
	}
	return s.authenticateApp(ctx, token, lookUp)
}

// AuthenticateCached resolves a bearer token as Authenticate does, but an
// app's token may come from the node's cache too; taken from it or looked
// up, it comes with a check the store makes at the request's first
// statement, so that a revocation committed meanwhile refuses the
// request. It is for a caller that can make
// the request again: when the store fails that check
// (parley.ErrAccessChanged), or the request fails before the store
// confirmed it (parley.PendingCheck), nothing of it took effect, and it is
// to be made again with the caller AuthenticateAgain returns. An error
// decided from the cached token alone, such as a scope it lacks, may then
// be lifted: the app's grant may have been widened since.
func (s *Service) AuthenticateCached(ctx context.Context, token string) (*parley.Caller, error) {
	if s.isSessionToken(token) {
		return s.authenticateSession(ctx, token)
	}
	return s.authenticateApp(ctx, token, fromCache)
}

// AuthenticateAgain looks an app's access token up afresh, past the node's
// cache, for a request that AuthenticateCached's caller is to make again.
// The store confirms this caller too, so that a revocation committed
// after this look-up still refuses the request, with
// parley.ErrAccessChanged: the request is then to be made again with the
// token looked up once more. What is decided from this caller without
// the store, such as a scope it lacks, stands.
func (s *Service) AuthenticateAgain(ctx context.Context, token string) (*parley.Caller, error) {
	if s.isSessionToken(token) {
		return s.authenticateSession(ctx, token)
	}
	return s.authenticateApp(ctx, token, lookUpChecked)
}

func invalidToken() error { return parley.ErrInvalidToken }

// isSessionToken reports whether token is a member's session token rather
// than an app's access token. A session token begins with its prefix; an
// app's is sealed, and its first characters, those of a random nonce, may
// be anything, the prefix too (one token in 64⁴): one that opens as
// sealed is an app's.
func (s *Service) isSessionToken(token string) bool {
	if !strings.HasPrefix(token, sessionTokenPrefix) {
		return false
	}
	_, _, sealed := s.openAccessToken(token)
	return !sealed
}

// authenticateSession resolves a member's session token: from the node's
// cache, or else by looking the session up, which the cache then keeps;
// either way with a check the store makes at the request's first
// statement, so that a sign-out committed meanwhile refuses the request.
func (s *Service) authenticateSession(ctx context.Context, token string) (c *parley.Caller, err error) {
	tokenHash := parley.HashToken(token)
	now := s.Now()
	if c, ok := s.callers.get(tokenHash, now); ok {
		return c, nil
	}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		c, err = s.sessionCaller(ctx, tx, tokenHash)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.callers.putSession(c, now)
	c.Check = &parley.CallerCheck{TokenHash: tokenHash, At: now}
	return c, nil
}

// ConfirmSession confirms with the store, if the caller was taken from the
// node's cache, that it still holds (parley.CallerCheck): EUNAUTHORIZED
// when a member's session has ended, and parley.ErrAccessChanged for an
// app's token that changed (AuthenticateCached). A request that may act
// before it reads or writes anything, such as opening a realtime stream or
// rendering a page for the member, confirms it first.
func (s *Service) ConfirmSession(ctx context.Context) error {
	if parley.PendingCheck(ctx) == nil {
		return nil
	}
	return s.store.Read(ctx, func(parley.Tx) error { return nil })
}

// sessionCaller returns the member whose session has the token hash while
// it lasts; EUNAUTHORIZED once it has ended.
func (s *Service) sessionCaller(ctx context.Context, tx parley.Tx, tokenHash []byte) (*parley.Caller, error) {
	sess, u, err := tx.FindSession(ctx, tokenHash)
	if isNotFound(err) {
		return nil, invalidToken()
	} else if err != nil {
		return nil, err
	}
	if !s.Now().Before(sess.ExpiresAt) {
		return nil, invalidToken()
	}
	return &parley.Caller{User: u.Ref(), SessionTokenHash: tokenHash, SignedInAt: sess.CreatedAt, SessionExpiresAt: sess.ExpiresAt, Operator: u.Operator}, nil
}

// Me returns the signed-in member.
func (s *Service) Me(ctx context.Context) (u *parley.User, err error) {
	c, err := caller(ctx, parley.ScopeProfile)
	if err != nil {
		return nil, err
	}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		u, err = tx.FindUserByID(ctx, c.User.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, s.logRead(ctx, c, access{parley.ScopeProfile, "", []string{c.User.ID}, nil})
}

// newToken returns a random bearer token with the prefix, and its hash.
// Tokens carry 256 bits of entropy, so a fast hash is enough to store them.
func newToken(prefix string) (string, []byte) {
	token := prefix + parley.RandomToken()
	return token, parley.HashToken(token)
}
