package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/parleyhq/parley"
)

// Realtime connection timing: a write that takes longer than writeTimeout
// means the client stopped reading, and it is cut off.
const (
	writeTimeout = 10 * time.Second
	pingInterval = 30 * time.Second
)

// handleEvents upgrades to a WebSocket and streams the caller's events as
// JSON text messages until either side closes. The client sends nothing;
// what it sends is ignored.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Upgrade", "websocket")
		writeProblem(w, http.StatusUpgradeRequired, codeUpgradeRequired, "connect with a WebSocket")
		return
	}
	sub, err := s.svc.Subscribe(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer sub.Close()

	// Bearer tokens, not cookies, authenticate the connection, so a page of
	// another origin gains nothing it could not do with the token itself.
	// Counted from before the handshake is answered: a client that sees
	// its connection open finds it counted.
	s.metrics.websockets.Inc()
	defer s.metrics.websockets.Dec()
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{"*"}})
	if err != nil {
		return // Accept has answered the client
	}
	defer conn.CloseNow()

	// The context ends when the client closes, the server shuts down, or the
	// bus drops the subscription: a write blocked on a stalled client is then
	// abandoned at once.
	ctx, cancel := context.WithCancel(conn.CloseRead(r.Context()))
	defer cancel()
	go func() {
		<-sub.Done()
		cancel()
	}()
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case ev, ok := <-sub.C():
			if !ok {
				s.cutOffSlowClient(conn)
				return
			}
			if visible, err := sub.Admit(ctx, ev); err != nil {
				// The app's token no longer works: its grant was revoked,
				// or the app suspended.
				conn.Close(websocket.StatusPolicyViolation, parley.ErrorMessage(err))
				return
			} else if !visible {
				continue
			}
			if err := writeEvent(ctx, conn, ev); err != nil {
				if sub.Dropped() {
					s.cutOffSlowClient(conn)
				}
				return
			}
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
				s.cutOffSlowClient(conn)
			} else {
				conn.Close(websocket.StatusGoingAway, "")
			}
			return
		}
	}
}

// cutOffSlowClient ends the connection of a client that fell too far behind.
// Its socket may be full, so the close frame is not waited for.
func (s *Server) cutOffSlowClient(conn *websocket.Conn) {
	s.metrics.eventsDropped.Inc()
	closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	go func() {
		<-closeCtx.Done()
		conn.CloseNow()
	}()
	conn.Close(websocket.StatusTryAgainLater, "too slow: events were not read in time")
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
