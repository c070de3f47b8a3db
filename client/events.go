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
// ended, or no longer holds messages.read, which a stream needs, and
// another stream needs another token.
const StatusOpenAgain websocket.StatusCode = 4000

// StatusAccessEnded (1008, websocket.StatusPolicyViolation) is the close
// code with which the server ends a stream whose token no longer works for
// one: refresh the token, or have the member connect the app again, as the
// close reason says. A member's own stream ends so with its session, the
// reason "session ended: sign in again", or "account deleted" or "account
// disabled" when the session ended with the member's account.
const StatusAccessEnded = websocket.StatusPolicyViolation

// StatusNodeStopping (1001, websocket.StatusGoingAway) is the close code
// with which a server that is stopping ends its streams, with the reason
// "server shutting down": open the stream again, on any node, and catch up
// on each thread from the changes feed (CatchUp, from the cursor kept), as
// after any disconnect.
const StatusNodeStopping = websocket.StatusGoingAway

// CloseStatus returns the close code with which the server ended a
// stream, as EventStream.Next's error carries it, such as StatusOpenAgain,
// StatusAccessEnded or StatusNodeStopping; or -1 when err is not the end
// of a stream by a close frame (a network failure, ErrFellBehind, a
// context that ended).
//
//	switch _, err := stream.Next(ctx); client.CloseStatus(err) {
//	case client.StatusOpenAgain:
//		// open the stream again, with the same token
//	case client.StatusNodeStopping:
//		// open the stream again, on any node, and catch up from the cursors kept
//	}
func CloseStatus(err error) websocket.StatusCode { return websocket.CloseStatus(err) }

// EventStream is a realtime connection delivering the member's events.
//
// It reads the connection all along, as a WebSocket must to answer the
// server's pings: were it read only while Next waits, a client busy
// elsewhere for more than the server's 40 seconds of patience (catching up
// on its threads after opening the stream, as it should) would find the
// connection dropped. What arrives meanwhile waits for Next, up to
// readAhead events; a client so far behind that more wait is told so by
// Next (ErrFellBehind), and opens the stream again.
type EventStream struct {
	conn *websocket.Conn
	// frames are the messages read ahead; closed when reading ended, after
	// err is set.
	frames chan []byte
	err    error
	// stop ends the reading, and the connection with it.
	stop context.CancelFunc
}

// readAhead is how many events an EventStream holds for Next at most.
const readAhead = 1024

// ErrFellBehind ends a stream whose reader let more than readAhead events
// wait unread: open the stream again, and catch up from the cursors kept.
var ErrFellBehind = errors.New("parley: the event stream was closed: more events came than were read")

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
	if err != nil {
		return nil, err
	}
	return &t, nil
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
	readCtx, stop := context.WithCancel(context.Background())
	s := &EventStream{conn: conn, frames: make(chan []byte, readAhead), stop: stop}
	go s.read(readCtx)
	return s, nil
}

// read reads the connection until it ends, or ctx does, handing each
// message to Next.
func (s *EventStream) read(ctx context.Context) {
	defer close(s.frames)
	for {
		_, b, err := s.conn.Read(ctx)
		if err != nil {
			s.err = err
			return
		}
		select {
		case s.frames <- b:
		default:
			s.err = ErrFellBehind
			s.conn.Close(websocket.StatusPolicyViolation, "the client fell behind")
			return
		}
	}
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
// context it should last for, and Close it to stop. Events that came
// before the stream ended are handed out first; then Next returns why it
// ended.
func (s *EventStream) Next(ctx context.Context) (Event, error) {
	var ev Event
	var b []byte
	select {
	case frame, ok := <-s.frames:
		if !ok {
			return ev, s.err
		}
		b = frame
	case <-ctx.Done():
		s.stop()
		return ev, ctx.Err()
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
func (s *EventStream) Close() error {
	err := s.conn.Close(websocket.StatusNormalClosure, "")
	s.stop()
	return err
}
