package apptest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"
)

// ReadSlowly asks the server at base for path with a GET carrying header
// (such as "Authorization: Bearer …" or "Cookie: …"), and reads the answer
// only after pause, through a receive buffer of a few kB, so that the
// server's writes of a long answer wait for it: a client on a slow link,
// or one that stopped reading. It returns the answer's body as far as it
// came, and the error that ended it, if any; an answer other than 200
// fails the test.
func ReadSlowly(tb testing.TB, base, path, header string, pause time.Duration) ([]byte, error) {
	tb.Helper()
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	dialer := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := dialer.Dial("tcp", u.Host)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n\r\n", path, u.Host, header)
	time.Sleep(pause)
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %s", path, resp.Status)
	}
	return io.ReadAll(resp.Body)
}
