package client

import "context"

// ShareOnce posts a share card as Share does, with an idempotency key: a
// retry with the same key returns the card the first call posted, with
// replayed true, instead of posting another.
func (c *Client) ShareOnce(ctx context.Context, s NewShare, idempotencyKey string) (m *Message, replayed bool, err error) {
	m = &Message{}
	resp, err := c.Do(ctx, "POST", "/api/v1/shares", s, m, "Idempotency-Key", idempotencyKey)
	return m, err == nil && resp.Header.Get("Idempotent-Replayed") == "true", err
}
