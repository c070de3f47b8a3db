package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apptest"
)

// `parley user delete` and `user disable`, run beside the server, end the
// member's page (cookie) session at the next request, their API session,
// and their own realtime stream within the sweep's couple of seconds.
func TestCLI_UserEndsEverySurface(t *testing.T) {
	for _, verb := range [][]string{{"delete", "alice", "--yes"}, {"disable", "alice"}} {
		t.Run(verb[0], func(t *testing.T) {
			env := apptest.Start(t)
			alice := env.MustMember(t, "alice")
			ctx := context.Background()
			page := func() int {
				req, _ := http.NewRequest("GET", env.URL+"/", nil)
				req.AddCookie(&http.Cookie{Name: "parley_session", Value: alice.Token()})
				resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if s := page(); s != http.StatusOK {
				t.Fatalf("alice's inbox page: %d", s)
			}
			if _, err := alice.Me(ctx); err != nil { // cached now
				t.Fatal(err)
			}
			stream, err := alice.Events(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			if out, err := run(t, env.Server.Config, "", append([]string{"user"}, verb...)...); err != nil {
				t.Fatalf("user %v: %v\n%s", verb, err, out)
			}
			if s := page(); s == http.StatusOK {
				t.Error("alice's page session still shows her inbox")
			}
			if _, err := alice.Me(ctx); err == nil {
				t.Error("alice's API session still works")
			}
			wait, cancel := context.WithTimeout(ctx, 4*time.Second)
			defer cancel()
			for {
				if _, err := stream.Next(wait); err != nil {
					if wait.Err() != nil {
						t.Error("alice's own stream is still open after 4s")
					}
					break
				}
			}
		})
	}
}
