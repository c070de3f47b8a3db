package client

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// This file covers an app owner's webhook endpoints and a receiver's check
// of a delivery's signature. Its types are its own, so that it needs
// nothing of the server's.

// WebhookEndpoint is where an app receives events.
type WebhookEndpoint struct {
	ID        string    `json:"id"`
	ClientID  string    `json:"client_id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"created_at"`
	// ActiveFrom is when the endpoint starts receiving events, a few
	// seconds after it was made.
	ActiveFrom     time.Time  `json:"active_from"`
	OldSecretUntil *time.Time `json:"old_secret_until,omitempty"`
	FailingSince   *time.Time `json:"failing_since,omitempty"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	// Secret, whsec_…, is set only in the answer that made the endpoint
	// or rotated its secret.
	Secret string `json:"secret,omitempty"`
}

// WebhookAttempt is one try at sending a delivery.
type WebhookAttempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code"`
	LatencyMS  int64     `json:"latency_ms"`
	Error      string    `json:"error,omitempty"`
	Succeeded  bool      `json:"succeeded"`
}

// WebhookDelivery is one event sent, or being sent, to an endpoint.
type WebhookDelivery struct {
	ID            string           `json:"id"`
	EndpointID    string           `json:"endpoint_id"`
	Event         string           `json:"event"`
	CreatedAt     time.Time        `json:"created_at"`
	State         string           `json:"state"`
	NextAttemptAt *time.Time       `json:"next_attempt_at,omitempty"`
	Attempts      []WebhookAttempt `json:"attempts"`
}

// WebhookDeliveryPage is a page of deliveries, newest first.
type WebhookDeliveryPage struct {
	Deliveries []WebhookDelivery `json:"deliveries"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

func webhooksPath(clientID string, rest ...string) string {
	p := "/api/v1/apps/" + url.PathEscape(clientID) + "/webhooks"
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// CreateWebhook registers an endpoint for one of the member's apps; the
// answer holds its signing secret, shown this once.
func (c *Client) CreateWebhook(ctx context.Context, clientID, endpointURL string, events []string) (*WebhookEndpoint, error) {
	var e WebhookEndpoint
	_, err := c.Do(ctx, "POST", webhooksPath(clientID), map[string]any{"url": endpointURL, "events": events}, &e)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// Webhooks lists an app's endpoints, oldest first.
func (c *Client) Webhooks(ctx context.Context, clientID string) ([]WebhookEndpoint, error) {
	var out struct {
		Endpoints []WebhookEndpoint `json:"endpoints"`
	}
	_, err := c.Do(ctx, "GET", webhooksPath(clientID), nil, &out)
	if err != nil {
		return nil, err
	}
	return out.Endpoints, nil
}

// Webhook returns one of an app's endpoints.
func (c *Client) Webhook(ctx context.Context, clientID, id string) (*WebhookEndpoint, error) {
	var e WebhookEndpoint
	_, err := c.Do(ctx, "GET", webhooksPath(clientID, id), nil, &e)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// DeleteWebhook removes an endpoint and its deliveries.
func (c *Client) DeleteWebhook(ctx context.Context, clientID, id string) error {
	_, err := c.Do(ctx, "DELETE", webhooksPath(clientID, id), nil, nil)
	return err
}

// RotateWebhookSecret gives an endpoint a new secret, returned this once;
// the old one signs beside it for 24 hours.
func (c *Client) RotateWebhookSecret(ctx context.Context, clientID, id string) (*WebhookEndpoint, error) {
	var e WebhookEndpoint
	_, err := c.Do(ctx, "POST", webhooksPath(clientID, id, "rotate-secret"), nil, &e)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// WebhookDeliveries returns a page of an endpoint's deliveries with every
// attempt; cursor is the previous page's NextCursor, limit 0 the default.
func (c *Client) WebhookDeliveries(ctx context.Context, clientID, id, cursor string, limit int) (*WebhookDeliveryPage, error) {
	v := url.Values{}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var p WebhookDeliveryPage
	_, err := c.Do(ctx, "GET", webhooksPath(clientID, id, "deliveries")+"?"+v.Encode(), nil, &p)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// RedeliverWebhook sends one of an endpoint's deliveries again now.
func (c *Client) RedeliverWebhook(ctx context.Context, clientID, id, deliveryID string) error {
	_, err := c.Do(ctx, "POST", webhooksPath(clientID, id, "deliveries", deliveryID, "redeliver"), nil, nil)
	return err
}

// WebhookTolerance is how far a delivery's webhook-timestamp may be from
// the receiver's clock: older deliveries are refused as possible replays.
const WebhookTolerance = 5 * time.Minute

// ErrWebhookSignature is VerifyWebhook's answer to a delivery that is not
// Parley's, was changed on the way, or is too old or too new: refuse it.
var ErrWebhookSignature = errors.New("parley: the webhook's signature does not verify")

// ErrWebhookTimestamp is VerifyWebhook's answer to a delivery whose
// webhook-timestamp is more than WebhookTolerance from now: a replay, or
// a receiver whose clock is wrong. It is an ErrWebhookSignature too
// (errors.Is), as any delivery that does not verify.
var ErrWebhookTimestamp = fmt.Errorf("parley: the webhook's timestamp is more than %v from now: %w", WebhookTolerance, ErrWebhookSignature)

// ErrWebhookSecret is VerifyWebhook's answer when the secret it is given
// is not an endpoint's secret, whsec_ and base64. It is not an
// ErrWebhookSignature: it says nothing of the delivery, which may well be
// Parley's, and every delivery fails alike until the receiver's
// configuration is put right; answer it as the receiver's own failure
// (500), which Parley retries.
var ErrWebhookSecret = errors.New("parley: the webhook secret is not a whsec_ secret")

// ParseWebhookSecret returns the signing key of an endpoint's secret:
// whsec_ and then the key, in base64. A secret that is not one is
// ErrWebhookSecret. A receiver may check its configured secret with it at
// start, rather than find it wrong at the first delivery.
func ParseWebhookSecret(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, "whsec_")
	key, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(key) == 0 {
		return nil, ErrWebhookSecret
	}
	return key, nil
}

// VerifyWebhook checks a delivery per Standard Webhooks: that one of the
// webhook-signature header's v1 signatures is the HMAC-SHA256, under the
// endpoint's secret (whsec_…, whose key is the base64 after whsec_), of
// webhook-id.webhook-timestamp.body, and that the timestamp is within
// WebhookTolerance of now. During a secret's rotation a delivery carries a
// signature by each secret, so a receiver holding either verifies it. Pass
// the body exactly as received.
//
// A delivery that does not verify is ErrWebhookSignature (errors.Is),
// ErrWebhookTimestamp when its signature may be good but its time is not;
// a secret that is not one is ErrWebhookSecret.
func VerifyWebhook(secret string, header http.Header, body []byte, now time.Time) error {
	key, err := ParseWebhookSecret(secret)
	if err != nil {
		return err
	}
	id, ts := header.Get("webhook-id"), header.Get("webhook-timestamp")
	secs, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || err != nil {
		return ErrWebhookSignature
	}
	if at := time.Unix(secs, 0); now.Sub(at) > WebhookTolerance || at.Sub(now) > WebhookTolerance {
		return ErrWebhookTimestamp
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for sig := range strings.FieldsSeq(header.Get("webhook-signature")) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		if got, err := base64.StdEncoding.DecodeString(b64); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrWebhookSignature
}
