package service

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// authenticateApp resolves an app's access token: it opens the sealed token
// and finds what the token stands for, and lets the call through only
// while the token, its grant and its app are all in force. Revoking a
// grant or suspending an app therefore takes effect on the very next call.
// How says whether it may take what the token stands for from the node's
// cache, and whether the store is to confirm the caller it returns
// (parley.CallerCheck); what it looks up, it caches.
func (s *Service) authenticateApp(ctx context.Context, token string, how appLookup) (*parley.Caller, error) {
	hash, subject, ok := s.openAccessToken(token)
	if !ok {
		return nil, invalidToken()
	} else if strings.HasPrefix(subject, clientSubjectPrefix) {
		// An ended one is refused as the reports would refuse it.
		if _, err := s.AuthenticateReportReader(ctx, token); err != nil {
			return nil, err
		}
		return nil, errClientTokenElsewhere
	}
	now := s.Now()
	if how == fromCache {
		if c, ok := s.callers.get(hash, now); ok && c.User.ID == subject {
			return c, nil
		}
	}
	var tg *parley.TokenGrant
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		tg, err = s.liveAccessToken(ctx, tx, hash)
		return err
	})
	if err != nil {
		return nil, err
	}
	if tg.User.ID != subject {
		return nil, invalidToken()
	}
	c := appCaller(tg, hash)
	s.callers.putApp(c, now)
	if how != lookUp {
		// Checked by the store at the request's first statement, as a
		// caller from the cache is: a revocation committed since this
		// look-up refuses the request.
		c.Check = &parley.CallerCheck{TokenHash: hash, At: now, Grant: c.App.Grant}
	}
	return c, nil
}

// appLookup is where authenticateApp takes an app's token from, and
// whether the store is to confirm the caller it returns.
type appLookup int

const (
	// lookUp looks the token up, and the store does not confirm it.
	lookUp appLookup = iota
	// lookUpChecked looks the token up, and the store confirms it.
	lookUpChecked
	// fromCache takes the token from the node's cache, or else looks it
	// up, and the store confirms it.
	fromCache
)

// appCaller is the caller an app's live access token, of hash, stands for.
func appCaller(tg *parley.TokenGrant, hash []byte) *parley.Caller {
	return &parley.Caller{User: tg.User, App: &parley.AppAccess{
		Grant: &tg.Grant, App: &tg.App, Scopes: tg.Scopes(), TokenHash: hash, Until: tg.Until(),
	}}
}

// liveAccessToken returns what an access token stands for while the token,
// its grant and its app are all in force, and EUNAUTHORIZED otherwise,
// saying why.
func (s *Service) liveAccessToken(ctx context.Context, tx parley.Tx, hash []byte) (*parley.TokenGrant, error) {
	tg, err := tx.FindTokenGrant(ctx, hash)
	if isNotFound(err) || err == nil && tg.Token.Kind != parley.TokenAccess {
		return nil, invalidToken()
	} else if err != nil {
		return nil, err
	}
	if why := tg.Refusal(s.Now()); why != "" {
		return nil, parley.Errorf(parley.EUNAUTHORIZED, "%s", why)
	}
	return tg, nil
}

// Consent is what the consent screen shows for an authorization request.
type Consent struct {
	Request *parley.AuthRequest
	App     *parley.App
	// Owner is the member who registered the app, if one did.
	Owner *parley.UserRef
	// Current is the grant in force for this member and app, if any.
	Current *parley.Grant
	// Asked are the scopes to ask for: all those requested for a first
	// grant, only the additions when widening one.
	Asked parley.Scopes
	// Threads are the member's threads, newest activity first, to tick for
	// thread scope "selected": parley.MaxThreadLimit of them at most.
	Threads []ThreadChoice
	// MoreThreads says the member has older threads than Threads lists,
	// which the screen does not offer.
	MoreThreads bool
	// Connected counts the apps the member has connected (their grants in
	// force), when this consent would connect one more (Current is nil);
	// otherwise 0.
	Connected int

	// expired is the member's grant for the app that ran out, which a new
	// grant replaces.
	expired *parley.Grant
}

// ThreadChoice is a thread as the consent screen lists it.
type ThreadChoice struct {
	ID string
	// Label is the thread's title, or the names of the others in it.
	Label          string
	LastActivityAt time.Time
}

// Needed reports whether the member must be asked: a grant never widens
// silently, but a request within the current grant needs no new consent
// unless the app asks for the consent page (prompt=consent).
func (c *Consent) Needed() bool {
	return c.Current == nil || len(c.Asked) > 0 || c.Request.Prompts(parley.PromptConsent)
}

// Full reports whether the consent would connect one app more than the
// member may have connected (parley.MaxConnectedApps): it cannot be
// approved until they disconnect one.
func (c *Consent) Full() bool {
	return c.Current == nil && c.Connected >= parley.MaxConnectedApps
}

// Decision is what a member chose on the consent screen. When an existing
// grant is widened, only the scopes change; its thread scope and expiry stay.
type Decision struct {
	// Scopes are the scopes asked that the member left ticked; openid,
	// which cannot be unticked, is granted whenever it is asked, and
	// scopes not asked are ignored.
	Scopes      parley.Scopes
	ThreadScope string
	// ThreadIDs are the threads ticked for thread scope "selected".
	ThreadIDs []string
	// Expiry is the Lifetime of one of parley.GrantExpiries; 0 lasts
	// until revoked.
	Expiry time.Duration
}

// Step is what an authorization request needs next.
type Step int

// The steps of an authorization request.
const (
	// StepSignIn: the member must enter their password, having no session
	// or one older than the request allows (prompt=login, max_age).
	StepSignIn Step = iota + 1
	// StepConsent: the member must answer the consent page.
	StepConsent
	// StepDone: the request is approved; the app may have its code.
	StepDone
	// StepAnotherMember: the member signed in during the request is not
	// the one the app named (id_token_hint); the app is told so, with
	// no code.
	StepAnotherMember
)

// Next is where an authorization request goes from here.
type Next struct {
	Step Step
	// Request is the request, whose prompt tells whether the app allows
	// the step to be shown (prompt=none).
	Request *parley.AuthRequest
	// AppName names the app that asks, for the pages.
	AppName string
}

// Refused reports whether the request goes back to its app without a code:
// another member signed in than the app named, or the app asked that no
// page be shown (prompt=none) and the step needs one.
func (n *Next) Refused() bool {
	switch n.Step {
	case StepAnotherMember:
		return true
	case StepSignIn, StepConsent:
		return n.Request.Prompts(parley.PromptNone)
	}
	return false
}

// Continue takes an authorization request as far as it goes without asking
// the member anything, for the member signed in on ctx, if any: a request
// within the member's current grant, from a sign-in recent enough for it,
// is approved here, and one that must go back to its app without a code
// (Next.Refused) is marked so, never to be approved later. It returns the
// step the request needs next.
func (s *Service) Continue(ctx context.Context, requestID string) (*Next, error) {
	c := parley.CallerFromContext(ctx)
	if c != nil {
		var err error
		if c, err = caller(ctx, memberOnly); err != nil {
			return nil, err
		}
	}
	var next *Next
	decide := func(tx parley.Tx, mark bool) (err error) {
		now := s.Now()
		if next, err = s.nextStep(ctx, tx, c, requestID, now); err != nil || !mark || !next.Refused() {
			return err
		}
		return refuse(ctx, tx, next.Request, now)
	}
	var err error
	if c == nil {
		// No one signed in: a read, unless the request is refused, which
		// a write marks, deciding again.
		err = s.store.Read(ctx, func(tx parley.Tx) error { return decide(tx, false) })
		if err == nil && next.Refused() {
			err = s.store.Write(ctx, func(tx parley.Tx) error { return decide(tx, true) })
		}
	} else {
		err = s.store.Write(ctx, func(tx parley.Tx) error { return decide(tx, true) })
	}
	if err != nil {
		return nil, err
	}
	return next, nil
}

// nextStep is Continue's decision, for the member c or for no one signed
// in (c nil).
func (s *Service) nextStep(ctx context.Context, tx parley.Tx, c *parley.Caller, requestID string, now time.Time) (*Next, error) {
	if c == nil {
		req, app, err := pendingRequest(ctx, tx, requestID, now)
		if err != nil {
			return nil, err
		}
		return &Next{Step: StepSignIn, Request: req, AppName: app.Name}, nil
	}
	con, err := s.pendingConsent(ctx, tx, c, requestID)
	if err != nil {
		return nil, err
	}
	next := &Next{Request: con.Request, AppName: con.App.Name}
	switch {
	case con.Request.SignedInAsAnother(c.User.ID, c.SignedInAt):
		next.Step = StepAnotherMember
	case !con.Request.SignInFresh(c.User.ID, c.SignedInAt, now):
		next.Step = StepSignIn
	case con.Needed():
		next.Step = StepConsent
	default:
		next.Step = StepDone
		// Within the current grant: no new grant, so no notices.
		next.Request, _, err = s.approve(ctx, tx, c, con, Decision{}, now)
	}
	return next, err
}

// ConsentFor returns what the signed-in member is asked to approve for an
// authorization request.
func (s *Service) ConsentFor(ctx context.Context, requestID string) (*Consent, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	var con *Consent
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		var err error
		con, err = s.freshConsent(ctx, tx, c, requestID)
		if err != nil {
			return err
		}
		if con.App.OwnerID != "" {
			owner, err := tx.FindUserByID(ctx, con.App.OwnerID)
			if err != nil {
				return err
			}
			ref := owner.Ref()
			con.Owner = &ref
		}
		if con.Current == nil {
			if con.Connected, err = connectedApps(ctx, tx, c.User.ID, s.Now()); err != nil {
				return err
			}
		}
		con.Threads, con.MoreThreads, err = threadChoices(ctx, tx, c.User.ID)
		return err
	})
	return con, err
}

// connectedApps counts the member's grants in force at now.
func connectedApps(ctx context.Context, tx parley.Tx, userID string, now time.Time) (int, error) {
	grants, err := tx.FindActiveGrants(ctx, userID, now)
	return len(grants), err
}

// roomForConnectedApp returns ECONFLICT when the member has
// parley.MaxConnectedApps grants in force, or more, and so may connect no
// other app, here name. Call it in the write that would create the grant,
// holding the member's account (FindUserForUpdate), as approve does: of
// two consents at once, on one server or several, the later waits for the
// earlier and counts its grant.
func roomForConnectedApp(ctx context.Context, tx parley.Tx, userID, name string, now time.Time) error {
	n, err := connectedApps(ctx, tx, userID, now)
	if err != nil {
		return err
	}
	if n >= parley.MaxConnectedApps {
		return parley.Errorf(parley.ECONFLICT, "you have %d apps connected, and a member may connect %d: disconnect one you no longer use under Connected apps, then approve %s again",
			n, parley.MaxConnectedApps, name)
	}
	return nil
}

// threadChoices lists the member's newest threads for the consent screen,
// parley.MaxThreadLimit at most, but blocked conversations, which they may
// not tick (closedToNewApps), and reports whether they have older ones.
func threadChoices(ctx context.Context, tx parley.Tx, userID string) (choices []ThreadChoice, more bool, err error) {
	threads, err := tx.FindThreads(ctx, parley.ThreadFilter{UserID: userID, Limit: parley.MaxThreadLimit + 1})
	if err != nil {
		return nil, false, err
	}
	if more = len(threads) > parley.MaxThreadLimit; more {
		threads = threads[:parley.MaxThreadLimit]
	}
	threads = slices.DeleteFunc(threads, func(t *parley.ThreadSummary) bool { return closedToNewApps(&t.Thread) })
	ids := make([]string, len(threads))
	for i, t := range threads {
		ids[i] = t.ID
	}
	people, err := tx.FindParticipantsOf(ctx, userID, ids)
	if err != nil {
		return nil, false, err
	}
	choices = make([]ThreadChoice, len(threads))
	for i, t := range threads {
		choices[i] = ThreadChoice{ID: t.ID, Label: labelAmong(&t.Thread, people[t.ID], userID), LastActivityAt: t.LastActivityAt}
	}
	return choices, more, nil
}

// threadLabel names a thread for a member: by its title, or by the names
// of the others in it; "" once the member has left it, as what it is
// called and who is in it since are no longer theirs to see.
func threadLabel(ctx context.Context, tx parley.Tx, th *parley.Thread, userID string) (string, error) {
	people, err := tx.FindParticipants(ctx, th.ID)
	if err != nil {
		return "", err
	}
	return labelAmong(th, people, userID), nil
}

// labelAmong is threadLabel for a thread whose current participants,
// people, are read already.
func labelAmong(th *parley.Thread, people []parley.UserRef, userID string) string {
	if !slices.ContainsFunc(people, func(p parley.UserRef) bool { return p.ID == userID }) {
		return ""
	}
	if th.Title != "" {
		return th.Title
	}
	return names(slices.DeleteFunc(slices.Clone(people), func(p parley.UserRef) bool { return p.ID == userID }))
}

// pendingRequest loads an unanswered, unexpired request and its app, which
// must be active.
func pendingRequest(ctx context.Context, tx parley.Tx, requestID string, now time.Time) (*parley.AuthRequest, *parley.App, error) {
	gone := parley.Errorf(parley.ENOTFOUND, "this sign-in request has expired or does not exist: start again from the app")
	req, err := tx.FindAuthRequest(ctx, requestID)
	if isNotFound(err) {
		return nil, nil, gone
	} else if err != nil {
		return nil, nil, err
	}
	if now.Sub(req.CreatedAt) >= parley.AuthRequestTTL {
		return nil, nil, gone
	}
	if req.Answered() {
		return nil, nil, parley.Errorf(parley.ECONFLICT, "this sign-in request was already answered")
	}
	app, err := tx.FindAppByClientID(ctx, req.ClientID)
	if err != nil {
		return nil, nil, err
	}
	if err := appRefusal(app); err != nil {
		return nil, nil, err
	}
	return req, app, nil
}

// pendingConsent loads an unanswered, unexpired request with its app and
// the member's current grant.
func (s *Service) pendingConsent(ctx context.Context, tx parley.Tx, c *parley.Caller, requestID string) (*Consent, error) {
	now := s.Now()
	req, app, err := pendingRequest(ctx, tx, requestID, now)
	if err != nil {
		return nil, err
	}
	con := &Consent{Request: req, App: app, Asked: req.Scopes}
	g, err := tx.FindCurrentGrant(ctx, c.User.ID, app.ClientID)
	switch {
	case err == nil && g.ActiveAt(now):
		con.Current = g
		con.Asked = g.Scopes.Missing(req.Scopes)
	case err == nil:
		con.expired = g
	case !isNotFound(err):
		return nil, err
	}
	return con, nil
}

// freshConsent is pendingConsent for a member whose sign-in is recent
// enough for the request (prompt=login, max_age): only such a member may
// see the consent page or approve.
func (s *Service) freshConsent(ctx context.Context, tx parley.Tx, c *parley.Caller, requestID string) (*Consent, error) {
	con, err := s.pendingConsent(ctx, tx, c, requestID)
	if err != nil {
		return nil, err
	}
	if !con.Request.SignInFresh(c.User.ID, c.SignedInAt, s.Now()) {
		return nil, parley.Errorf(parley.EUNAUTHORIZED, "%s asks you to enter your password again: sign in again", con.App.Name)
	}
	return con, nil
}

// Deny records that the signed-in member said no to an authorization
// request, and returns it, for the app to be told so. No grant is made, a
// grant the member already has stays as it is, and the request can be
// approved no more. A request refused already, and not yet expired, is
// returned as it is, for the app to be told no again, as access_denied,
// so that a second click on Deny goes where the first went.
func (s *Service) Deny(ctx context.Context, requestID string) (*parley.AuthRequest, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	var req *parley.AuthRequest
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		if found, err := tx.FindAuthRequest(ctx, requestID); err == nil && found.RefusedAt != nil &&
			s.Now().Sub(found.CreatedAt) < parley.AuthRequestTTL {
			req = found
			return nil
		}
		con, err := s.pendingConsent(ctx, tx, c, requestID)
		if err != nil {
			return err
		}
		req = con.Request
		return refuse(ctx, tx, req, s.Now())
	})
	if err != nil {
		return nil, err
	}
	return req, nil
}

// refuse marks req as gone back to its app without a code.
func refuse(ctx context.Context, tx parley.Tx, req *parley.AuthRequest, now time.Time) error {
	req.RefusedAt = &now
	return tx.UpdateAuthRequest(ctx, req)
}

// Approve records the member's answer to the consent page: it creates the
// grant, or widens the current one by the scopes asked, and marks the
// request approved so that a code can be issued. A request within the
// current grant (shown again for prompt=consent) is approved as it is,
// with d ignored.
func (s *Service) Approve(ctx context.Context, requestID string, d Decision) (*parley.AuthRequest, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	var req *parley.AuthRequest
	var noticed []string
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		con, err := s.freshConsent(ctx, tx, c, requestID)
		if err != nil {
			return err
		}
		req, noticed, err = s.approve(ctx, tx, c, con, d, s.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	s.publishAppsChanged(ctx, noticed)
	return req, nil
}

// ticked returns the scopes of asked that a decision keeps: those left
// ticked, and openid whenever it is asked.
func ticked(asked parley.Scopes, d Decision) parley.Scopes {
	return asked.Within(append(d.Scopes, parley.ScopeOpenID))
}

// approve makes or widens the grant for a consent, by the scopes the member
// left ticked, and marks its request approved, with the time the member
// entered their password as auth_time. The request keeps only the scopes
// the grant holds, so its tokens, and the token response's scope, carry no
// scope the member unticked. A new grant is refused, ECONFLICT, when the
// member has parley.MaxConnectedApps connected already; widening one never
// is. It returns the threads a new grant came to reach, or a widened one
// came to do more in (noticeWidened), each with a notice.
func (s *Service) approve(ctx context.Context, tx parley.Tx, c *parley.Caller, con *Consent, d Decision, now time.Time) (*parley.AuthRequest, []string, error) {
	// The member's row is held until the write ends (FindUserForUpdate),
	// as disabling or deleting the account holds it first: a consent given
	// at once with either, on any server, is seen by it, and its grant
	// ended, or sees it, and grants nothing. Consents at once hold it in
	// turn, so each counts the grants of those before it
	// (roomForConnectedApp).
	if u, err := tx.FindUserForUpdate(ctx, c.User.ID); err != nil {
		return nil, nil, err
	} else if u.Disabled || u.Deleted {
		return nil, nil, invalidToken()
	}
	// So is the app's, as an operator's decision about it holds it first
	// (findLiveApp): the app and the member's current grant are read again
	// under it. Read before, on PostgreSQL, an unapproval of reach "all"
	// made meanwhile went unseen, and the grant of all threads made here
	// outlived it; a grant it revoked meanwhile was widened, and its
	// revocation undone, by UpdateGrant.
	if err := lockConsentApp(ctx, tx, con, now); err != nil {
		return nil, nil, err
	}
	g := con.Current
	var noticed []string
	if g == nil {
		if err := roomForConnectedApp(ctx, tx, c.User.ID, con.App.Name, now); err != nil {
			return nil, nil, err
		}
		var err error
		if g, noticed, err = s.newGrant(ctx, tx, c, con, d, now); err != nil {
			return nil, nil, err
		}
	} else if more := ticked(con.Asked, d); len(more) > 0 {
		gained := g.Scopes.Missing(more)
		g.Scopes, g.UpdatedAt = g.Scopes.Union(more), now
		if err := tx.UpdateGrant(ctx, g); err != nil {
			return nil, nil, err
		}
		if err := logGrant(ctx, tx, g, con.App.Name, parley.ActionGrantWidened, now, g.Terms(nil)); err != nil {
			return nil, nil, err
		}
		var err error
		if noticed, err = noticeWidened(ctx, tx, g, gained, now); err != nil {
			return nil, nil, err
		}
	}
	req := con.Request
	signedIn := c.SignedInAt
	req.UserID, req.GrantID, req.AuthTime, req.ApprovedAt = c.User.ID, g.ID, &signedIn, &now
	req.Scopes = req.Scopes.Within(g.Scopes)
	return req, noticed, tx.UpdateAuthRequest(ctx, req)
}

// lockConsentApp holds the row of the consent's app until the write ends,
// and reads the app and the consent's current grant again under it: an app
// no longer active is refused, and a current grant that ended meanwhile
// is ECONFLICT.
func lockConsentApp(ctx context.Context, tx parley.Tx, con *Consent, now time.Time) error {
	app, err := findLiveApp(ctx, tx, con.App.ClientID)
	if err != nil {
		return err
	}
	if err := appRefusal(app); err != nil {
		return err
	}
	con.App = app
	if con.Current == nil {
		return nil
	}
	g, err := tx.FindGrantByID(ctx, con.Current.ID)
	if err != nil {
		return err
	}
	if !g.ActiveAt(now) {
		return parley.Errorf(parley.ECONFLICT, "your grant to %s ended meanwhile: start again from the app", app.Name)
	}
	con.Current = g
	return nil
}

// newGrant checks a first consent's choices and stores its grant, ending an
// expired one in its place, and logs it with the threads the member
// ticked. It returns the threads the grant reaches, each with a notice
// that the app can now read it.
func (s *Service) newGrant(ctx context.Context, tx parley.Tx, c *parley.Caller, con *Consent, d Decision, now time.Time) (*parley.Grant, []string, error) {
	switch d.ThreadScope {
	case parley.ThreadScopeApp:
	case parley.ThreadScopeSelected:
		if len(d.ThreadIDs) == 0 {
			return nil, nil, parley.Errorf(parley.EINVALID, "tick at least one conversation, or choose another answer to “In which conversations?”")
		}
	case parley.ThreadScopeAll:
		if !con.App.AllThreadsApproved {
			return nil, nil, parley.Errorf(parley.EFORBIDDEN, "%s is not approved to reach all conversations", con.App.Name)
		}
	default:
		return nil, nil, parley.Errorf(parley.EINVALID, "choose an answer to “In which conversations?”")
	}
	if !slices.ContainsFunc(parley.GrantExpiries, func(e parley.GrantExpiry) bool { return e.Lifetime == d.Expiry }) {
		return nil, nil, parley.Errorf(parley.EINVALID, "expiry must be %s", expiryChoices())
	}
	if con.expired != nil {
		if err := s.endExpiredGrant(ctx, tx, con.expired, con.App.Name); err != nil {
			return nil, nil, err
		}
	}
	g := &parley.Grant{
		ID: parley.NewID(), UserID: c.User.ID, ClientID: con.App.ClientID, Scopes: ticked(con.Asked, d),
		ThreadScope: d.ThreadScope, CreatedAt: now, UpdatedAt: now,
	}
	if d.Expiry > 0 {
		exp := now.Add(d.Expiry)
		g.ExpiresAt = &exp
	}
	if err := tx.CreateGrant(ctx, g); err != nil {
		return nil, nil, err
	}
	var noticed, tickedThreads []string
	switch d.ThreadScope {
	case parley.ThreadScopeSelected:
		for _, id := range d.ThreadIDs {
			th, _, err := memberThread(ctx, tx, id, c.User.ID)
			if err != nil {
				return nil, nil, parley.Errorf(parley.EINVALID, "you can only tick your own conversations")
			}
			if closedToNewApps(th) {
				return nil, nil, parley.Errorf(parley.EINVALID, "a blocked conversation cannot be given to an app")
			}
			added, err := tx.AddGrantThread(ctx, parley.GrantThread{GrantID: g.ID, ThreadID: id})
			if err != nil {
				return nil, nil, err
			}
			if !added {
				continue // ticked twice
			}
			tickedThreads = append(tickedThreads, id)
			if ok, err := noticeAppAdded(ctx, tx, g, id, now); err != nil {
				return nil, nil, err
			} else if ok {
				noticed = append(noticed, id)
			}
		}
	case parley.ThreadScopeAll:
		var err error
		if noticed, err = noticeAllThreads(ctx, tx, g, now); err != nil {
			return nil, nil, err
		}
	}
	return g, noticed, logGrant(ctx, tx, g, con.App.Name, parley.ActionGrantCreated, now, g.Terms(tickedThreads))
}

// expiryChoices lists the lengths a member may choose for a grant, as a
// sentence ends: "30 days, 90 days or until revoked".
func expiryChoices() string {
	words := make([]string, len(parley.GrantExpiries))
	for i, e := range parley.GrantExpiries {
		words[i] = e.String()
	}
	last := len(words) - 1
	return strings.Join(words[:last], ", ") + " or " + words[last]
}
