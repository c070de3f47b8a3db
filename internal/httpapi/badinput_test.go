package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
)

// TestBadInput sends malformed requests and checks each gets a clear problem
// and changes nothing.
func TestBadInput(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, alice, th.ID, "the only message")
	send := "/api/v1/threads/" + th.ID + "/messages"

	for name, tc := range map[string]struct {
		method, path, contentType, body string
		status                          int
		code, detail                    string
	}{
		"MalformedJSON":   {"POST", send, "application/json", `{"text": "hi"`, 400, "invalid", "ends before"},
		"SyntaxError":     {"POST", send, "application/json", `{"text": hi}`, 400, "invalid", "not valid JSON"},
		"UnknownField":    {"POST", send, "application/json", `{"text": "hi", "sender": "bob"}`, 400, "invalid", `unknown field "sender"`},
		"WrongType":       {"POST", send, "application/json", `{"text": 42}`, 400, "invalid", `"text" must be of type string`},
		"NotAnObject":     {"POST", send, "application/json", `["hi"]`, 400, "invalid", "JSON object"},
		"Empty":           {"POST", send, "application/json", ``, 400, "invalid", "empty"},
		"TrailingData":    {"POST", send, "application/json", `{"text": "a"} {"text": "b"}`, 400, "invalid", "nothing after"},
		"NotJSON":         {"POST", send, "text/plain", `{"text": "hi"}`, 415, "unsupported_media_type", "application/json"},
		"NoContentType":   {"POST", send, "", `{"text": "hi"}`, 415, "unsupported_media_type", "application/json"},
		"TooLarge":        {"POST", send, "application/json", `{"text": "` + strings.Repeat("a", 70<<10) + `"}`, 413, "too_large", "65536"},
		"UnknownThread":   {"POST", "/api/v1/threads/nope/messages", "application/json", `{"text": "hi"}`, 404, "not_found", "thread not found"},
		"UnknownMessage":  {"DELETE", "/api/v1/messages/nope", "", ``, 404, "not_found", "message not found"},
		"UnknownFriend":   {"DELETE", "/api/v1/friends/nope", "", ``, 404, "not_found", "not found"},
		"UnknownEndpoint": {"GET", "/api/v1/nope", "", ``, 404, "not_found", "no such endpoint"},
		"WrongMethod":     {"PATCH", send, "", ``, 405, "method_not_allowed", "PATCH"},
		"ReadNoSeq":       {"POST", "/api/v1/threads/" + th.ID + "/read", "application/json", `{}`, 400, "invalid", "seq is required"},
		"ReadSeqString":   {"POST", "/api/v1/threads/" + th.ID + "/read", "application/json", `{"seq": "1"}`, 400, "invalid", "number"},
		"BadIncludeValue": {"GET", "/api/v1/threads?include=messages:x", "", ``, 400, "invalid", "messages:N"},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, tc.method, env.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+alice.Token())
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := env.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var p struct {
				Type, Title, Detail string
				Status              int
			}
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("body %q is not a problem: %v", body, err)
			}
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/problem+json" ||
				p.Status != tc.status || p.Type != "urn:parley:problem:"+tc.code || !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("%d %s %s; want %d %s with detail containing %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.status, tc.code, tc.detail)
			}
		})
	}
	t.Run("NothingChanged", func(t *testing.T) {
		got, err := alice.Thread(ctx, th.ID)
		if err != nil || got.LastSeq != 1 || got.LastMessage.Text != "the only message" {
			t.Fatalf("thread after bad requests = %+v, %v", got, err)
		}
	})
}

// TestSecretsNeverShown checks that passwords, tokens and their hashes
// appear neither in responses nor in the server's logs.
func TestSecretsNeverShown(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	bob := env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, alice, th.ID, "hello")
	env.Client.SignIn(ctx, "alice", "a wrong password")
	env.Client.WithToken("pss_not-a-real-token").Me(ctx)
	events, err := alice.WithToken(alice.Token()).Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	events.Close()

	var responses strings.Builder
	for _, path := range []string{"/api/v1/me", "/api/v1/friends", "/api/v1/threads", "/api/v1/threads/" + th.ID + "/participants"} {
		_, err := alice.Do(ctx, "GET", path, nil, &json.RawMessage{})
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		alice.Do(ctx, "GET", path, nil, &raw)
		responses.Write(raw)
	}
	logs := env.Logs.String()
	if !strings.Contains(logs, `"route":"GET /api/v1/me"`) {
		t.Fatalf("logs do not record requests:\n%s", logs)
	}
	for _, secret := range []string{apptest.Password("alice"), "a wrong password", alice.Token(), bob.Token(), "pss_not-a-real-token", "argon2id"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
		if strings.Contains(responses.String(), secret) {
			t.Errorf("responses contain %q", secret)
		}
	}
}
