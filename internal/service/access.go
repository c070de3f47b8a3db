package service

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

// How apps are held to their grants. Every call takes its caller through
// caller(ctx, scope), which names the one scope an app's token must hold for
// the call; memberOnly marks calls that act on the account itself (friends,
// sessions, app registrations, group membership, read markers) and that no
// app may make. A member's own session may make every call.
//
// Scopes decide which calls an app may make; the thread scope decides which
// threads exist for it (visibleThread); a grant thread's visible_from_seq
// decides which messages. Above all of them, any participant may close a
// thread to every app: then it exists for none.
//
// Refusals tell an app nothing its grant does not cover. An answer is
// information too, and a refused call leaves no entry in the access log: an
// app that may not read a message must not learn its sender, its deletion
// or its kind from how a call naming it is refused. So, for an app, a
// message (or thread) it may not act on is answered exactly as one that
// does not exist, and that is decided before anything that depends on the
// message's sender, deletion or kind: DeleteMessage answers another
// participant's message as it answers no message at all
// (errNoMessageToDelete), EditMessage first checks that the app wrote the
// message for its member, which the app knows without reading it
// (errNoMessageToEdit), and only then looks at what became of it. What a
// refusal then still tells of a message is either the app's own knowledge
// (the kind of a message it wrote) or logged as the read it is (a deletion,
// logAnswered). This holds whatever else the grant holds: with
// messages.read the app could read who sent a message, but that read is
// logged, and a refusal is not, so a clearer "someone else sent this"
// would tell it without a trace. A member's own calls keep their clear
// errors: the member may know all of it.

// memberOnly is the scope of calls no app may make.
const memberOnly parley.Scope = ""

// caller returns the signed-in caller if it may make a call that needs
// scope: EUNAUTHORIZED without one, ESCOPE for an app without the scope.
func caller(ctx context.Context, scope parley.Scope) (*parley.Caller, error) {
	c := parley.CallerFromContext(ctx)
	if c == nil {
		return nil, parley.Errorf(parley.EUNAUTHORIZED, "sign in first")
	}
	switch {
	case c.Client != nil:
		return nil, parley.Errorf(parley.ESCOPE, "an app's own token reaches only the app's reports: act for a member with a token of theirs")
	case c.App == nil:
		return c, nil
	case scope == memberOnly:
		return nil, parley.Errorf(parley.ESCOPE, "apps cannot make this call: it is for members themselves")
	case !c.App.Scopes.Has(scope):
		return nil, &parley.Error{Code: parley.ESCOPE, Message: "this call needs the " + string(scope) + " scope", Scope: string(scope)}
	}
	return c, nil
}

// reachesAll reports whether the caller sees every thread it takes part in
// from the first message: a member, or an app granted thread scope "all".
func reachesAll(c *parley.Caller) bool {
	return c.App == nil || c.App.Grant.ThreadScope == parley.ThreadScopeAll
}

// visibleFrom returns the first message of the thread the caller may see,
// or ENOTFOUND, exactly as for a thread that does not exist, when the thread
// is outside the caller's grant or a participant closed it to apps. It does
// not check membership.
func visibleFrom(ctx context.Context, tx parley.Tx, c *parley.Caller, threadID string) (int64, error) {
	if c.App == nil {
		return 0, nil
	}
	r, err := tx.FindThreadReach(ctx, c.App.Grant.ID, threadID)
	if err != nil {
		return 0, err
	}
	return reachFrom(c, r)
}

// reachFrom decides on an app caller's reach of a thread, r: the first
// message of it the caller may see, or ENOTFOUND as visibleFrom says
// (ThreadReach.From states the rule).
func reachFrom(c *parley.Caller, r *parley.ThreadReach) (int64, error) {
	from, ok := r.From(c.App.Grant.ThreadScope)
	if !ok {
		return 0, threadNotFound()
	}
	return from, nil
}

// shareOutOfReach reports whether an app may not share into the thread,
// which exists: a participant closed it to apps; the app's member took it
// out of the grant (ThreadReach.TakenOut), where it stays for the grant's
// life; or the app's grant reaches the threads its member ticked (thread
// scope "selected") and does not list this one. Such an app brings into
// its grant only a thread it starts; a thread that was there before it
// came, the member ticks, or unticked. An app of thread scope "app" shares
// into any other, and brings it into its grant from the card on, as a
// thread it starts.
func shareOutOfReach(ctx context.Context, tx parley.Tx, c *parley.Caller, threadID string) (bool, error) {
	if c.App == nil {
		return false, nil
	}
	r, err := tx.FindThreadReach(ctx, c.App.Grant.ID, threadID)
	if err != nil {
		return false, err
	}
	return r.ClosedToApps || r.TakenOut || c.App.Grant.ThreadScope == parley.ThreadScopeSelected && !r.InGrant, nil
}

// visibleThread returns a thread the caller's member takes part in and the
// caller may see, with the first message the caller may see in it.
func visibleThread(ctx context.Context, tx parley.Tx, c *parley.Caller, threadID string) (*parley.Thread, *parley.Participant, int64, error) {
	from, err := visibleFrom(ctx, tx, c, threadID)
	if err != nil {
		return nil, nil, 0, err
	}
	th, p, err := memberThread(ctx, tx, threadID, c.User.ID)
	return th, p, from, err
}

// bringIntoGrant makes a thread an app started or shared into part of its
// grant, from message fromSeq on, with a notice in the thread. A thread
// already in it keeps its earlier start; under thread scope "all" there is
// nothing to add. It reports whether it added a notice.
func bringIntoGrant(ctx context.Context, tx parley.Tx, c *parley.Caller, threadID string, fromSeq int64, now time.Time) (bool, error) {
	if reachesAll(c) {
		return false, nil
	}
	added, err := tx.AddGrantThread(ctx, parley.GrantThread{GrantID: c.App.Grant.ID, ThreadID: threadID, VisibleFromSeq: fromSeq})
	if err != nil || !added {
		return false, err
	}
	return noticeAppAdded(ctx, tx, c.App.Grant, threadID, now)
}

// via names the app a caller writes through, or nil for a member.
func via(c *parley.Caller) *parley.Via {
	if c.App == nil {
		return nil
	}
	return &parley.Via{ClientID: c.App.App.ClientID, Name: c.App.App.Name}
}
