package parley

import "time"

// What operators decide, as OperatorAction.Action records it.
const (
	ActionUserAdd        = "user.add"
	ActionGrantOperator  = "user.grant_operator"
	ActionRevokeOperator = "user.revoke_operator"
	ActionAppApproveAll  = "app.approve_all"
	ActionAppSuspend     = "app.suspend"
	ActionAppReinstate   = "app.reinstate"
	ActionAppApprove     = "app.approve"
	ActionAppUnapprove   = "app.unapprove_all"
	ActionAppDelete      = "app.delete"
	ActionAppAdd         = "app.add"
	ActionUserPassword   = "user.password"
	ActionUserDisable    = "user.disable"
	ActionUserEnable     = "user.enable"
	ActionUserSignOut    = "user.sign_out"
	ActionUserRename     = "user.rename"
	ActionKeysRotate     = "keys.rotate"
	ActionKeysMove       = "keys.move"
	// ActionFlagsDismiss resolves members' flags of a message as
	// dismissed; the subject is the message, named by its sender.
	ActionFlagsDismiss = "flags.dismiss"
	// ActionFlaggedMessageDelete deletes a message members flagged, and
	// resolves their flags; the subject is the message, named by its
	// sender.
	ActionFlaggedMessageDelete = "flags.delete_message"
	// ActionUserDelete is an account's deletion, by an operator or by its
	// member (then both actor and subject are the member).
	ActionUserDelete = "user.delete"
	// ActionAppRedirectChanged is an owner's change of an app's redirect
	// URIs to one operators did not see (the actor is the owner). It
	// withdraws an approval for reach "all", and the operators' vouching
	// for the app, and where operators review every member's app, makes an
	// active app pending: the app waits for review again.
	ActionAppRedirectChanged = "app.redirect_changed"
)

// OperatorConsole is the actor of decisions made at the server's console.
const OperatorConsole = "console"

// OperatorAction is one decision an operator made: who, what, about what,
// and when; and a member's deletion of their own account, which is
// recorded the same way. Decisions made at the server's console (the parley command)
// have no ActorID and the Actor OperatorConsole.
type OperatorAction struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
	// ActorID is the operator's member ID; empty for the console.
	ActorID string `json:"actor_id,omitempty"`
	// Actor is the operator's username as it was, or OperatorConsole; for
	// a member deleting their own account, the member's.
	Actor string `json:"actor"`
	// Action is one of the Action constants.
	Action string `json:"action"`
	// Subject is what the decision is about: an app's client ID, a
	// member's ID or a message's ID; SubjectName its name as it was (a
	// message's: its sender's username).
	Subject     string `json:"subject"`
	SubjectName string `json:"subject_name"`
}
