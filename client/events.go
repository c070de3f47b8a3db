package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/coder/websocket"
)

// StatusOpenAgain is the close code with which the server ends an app's
// stream whose grant lasts but reaches less than it did (a participant
// closed a conversation to apps, the member narrowed the grant): open the
// stream again, with the same token, to go on with what the grant reaches
// now. 1008 (websocket.StatusPolicyViolation) means the token's access
// ended, and another stream needs another token.
const StatusOpenAgain websocket.StatusCode = 4000

// EventStream is a realtime connection delivering the member's events.
type EventStream struct {
	conn *websocket.Conn
}

// Events opens the realtime connection of the client's token, or its token
// source's, sent in the Authorization header.
func (c *Client) Events(ctx context.Context) (*EventStream, error) {
	auth, err := c.authorization(ctx)
	if err != nil {
		return nil, err
	}
	header := http.Header{}
	if auth != "" {
		header.Set("Authorization", auth)
	}
	return c.dialEvents(ctx, "", header)
}

// EventTicket asks for a ticket to open a realtime connection once, soon.
func (c *Client) EventTicket(ctx context.Context) (*EventTicket, error) {
	var t EventTicket
	_, err := c.Do(ctx, "POST", "/api/v1/events/tickets", nil, &t)
	return &t, err
}

// EventsWithTicket opens a realtime connection with a ticket from
// EventTicket, sending no token.
func (c *Client) EventsWithTicket(ctx context.Context, ticket string) (*EventStream, error) {
	return c.dialEvents(ctx, "?ticket="+url.QueryEscape(ticket), nil)
}

func (c *Client) dialEvents(ctx context.Context, query string, header http.Header) (*EventStream, error) {
	u := "ws" + strings.TrimPrefix(c.baseURL, "http") + "/api/v1/events" + query
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: header})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			// The websocket package leaves the start of the answer's
			// body in resp.Body: the server's problem.
			return nil, problem(resp)
		}
		if query != "" {
			// The error names the URL, and the ticket in it still works.
			return nil, &dialError{msg: strings.ReplaceAll(err.Error(), query, "?ticket=REDACTED"), err: err}
		}
		return nil, err
	}
	conn.SetReadLimit(1 << 20)
	return &EventStream{conn: conn}, nil
}

// dialError is an error opening a connection with a ticket, whose message
// leaves the ticket out.
type dialError struct {
	msg string
	err error
}

func (e *dialError) Error() string { return e.msg }
func (e *dialError) Unwrap() error { return e.err }

// Next waits for the next event. The stream ends if ctx does: a deadline
// on ctx bounds the stream, not one wait, so wait on a stream with the
// context it should last for, and Close it to stop.
func (s *EventStream) Next(ctx context.Context) (Event, error) {
	var ev Event
	_, b, err := s.conn.Read(ctx)
	if err != nil {
		return ev, err
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		// A server that cuts off a client too slow to keep up closes the
		// connection in the middle of a message, and the websocket reader
		// can hand over what arrived as if it were whole.
		if se, ok := errors.AsType[*json.SyntaxError](err); ok && se.Offset == int64(len(b)) {
			return ev, fmt.Errorf("parley: the event stream broke off in a message: %w", io.ErrUnexpectedEOF)
		}
		return ev, err
	}
	return ev, nil
}

// Close closes the connection.
func (s *EventStream) Close() error { return s.conn.Close(websocket.StatusNormalClosure, "") }
