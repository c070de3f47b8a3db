package client

// Problem types: Error.Type, stable from version to version. Each comes
// with the one status given.
const (
	// ProblemInvalid (400): the request is malformed or breaks a rule.
	ProblemInvalid = "urn:parley:problem:invalid"
	// ProblemUnauthorized (401): no token, or one that is not good (ended,
	// revoked, or of a grant that ended); Error.WWWAuthenticate says which.
	ProblemUnauthorized = "urn:parley:problem:unauthorized"
	// ProblemForbidden (403): the caller may not do this, such as write to
	// a member who is not a friend, or into a blocked conversation.
	ProblemForbidden = "urn:parley:problem:forbidden"
	// ProblemInsufficientScope (403): an app's token lacks the scope the
	// call needs, or the call is for members alone.
	ProblemInsufficientScope = "urn:parley:problem:insufficient_scope"
	// ProblemNotFound (404): absent, or out of the caller's reach, which an
	// app is told alike.
	ProblemNotFound = "urn:parley:problem:not_found"
	// ProblemMethodNotAllowed (405): the path takes no such method.
	ProblemMethodNotAllowed = "urn:parley:problem:method_not_allowed"
	// ProblemConflict (409): the request clashes with what is, such as an
	// idempotency key used for another request.
	ProblemConflict = "urn:parley:problem:conflict"
	// ProblemTooLarge (413): the request's body is over 256 KiB.
	ProblemTooLarge = "urn:parley:problem:too_large"
	// ProblemUnsupportedMediaType (415): a body that is not
	// application/json.
	ProblemUnsupportedMediaType = "urn:parley:problem:unsupported_media_type"
	// ProblemUpgradeRequired (426): GET /api/v1/events without a WebSocket
	// upgrade.
	ProblemUpgradeRequired = "urn:parley:problem:upgrade_required"
	// ProblemThrottled (429): too many requests; try again after
	// Error.RetryAfter.
	ProblemThrottled = "urn:parley:problem:throttled"
	// ProblemInternal (500): the server failed; its logs say why.
	ProblemInternal = "urn:parley:problem:internal"
	// ProblemUnavailable (503): the request was cancelled before it
	// finished, or could not be answered now; try again.
	ProblemUnavailable = "urn:parley:problem:unavailable"
	// ProblemStorageFull (507): the server's disk is full and nothing was
	// saved; try again later.
	ProblemStorageFull = "urn:parley:problem:storage_full"
)

// Why a grant.revoked webhook event was sent: WebhookGrant.Reason.
const (
	// GrantEndRevoked: the grant ended, revoked by the member or by an
	// operator's action.
	GrantEndRevoked = "revoked"
	// GrantEndExpired: the grant ran out.
	GrantEndExpired = "expired"
	// GrantEndSuspended: an operator suspended the app. The grant stays:
	// if the app is unsuspended, it and its tokens work again as they
	// were, with no event.
	GrantEndSuspended = "app_suspended"
)

// Why a thread.closed_to_apps webhook event was sent: WebhookThread.Reason.
const (
	// ThreadEndClosed: a participant closed the thread to apps.
	ThreadEndClosed = "closed"
	// ThreadEndLeft: the member left the thread.
	ThreadEndLeft = "left"
	// ThreadEndUnticked: the member took the thread out of the grant.
	ThreadEndUnticked = "unticked"
	// ThreadEndNarrowed: the member took messages.read out of the grant,
	// which reaches the thread still but reads it no more: the app is told
	// of no deletion or edit there from then on, and forgets what it kept.
	ThreadEndNarrowed = "narrowed"
)
