package client

import (
	"encoding/json"
	"time"
)

// Webhook event types, as WebhookEvent.Type names them. Ignore types you
// do not know.
const (
	// WebhookMessageCreated: a message was posted where a member's grant
	// to the app reaches; the data is a WebhookMessage.
	WebhookMessageCreated = "message.created"
	// WebhookMessageEdited: a message the grant reaches was edited; the
	// data is a WebhookMessage. Read it again and replace your copy.
	WebhookMessageEdited = "message.edited"
	// WebhookMessageDeleted: a message the grant reached was deleted; the
	// data is a WebhookMessage. Delete your copy.
	WebhookMessageDeleted = "message.deleted"
	// WebhookGrantRevoked: the member's grant ended (revoked, expired, or
	// the app suspended); the data is a WebhookGrant.
	WebhookGrantRevoked = "grant.revoked"
	// WebhookThreadClosed: a thread left the member's grant (a participant
	// closed it to apps, the member left it, or took it out of the grant);
	// the data is a WebhookThread.
	WebhookThreadClosed = "thread.closed_to_apps"
	// WebhookReportShares: the app's share report for the fortnight just
	// ended; the data is a ShareReport.
	WebhookReportShares = "report.shares"
)

// WebhookEvent is the body of a webhook delivery. Check its signature with
// VerifyWebhook before reading it; then unmarshal Data into the type its
// Type names.
type WebhookEvent struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// WebhookMessage is the data of message.created, message.edited and
// message.deleted. It is thin, with no text: read the message through the API with the member's
// grant (Changes, Messages), which the member's access log records.
type WebhookMessage struct {
	ThreadID  string `json:"thread_id"`
	MessageID string `json:"message_id"`
	Seq       int64  `json:"seq"`
	// UserID is the member through whose grant the app reaches the thread,
	// and GrantID that grant.
	UserID  string    `json:"user_id"`
	GrantID string    `json:"grant_id"`
	At      time.Time `json:"at"`
}

// WebhookGrant is the data of grant.revoked. Reason is GrantEndRevoked,
// GrantEndExpired or GrantEndSuspended.
type WebhookGrant struct {
	GrantID string    `json:"grant_id"`
	UserID  string    `json:"user_id"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

// WebhookThread is the data of thread.closed_to_apps. Reason is
// ThreadEndClosed (a participant closed the thread to apps), ThreadEndLeft
// (the member left it), ThreadEndUnticked (the member took it out of the
// grant) or ThreadEndNarrowed (the member took messages.read out of the
// grant, which reads it no more).
type WebhookThread struct {
	ThreadID string    `json:"thread_id"`
	UserID   string    `json:"user_id"`
	GrantID  string    `json:"grant_id"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}
