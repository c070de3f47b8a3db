package app_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// At debug level, as the README's settings say, the server logs every
// request, the pages' and the provider's as the API's, each path without
// its query; a share link's path, whose token is the member's own
// credential to its card, is logged without the token, whatever the
// method.
func TestRequestLog_EveryRequestAtDebugLevel(t *testing.T) {
	env := apptest.Start(t) // which logs at debug level
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	card, err := alice.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/1", Title: "A film"})
	if err != nil {
		t.Fatal(err)
	}
	page, err := bob.Messages(ctx, card.ThreadID, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	link := page.Messages[len(page.Messages)-1].Share.Link
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	paths := []string{
		"/api/v1/openapi.json",              // the API
		"/sign-in?next=%2Ffriends",          // a page
		"/.well-known/openid-configuration", // the provider
		"/oauth2/keys",
		"/no-such-page", // a path no route takes
	}
	for _, p := range append(paths, strings.TrimPrefix(link, env.URL)) {
		resp, err := noRedirect.Get(env.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// The link by a method no route takes, as a crawler may send.
	for _, method := range []string{http.MethodPost, http.MethodOptions} {
		req, _ := http.NewRequest(method, link, nil)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// A request is logged once its handler returns, which may be a moment
	// after its client has the answer.
	var logged map[string]bool
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		logged = map[string]bool{}
		for _, e := range env.LogEntries(t, "request") {
			p, _ := e["path"].(string)
			logged[p] = true
		}
		all := logged["/s/{token}"]
		for _, p := range paths {
			all = all && logged[strings.SplitN(p, "?", 2)[0]]
		}
		if all || time.Now().After(deadline) {
			break
		}
	}
	for p := range logged {
		if strings.Contains(p, "?") || strings.Contains(link, p) && p != "/" {
			t.Errorf("a request logged with path %q", p)
		}
	}
	for _, p := range paths {
		if !logged[strings.SplitN(p, "?", 2)[0]] {
			t.Errorf("GET %s: no request line", p)
		}
	}
	if !logged["/s/{token}"] {
		t.Error("the share link's request is not logged as the link's path, its token left out")
	}
}
