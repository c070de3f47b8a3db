package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// A server asked to stop while a load balancer watches its /readyz drains
// first: /readyz answers 503, saying why, while requests that still come
// are answered, each closing its connection, so that a client's next
// request goes to another node; then the server stops.
func TestServe_DrainsWhileALoadBalancerWatches(t *testing.T) {
	t.Parallel() // it waits out the drain
	p := startProcess(t, "--data", t.TempDir(), "--drain-time", "3s")
	// One kept-alive connection, as a proxy's pool holds to its nodes.
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := hc.Get(p.url + path)
		if err != nil {
			t.Fatalf("GET %s while draining: %v", path, err)
		}
		defer resp.Body.Close()
		var body json.RawMessage
		json.NewDecoder(resp.Body).Decode(&body)
		return resp, body
	}
	if resp, _ := get("/readyz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz before the stop: %d", resp.StatusCode)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitForLog(t, `"msg":"draining`)
	resp, body := get("/readyz")
	var problem struct{ Type, Detail string }
	json.Unmarshal(body, &problem)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.HasSuffix(problem.Type, ":not_ready") || !strings.Contains(problem.Detail, "stopping") {
		t.Errorf("/readyz while draining: %d %s; want 503 saying the server is stopping", resp.StatusCode, body)
	}
	if !resp.Close {
		t.Error("/readyz's answer while draining keeps its connection open")
	}
	if _, err := client.New(p.url).CreateAccount(context.Background(), "alice", apptest.Password("alice"), ""); err != nil {
		t.Errorf("a sign-up while draining: %v", err)
	}
	if resp, _ := get("/healthz"); resp.StatusCode != http.StatusOK || !resp.Close {
		t.Errorf("/healthz while draining: %d, closing its connection %v; want 200, closing it", resp.StatusCode, resp.Close)
	}
	p.wantStopped(t)
}

// A server nothing watches, such as one run by hand, stops at once, its
// drain time notwithstanding.
func TestServe_StopsAtOnceWhenNothingWatches(t *testing.T) {
	p := startProcess(t, "--data", t.TempDir(), "--drain-time", "1h")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.wantStopped(t) // within 20 s, not an hour
	if strings.Contains(p.logs.String(), `"msg":"draining`) {
		t.Errorf("a server whose /readyz nobody asked drained:\n%s", p.logs)
	}
}

// A second stop signal during a graceful stop stops the server at once,
// cutting off what is in flight, as when the stop's time runs out: a
// person who presses Ctrl-C twice does not wait for a slow upload.
func TestServe_ASecondSignalStopsAtOnce(t *testing.T) {
	p := startProcess(t, "--data", t.TempDir())
	// A body that never comes whole holds the graceful stop for its 15 s.
	startSlowUpload(t, p.url)
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	p.waitForLog(t, `"msg":"parley shutting down"`)
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, p.logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after the second signal, with a request in flight")
	}
	if !strings.Contains(p.logs.String(), "were cut off") {
		t.Errorf("the log does not say what the second signal cut off:\n%s", p.logs)
	}
}

// Every realtime stream open when the server stops is told why it ends,
// 1001, before the process exits: one that sees only its connection drop
// cannot tell a stop from a failure.
func TestServe_EveryStreamToldWhyAtAStop(t *testing.T) {
	ctx := context.Background()
	p := startProcess(t, "--data", t.TempDir(), "--rate-limit-member", "0")
	anon := client.New(p.url)
	var streams []*client.EventStream
	for u := range 3 {
		name := fmt.Sprintf("member%d", u)
		if _, err := anon.CreateAccount(ctx, name, apptest.Password(name), ""); err != nil {
			t.Fatal(err)
		}
		s, err := anon.SignIn(ctx, name, apptest.Password(name))
		if err != nil {
			t.Fatal(err)
		}
		for range 80 {
			es, err := anon.WithToken(s.Token).Events(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { es.Close() })
			streams = append(streams, es)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.wantStopped(t)
	told := 0
	for _, s := range streams {
		nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := s.Next(nctx)
		cancel()
		if client.CloseStatus(err) == client.StatusNodeStopping {
			told++
		} else if told == 0 {
			t.Logf("a stream ended with %v", err)
		}
	}
	if told != len(streams) {
		t.Errorf("%d of %d streams were told 1001 when the server stopped", told, len(streams))
	}
}

// waitForLog waits until the process has logged a line holding text.
func (p *process) waitForLog(t *testing.T, text string) {
	t.Helper()
	for range 1000 {
		if strings.Contains(p.logs.String(), text) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no line holding %s in 10 s:\n%s", text, p.logs)
}

// startSlowUpload begins a request to the server at url whose body never
// comes whole, as a slow upload's, and returns its connection once the
// server has taken the request; the connection closes when the test ends.
func startSlowUpload(t *testing.T, url string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /api/v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user")
	time.Sleep(200 * time.Millisecond) // for the server to take the request
	return conn
}
