package client

import (
	"context"
	"net/url"
)

// MessageChange is one change to a thread's messages: Type is
// EventMessageCreated for a message posted, EventMessageEdited for one
// whose text changed (Message as it now is: it may be new to the reader,
// posted and edited since it last looked), EventMessageReacted for one
// whose reactions changed last (Message as it now is, too),
// EventMessageDeleted for one deleted, whose Message is then a tombstone
// without its content.
type MessageChange struct {
	Type    string   `json:"type"`
	Message *Message `json:"message"`
}

// ChangePage is a page of a thread's changes, oldest first.
type ChangePage struct {
	Changes []MessageChange `json:"changes"`
	// NextCursor continues after this page; given again when the page is
	// empty, so that a reader always has a place to resume from.
	NextCursor string `json:"next_cursor"`
	// HasMore reports whether more changes follow the page already.
	HasMore bool `json:"has_more"`
}

// ChangesQuery selects a page of a thread's changes: those after Cursor, a
// ChangePage's NextCursor (empty: from the thread's first change).
type ChangesQuery struct {
	Cursor string
	// Limit is from 1 to 200 changes; 0 takes the server's 50.
	Limit int
}

// Changes returns a page of the changes to a thread's messages, messages
// posted, edited, reacted to and deleted, in the order they were
// committed, each message with its Change. Keep the
// page's NextCursor to continue from, now or much later.
func (c *Client) Changes(ctx context.Context, threadID string, q ChangesQuery) (*ChangePage, error) {
	v := url.Values{}
	setPage(v, q.Cursor, q.Limit)
	var p ChangePage
	_, err := c.Do(ctx, "GET", "/api/v1/threads/"+url.PathEscape(threadID)+"/changes?"+v.Encode(), nil, &p)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// CatchUp reads every change to a thread's messages after cursor, page by
// page of limit (0: the server's default), and returns them with the cursor
// to catch up from next time. On an error it returns the changes read so
// far and the cursor after them, so that nothing read is read twice. A 409
// (StatusOf) says that the thread left the app's grant and came back since
// cursor was given: forget the copy of the thread and catch up from "".
func (c *Client) CatchUp(ctx context.Context, threadID, cursor string, limit int) ([]MessageChange, string, error) {
	var changes []MessageChange
	for {
		page, err := c.Changes(ctx, threadID, ChangesQuery{Cursor: cursor, Limit: limit})
		if err != nil {
			return changes, cursor, err
		}
		changes, cursor = append(changes, page.Changes...), page.NextCursor
		if !page.HasMore {
			return changes, cursor, nil
		}
	}
}
