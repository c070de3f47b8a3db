package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestBadInput sends malformed requests and checks each gets a clear problem
// and changes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, alice, th.ID, "the only message")
	send := "/api/v1/threads/" + th.ID + "/messages"
	films := "/api/v1/apps/" + mustOwnedPartner(t, env, "Films", "alice").App.ClientID
	report := films + "/reports/shares"
	tooLarge := `{"text": "` + strings.Repeat("a", 260<<10) + `"}`

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
		"TooLarge":        {"POST", send, "application/json", tooLarge, 413, "too_large", "262144"},
		"UnknownThread":   {"POST", "/api/v1/threads/nope/messages", "application/json", `{"text": "hi"}`, 404, "not_found", "thread not found"},
		"UnknownMessage":  {"DELETE", "/api/v1/messages/nope", "", ``, 404, "not_found", "message not found"},
		"EditUnknown":     {"PATCH", "/api/v1/messages/nope", "application/json", `{"text": "hi"}`, 404, "not_found", "message not found"},
		"UnknownFriend":   {"DELETE", "/api/v1/friends/nope", "", ``, 404, "not_found", "not found"},
		"UnknownEndpoint": {"GET", "/api/v1/nope", "", ``, 404, "not_found", "no such endpoint"},
		"WrongMethod":     {"PATCH", send, "", ``, 405, "method_not_allowed", "PATCH"},
		"ReadNoSeq":       {"POST", "/api/v1/threads/" + th.ID + "/read", "application/json", `{}`, 400, "invalid", "seq is required"},
		"ReadSeqString":   {"POST", "/api/v1/threads/" + th.ID + "/read", "application/json", `{"seq": "1"}`, 400, "invalid", "number"},
		// A number, but not one an integer field holds.
		"IntegerOverflow": {"POST", "/api/v1/threads/" + th.ID + "/read", "application/json", `{"seq": 9223372036854775808}`, 400, "invalid", `"seq" must be a whole number from -9223372036854775808 to 9223372036854775807`},
		"IntegerNotWhole": {"POST", "/api/v1/threads/" + th.ID + "/read", "application/json", `{"seq": 1.5}`, 400, "invalid", `"seq" must be a whole number`},
		// Every operation with a body refuses it alike.
		"NarrowNotJSON":  {"PATCH", "/api/v1/me/grants/any", "text/plain", `{}`, 415, "unsupported_media_type", "application/json"},
		"NarrowTooLarge": {"PATCH", "/api/v1/me/grants/any", "application/json", tooLarge, 413, "too_large", "262144"},
		// A username no member can have is bad input, not a member to look for.
		"FriendNoUsername":      {"POST", "/api/v1/friends", "application/json", `{"username": ""}`, 400, "invalid", `username: "" is not a username`},
		"FriendBlankUsername":   {"POST", "/api/v1/friends", "application/json", `{"username": "  "}`, 400, "invalid", "not a username"},
		"FriendInvalidUsername": {"POST", "/api/v1/friends", "application/json", `{"username": "no one"}`, 400, "invalid", "not a username"},
		"ParticipantNoUsername": {"POST", "/api/v1/threads/" + th.ID + "/participants", "application/json", `{"username": ""}`, 400, "invalid", "not a username"},
		// A query string is refused, not repaired: no undecodable pair is
		// dropped (a malformed cursor restarting the changes feed from the
		// start), no first value wins.
		"MalformedCursor":   {"GET", "/api/v1/threads/" + th.ID + "/changes?cursor=%zz", "", ``, 400, "invalid", "query string is malformed"},
		"MalformedAfter":    {"GET", send + "?after=%zz", "", ``, 400, "invalid", "query string is malformed"},
		"MalformedFrom":     {"GET", report + "?from=%zz", "", ``, 400, "invalid", "query string is malformed"},
		"MalformedInclude":  {"GET", "/api/v1/threads?include=%zz", "", ``, 400, "invalid", "query string is malformed"},
		"RepeatedLimit":     {"GET", send + "?limit=5&limit=abc", "", ``, 400, "invalid", `"limit" is given more than once`},
		"RepeatedAfter":     {"GET", send + "?after=0&after=1", "", ``, 400, "invalid", `"after" is given more than once`},
		"RepeatedPeriod":    {"GET", report + "?period=week&period=hour", "", ``, 400, "invalid", `"period" is given more than once`},
		"RepeatedFormat":    {"GET", report + "?format=json&format=pdf", "", ``, 400, "invalid", `"format" is given more than once`},
		"RepeatedFrom":      {"GET", report + "?from=2026-01-01&from=2026-01-02", "", ``, 400, "invalid", `"from" is given more than once`},
		"RepeatedCursor":    {"GET", "/api/v1/threads?cursor=a&cursor=b", "", ``, 400, "invalid", `"cursor" is given more than once`},
		"RepeatedAccessApp": {"GET", "/api/v1/me/access-log?app=a&app=b", "", ``, 400, "invalid", `"app" is given more than once`},
		// Not the same as no app, which is every app's entries.
		"EmptyAccessApp": {"GET", "/api/v1/me/access-log?app=", "", ``, 400, "invalid", "app must be an app's client_id"},
		// So is one that no route reads: it is bad input all the same.
		"MalformedQueryOnASend":  {"POST", send + "?x=%zz", "application/json", `{"text": "hi"}`, 400, "invalid", "query string is malformed"},
		"RepeatedQueryOnMe":      {"GET", "/api/v1/me?limit=1&limit=2", "", ``, 400, "invalid", `"limit" is given more than once`},
		"NULInQueryOnFriends":    {"GET", "/api/v1/friends?x=%00", "", ``, 400, "invalid", "NUL"},
		"MalformedQueryOnAppNew": {"POST", "/api/v1/apps?x=%zz", "application/json", `{"name": "Films 2", "redirect_uris": ["https://a.example/cb"]}`, 400, "invalid", "query string is malformed"},
		// A port no connection can be made to is no URL's.
		"PortOutOfRangeInRedirectURI": {"POST", "/api/v1/apps", "application/json", `{"name": "Films 2", "redirect_uris": ["https://a.example:99999/cb"]}`, 400, "invalid", "port"},
		"PortZeroInRedirectURI":       {"POST", "/api/v1/apps", "application/json", `{"name": "Films 2", "redirect_uris": ["https://[::1]:0/cb"]}`, 400, "invalid", "port"},
		"PortOutOfRangeInHomepage":    {"POST", "/api/v1/apps", "application/json", `{"name": "Films 2", "redirect_uris": ["https://a.example/cb"], "homepage": "https://a.example:65536"}`, 400, "invalid", "port"},
		"PortOutOfRangeInWebhook":     {"POST", films + "/webhooks", "application/json", `{"url": "https://example.com:99999/x", "events": ["message.created"]}`, 400, "invalid", "port"},
		// An unclean path is no endpoint's: a 404, not a redirect to the
		// clean one (which a client would follow, and post to).
		"UncleanPath":     {"POST", "/api/v1//threads", "application/json", `{"participants": ["bob"], "kind": "group", "title": "t"}`, 404, "not_found", "no such endpoint"},
		"DotSegment":      {"GET", "/api/v1/threads/./" + th.ID, "", ``, 404, "not_found", "no such endpoint"},
		"LeadingSlashes":  {"POST", "//api/v1/threads", "application/json", `{"participants": ["bob"], "kind": "group", "title": "t"}`, 404, "not_found", "no such endpoint"},
		"UncleanHealth":   {"GET", "//healthz", "", ``, 404, "not_found", "no such endpoint"},
		"BadIncludeValue": {"GET", "/api/v1/threads?include=messages:x", "", ``, 400, "invalid", "messages:N"},
		// N is digits, as openapi.json's pattern says: no sign.
		"BadIncludeSigned": {"GET", "/api/v1/threads?include=messages:%2B5", "", ``, 400, "invalid", "messages:N"},
		// Refused, not repaired: no byte becomes U+FFFD, no duplicate wins.
		"InvalidUTF8":       {"POST", send, "application/json", "{\"text\": \"caf\xe9\"}", 400, "invalid", "not valid UTF-8"},
		"InvalidUTF8InName": {"POST", send, "application/json", "{\"te\xffxt\": \"hi\"}", 400, "invalid", "not valid UTF-8"},
		"LoneSurrogate":     {"POST", send, "application/json", `{"text": "\ud800"}`, 400, "invalid", "not valid JSON"},
		"DuplicateKey":      {"POST", send, "application/json", `{"text": "a", "text": "b"}`, 400, "invalid", `field "text" is given twice`},
		"DuplicateSignIn":   {"POST", "/api/v1/sessions", "application/json", `{"username": "alice", "password": "wrong", "password": "` + apptest.Password("alice") + `"}`, 400, "invalid", `field "password" is given twice`},
		"DuplicateAccount":  {"POST", "/api/v1/accounts", "application/json", `{"username": "mallory", "password": "password-1", "username": "carol"}`, 400, "invalid", `field "username" is given twice`},
		"InvalidUTF8SignIn": {"POST", "/api/v1/sessions", "application/json", "{\"username\": \"alice\", \"password\": \"\xff\"}", 400, "invalid", "not valid UTF-8"},
		"NameInAnotherCase": {"POST", send, "application/json", `{"Text": "hi"}`, 400, "invalid", `unknown field "Text"`},
		"NullBody":          {"POST", send, "application/json", `null`, 400, "invalid", "JSON object"},
		"WrongTypeInArray":  {"POST", "/api/v1/threads", "application/json", `{"participants": [42]}`, 400, "invalid", `"participants/0" must be of type string`},
		"NULInText":         {"POST", send, "application/json", `{"text": "a\u0000b"}`, 400, "invalid", "NUL"},
		"NULInTitle":        {"POST", "/api/v1/threads", "application/json", `{"participants": ["bob"], "kind": "group", "title": "a\u0000b"}`, 400, "invalid", "title"},
		"NULInDisplayName":  {"POST", "/api/v1/accounts", "application/json", `{"username": "mallory", "password": "password-1", "display_name": "a\u0000b"}`, 400, "invalid", "display_name"},
		// A password no page's form could carry is refused when it is set,
		// not found unusable at the first sign-in on a page.
		"NULInPassword":   {"POST", "/api/v1/accounts", "application/json", `{"username": "mallory", "password": "password\u0000-1"}`, 400, "invalid", "password"},
		"NULInAppName":    {"POST", "/api/v1/apps", "application/json", `{"name": "a\u0000b", "redirect_uris": ["https://a.example/cb"]}`, 400, "invalid", "name"},
		"NULInAppPurpose": {"POST", "/api/v1/apps", "application/json", `{"name": "Films", "purpose": "a\u0000b", "redirect_uris": ["https://a.example/cb"]}`, 400, "invalid", "NUL"},
		// A C1 control (here NEL, a line break to some programs) is no
		// more printable than a C0 one.
		"C1ControlInTitle":       {"POST", "/api/v1/threads", "application/json", `{"participants": ["bob"], "kind": "group", "title": "a\u0085b"}`, 400, "invalid", "title"},
		"C1ControlInDisplayName": {"POST", "/api/v1/accounts", "application/json", `{"username": "mallory", "password": "password-1", "display_name": "a\u009bb"}`, 400, "invalid", "display_name"},
		"C1ControlInAppName":     {"POST", "/api/v1/apps", "application/json", `{"name": "Fi\u0085lms", "redirect_uris": ["https://a.example/cb"]}`, 400, "invalid", "name"},
		// A control of the direction of text in a name reverses what a
		// page writes after it ("@mallory" drawn "yrollam@").
		"DirectionOverrideInDisplayName": {"POST", "/api/v1/accounts", "application/json", `{"username": "mallory", "password": "password-1", "display_name": "\u202eMallory"}`, 400, "invalid", "display_name"},
		"DirectionIsolateInTitle":        {"POST", "/api/v1/threads", "application/json", `{"participants": ["bob"], "kind": "group", "title": "a\u2067b"}`, 400, "invalid", "title"},
		"DirectionMarkInAppName":         {"POST", "/api/v1/apps", "application/json", `{"name": "Films\u200f", "redirect_uris": ["https://a.example/cb"]}`, 400, "invalid", "name"},
		"DirectionOverrideInAppPurpose":  {"POST", "/api/v1/apps", "application/json", `{"name": "Films", "purpose": "to \u202erecommend", "redirect_uris": ["https://a.example/cb"]}`, 400, "invalid", "purpose"},
		// A title that shows nothing would look empty in others' lists.
		"ZeroWidthTitle":    {"POST", "/api/v1/threads", "application/json", `{"participants": ["bob"], "kind": "group", "title": "\u200b"}`, 400, "invalid", "title"},
		"HangulFillerTitle": {"POST", "/api/v1/threads", "application/json", `{"participants": ["bob"], "kind": "group", "title": "\u3164"}`, 400, "invalid", "title"},
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
		if threads, err := alice.Threads(ctx, client.ThreadsQuery{}); err != nil || len(threads.Threads) != 1 {
			t.Fatalf("threads after bad requests = %+v, %v", threads, err)
		}
		for _, name := range []string{"mallory", "carol"} {
			if _, err := env.Client.SignIn(ctx, name, "password-1"); client.StatusOf(err) != http.StatusUnauthorized {
				t.Errorf("%s signs in after refused accounts: %v", name, err)
			}
		}
		var apps struct{ Apps []json.RawMessage }
		// Films only, made for the report's path.
		if _, err := alice.Do(ctx, "GET", "/api/v1/apps", nil, &apps); err != nil || len(apps.Apps) != 1 {
			t.Fatalf("apps after bad requests = %s, %v", apps.Apps, err)
		}
	})
}

// A body in a content coding the API does not take (gzip, here) is
// answered 415 with Accept-Encoding: identity, which tells a client it is
// the coding, not the media type, that was refused (RFC 9110 section
// 15.5.16), and posts nothing: not a 400 for JSON that is not there.
func TestBadInput_CompressedBodyIsRefusedAsItsCoding(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	io.WriteString(w, `{"text": "compressed"}`)
	w.Close()

	for _, coding := range []string{"gzip", "br", "identity, gzip"} {
		req, _ := http.NewRequestWithContext(ctx, "POST", env.URL+"/api/v1/threads/"+th.ID+"/messages", bytes.NewReader(gz.Bytes()))
		req.Header.Set("Authorization", "Bearer "+alice.Token())
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", coding)
		resp, err := env.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType || resp.Header.Get("Accept-Encoding") != "identity" ||
			!strings.Contains(string(body), "urn:parley:problem:unsupported_media_type") || !strings.Contains(string(body), "Content-Encoding") {
			t.Errorf("Content-Encoding %s: %d, Accept-Encoding %q, %s; want 415 with Accept-Encoding: identity", coding, resp.StatusCode, resp.Header.Get("Accept-Encoding"), body)
		}
	}
	// An uncoded body said to be so is taken.
	req, _ := http.NewRequestWithContext(ctx, "POST", env.URL+"/api/v1/threads/"+th.ID+"/messages", strings.NewReader(`{"text": "plain"}`))
	req.Header.Set("Authorization", "Bearer "+alice.Token())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "identity")
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("Content-Encoding identity: %d, want 201", resp.StatusCode)
	}
	if got, err := alice.Thread(ctx, th.ID); err != nil || got.LastSeq != 1 || got.LastMessage.Text != "plain" {
		t.Fatalf("thread = %+v, %v; want only the plain message", got, err)
	}
}

// TestSecretsNeverShown checks that passwords, tokens and their hashes
// appear neither in responses nor in the server's logs.
func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
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

// TestBadInput_PathOrQueryNotText sends IDs and query values that are not
// text (invalid UTF-8, a NUL byte) where the server looks something up with
// them: on every engine, such an ID is a 404 (it names nothing anyone can
// have) and such a query value a 400, each saying why. PostgreSQL refuses
// such a string even in a lookup, so that both were 500s there.
func TestBadInput_PathOrQueryNotText(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	partner := mustOwnedPartner(t, env, "Films", "alice").App.ClientID
	for name, tc := range map[string]struct {
		method, path string
		status       int
		code         string
	}{
		"ThreadInvalidUTF8":   {"GET", "/api/v1/threads/%FF", 404, "not_found"},
		"ThreadNUL":           {"GET", "/api/v1/threads/%00", 404, "not_found"},
		"MessagesInvalidUTF8": {"GET", "/api/v1/threads/%FF/messages", 404, "not_found"},
		"ThreadApps":          {"GET", "/api/v1/threads/%FF/apps", 404, "not_found"},
		"DeleteMessage":       {"DELETE", "/api/v1/messages/%FF", 404, "not_found"},
		"EditMessage":         {"PATCH", "/api/v1/messages/%FF", 404, "not_found"},
		"RemoveFriend":        {"DELETE", "/api/v1/friends/%00", 404, "not_found"},
		"RevokeGrant":         {"DELETE", "/api/v1/me/grants/%FF", 404, "not_found"},
		"Report":              {"GET", "/api/v1/apps/%FF/reports/shares", 404, "not_found"},
		"Webhook":             {"GET", "/api/v1/apps/" + partner + "/webhooks/%FF", 404, "not_found"},
		"AccessLogApp":        {"GET", "/api/v1/me/access-log?app=%FF", 400, "invalid"},
		"AccessLogAppNUL":     {"GET", "/api/v1/me/access-log?app=%00", 400, "invalid"},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, tc.method, env.URL+tc.path, nil)
			req.Header.Set("Authorization", "Bearer "+alice.Token())
			resp, err := env.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var p struct{ Type, Detail string }
			json.Unmarshal(body, &p)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/problem+json" ||
				p.Type != "urn:parley:problem:"+tc.code || !strings.Contains(p.Detail, "not valid UTF-8 or holds a NUL byte") {
				t.Errorf("%s %s: %d %s", tc.method, tc.path, resp.StatusCode, body)
			}
		})
	}
}

// TestBadInput_HeadersGivenTwice: a request that gives its Idempotency-Key
// or its Authorization twice is refused, not read by its first value: a
// retry with the second key would post the message again, and a request
// with two members' tokens act as the first. Two tokens are challenged as
// an invalid request (RFC 6750 section 3.1).
func TestBadInput_HeadersGivenTwice(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	for name, header := range map[string]http.Header{
		"IdempotencyKey": {"Authorization": {"Bearer " + alice.Token()}, "Idempotency-Key": {"k1", "k2"}},
		"Authorization":  {"Authorization": {"Bearer " + alice.Token(), "Bearer " + bob.Token()}},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, "POST", env.URL+"/api/v1/threads/"+th.ID+"/messages", strings.NewReader(`{"text": "hi"}`))
			req.Header = header
			req.Header.Set("Content-Type", "application/json")
			resp, err := env.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" ||
				!strings.Contains(string(body), "given more than once") {
				t.Fatalf("%d %s; want a 400 problem", resp.StatusCode, body)
			}
			// RFC 6750 section 3.1: a token that cannot be read is
			// challenged as invalid_request.
			if ch := resp.Header.Get("WWW-Authenticate"); (name == "Authorization") != (ch == `Bearer realm="parley", error="invalid_request"`) {
				t.Errorf("WWW-Authenticate %q", ch)
			}
		})
	}
	if got, err := alice.Thread(ctx, th.ID); err != nil || got.LastSeq != 0 {
		t.Fatalf("thread after refused sends = %+v, %v; want no message", got, err)
	}
}

// An Idempotency-Key sent empty, or as spaces (which net/http trims to
// nothing), is a malformed key, not none: taken as none, a client that
// believes its send safe to retry would post it again at each retry.
func TestBadInput_EmptyIdempotencyKey(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	for name, tc := range map[string]struct{ path, body, key string }{
		"SendEmpty":  {"/api/v1/threads/" + th.ID + "/messages", `{"text": "once"}`, ""},
		"SendSpaces": {"/api/v1/threads/" + th.ID + "/messages", `{"text": "once"}`, "   "},
		"Thread":     {"/api/v1/threads", `{"participants": ["bob"], "kind": "group", "title": "t"}`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, "POST", env.URL+tc.path, strings.NewReader(tc.body))
			req.Header = http.Header{"Authorization": {"Bearer " + alice.Token()}, "Content-Type": {"application/json"}, "Idempotency-Key": {tc.key}}
			resp, err := env.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" ||
				!strings.Contains(string(body), "Idempotency-Key") {
				t.Fatalf("%d %s; want a 400 problem naming the header", resp.StatusCode, body)
			}
		})
	}
	if got, err := alice.Thread(ctx, th.ID); err != nil || got.LastSeq != 0 {
		t.Fatalf("thread after refused sends = %+v, %v; want no message", got, err)
	}
	if threads, err := alice.Threads(ctx, client.ThreadsQuery{}); err != nil || len(threads.Threads) != 1 {
		t.Fatalf("threads after a refused start = %+v, %v; want the direct one only", threads, err)
	}
}
