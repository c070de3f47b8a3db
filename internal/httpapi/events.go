package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
)

// Realtime connection timing: a write that takes longer than writeTimeout
// means the client stopped reading, and it is cut off.
const (
	writeTimeout = 10 * time.Second
	pingInterval = 30 * time.Second
)

// websocketHandshake answers a request that is not a valid WebSocket
// handshake (RFC 6455 section 4.2.1) with a problem, before anything else:
// 426 when it is no upgrade to WebSocket, 400 when the handshake is
// malformed. The WebSocket library would answer in plain text.
func (s *Server) websocketHandshake(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !r.ProtoAtLeast(1, 1) || !headerHasToken(r.Header, "Connection", "upgrade") || !headerHasToken(r.Header, "Upgrade", "websocket") {
			w.Header().Set("Connection", "Upgrade")
			w.Header().Set("Upgrade", "websocket")
			writeProblem(w, http.StatusUpgradeRequired, codeUpgradeRequired, "connect with a WebSocket: send Connection: Upgrade and Upgrade: websocket over HTTP/1.1")
			return
		}
		if r.Header.Get("Sec-WebSocket-Version") != "13" {
			w.Header().Set("Sec-WebSocket-Version", "13")
			writeProblem(w, http.StatusBadRequest, parley.EINVALID, "Sec-WebSocket-Version must be 13")
			return
		}
		keys := r.Header.Values("Sec-WebSocket-Key")
		if len(keys) != 1 {
			writeProblem(w, http.StatusBadRequest, parley.EINVALID, "send one Sec-WebSocket-Key")
			return
		}
		if key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0])); err != nil || len(key) != 16 {
			writeProblem(w, http.StatusBadRequest, parley.EINVALID, "Sec-WebSocket-Key must be 16 bytes in base64")
			return
		}
		next(w, r)
	}
}

// headerHasToken reports whether a header's comma-separated values hold
// token, compared without regard to case.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// handleEventTicketCreate answers a ticket that opens the caller's realtime
// stream once, for browsers, which cannot send the token in a header.
func (s *Server) handleEventTicketCreate(w http.ResponseWriter, r *http.Request) {
	t, err := s.svc.CreateEventTicket(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, t)
}

// handleEvents streams the caller's events over a WebSocket as JSON text
// messages until either side closes. The client sends nothing; what it
// sends is ignored. An app's stream ends, with 1008 (policy violation), as
// soon as its token stops working: when the token or its grant runs out,
// at once for changes this process made or heard of on the bus, and within
// about a second for changes made elsewhere (CheckAccess). It ends with
// statusOpenAgain when its grant lasts but reaches less, told by this
// process or the bus; a change of reach that only the database tells of
// does not end it, but holds its next event to what the grant reaches
// then (service.Events.Admit). A member's stream ends, with 1008
// too, when the session it was opened with ends: when it expires, at once
// when this process or the bus tells of its end, and within a couple of
// seconds when another process ended it (CheckSessions). A failure of the
// server's own ends a stream with 1011 (internal error).
//
// The handler returns once the connection is upgraded, and the stream goes
// on in a goroutine of its own (stream): net/http then lets go of what it
// held for the request, its goroutine's stack and its 8 KiB of buffers
// among it, which a node holding thousands of idle streams would otherwise
// keep for each.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	sub, err := s.svc.Subscribe(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	// Bearer tokens and tickets authenticate the connection, so a page of
	// another origin gains nothing it could not do with them itself; the
	// session cookie does only from the server's own pages (cookieCaller).
	// Counted from before the handshake is answered: a client that sees
	// its connection open finds it counted.
	s.metrics.websockets.Inc()
	conn, err := websocket.Accept(smallBuffers{w}, r, &websocket.AcceptOptions{OriginPatterns: []string{"*"}})
	if err != nil {
		// Accept has answered the client.
		s.metrics.websockets.Dec()
		sub.Close()
		return
	}
	// The request's context ends when the handler returns; the stream's
	// keeps its values (the caller, the client's address).
	s.streams.add()
	go s.stream(context.WithoutCancel(r.Context()), conn, sub)
}

// streamCount counts running streams, and tells when none runs. Unlike a
// sync.WaitGroup's, its count may go up while it is waited on: a handshake
// under way when a shutdown begins still starts its stream, which then
// ends at once (1001).
type streamCount struct {
	mu sync.Mutex
	n  int
	// zero is closed when n comes back to 0.
	zero chan struct{}
}

// noStreams is what streamCount.none returns while none runs.
var noStreams = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (c *streamCount) add() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		c.zero = make(chan struct{})
	}
	c.n++
}

func (c *streamCount) done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n--
	if c.n == 0 {
		close(c.zero)
	}
}

// none returns a channel closed when no stream runs.
func (c *streamCount) none() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		return noStreams
	}
	return c.zero
}

// maxClientMessage bounds a message a client sends on its stream, which is
// read and ignored: a larger one ends the stream (1009, by the library).
const maxClientMessage = 4 << 10

// discardInput reads what the client sends on its stream, and ignores it,
// as the API says, until the connection ends; then it cancels the stream.
// Reading is what takes in the client's pongs and its close. It never
// closes the connection itself: the library's CloseRead, which closed it
// on a client's message, then waited for its own goroutine to end
// (coder/websocket#429), so that the stream, and an app's reads logged
// for it, outlived the connection by 15 seconds.
func discardInput(ctx context.Context, conn *websocket.Conn, cancel context.CancelFunc) {
	defer cancel()
	conn.SetReadLimit(maxClientMessage)
	for {
		_, r, err := conn.Reader(ctx)
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return
		}
	}
}

// stream sends the subscription's events to the connection until either
// ends, then closes both.
func (s *Server) stream(ctx context.Context, conn *websocket.Conn, sub *service.Events) {
	defer s.streams.done()
	defer s.metrics.websockets.Dec()
	defer sub.Close()
	defer conn.CloseNow()
	defer func() {
		// As ServeHTTP does for handlers: a panic ends the stream, not the
		// server.
		if p := recover(); p != nil {
			s.log.ErrorContext(ctx, "panic in realtime stream", append(streamOwner(ctx), "panic", p, "stack", string(debug.Stack()))...)
		}
	}()

	// The context ends when the client closes, or the bus drops the
	// subscription: a write blocked on a stalled client is then abandoned
	// at once. The reading goes on until the stream returns, under a
	// context of its own: ending a read's context closes the connection
	// (the library's way), which would cut off the close frame that tells
	// the client why its stream ends, 1013 when the bus dropped it, 1001
	// at a shutdown.
	reading, stopReading := context.WithCancel(ctx)
	defer stopReading()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go discardInput(reading, conn, cancel)
	defer sub.AfterEnd(cancel)()
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	accessChanged := sub.AccessChanged()
	expired := expiry(sub)
	for {
		select {
		case ev, ok := <-sub.C():
			if !ok {
				select {
				case <-s.closing:
					// The bus ended with the server, which shuts down.
					conn.Close(websocket.StatusGoingAway, "server shutting down")
				default:
					s.cutOff(conn, sub)
				}
				return
			}
			ev, visible, err := sub.Admit(ctx, ev)
			if err != nil {
				// The app's token no longer works, or its grant no longer
				// reaches what it did; or the member's session ended.
				s.endStream(ctx, conn, err)
				return
			} else if !visible {
				continue
			}
			if err := writeEvent(ctx, conn, ev); err != nil {
				// Behind by a full queue, or by one write that took longer
				// than writeTimeout: either way the client stopped reading.
				if sub.Dropped() || errors.Is(err, context.DeadlineExceeded) {
					s.cutOff(conn, sub)
				}
				return
			}
		case <-accessChanged:
			accessChanged = sub.AccessChanged()
			if err := sub.Check(ctx); err != nil {
				s.endStream(ctx, conn, err)
				return
			}
		case <-expired:
			// The token's time, or its grant's, is up, unless the member
			// renewed the grant meanwhile: Check says which.
			if err := sub.Check(ctx); err != nil {
				s.endStream(ctx, conn, err)
				return
			}
			expired = expiry(sub)
		case <-ping.C:
			pingCtx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return
			}
		case <-s.closing:
			conn.Close(websocket.StatusGoingAway, "server shutting down")
			return
		case <-ctx.Done():
			if sub.Dropped() {
				s.cutOff(conn, sub)
			} else {
				conn.Close(websocket.StatusGoingAway, "")
			}
			return
		}
	}
}

// Buffer sizes of a realtime connection. The client sends only control
// frames (pongs, a close), at most 131 bytes each; the server's events are
// mostly under a kilobyte, and a larger one is written past the buffer.
const (
	wsReadBuffer  = 256
	wsWriteBuffer = 1 << 10
)

// smallBuffers hands the WebSocket library, which has no option for it,
// the hijacked connection with buffers of wsReadBuffer and wsWriteBuffer
// bytes instead of net/http's 4 KiB each: idle streams keep them for as
// long as they are open.
type smallBuffers struct{ http.ResponseWriter }

func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// What net/http read already, past the handshake, is read first.
	held, _ := brw.Reader.Peek(brw.Reader.Buffered())
	r := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(held)), conn), max(wsReadBuffer, len(held)))
	if _, err := r.Peek(len(held)); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, bufio.NewReadWriter(r, bufio.NewWriterSize(conn, wsWriteBuffer)), nil
}

// expiry returns a channel that receives when an app's stream's token
// runs out, by its own expiry or its grant's; nil for a member's stream.
func expiry(sub *service.Events) <-chan time.Time {
	if left, ok := sub.ExpiresIn(); ok {
		return time.After(left)
	}
	return nil
}

// statusOpenAgain is the close code (one of those RFC 6455 leaves to
// applications) of an app's stream whose grant lasts but reaches less
// than it did (service.ReachNarrowed): the app should open the stream
// again, with the same token.
const statusOpenAgain websocket.StatusCode = 4000

// endStream closes a connection whose stream err ended: with 1008 (policy
// violation) and err's message when the caller's access ended, an app's
// token or grant or a member's session, so that the client knows not to
// come back with the same credential; with statusOpenAgain when an app's
// grant reaches less; with 1013 (try again later) when the database is
// out of reach; with 1011 (internal error) for any other failure, after
// which the client may reconnect.
func (s *Server) endStream(ctx context.Context, conn *websocket.Conn, err error) {
	var narrowed *service.ReachNarrowed
	switch code := parley.ErrorCode(err); {
	case ctx.Err() != nil:
		// The client left, or the subscription ended, while the stream
		// looked into an event.
	case errors.As(err, &narrowed):
		conn.Close(statusOpenAgain, narrowed.Why)
	case code == parley.EUNAUTHORIZED || code == parley.EFORBIDDEN:
		conn.Close(websocket.StatusPolicyViolation, parley.ErrorMessage(err))
	case code == parley.EUNAVAILABLE:
		// Logged once, as the database went out of reach.
		conn.Close(websocket.StatusTryAgainLater, parley.ErrorMessage(err))
	default:
		s.log.ErrorContext(ctx, "realtime stream", append(streamOwner(ctx), "err", err)...)
		conn.Close(websocket.StatusInternalError, parley.ErrorMessage(err))
	}
}

// streamOwner is what a log line of the stream of ctx says of whose it is:
// its member, and its app when an app holds it.
func streamOwner(ctx context.Context) []any {
	c := parley.CallerFromContext(ctx)
	if c == nil {
		return nil
	}
	attrs := []any{"user", c.User.Username, "user_id", c.User.ID}
	if c.App != nil {
		attrs = append(attrs, "client_id", c.App.App.ClientID)
	}
	return attrs
}

// cutOff ends, with 1013 (try again later), the connection of a client
// whose events did not all reach it: because it fell too far behind (the
// bus dropped sub as slow, or sub was not dropped and the client stopped
// reading its socket), or because this node missed events itself (cut
// off from NATS or the database), which the metrics do not count as a
// slow client. Its socket may be full, so the close frame is not waited
// for.
func (s *Server) cutOff(conn *websocket.Conn, sub *service.Events) {
	reason := "events were missed while this server was cut off: reconnect and catch up"
	if !sub.Dropped() || sub.Slow() {
		s.metrics.eventsDropped.Inc()
		reason = "too slow: events were not read in time"
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	go func() {
		<-closeCtx.Done()
		conn.CloseNow()
	}()
	conn.Close(websocket.StatusTryAgainLater, reason)
}

func writeEvent(ctx context.Context, conn *websocket.Conn, ev parley.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, b)
}
