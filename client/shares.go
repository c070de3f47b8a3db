package client

import "context"

// ShareOnce posts a share card as Share does, with an idempotency key: a
// retry with the same key returns the card the first call posted, with
// replayed true, instead of posting another. An empty key sends none, as
// Share does.
func (c *Client) ShareOnce(ctx context.Context, s NewShare, key string) (m *Message, replayed bool, err error) {
	m = &Message{}
	resp, err := c.Do(ctx, "POST", "/api/v1/shares", s, m, idempotencyKey(key)...)
	if err != nil {
		return nil, false, err
	}
	return m, outcomeOf(resp).Replayed, nil
}
