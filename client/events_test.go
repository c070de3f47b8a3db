package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/parleyhq/parley/client"
)

// streamServer serves /api/v1/events as a WebSocket whose server side is
// serve, as Parley's pings and writes, on loopback.
func streamServer(t *testing.T, serve func(ctx context.Context, conn *websocket.Conn)) *client.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.CloseNow()
		serve(r.Context(), conn)
	}))
	t.Cleanup(srv.Close)
	return client.New(srv.URL)
}

// untilClosed reads what the client sends, nothing, until it closes the
// connection: a hijacked request's context lasts as long as the handler.
func untilClosed(ctx context.Context, conn *websocket.Conn) {
	for {
		if _, _, err := conn.Read(ctx); err != nil {
			return
		}
	}
}

// A stream answers the server's pings while its reader is busy elsewhere,
// catching up on its threads after opening it, as it should: the server,
// which cuts off a client that answers no ping in time, keeps it, and what
// it sent meanwhile waits for Next.
func TestEventStream_AnswersPingsBetweenReads(t *testing.T) {
	pinged := make(chan error, 1)
	c := streamServer(t, func(ctx context.Context, conn *websocket.Conn) {
		closed := make(chan struct{})
		go func() { untilClosed(ctx, conn); close(closed) }() // which reads the pong
		time.Sleep(100 * time.Millisecond)
		pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		pinged <- conn.Ping(pingCtx)
		cancel()
		conn.Write(ctx, websocket.MessageText, []byte(`{"type":"message.created","thread_id":"t1","data":{}}`))
		<-closed
	})
	stream, err := c.Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	// Busy elsewhere: no Next until the ping was answered, or not.
	if err := <-pinged; err != nil {
		t.Fatalf("the server's ping, while the client read nothing: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ev, err := stream.Next(ctx); err != nil || ev.Type != "message.created" || ev.ThreadID != "t1" {
		t.Fatalf("the event sent meanwhile: %+v, %v", ev, err)
	}
}

// A reader so far behind that more events wait than the stream holds is
// handed those it holds, then told it fell behind (ErrFellBehind), for it
// to open the stream again and catch up.
func TestEventStream_AReaderFarBehindIsTold(t *testing.T) {
	const sent = 1500
	done := make(chan struct{})
	c := streamServer(t, func(ctx context.Context, conn *websocket.Conn) {
		defer close(done)
		for i := range sent {
			if err := conn.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"type":"message.created","thread_id":"t%d","data":{}}`, i)); err != nil {
				return // the client closed the connection, behind
			}
		}
		untilClosed(ctx, conn)
	})
	stream, err := c.Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	<-done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	read := 0
	for {
		ev, err := stream.Next(ctx)
		if err != nil {
			if !errors.Is(err, client.ErrFellBehind) {
				t.Fatalf("after %d events: %v, want ErrFellBehind", read, err)
			}
			break
		}
		if want := fmt.Sprintf("t%d", read); ev.ThreadID != want {
			t.Fatalf("event %d is of %s, want %s: none lost before the end", read, ev.ThreadID, want)
		}
		read++
	}
	if read == 0 || read >= sent {
		t.Fatalf("read %d of %d events before being told it fell behind", read, sent)
	}
}

// CloseStatus tells apart a stream the server closed with 4000, one closed
// with 1008, one closed with 1001 by a stopping node, and one that broke
// off, with no import of the websocket package.
func TestCloseStatus_NamesTheServersCode(t *testing.T) {
	if client.StatusOpenAgain != 4000 || client.StatusAccessEnded != 1008 || client.StatusNodeStopping != 1001 {
		t.Fatalf("the names stand for %d, %d and %d; the server closes with 4000, 1008 and 1001", client.StatusOpenAgain, client.StatusAccessEnded, client.StatusNodeStopping)
	}
	for _, want := range []websocket.StatusCode{client.StatusOpenAgain, client.StatusAccessEnded, client.StatusNodeStopping} {
		c := streamServer(t, func(ctx context.Context, conn *websocket.Conn) {
			conn.Close(want, "the grant changed")
		})
		stream, err := c.Events(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		_, err = stream.Next(context.Background())
		if got := client.CloseStatus(err); got != want {
			t.Errorf("CloseStatus(%v) = %d, want %d", err, got, want)
		}
		if got := client.CloseStatus(fmt.Errorf("watch alice: %w", err)); got != want {
			t.Errorf("CloseStatus of a wrapped %v = %d, want %d", err, got, want)
		}
		stream.Close()
	}
	for _, err := range []error{nil, errors.New("connection reset"), client.ErrFellBehind, context.Canceled} {
		if got := client.CloseStatus(err); got != -1 {
			t.Errorf("CloseStatus(%v) = %d, want -1", err, got)
		}
	}
}
