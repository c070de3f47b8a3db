// Package client is a Go client for Parley's /api/v1. Tests, the benchmark
// and example partner apps use it; so can anyone.
//
//	c := client.New("http://127.0.0.1:8080")
//	s, err := c.SignIn(ctx, "alice", "correct horse")
//	alice := c.WithToken(s.Token)
//	page, err := alice.Threads(ctx, client.ThreadsQuery{Messages: 10})
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/parleyhq/parley"
)

// Client talks to one Parley server, as one caller when it has a token.
type Client struct {
	baseURL string
	token   string
	http    *http.Client
}

// New returns a client for the server at baseURL using http.DefaultClient.
func New(baseURL string) *Client {
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), http: http.DefaultClient}
}

// WithHTTPClient returns a copy of c that sends requests with hc.
func (c *Client) WithHTTPClient(hc *http.Client) *Client {
	cp := *c
	cp.http = hc
	return &cp
}

// WithToken returns a copy of c that authenticates with the bearer token.
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.token = token
	return &cp
}

// Token returns the bearer token c sends.
func (c *Client) Token() string { return c.token }

// Error is a problem (RFC 9457) the server answered with.
type Error struct {
	Status int    `json:"status"`
	Type   string `json:"type"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	// WWWAuthenticate is the challenge sent with a 401 or 403.
	WWWAuthenticate string `json:"-"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("parley: %d %s: %s", e.Status, e.Type, e.Detail)
}

// StatusOf returns the HTTP status of a server's error, or 0 for other errors.
func StatusOf(err error) int {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Status
	}
	return 0
}

// Do sends a request with an optional JSON body and decodes a JSON answer
// into out when out is not nil. Extra headers may be given as key, value pairs.
func (c *Client) Do(ctx context.Context, method, path string, body, out any, headers ...string) (*http.Response, error) {
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
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		e := &Error{Status: resp.StatusCode, WWWAuthenticate: resp.Header.Get("WWW-Authenticate")}
		if err := json.NewDecoder(resp.Body).Decode(e); err != nil {
			e.Detail = "(no problem body)"
		}
		return resp, e
	}
	if out != nil {
		if err := decodeBody(resp, out); err != nil {
			return resp, fmt.Errorf("parley: decode %s %s: %w", method, path, err)
		}
	}
	io.Copy(io.Discard, resp.Body) // let the connection be reused
	return resp, nil
}

// bodyBuffers holds buffers for reading answers.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer kept for reuse.
const maxPooledBody = 64 << 10

// decodeBody reads the whole answer into a pooled buffer and unmarshals it
// into out. For a page of messages this costs about a third less CPU than a
// json.Decoder on the body, which scans while it grows its own buffer
// step by step, and it leaves a quarter of the garbage.
func decodeBody(resp *http.Response, out any) error {
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
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return err
	}
	return json.Unmarshal(buf.Bytes(), out)
}

// Session is a signed-in member's token.
type Session struct {
	Token string       `json:"token"`
	User  *parley.User `json:"user"`
}

// CreateAccount registers a member.
func (c *Client) CreateAccount(ctx context.Context, username, password, displayName string) (*parley.User, error) {
	var u parley.User
	_, err := c.Do(ctx, "POST", "/api/v1/accounts", map[string]string{
		"username": username, "password": password, "display_name": displayName,
	}, &u)
	return &u, err
}

// SignIn opens a session; use WithToken(s.Token) to act as the member.
func (c *Client) SignIn(ctx context.Context, username, password string) (*Session, error) {
	var s Session
	_, err := c.Do(ctx, "POST", "/api/v1/sessions", map[string]string{"username": username, "password": password}, &s)
	return &s, err
}

// SignOut ends the current session.
func (c *Client) SignOut(ctx context.Context) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/sessions/current", nil, nil)
	return err
}

// Me returns the signed-in member.
func (c *Client) Me(ctx context.Context) (*parley.User, error) {
	var u parley.User
	_, err := c.Do(ctx, "GET", "/api/v1/me", nil, &u)
	return &u, err
}

// AddFriend asks a member to be friends, or accepts their request.
func (c *Client) AddFriend(ctx context.Context, username string) (*parley.FriendStatus, error) {
	var s parley.FriendStatus
	_, err := c.Do(ctx, "POST", "/api/v1/friends", map[string]string{"username": username}, &s)
	return &s, err
}

// Friends lists the member's friends.
func (c *Client) Friends(ctx context.Context) ([]parley.Friend, error) {
	var out struct {
		Friends []parley.Friend `json:"friends"`
	}
	_, err := c.Do(ctx, "GET", "/api/v1/friends", nil, &out)
	return out.Friends, err
}

// FriendRequests lists pending requests both ways.
func (c *Client) FriendRequests(ctx context.Context) (*parley.FriendRequests, error) {
	var out parley.FriendRequests
	_, err := c.Do(ctx, "GET", "/api/v1/friend-requests", nil, &out)
	return &out, err
}

// RemoveFriend ends a friendship or a pending request.
func (c *Client) RemoveFriend(ctx context.Context, userID string) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/friends/"+url.PathEscape(userID), nil, nil)
	return err
}

// NewThread describes a thread to start.
type NewThread struct {
	Participants []string `json:"participants"`
	Title        string   `json:"title,omitempty"`
	Kind         string   `json:"kind,omitempty"`
}

// CreateThread starts a thread, or returns the existing direct thread.
func (c *Client) CreateThread(ctx context.Context, t NewThread) (*parley.ThreadSummary, error) {
	var s parley.ThreadSummary
	_, err := c.Do(ctx, "POST", "/api/v1/threads", t, &s)
	return &s, err
}

// ThreadsQuery selects a page of threads; Messages asks for each thread's
// newest messages.
type ThreadsQuery struct {
	Cursor   string
	Limit    int
	Messages int
}

// Threads lists the member's threads, newest activity first.
func (c *Client) Threads(ctx context.Context, q ThreadsQuery) (*parley.ThreadPage, error) {
	v := url.Values{}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Messages > 0 {
		v.Set("include", "messages:"+strconv.Itoa(q.Messages))
	}
	var p parley.ThreadPage
	_, err := c.Do(ctx, "GET", "/api/v1/threads?"+v.Encode(), nil, &p)
	return &p, err
}

// Thread returns one thread.
func (c *Client) Thread(ctx context.Context, id string) (*parley.ThreadSummary, error) {
	var s parley.ThreadSummary
	_, err := c.Do(ctx, "GET", "/api/v1/threads/"+url.PathEscape(id), nil, &s)
	return &s, err
}

// Participants lists who is in a thread.
func (c *Client) Participants(ctx context.Context, threadID string) ([]parley.UserRef, error) {
	var out struct {
		Participants []parley.UserRef `json:"participants"`
	}
	_, err := c.Do(ctx, "GET", "/api/v1/threads/"+url.PathEscape(threadID)+"/participants", nil, &out)
	return out.Participants, err
}

// AddParticipant adds a friend to a group thread.
func (c *Client) AddParticipant(ctx context.Context, threadID, username string) ([]parley.UserRef, error) {
	var out struct {
		Participants []parley.UserRef `json:"participants"`
	}
	_, err := c.Do(ctx, "POST", "/api/v1/threads/"+url.PathEscape(threadID)+"/participants",
		map[string]string{"username": username}, &out)
	return out.Participants, err
}

// LeaveThread leaves a group thread.
func (c *Client) LeaveThread(ctx context.Context, threadID string) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/threads/"+url.PathEscape(threadID)+"/participants/me", nil, nil)
	return err
}

// SendMessage posts text into a thread. A non-empty idempotency key makes
// retries safe.
func (c *Client) SendMessage(ctx context.Context, threadID, text, idempotencyKey string) (*parley.Message, error) {
	var m parley.Message
	var headers []string
	if idempotencyKey != "" {
		headers = []string{"Idempotency-Key", idempotencyKey}
	}
	_, err := c.Do(ctx, "POST", "/api/v1/threads/"+url.PathEscape(threadID)+"/messages",
		map[string]string{"text": text}, &m, headers...)
	return &m, err
}

// MessagesQuery selects a page of messages: before a seq, after a seq (0
// reads from the start), or, with neither, the newest. Seq makes the pointers.
type MessagesQuery struct {
	Before, After *int64
	Limit         int
}

// Seq returns a pointer to n, for MessagesQuery.
func Seq(n int64) *int64 { return &n }

// Messages returns a page of a thread's messages, oldest first.
func (c *Client) Messages(ctx context.Context, threadID string, q MessagesQuery) (*parley.MessagePage, error) {
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
	var p parley.MessagePage
	_, err := c.Do(ctx, "GET", "/api/v1/threads/"+url.PathEscape(threadID)+"/messages?"+v.Encode(), nil, &p)
	return &p, err
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

// NewShare is a link to share with a friend.
type NewShare struct {
	To    string `json:"to"`
	URL   string `json:"url"`
	Title string `json:"title"`
	Note  string `json:"note,omitempty"`
}

// Share posts a share card into the direct thread with a friend.
func (c *Client) Share(ctx context.Context, s NewShare) (*parley.Message, error) {
	var m parley.Message
	_, err := c.Do(ctx, "POST", "/api/v1/shares", s, &m)
	return &m, err
}

// ConnectedApps lists the member's grants in force: each app with what it
// may do, where, and how it used its access.
func (c *Client) ConnectedApps(ctx context.Context) ([]*parley.ConnectedApp, error) {
	var out struct {
		Grants []*parley.ConnectedApp `json:"grants"`
	}
	_, err := c.Do(ctx, "GET", "/api/v1/me/grants", nil, &out)
	return out.Grants, err
}

// RevokeGrant disconnects an app: its tokens stop working at once.
func (c *Client) RevokeGrant(ctx context.Context, grantID string) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/me/grants/"+url.PathEscape(grantID), nil, nil)
	return err
}

// ThreadApps shows which apps reach a thread, through whose grant, and
// whether the thread is closed to apps.
func (c *Client) ThreadApps(ctx context.Context, threadID string) (*parley.ThreadAppAccess, error) {
	var a parley.ThreadAppAccess
	_, err := c.Do(ctx, "GET", "/api/v1/threads/"+url.PathEscape(threadID)+"/apps", nil, &a)
	return &a, err
}

// SetThreadAppAccess closes a thread to every app (allowed false) or
// withdraws the member's closing (allowed true).
func (c *Client) SetThreadAppAccess(ctx context.Context, threadID string, allowed bool) (*parley.ThreadAppAccess, error) {
	var a parley.ThreadAppAccess
	_, err := c.Do(ctx, "PUT", "/api/v1/threads/"+url.PathEscape(threadID)+"/app-access", map[string]bool{"allowed": allowed}, &a)
	return &a, err
}
