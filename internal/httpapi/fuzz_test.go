package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/sqlstore"
)

// FuzzBodies_RefusedChangesNothing sends bodies to every route that takes
// one, as a signed-in member, against a real server and store. No body
// gets a 5xx, and one refused as bad input (400, 413, 415) changes no row
// of any table. `go test` runs the seeds; `go test -fuzz
// FuzzBodies_RefusedChangesNothing ./internal/httpapi` looks for more.
func FuzzBodies_RefusedChangesNothing(f *testing.F) {
	env := apptest.Start(f, apptest.Unlimited)
	alice, bob := env.MustMember(f, "alice"), env.MustMember(f, "bob")
	apptest.MustFriends(f, alice, bob)
	th := apptest.MustThread(f, alice, "bob")
	hello := apptest.MustSend(f, alice, th.ID, "hello")
	routes := []struct{ method, path string }{
		{"POST", "/api/v1/accounts"},
		{"POST", "/api/v1/sessions"},
		{"POST", "/api/v1/friends"},
		{"POST", "/api/v1/threads"},
		{"POST", "/api/v1/threads/" + th.ID + "/participants"},
		{"POST", "/api/v1/threads/" + th.ID + "/read"},
		{"PUT", "/api/v1/threads/" + th.ID + "/app-access"},
		{"POST", "/api/v1/threads/" + th.ID + "/messages"},
		{"POST", "/api/v1/shares"},
		{"POST", "/api/v1/apps"},
		{"PATCH", "/api/v1/me"},
		{"PUT", "/api/v1/me/password"},
		{"POST", "/api/v1/blocks"},
		{"PATCH", "/api/v1/threads/" + th.ID},
		{"PATCH", "/api/v1/messages/" + hello.ID},
	}
	for _, body := range []string{
		`{"text": "hi"}`,
		`{"text": "caf` + "\xe9" + `"}`,
		`{"text": "a", "text": "b"}`,
		`{"text": "a\u0000b"}`,
		`{"text": "\ud800"}`,
		`{"Text": "hi"}`,
		`{"text": "a"} {"text": "b"}`,
		`{"username": "carol", "password": "password-1", "username": "dave"}`,
		`{"username": "alice", "password": "wrong", "password": "` + apptest.Password("alice") + `"}`,
		`{"participants": ["bob"], "title": "t` + "\xff" + `", "kind": "group"}`,
		`{"seq": 1, "seq": 2}`,
		`{"allowed": false, "allowed": true}`,
		`{"muted": true, "title": "a title for a direct thread"}`,
		`{"muted": "yes"}`,
		`{"name": "Films", "redirect_uris": ["https://a.example/cb"], "purpose": "p\u0000"}`,
		`{"to": "bob", "url": "https://a.example/", "title": "t", "title": "u"}`,
		`{"username": "bob", "extra": {"a": 1, "a": 2}}`,
		`{"username": "carol", "username": "bob"}`,
		`{"display_name": "Alice", "display_name": "Mallory"}`,
		`{"display_name": "Al` + "\u202e" + `ice"}`,
		`{"current_password": "` + apptest.Password("alice") + `", "new_password": "a new password", "new_password": "another"}`,
		`{"current_password": "` + apptest.Password("alice") + `", "new_password": "short"}`,
		`[{"text": "hi"}]`,
		`null`,
		``,
	} {
		for i := range routes {
			f.Add(uint8(i), []byte(body))
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := routes[int(route)%len(routes)]
		before := digest(t, env)
		req, _ := http.NewRequestWithContext(context.Background(), rt.method, env.URL+rt.path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+alice.Token())
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch status := resp.StatusCode; {
		case status >= 500:
			t.Fatalf("%s %s %q: %d", rt.method, rt.path, body, status)
		case status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge || status == http.StatusUnsupportedMediaType:
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("%s %s %q: %d as %s", rt.method, rt.path, body, status, ct)
			}
			if after := digest(t, env); after != before {
				t.Fatalf("%s %s %q was refused with %d but changed the store", rt.method, rt.path, body, status)
			}
		}
	})
}

// digest hashes every row of every table of the server's store.
func digest(t *testing.T, env *apptest.Env) [32]byte {
	t.Helper()
	d, err := sqlstore.Digest(context.Background(), env.Server.Store)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
