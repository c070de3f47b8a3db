package httpapi_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/sqlstore"
)

// FuzzBodies_RefusedChangesNothing sends any body to every operation of
// openapi.json that takes one (fuzzWorld) but the account's deletion, as a
// signed-in member, against a real server and store. No body gets a 5xx,
// and one refused as bad input (400, 413, 415) changes no row of any
// table. `go test` runs the
// seeds; `go test -fuzz FuzzBodies_RefusedChangesNothing
// ./internal/httpapi` looks for more.
func FuzzBodies_RefusedChangesNothing(f *testing.F) {
	w := newFuzzWorld(f)
	env, alice := w.env, w.alice
	// The account's deletion is left out: a body that deleted it would
	// leave every later one a 401.
	routes := w.operations(func(o operation, op map[string]any) bool {
		return op["requestBody"] != nil && o != operation{"DELETE", "/api/v1/me"}
	})
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
		`{"emoji": "👍", "emoji": "x"}`,
		`{"emoji": "👍` + "\u200d" + `"}`,
		`{"reason": "spam", "note": "` + strings.Repeat("n", 5000) + `"}`,
		`{"url": "http://127.0.0.1:9/h", "events": ["message.created", "message.created"]}`,
		`{"url": "http://[::1]:9/h", "events": []}`,
		`{"scopes": ["messages.read", "messages.write"], "thread_ids": ["x"]}`,
		`{"scopes": [], "thread_ids": null}`,
		`{"password": "wrong"}`,
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
		rt.path = w.path(rt.path, "")
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
		case status == http.StatusUnauthorized && rt.path != "/api/v1/sessions":
			t.Fatalf("%s %s %q: 401: alice's session no longer works, and the inputs after this one would test nothing", rt.method, rt.path, body)
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

// FuzzReads_AnyQueryOrID sends every GET operation of openapi.json, as a
// signed-in member who owns an app with a webhook endpoint, any query
// string and, in place of the path's last parameter, any ID. No request
// gets a 5xx, and every answer is one the document lists for the
// operation, its body valid against the document's schema: a query or an
// ID the route does not take is a documented problem, never a crash or a
// page of another shape. `go test -fuzz FuzzReads_AnyQueryOrID
// ./internal/httpapi` looks beyond the seeds.
func FuzzReads_AnyQueryOrID(f *testing.F) {
	w := newFuzzWorld(f)
	reads := w.operations(func(o operation, _ map[string]any) bool {
		return o.method == "GET" && o.path != "/api/v1/events" // the stream: its own tests
	})
	for _, query := range []string{"", "limit=-1", "limit=0", "limit=99999999999999999999", "limit=1&limit=2", "limit=%00",
		"before=abc", "before=-1", "after=9223372036854775807", "before=1&after=2", "cursor=!!", "cursor=" + strings.Repeat("A", 4000),
		"include=x", "include=", "q=", "q=%ff", "q=" + strings.Repeat("%E2%80%AE", 300), "app=%FF", "app=" + w.films.App.ClientID,
		"from=2026-02-30", "period=year", "format=pdf", "%", "a=%zz", ";", "&&=&"} {
		for i := range reads {
			f.Add(uint8(i), "", query)
		}
	}
	for _, id := range []string{"x", "\x00", "\xff", "..", strings.Repeat("0", 26), strings.ToLower(w.thread), w.thread + " ", "%2F"} {
		for i := range reads {
			f.Add(uint8(i), id, "")
		}
	}
	var disagreement strings.Builder
	hc := &http.Client{Transport: &apptest.ConformingTransport{Base: http.DefaultTransport, Fail: func(format string, args ...any) {
		fmt.Fprintf(&disagreement, format, args...)
	}}}
	f.Fuzz(func(t *testing.T, route uint8, id, query string) {
		if strings.ContainsFunc(query, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return // a request line net/http refuses before any handler, with its own 400
		}
		target := w.env.URL + w.path(reads[int(route)%len(reads)].path, id) + "?" + query
		req, err := http.NewRequestWithContext(context.Background(), "GET", target, nil)
		if err != nil {
			return // no URL net/http sends
		}
		req.Header.Set("Authorization", "Bearer "+w.alice.Token())
		disagreement.Reset()
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("GET %s: %d", target, resp.StatusCode)
		}
		if disagreement.Len() > 0 {
			t.Fatalf("GET %s: %s", target, disagreement.String())
		}
	})
}

// fuzzWorld is a server where alice, friends with bob, has a chat with him
// holding a message, and an app of her own with a grant and a webhook
// endpoint: something for every parameter of the API's paths to name.
type fuzzWorld struct {
	env      *apptest.Env
	alice    *client.Client
	thread   string
	films    apptest.OwnApp
	doc      map[string]map[string]any // openapi.json's paths
	segments map[[2]string]string      // a path parameter's value, by the segment before it and its own
}

func newFuzzWorld(f *testing.F) *fuzzWorld {
	env := apptest.Start(f, apptest.Unlimited, allowLoopback)
	alice, bob := env.MustMember(f, "alice"), env.MustMember(f, "bob")
	apptest.MustFriends(f, alice, bob)
	th := apptest.MustThread(f, alice, "bob")
	hello := apptest.MustSend(f, alice, th.ID, "hello")
	w := &fuzzWorld{env: env, alice: alice, thread: th.ID, films: env.MustOwnApp(f, alice, "Films")}
	bobID := apptest.MustMe(f, bob).ID
	w.segments = map[[2]string]string{
		{"threads", "{id}"}: th.ID, {"messages", "{id}"}: hello.ID, {"grants", "{id}"}: w.films.GrantID,
		{"webhooks", "{id}"}: w.films.EndpointID, {"apps", "{client_id}"}: w.films.App.ClientID,
		{"friends", "{user_id}"}: bobID, {"blocks", "{user_id}"}: bobID, {"participants", "{user_id}"}: bobID,
		{"deliveries", "{delivery_id}"}: "none", // no delivery: the route's refusal

	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if _, err := alice.Do(context.Background(), "GET", "/api/v1/openapi.json", nil, &doc); err != nil {
		f.Fatal(err)
	}
	w.doc = doc.Paths
	for template := range w.doc {
		if path := w.path(template, ""); strings.Contains(path, "//") {
			f.Fatalf("%s: the world names none of its parameters (%s)", template, path)
		}
	}
	return w
}

// operation is one of openapi.json's, its path a template.
type operation struct{ method, path string }

// operations returns the document's operations that keep says to, given
// each with its object in the document, in order of path and method.
func (w *fuzzWorld) operations(keep func(o operation, op map[string]any) bool) []operation {
	var ops []operation
	for path, item := range w.doc {
		for method, op := range item {
			o := operation{strings.ToUpper(method), path}
			if op, ok := op.(map[string]any); ok && keep(o, op) {
				ops = append(ops, o)
			}
		}
	}
	slices.SortFunc(ops, func(a, b operation) int { return cmp.Or(cmp.Compare(a.path, b.path), cmp.Compare(a.method, b.method)) })
	return ops
}

// path fills in template's parameters from the world, and its last with
// id instead where id is not empty.
func (w *fuzzWorld) path(template, id string) string {
	segments := strings.Split(template, "/")
	last := -1
	for i, s := range segments {
		if strings.HasPrefix(s, "{") {
			segments[i], last = w.segments[[2]string{segments[i-1], s}], i
		}
	}
	if id != "" && last >= 0 {
		segments[last] = url.PathEscape(id)
	}
	return strings.Join(segments, "/")
}
