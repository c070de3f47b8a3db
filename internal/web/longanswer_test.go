package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// The access log's download, as long as the member's log, is written to a
// client that reads it slowly but steadily whole, as the export is, past
// the deadline other answers have.
func TestAccountLogDownload_ReadSlowly(t *testing.T) {
	env := apptest.Start(t, apptest.Unlimited, func(c *config.Config) { c.AnswerTimeout = 300 * time.Millisecond })
	ctx := context.Background()
	alice := apptest.MustMe(t, env.MustMember(t, "alice"))
	// 8 MB of entries: more than the kernel's buffers of the server's
	// socket and the client's hold.
	records := make([]parley.AccessRecord, 400)
	for i := range records {
		records[i] = parley.AccessRecord{UserIDs: []string{alice.ID}, Entry: parley.AccessEntry{
			At: env.Clock.Now(), ClientID: "c", AppName: fmt.Sprint(i) + strings.Repeat("x", 20000), GrantID: "g", Action: string(parley.ScopeMessagesRead),
		}}
	}
	if err := env.Server.Store.Write(ctx, func(tx parley.Tx) error { return tx.AppendAccess(ctx, records) }); err != nil {
		t.Fatal(err)
	}
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	u, _ := url.Parse(env.URL)
	var cookies []string
	for _, c := range b.http.Jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	dialer := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := dialer.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /account/access-log.json HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\n\r\n", u.Host, strings.Join(cookies, "; "))
	time.Sleep(1500 * time.Millisecond)
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the download: %s", resp.Status)
	}
	if body, err := io.ReadAll(resp.Body); err != nil || !json.Valid(body) {
		t.Errorf("the access log's download, read slowly but steadily: %d bytes, %v; want it whole", len(body), err)
	}
}
