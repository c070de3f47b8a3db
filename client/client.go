// Package client is a Go client for Parley's /api/v1. It is a module of its
// own, github.com/parleyhq/parley/client, that needs nothing of the server:
// its types (types.go) are the API's JSON, field for field.
//
// A member signs in with a password and acts through the session's token:
//
//	c := client.New("http://127.0.0.1:8080")
//	s, err := c.SignIn(ctx, "alice", "correct horse")
//	alice := c.WithToken(s.Token)
//	page, err := alice.Threads(ctx, client.ThreadsQuery{Messages: 10})
//
// An app acts for a member with the tokens of an OAuth 2.0 grant. Given an
// oauth2.TokenSource, the client sends its current access token with each
// request, and the source refreshes it once it runs out:
//
//	cfg := &oauth2.Config{
//		ClientID:     clientID,
//		ClientSecret: clientSecret,
//		Endpoint: oauth2.Endpoint{
//			AuthURL:  "http://127.0.0.1:8080/oauth2/authorize",
//			TokenURL: "http://127.0.0.1:8080/oauth2/token",
//		},
//		Scopes: []string{client.ScopeSharesWrite, client.ScopeMessagesRead, client.ScopeOfflineAccess},
//	}
//	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
//	app := client.New("http://127.0.0.1:8080").WithTokenSource(cfg.TokenSource(ctx, tok))
//	msg, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://example.com/film", Title: "A film"})
//
// A refresh rotates the refresh token: keep the latest one, from the source's
// Token, to resume later.
//
// A method that fails returns a nil pointer or slice with its error, never
// an empty value to mistake for an answer. Every error the server answers
// with is an *Error (RFC 9457 problem details); StatusOf reads its HTTP
// status. So is a token source's refresh
// that Parley's token endpoint refused for the member's grant
// (invalid_grant): a 401, as the API's own answer to a grant that ended,
// whose Unwrap gives the source's error; one it throttled is a 429 whose
// RetryAfter says when to try the same refresh again. A refresh refused
// for the app's own credentials (invalid_client: a secret that ended, say)
// is no *Error: the member need not sign in again, and the refresh token
// works once the app sends the right secret.
package client

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"golang.org/x/oauth2"
)

// Client talks to one Parley server, as one caller when it has a token or
// a token source. Its methods may be called concurrently.
type Client struct {
	baseURL string
	token   string
	source  *sharedSource
	http    *http.Client
	// limit is the caller's rate limit as last told (RateLimit).
	limit *lastLimit
}

// New returns a client for the server at baseURL. Its HTTP client is
// http.DefaultClient's, but for redirects, which it does not follow:
// Parley's API never redirects, so one comes from something between, and
// following it would turn a POST into a GET that sends nothing; the
// redirect is an error instead.
func New(baseURL string) *Client {
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), http: noRedirects, limit: &lastLimit{}}
}

// noRedirects is New's HTTP client.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// WithHTTPClient returns a copy of c that sends requests with hc.
func (c *Client) WithHTTPClient(hc *http.Client) *Client {
	cp := *c
	cp.http = hc
	return &cp
}

// WithToken returns a copy of c that authenticates with the bearer token:
// a member's session token or an app's access token.
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.token, cp.source, cp.limit = token, nil, &lastLimit{}
	return &cp
}

// WithTokenSource returns a copy of c that authenticates each request with
// the current access token of ts, such as an oauth2.Config's TokenSource,
// which refreshes the token once it runs out. The copy keeps a token until
// it expires and asks ts for the next one only then. A refresh goes out
// with the context (and its oauth2.HTTPClient) the source was made with,
// not with c's HTTP client; a call waits for it only until its own
// context ends.
func (c *Client) WithTokenSource(ts oauth2.TokenSource) *Client {
	cp := *c
	cp.token, cp.source, cp.limit = "", &sharedSource{src: oauth2.ReuseTokenSource(nil, ts)}, &lastLimit{}
	return &cp
}

// sharedSource asks its source for a token once at a time: calls that
// come while a refresh is on its way wait for that one, each only as long
// as its own context lasts, and leave nothing behind when they give up.
type sharedSource struct {
	src  oauth2.TokenSource
	mu   sync.Mutex
	call *tokenCall
}

// tokenCall is one Token of the source: done is closed once t and err are
// set.
type tokenCall struct {
	done chan struct{}
	t    *oauth2.Token
	err  error
}

// token returns the source's answer, from the call on its way or a new
// one, or nil when ctx ended first.
func (s *sharedSource) token(ctx context.Context) *tokenCall {
	s.mu.Lock()
	call := s.call
	if call == nil {
		call = &tokenCall{done: make(chan struct{})}
		s.call = call
		go func() {
			call.t, call.err = s.src.Token()
			s.mu.Lock()
			s.call = nil
			s.mu.Unlock()
			close(call.done)
		}()
	}
	s.mu.Unlock()
	select {
	case <-call.done:
		return call
	case <-ctx.Done():
		return nil
	}
}

// Token returns the bearer token given to WithToken; it is empty for a
// client with a token source.
func (c *Client) Token() string { return c.token }

// authorization returns the Authorization header a request carries, or ""
// for a client with neither a token nor a token source. A token source is
// waited for only as long as ctx lasts: a refresh goes out with the
// source's own context, which may never end.
func (c *Client) authorization(ctx context.Context) (string, error) {
	if c.source != nil {
		call := c.source.token(ctx)
		if call == nil {
			return "", fmt.Errorf("parley: get a token: %w", ctx.Err())
		}
		t, err := call.t, call.err
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok && re.Response != nil && re.Response.StatusCode == http.StatusTooManyRequests {
			// Parley's token endpoint throttled the refresh: nothing was
			// used up, and the same refresh works after the wait.
			return "", &Error{Status: http.StatusTooManyRequests, Type: ProblemThrottled, Title: "Too Many Requests",
				Detail:     "the token could not be refreshed yet: " + cmp.Or(re.ErrorDescription, re.ErrorCode, re.Response.Status),
				RetryAfter: retryAfter(re.Response.Header), cause: err}
		} else if ok && re.ErrorCode == "invalid_grant" {
			// Parley refused the refresh: the grant ended, or the
			// refresh token is no longer good.
			return "", &Error{Status: http.StatusUnauthorized, Type: ProblemUnauthorized, Title: "Unauthorized",
				Detail: "the token could not be refreshed: " + cmp.Or(re.ErrorDescription, re.ErrorCode), cause: err}
		} else if ok && re.Response != nil && re.Response.StatusCode < 500 {
			// Parley refused the app, not the member's grant: a client
			// secret ended or mistyped (invalid_client), say. The member
			// signing in again would not help, and the refresh token
			// stays good for the app once it is put right.
			return "", fmt.Errorf("parley: the token endpoint refused the app's refresh (%s): check its client ID and secret: %w",
				cmp.Or(re.ErrorCode, re.Response.Status), err)
		} else if err != nil && strings.Contains(err.Error(), "refresh token is not set") {
			// golang.org/x/oauth2's answer for a token that ran out
			// without a refresh token (no offline_access): the API would
			// refuse the token it held, and the member signs in again.
			return "", &Error{Status: http.StatusUnauthorized, Type: ProblemUnauthorized, Title: "Unauthorized",
				Detail: "the access token ran out and there is no refresh token: sign in again", cause: err}
		} else if err != nil {
			return "", fmt.Errorf("parley: get a token: %w", err)
		}
		return t.Type() + " " + t.AccessToken, nil
	}
	if c.token != "" {
		return "Bearer " + c.token, nil
	}
	return "", nil
}

// Error is a problem (RFC 9457) the server answered with. Type is stable:
// branch on it (ProblemNotFound and the like), or on Status.
type Error struct {
	// Status is the answer's HTTP status, 400 to 599 (a redirect, which
	// the API never sends, is one too, 3xx).
	Status int `json:"status"`
	// Type is one of the Problem constants, stable from version to
	// version; it is empty when the answer carried no problem body.
	Type string `json:"type"`
	// Title is the status's text, "Not Found" say: for logs, not for
	// branching.
	Title string `json:"title"`
	// Detail says what went wrong in this case, in words safe to show the
	// member; it may change from version to version, and is empty when
	// there is nothing to add to the type.
	Detail string `json:"detail"`
	// WWWAuthenticate is the challenge sent with a 401 or 403.
	WWWAuthenticate string `json:"-"`
	// RetryAfter is how long a 429 or 503 asks the caller to wait
	// (Retry-After), or 0.
	RetryAfter time.Duration `json:"-"`
	// cause is the token source's error a refused refresh came as.
	cause error
}

// Error returns the problem in one line.
func (e *Error) Error() string {
	return fmt.Sprintf("parley: %d %s: %s", e.Status, e.Type, e.Detail)
}

// Unwrap returns the token source's error of a refused refresh, or nil.
func (e *Error) Unwrap() error { return e.cause }

// maxProblem bounds how much of an error answer is read: a problem is a
// few lines.
const maxProblem = 64 << 10

// problem reads the problem an error answer carries.
func problem(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode, WWWAuthenticate: resp.Header.Get("WWW-Authenticate"), RetryAfter: retryAfter(resp.Header)}
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		e.Detail = fmt.Sprintf("redirected to %q, which the API never does: check the server's URL, and what is between", resp.Header.Get("Location"))
	} else if err := json.NewDecoder(io.LimitReader(resp.Body, maxProblem)).Decode(e); err != nil {
		e.Detail = "(no problem body)"
	}
	return e
}

// retryAfter reads the Retry-After of an answer, in seconds or as an HTTP
// date, or 0. Seconds beyond what a Duration holds are read as its
// longest, before they are multiplied, which would overflow.
func retryAfter(h http.Header) time.Duration {
	if secs, err := strconv.ParseInt(h.Get("Retry-After"), 10, 64); (err == nil || errors.Is(err, strconv.ErrRange)) && secs > 0 {
		return time.Duration(min(secs, int64(math.MaxInt64/time.Second))) * time.Second
	} else if at, err := http.ParseTime(h.Get("Retry-After")); err == nil {
		return max(time.Until(at), 0)
	}
	return 0
}

// StatusOf returns the HTTP status of a server's error, or 0 for other errors.
func StatusOf(err error) int {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Status
	}
	return 0
}

// maxAnswer bounds the answer Do reads. The largest of the API's pages is
// an inbox page of 1,000 messages in all (limit times include=messages:N),
// each of up to 16,000 characters that the server's JSON may write as six
// bytes each (<, > and & escaped as \u003c), with its reactions: about
// 92 MiB. An answer past 128 MiB comes from something other than
// Parley's API (a wrong URL, a proxy's error page, an endless stream) and
// is refused before it fills the caller's memory. An export is as large
// as the member's data, and Export reads it whole.
const maxAnswer = 128 << 20

// maxDrain bounds what Do reads past the JSON it decoded, so that the
// connection can be used again; past it the connection is closed instead.
const maxDrain = 64 << 10

// Do sends a request with an optional JSON body and decodes a JSON answer
// into out when out is not nil. Extra headers may be given as key, value
// pairs; an odd number of them is an error, and nothing is sent. An answer
// of over 128 MiB is an error.
//
// The response Do returns, with a nil error or with the server's (*Error),
// is for its status and headers only: its body has been read (into out,
// or into the error) and closed.
func (c *Client) Do(ctx context.Context, method, path string, body, out any, headers ...string) (*http.Response, error) {
	return c.do(ctx, method, path, body, out, maxAnswer, headers...)
}

// do is Do reading at most limit bytes of the answer (0: all of it).
func (c *Client) do(ctx context.Context, method, path string, body, out any, limit int64, headers ...string) (*http.Response, error) {
	if len(headers)%2 != 0 {
		return nil, fmt.Errorf("parley: %s %s: header %q has no value", method, path, headers[len(headers)-1])
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	auth, err := c.authorization(ctx)
	if err != nil {
		return nil, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, problem(resp)
	}
	if out != nil {
		if err := decodeBody(resp, out, limit); err != nil {
			return resp, fmt.Errorf("parley: decode %s %s: %w", method, path, err)
		}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain)) // let the connection be reused
	return resp, nil
}

// send sends req with c's HTTP client, keeping the rate limit its answer
// tells (RateLimit).
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err == nil {
		c.limit.keep(resp.Header)
	}
	return resp, err
}

// bodyBuffers holds buffers for reading answers.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer kept for reuse: an inbox of 50
// threads with 10 messages each is about 200 KiB.
const maxPooledBody = 512 << 10

// decodeBody reads the whole answer, limit bytes at most (0: no limit),
// into a pooled buffer and unmarshals it into out. For a page of messages this costs about a third less CPU than a
// json.Decoder on the body, which scans while it grows its own buffer
// step by step, and it leaves a quarter of the garbage.
//
// It unmarshals with github.com/go-json-experiment/json (what Go's
// encoding/json/v2 is made from) set to behave as encoding/json does
// (decodeOptions). It decodes a page of messages in about 60% of
// encoding/json's CPU time with 40% fewer allocations.
func decodeBody(resp *http.Response, out any, limit int64) error {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBody {
			bodyBuffers.Put(buf)
		}
	}()
	if resp.ContentLength > 0 && resp.ContentLength <= maxPooledBody {
		buf.Grow(int(resp.ContentLength))
	}
	if err := readAtMost(buf, resp.Body, limit); err != nil {
		return err
	}
	return jsonv2.Unmarshal(buf.Bytes(), out, decodeOptions)
}

// readAtMost reads body into buf, and fails once it holds more than limit
// bytes (0: no limit).
func readAtMost(buf *bytes.Buffer, body io.Reader, limit int64) error {
	if limit > 0 {
		body = io.LimitReader(body, limit+1)
	}
	if n, err := buf.ReadFrom(body); err != nil {
		return err
	} else if limit > 0 && n > limit {
		return fmt.Errorf("the answer is larger than %d MiB, more than any of the API's", limit>>20)
	}
	return nil
}

// decodeOptions are encoding/json's rules (DefaultOptionsV1: Do's callers
// may pass their own types, which may rely on them, such as names matched
// whatever their case) but for its errors: encoding/json checks the whole
// input before it decodes any of it, so that a syntax error is reported
// as such rather than as whatever the decoding met first. That pass cost
// a fifth of the decoding of a page of messages; without it, the decoder
// still refuses what is not valid JSON, when it reaches it.
var decodeOptions = jsonv2.JoinOptions(jsonv1.DefaultOptionsV1(), jsonv1.ReportErrorsWithLegacySemantics(false))

// CreateAccount registers a member.
func (c *Client) CreateAccount(ctx context.Context, username, password, displayName string) (*User, error) {
	var u User
	_, err := c.Do(ctx, "POST", "/api/v1/accounts", map[string]string{
		"username": username, "password": password, "display_name": displayName,
	}, &u)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// SignIn opens a session; use WithToken(s.Token) to act as the member.
func (c *Client) SignIn(ctx context.Context, username, password string) (*Session, error) {
	return c.SignInWithDeviceProof(ctx, username, password, "")
}

// SignInWithDeviceProof signs in as SignIn does, sending the DeviceProof
// of this device's last sign-in, if any: failed sign-ins to the username
// from elsewhere do not hold it up, only this device's own.
func (c *Client) SignInWithDeviceProof(ctx context.Context, username, password, deviceProof string) (*Session, error) {
	in := map[string]string{"username": username, "password": password}
	if deviceProof != "" {
		in["device_proof"] = deviceProof
	}
	var s Session
	_, err := c.Do(ctx, "POST", "/api/v1/sessions", in, &s)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// SignOut ends the current session.
func (c *Client) SignOut(ctx context.Context) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/sessions/current", nil, nil)
	return err
}

// Me returns the signed-in member.
func (c *Client) Me(ctx context.Context) (*User, error) {
	var u User
	_, err := c.Do(ctx, "GET", "/api/v1/me", nil, &u)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// DeleteAccount deletes the signed-in member's account for good, with
// their password entered again; the client's token stops working.
func (c *Client) DeleteAccount(ctx context.Context, password string) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/me", map[string]string{"password": password}, nil)
	return err
}

// SignOutOthers ends every session of the signed-in member but the
// client's, and returns how many it ended.
func (c *Client) SignOutOthers(ctx context.Context) (int, error) {
	var out struct {
		SessionsEnded int `json:"sessions_ended"`
	}
	_, err := c.Do(ctx, "DELETE", "/api/v1/sessions/others", nil, &out)
	return out.SessionsEnded, err
}

// SetDisplayName gives the signed-in member the display name name (their
// username when empty) and returns their account.
func (c *Client) SetDisplayName(ctx context.Context, name string) (*User, error) {
	var u User
	_, err := c.Do(ctx, "PATCH", "/api/v1/me", map[string]string{"display_name": name}, &u)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// ChangePassword gives the signed-in member the password newPassword, with
// their current one; every other session of theirs ends, and the client's
// token goes on working. It returns the device's proof under the new
// password, to keep in place of the one its sign-in gave (Session's
// DeviceProof), which ended with the old.
func (c *Client) ChangePassword(ctx context.Context, current, newPassword string) (deviceProof string, err error) {
	var out struct {
		DeviceProof string `json:"device_proof"`
	}
	_, err = c.Do(ctx, "PUT", "/api/v1/me/password", map[string]string{"current_password": current, "new_password": newPassword}, &out)
	return out.DeviceProof, err
}

// Export downloads everything the server keeps of the signed-in member's.
func (c *Client) Export(ctx context.Context) (*Export, error) {
	var e Export
	_, err := c.do(ctx, "GET", "/api/v1/me/export", nil, &e, 0)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// AddFriend asks a member to be friends, or accepts their request.
func (c *Client) AddFriend(ctx context.Context, username string) (*FriendStatus, error) {
	var s FriendStatus
	_, err := c.Do(ctx, "POST", "/api/v1/friends", map[string]string{"username": username}, &s)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// Friends lists the member's friends, all of them, newest first: it reads
// every page (FriendsPage), as many calls as there are pages. A client
// that shows them reads a page at a time instead. Through an app, each
// call is logged for the member, and once every ten minutes for each
// friend it names.
func (c *Client) Friends(ctx context.Context) ([]Friend, error) {
	return everyPage(func(cursor string) ([]Friend, string, error) {
		p, err := c.FriendsPage(ctx, FriendsQuery{Cursor: cursor, Limit: 200})
		if err != nil {
			return nil, "", err
		}
		return p.Friends, p.NextCursor, nil
	})
}

// FriendsQuery selects a page of the member's friends.
type FriendsQuery struct {
	// Cursor is the NextCursor of the page before.
	Cursor string
	// Limit is from 1 to 200 friends; 0 takes the server's 50.
	Limit int
}

// FriendsPage returns a page of the member's friends, newest first.
func (c *Client) FriendsPage(ctx context.Context, q FriendsQuery) (*FriendPage, error) {
	var p FriendPage
	if err := c.getPage(ctx, "/api/v1/friends", q.Cursor, q.Limit, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// FriendRequests lists pending requests both ways, all of them: it reads
// every page of the requests the member received (FriendRequestsPage),
// newest first, as many calls as there are pages. Others choose how many
// those are; a client that shows them reads a page at a time instead.
func (c *Client) FriendRequests(ctx context.Context) (*FriendRequests, error) {
	var out FriendRequests
	incoming, err := everyPage(func(cursor string) ([]Friend, string, error) {
		p, err := c.FriendRequestsPage(ctx, FriendRequestsQuery{Cursor: cursor, Limit: 200})
		if err != nil {
			return nil, "", err
		}
		if out.Outgoing == nil {
			out.Outgoing = p.Outgoing
		}
		return p.Incoming, p.NextCursor, nil
	})
	if err != nil {
		return nil, err
	}
	out.Incoming = incoming
	return &out, nil
}

// everyPage reads a list from its first page to its last through page,
// which returns the items of the page at the cursor ("" for the first)
// and the cursor of the next, "" after the last.
func everyPage[T any](page func(cursor string) ([]T, string, error)) ([]T, error) {
	all := []T{}
	for cursor := ""; ; {
		items, next, err := page(cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		cursor = next
	}
}

// getPage reads into page the page of the list at path from the cursor,
// of at most limit items, each if given.
func (c *Client) getPage(ctx context.Context, path, cursor string, limit int, page any) error {
	v := url.Values{}
	setPage(v, cursor, limit)
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	_, err := c.Do(ctx, "GET", path, nil, page)
	return err
}

// setPage sets on v the cursor and the limit of a page, each if given: the
// server takes the first page, and its own limit, without them.
func setPage(v url.Values, cursor string, limit int) {
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
}

// FriendRequestsQuery selects a page of the requests the member received.
type FriendRequestsQuery struct {
	// Cursor is the NextCursor of the page before.
	Cursor string
	// Limit is from 1 to 200 requests; 0 takes the server's 50.
	Limit int
}

// FriendRequestsPage returns a page of the requests the member received,
// newest first, and every request they sent.
func (c *Client) FriendRequestsPage(ctx context.Context, q FriendRequestsQuery) (*FriendRequestPage, error) {
	var p FriendRequestPage
	if err := c.getPage(ctx, "/api/v1/friend-requests", q.Cursor, q.Limit, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// RemoveFriend ends a friendship or a pending request.
func (c *Client) RemoveFriend(ctx context.Context, userID string) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/friends/"+url.PathEscape(userID), nil, nil)
	return err
}

// Block blocks the member named username: the two stop being friends,
// neither may ask the other again, and their direct thread takes no new
// message from either (Thread.Blocked) until the block is lifted.
// Blocking again returns the block as it stands.
func (c *Client) Block(ctx context.Context, username string) (*BlockedMember, error) {
	var b BlockedMember
	_, err := c.Do(ctx, "POST", "/api/v1/blocks", map[string]string{"username": username}, &b)
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// BlockedMembers lists the members the member blocks, all of them, newest
// block first: it reads every page (BlockedMembersPage), as many calls as
// there are pages.
func (c *Client) BlockedMembers(ctx context.Context) ([]BlockedMember, error) {
	return everyPage(func(cursor string) ([]BlockedMember, string, error) {
		p, err := c.BlockedMembersPage(ctx, BlocksQuery{Cursor: cursor, Limit: 200})
		if err != nil {
			return nil, "", err
		}
		return p.Blocked, p.NextCursor, nil
	})
}

// BlocksQuery selects a page of the members the member blocks.
type BlocksQuery struct {
	// Cursor is the NextCursor of the page before.
	Cursor string
	// Limit is from 1 to 200 members; 0 takes the server's 50.
	Limit int
}

// BlockedMembersPage returns a page of the members the member blocks,
// newest block first.
func (c *Client) BlockedMembersPage(ctx context.Context, q BlocksQuery) (*BlockPage, error) {
	var p BlockPage
	if err := c.getPage(ctx, "/api/v1/blocks", q.Cursor, q.Limit, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Unblock lifts the member's block of the member userID.
func (c *Client) Unblock(ctx context.Context, userID string) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/blocks/"+url.PathEscape(userID), nil, nil)
	return err
}

// NewThread describes a thread to start.
type NewThread struct {
	// Participants are the usernames of the others in the thread, each a
	// friend of the member's; the member is in it whether named or not.
	Participants []string `json:"participants"`
	// Title names a group, up to 128 characters; a direct thread has
	// none.
	Title string `json:"title,omitempty"`
	// Kind is ThreadDirect or ThreadGroup; empty, a thread with one other
	// member is direct, with more a group.
	Kind string `json:"kind,omitempty"`
	// IdempotencyKey, sent as the Idempotency-Key header, makes retries
	// safe: a repeat returns the thread the first request started.
	IdempotencyKey string `json:"-"`
}

// CreateThread starts a thread, or returns the existing direct thread.
// CreateThreadOutcome tells the two apart.
func (c *Client) CreateThread(ctx context.Context, t NewThread) (*ThreadSummary, error) {
	s, _, err := c.CreateThreadOutcome(ctx, t)
	return s, err
}

// CreateThreadOutcome is CreateThread that also says whether the thread
// was started (Outcome.Created) or is the direct thread the members had,
// and whether the answer is a retry's (Outcome.Replayed).
func (c *Client) CreateThreadOutcome(ctx context.Context, t NewThread) (*ThreadSummary, Outcome, error) {
	var s ThreadSummary
	resp, err := c.Do(ctx, "POST", "/api/v1/threads", t, &s, idempotencyKey(t.IdempotencyKey)...)
	if err != nil {
		return nil, Outcome{}, err
	}
	return &s, outcomeOf(resp), nil
}

// Outcome is how the server answered a request that makes something.
type Outcome struct {
	// Created is true when the request made something (201 Created), and
	// false when the answer is what was there already (200 OK), such as
	// the direct thread two members have. A retry is answered as the
	// first request was: with its Created.
	Created bool
	// Replayed is true when the answer is the one kept for an earlier
	// request with the same idempotency key (Idempotent-Replayed: true):
	// that request made what it holds, and this one made nothing.
	Replayed bool
}

func outcomeOf(resp *http.Response) Outcome {
	return Outcome{Created: resp.StatusCode == http.StatusCreated, Replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
}

// idempotencyKey returns the header that sends key, or none for "": the
// server refuses an empty key.
func idempotencyKey(key string) []string {
	if key == "" {
		return nil
	}
	return []string{"Idempotency-Key", key}
}

// ThreadsQuery selects a page of threads; Messages asks for each thread's
// newest messages.
type ThreadsQuery struct {
	// Cursor is the NextCursor of the page before.
	Cursor string
	// Limit is from 1 to 200 threads; 0 takes the server's 50.
	Limit int
	// Messages is how many of each thread's newest messages come with it,
	// from 0 to 50, with Limit times Messages at most 1,000 (the Limit
	// taken for 0 counts): more than 20 needs a smaller Limit.
	Messages int
}

// Threads lists the member's threads, newest activity first.
func (c *Client) Threads(ctx context.Context, q ThreadsQuery) (*ThreadPage, error) {
	v := url.Values{}
	setPage(v, q.Cursor, q.Limit)
	if q.Messages > 0 {
		v.Set("include", "messages:"+strconv.Itoa(q.Messages))
	}
	var p ThreadPage
	_, err := c.Do(ctx, "GET", "/api/v1/threads?"+v.Encode(), nil, &p)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// Thread returns one thread.
func (c *Client) Thread(ctx context.Context, id string) (*ThreadSummary, error) {
	var s ThreadSummary
	_, err := c.Do(ctx, "GET", "/api/v1/threads/"+url.PathEscape(id), nil, &s)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// ThreadUpdate is what UpdateThread changes; a nil field is left as it is.
type ThreadUpdate struct {
	// Title names a group thread for all its participants; empty, the
	// group is named by its members.
	Title *string `json:"title,omitempty"`
	// Muted mutes the thread for the member (true) or unmutes it (false).
	Muted *bool `json:"muted,omitempty"`
}

// UpdateThread renames a group thread or mutes a thread, all of u or none
// of it, and returns the thread as the member sees it after.
func (c *Client) UpdateThread(ctx context.Context, id string, u ThreadUpdate) (*ThreadSummary, error) {
	var s ThreadSummary
	_, err := c.Do(ctx, "PATCH", "/api/v1/threads/"+url.PathEscape(id), u, &s)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// Participants lists who is in a thread.
func (c *Client) Participants(ctx context.Context, threadID string) ([]UserRef, error) {
	var out struct {
		Participants []UserRef `json:"participants"`
	}
	_, err := c.Do(ctx, "GET", "/api/v1/threads/"+url.PathEscape(threadID)+"/participants", nil, &out)
	if err != nil {
		return nil, err
	}
	return out.Participants, nil
}

// AddParticipant adds a friend to a group thread.
func (c *Client) AddParticipant(ctx context.Context, threadID, username string) ([]UserRef, error) {
	var out struct {
		Participants []UserRef `json:"participants"`
	}
	_, err := c.Do(ctx, "POST", "/api/v1/threads/"+url.PathEscape(threadID)+"/participants",
		map[string]string{"username": username}, &out)
	if err != nil {
		return nil, err
	}
	return out.Participants, nil
}

// LeaveThread leaves a group thread.
func (c *Client) LeaveThread(ctx context.Context, threadID string) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/threads/"+url.PathEscape(threadID)+"/participants/me", nil, nil)
	return err
}

// Typing tells the thread's other members that the member is writing in
// it (EventThreadTyping). Call it as they start, and every 3 seconds or so
// while they go on.
func (c *Client) Typing(ctx context.Context, threadID string) error {
	_, err := c.Do(ctx, "POST", "/api/v1/threads/"+url.PathEscape(threadID)+"/typing", nil, nil)
	return err
}

// RemoveParticipant takes another member out of a group thread the member
// keeps: one they started, or, once its starter left it, one they have
// been in longest. With the member's own ID, it leaves the thread.
func (c *Client) RemoveParticipant(ctx context.Context, threadID, userID string) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/threads/"+url.PathEscape(threadID)+"/participants/"+url.PathEscape(userID), nil, nil)
	return err
}

// SendMessage posts text into a thread. A non-empty idempotency key makes
// retries safe; "" sends none.
func (c *Client) SendMessage(ctx context.Context, threadID, text, idempotencyKey string) (*Message, error) {
	return c.SendReply(ctx, threadID, text, 0, idempotencyKey)
}

// SendReply posts text into a thread as an answer to its message numbered
// replyToSeq, one the caller can see; 0 answers none, as SendMessage. A
// non-empty idempotency key makes retries safe; "" sends none.
func (c *Client) SendReply(ctx context.Context, threadID, text string, replyToSeq int64, idempotencyKey string) (*Message, error) {
	m, _, err := c.SendReplyOutcome(ctx, threadID, text, replyToSeq, idempotencyKey)
	return m, err
}

// SendReplyOutcome is SendReply that also says whether the answer is a
// retry's (Outcome.Replayed): the message an earlier call with the same
// idempotency key sent, and this one sent nothing. With replyToSeq 0 it
// sends as SendMessage does.
func (c *Client) SendReplyOutcome(ctx context.Context, threadID, text string, replyToSeq int64, key string) (*Message, Outcome, error) {
	var m Message
	body := struct {
		Text       string `json:"text"`
		ReplyToSeq int64  `json:"reply_to_seq,omitempty"`
	}{text, replyToSeq}
	resp, err := c.Do(ctx, "POST", "/api/v1/threads/"+url.PathEscape(threadID)+"/messages", body, &m, idempotencyKey(key)...)
	if err != nil {
		return nil, Outcome{}, err
	}
	return &m, outcomeOf(resp), nil
}

// MessagesQuery selects a page of messages: before a seq, after a seq (0
// reads from the start), or, with neither, the newest. Seq makes the pointers.
type MessagesQuery struct {
	// Before and After are seqs, one or neither: Before 1 or more, After
	// 0 or more.
	Before, After *int64
	// Limit is from 1 to 200 messages; 0 takes the server's 50.
	Limit int
	// Notes asks for the group's timeline notes among the page's messages
	// too (MessagePage.Notes); members only.
	Notes bool
}

// Seq returns a pointer to n, for MessagesQuery.
func Seq(n int64) *int64 { return &n }

// Messages returns a page of a thread's messages, oldest first.
func (c *Client) Messages(ctx context.Context, threadID string, q MessagesQuery) (*MessagePage, error) {
	v := url.Values{}
	if q.Before != nil {
		v.Set("before", strconv.FormatInt(*q.Before, 10))
	}
	if q.After != nil {
		v.Set("after", strconv.FormatInt(*q.After, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Notes {
		v.Set("include", "notes")
	}
	var p MessagePage
	_, err := c.Do(ctx, "GET", "/api/v1/threads/"+url.PathEscape(threadID)+"/messages?"+v.Encode(), nil, &p)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// EditMessage replaces the text of one of the member's text messages for
// everyone, and returns the message as it now is. An app edits only the
// messages it wrote itself.
func (c *Client) EditMessage(ctx context.Context, id, text string) (*Message, error) {
	var m Message
	_, err := c.Do(ctx, "PATCH", "/api/v1/messages/"+url.PathEscape(id), map[string]string{"text": text}, &m)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// React gives a message the member's reaction, one of 👍 ❤️ 😂 😮 😢 🙏, in
// place of any they gave it before, and returns the message as it now is.
// Reactions are members' alone: an app's token is refused.
func (c *Client) React(ctx context.Context, messageID, emoji string) (*Message, error) {
	var m Message
	_, err := c.Do(ctx, "PUT", "/api/v1/messages/"+url.PathEscape(messageID)+"/reaction", map[string]string{"emoji": emoji}, &m)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// TakeBackReaction takes back the member's reaction to a message, if any.
func (c *Client) TakeBackReaction(ctx context.Context, messageID string) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/messages/"+url.PathEscape(messageID)+"/reaction", nil, nil)
	return err
}

// FlagMessage reports another member's message to the server's
// operators, for reason (FlagSpam, FlagAbuse or FlagOther) with an
// optional note, and returns the report; created is false when the member
// had reported it before, and the report returned is that one.
func (c *Client) FlagMessage(ctx context.Context, messageID, reason, note string) (f *Flag, created bool, err error) {
	f = &Flag{}
	resp, err := c.Do(ctx, "PUT", "/api/v1/messages/"+url.PathEscape(messageID)+"/flag", map[string]string{"reason": reason, "note": note}, f)
	if err != nil {
		return nil, false, err
	}
	return f, resp.StatusCode == http.StatusCreated, nil
}

// Flag returns the member's report of a message, with how it was
// resolved; an *Error with status 404 when they made none.
func (c *Client) Flag(ctx context.Context, messageID string) (*Flag, error) {
	var f Flag
	_, err := c.Do(ctx, "GET", "/api/v1/messages/"+url.PathEscape(messageID)+"/flag", nil, &f)
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// SearchQuery asks for the member's messages that hold a text.
type SearchQuery struct {
	// Text is what the messages hold, whatever its case.
	Text string
	// Cursor is the NextCursor of the page before, with the same Text.
	Cursor string
	// Limit is from 1 to 50 messages; 0 takes the server's 20.
	Limit int
}

// SearchMessages returns a page of the messages of the member's threads
// that hold q.Text, newest first.
func (c *Client) SearchMessages(ctx context.Context, q SearchQuery) (*SearchPage, error) {
	v := url.Values{"q": {q.Text}}
	setPage(v, q.Cursor, q.Limit)
	var p SearchPage
	_, err := c.Do(ctx, "GET", "/api/v1/search/messages?"+v.Encode(), nil, &p)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// DeleteMessage deletes one of the member's messages for everyone.
func (c *Client) DeleteMessage(ctx context.Context, id string) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/messages/"+url.PathEscape(id), nil, nil)
	return err
}

// MarkRead moves the member's read marker in a thread to seq.
func (c *Client) MarkRead(ctx context.Context, threadID string, seq int64) error {
	_, err := c.Do(ctx, "POST", "/api/v1/threads/"+url.PathEscape(threadID)+"/read", map[string]int64{"seq": seq}, nil)
	return err
}

// ReadMarkers returns how far each participant of the thread has read, in
// the order they joined: what read.updated events tell, for a client that
// missed some while it was away. In a direct thread under a block, only
// the member's own. Apps cannot ask.
func (c *Client) ReadMarkers(ctx context.Context, threadID string) ([]ReadMarker, error) {
	var out struct {
		ReadMarkers []ReadMarker `json:"read_markers"`
	}
	_, err := c.Do(ctx, "GET", "/api/v1/threads/"+url.PathEscape(threadID)+"/read", nil, &out)
	if err != nil {
		return nil, err
	}
	return out.ReadMarkers, nil
}

// NewShare is a link to share with a friend.
type NewShare struct {
	// To is the username (not the user ID) of a friend of the member's;
	// the card goes into the direct thread between the two.
	To string `json:"to"`
	// URL is an http or https URL of up to 2,048 bytes, with no user name
	// or password before the host.
	URL string `json:"url"`
	// Title is the card's title, 1 to 200 characters.
	Title string `json:"title"`
	// Note is the member's words with the card, up to 16,000 characters;
	// empty for none.
	Note string `json:"note,omitempty"`
}

// Share posts a share card into the direct thread with a friend.
func (c *Client) Share(ctx context.Context, s NewShare) (*Message, error) {
	var m Message
	_, err := c.Do(ctx, "POST", "/api/v1/shares", s, &m)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// ConnectedApps lists the member's grants in force: each app with what it
// may do, where, and how it used its access.
func (c *Client) ConnectedApps(ctx context.Context) ([]*ConnectedApp, error) {
	var out struct {
		Grants []*ConnectedApp `json:"grants"`
	}
	_, err := c.Do(ctx, "GET", "/api/v1/me/grants", nil, &out)
	if err != nil {
		return nil, err
	}
	return out.Grants, nil
}

// RevokeGrant disconnects an app: its tokens stop working at once.
func (c *Client) RevokeGrant(ctx context.Context, grantID string) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/me/grants/"+url.PathEscape(grantID), nil, nil)
	return err
}

// ThreadApps shows which apps reach a thread, through whose grant, and
// whether the thread is closed to apps.
func (c *Client) ThreadApps(ctx context.Context, threadID string) (*ThreadAppAccess, error) {
	var a ThreadAppAccess
	_, err := c.Do(ctx, "GET", "/api/v1/threads/"+url.PathEscape(threadID)+"/apps", nil, &a)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// SetThreadAppAccess closes a thread to every app (allowed false) or
// withdraws the member's closing (allowed true).
func (c *Client) SetThreadAppAccess(ctx context.Context, threadID string, allowed bool) (*ThreadAppAccess, error) {
	var a ThreadAppAccess
	_, err := c.Do(ctx, "PUT", "/api/v1/threads/"+url.PathEscape(threadID)+"/app-access", map[string]bool{"allowed": allowed}, &a)
	if err != nil {
		return nil, err
	}
	return &a, nil
}
