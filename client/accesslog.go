package client

import (
	"context"
	"net/url"
)

// AccessLogQuery selects a page of the member's access log.
type AccessLogQuery struct {
	// App, a client ID, keeps that app's entries alone; the thread
	// entries, which name no app, are left out.
	App string
	// Cursor is the NextCursor of the page before, with the same App.
	Cursor string
	// Limit is from 1 to 200; 0 takes the server's 50.
	Limit int
}

// AccessLogPage is a page of the member's access log, newest first.
type AccessLogPage struct {
	Entries []AccessEntry `json:"entries"`
	// NextCursor reads on into older entries; empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// AccessLogVerification is what recomputing the member's chain found.
type AccessLogVerification struct {
	// Entries is how many entries were checked.
	Entries int64 `json:"entries"`
	// Intact is true when every link of the chain holds.
	Intact bool `json:"intact"`
	// Break is where the chain first fails, when Intact is false.
	Break *ChainBreak `json:"break,omitempty"`
}

// ChainBreak is the first entry where a chain fails to verify; Reason is
// for people to read.
type ChainBreak struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// AccessLog returns a page of the signed-in member's access log: every
// call an app made on their data, and what happened to their grants.
// Members only.
func (c *Client) AccessLog(ctx context.Context, q AccessLogQuery) (*AccessLogPage, error) {
	v := url.Values{}
	if q.App != "" {
		v.Set("app", q.App)
	}
	setPage(v, q.Cursor, q.Limit)
	var p AccessLogPage
	if _, err := c.Do(ctx, "GET", "/api/v1/me/access-log?"+v.Encode(), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// VerifyAccessLog has the server recompute the signed-in member's whole
// chain and say whether it holds. Members only.
func (c *Client) VerifyAccessLog(ctx context.Context) (*AccessLogVerification, error) {
	var v AccessLogVerification
	if _, err := c.Do(ctx, "GET", "/api/v1/me/access-log/verify", nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
