package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"golang.org/x/oauth2"
)

// tokenServer answers Parley's token endpoint as handler does, and the API
// (/api/v1/me) with a member for any bearer token.
func tokenServer(t *testing.T, token http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/token", token)
	mux.HandleFunc("GET /api/v1/me", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"u1","username":"alice","display_name":"Alice","created_at":"2026-11-30T04:00:00Z"}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func expiredSource(srv *httptest.Server) oauth2.TokenSource {
	cfg := &oauth2.Config{ClientID: "pc_x", ClientSecret: "s", Endpoint: oauth2.Endpoint{TokenURL: srv.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
	return cfg.TokenSource(context.Background(), &oauth2.Token{AccessToken: "old", RefreshToken: "r1", Expiry: time.Now().Add(-time.Minute)})
}

// A refresh Parley's token endpoint throttles (429 temporarily_unavailable
// with Retry-After: nothing was used up) is a 429 with its wait, not the
// 401 of a grant that ended: an app would forget a member whose grant is
// fine.
func TestTokenSource_ThrottledRefreshIsA429(t *testing.T) {
	srv := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error":"temporarily_unavailable","error_description":"too many token requests: try again in 7s"}`)
	})
	_, err := client.New(srv.URL).WithTokenSource(expiredSource(srv)).Me(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	if e, ok := errors.AsType[*client.Error](err); !ok || e.Status != http.StatusTooManyRequests || e.RetryAfter != 7*time.Second {
		t.Errorf("a throttled refresh: %v; want a 429 *Error with RetryAfter 7s", err)
	}
}

// refusedGrant is a token source whose refresh was refused invalid_grant,
// as a source of another library's may report it: without the answer.
type refusedGrant struct{}

func (refusedGrant) Token() (*oauth2.Token, error) {
	return nil, &oauth2.RetrieveError{ErrorCode: "invalid_grant", ErrorDescription: "the grant ended"}
}

// A refresh refused invalid_grant is the 401 of a grant that ended,
// whether or not the source's error holds the token endpoint's answer.
func TestTokenSource_RefusedGrantIsA401(t *testing.T) {
	srv := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant","error_description":"the member's grant to the app was revoked"}`)
	})
	for name, source := range map[string]oauth2.TokenSource{"with its answer": expiredSource(srv), "without": refusedGrant{}} {
		if _, err := client.New(srv.URL).WithTokenSource(source).Me(context.Background()); client.StatusOf(err) != http.StatusUnauthorized {
			t.Errorf("a refused refresh, %s: %v; want a 401", name, err)
		}
	}
}

// A call waits for its token's refresh only as long as its own context
// lasts: the refresh goes out with the source's context, which may never
// end.
func TestTokenSource_RefreshWaitedForOnlyAsLongAsTheCall(t *testing.T) {
	release := make(chan struct{})
	srv := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c := client.New(srv.URL).WithTokenSource(expiredSource(srv))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := c.Me(ctx); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Me with a 200ms deadline: %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Me with a 200ms deadline still waits for the refresh after 3s")
	}
}

// Do decodes into the caller's types: a json.RawMessage does not share
// the pooled buffer the next answer is read into.
func TestDo_RawMessageOwnsItsBytes(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"data":{"n":%d,"pad":"%s"}}`, n.Add(1), strings.Repeat("x", 100))
	}))
	defer srv.Close()
	c := client.New(srv.URL)
	var first struct{ Data json.RawMessage }
	if _, err := c.Do(context.Background(), "GET", "/x", nil, &first); err != nil {
		t.Fatal(err)
	}
	keep := string(first.Data)
	for range 5 {
		var next struct{ Data json.RawMessage }
		c.Do(context.Background(), "GET", "/x", nil, &next)
	}
	if string(first.Data) != keep {
		t.Errorf("the first answer's raw data changed to %s", first.Data)
	}
}

// Error answers leave the connection to be used again.
func TestDo_ErrorAnswersKeepTheConnection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprintf(w, `{"type":"urn:parley:problem:throttled","title":"Too Many Requests","status":429,"detail":"%s"}`+"\n", strings.Repeat("slow down ", 100))
	}))
	defer srv.Close()
	c := client.New(srv.URL)
	var fresh int
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if !i.Reused {
			fresh++
		}
	}})
	for range 5 {
		c.Do(ctx, "GET", "/api/v1/me", nil, nil)
	}
	if fresh != 1 {
		t.Errorf("5 problem answers used %d connections", fresh)
	}
}

// A token that ran out with no refresh token (an app without
// offline_access, as docs/partners.md recommends) is a 401, as the API's
// answer to the token would be: the member signs in again. It is no
// network failure.
func TestTokenSource_RunOutWithoutARefreshTokenIsA401(t *testing.T) {
	srv := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		t.Error("no refresh token, yet the token endpoint was called")
	})
	cfg := &oauth2.Config{ClientID: "pc_x", ClientSecret: "s", Endpoint: oauth2.Endpoint{TokenURL: srv.URL + "/oauth2/token"}}
	src := cfg.TokenSource(context.Background(), &oauth2.Token{AccessToken: "old", Expiry: time.Now().Add(-time.Minute)})
	_, err := client.New(srv.URL).WithTokenSource(src).Me(context.Background())
	if client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("a call after the token ran out, with no refresh token: %v (StatusOf %d), want a 401 *Error", err, client.StatusOf(err))
	}
}

// Calls that give up while a refresh hangs wait for that one refresh and
// leave none of their own behind, to be sent for no one once the token
// endpoint answers again.
func TestTokenSource_CallsThatGaveUpLeaveNoRefreshBehind(t *testing.T) {
	release := make(chan struct{})
	var asked atomic.Int32
	srv := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		if asked.Add(1) == 1 {
			<-release
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":"server_error"}`))
	})
	c := client.New(srv.URL).WithTokenSource(expiredSource(srv))
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		if _, err := c.Me(ctx); err == nil {
			t.Fatal("a call got through without a token")
		}
		cancel()
	}
	close(release)
	time.Sleep(time.Second)
	if n := asked.Load(); n > 2 {
		t.Errorf("20 calls gave up while one refresh hung; once it ended, the token endpoint was asked %d times, for calls all gone", n)
	}
}
