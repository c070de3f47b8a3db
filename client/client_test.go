package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
)

// The client's tests against a server are in Parley's main module, which
// runs real servers; these need none.

func TestStatusOf_FindsTheServersAnswerInAWrappedError(t *testing.T) {
	problem := &client.Error{Status: http.StatusNotFound, Type: "urn:parley:problem:not_found", Detail: "no such thread"}
	for _, c := range []struct {
		err  error
		want int
	}{
		{problem, http.StatusNotFound},
		{fmt.Errorf("open the thread: %w", problem), http.StatusNotFound},
		{errors.New("connection refused"), 0},
		{nil, 0},
	} {
		if got := client.StatusOf(c.err); got != c.want {
			t.Errorf("StatusOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestError_SaysStatusTypeAndDetail(t *testing.T) {
	err := &client.Error{Status: http.StatusConflict, Type: "urn:parley:problem:conflict", Detail: "already friends"}
	if got, want := err.Error(), "parley: 409 urn:parley:problem:conflict: already friends"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// An answer that is not valid JSON, or whose JSON is not the answer's type,
// is an error of the call, wherever in the answer the fault is; a valid
// one decodes, names matched whatever their case as encoding/json does.
func TestDo_RefusesAnAnswerItCannotDecode(t *testing.T) {
	answers := map[string]string{
		"valid":              `{"messages":[{"id":"m1","seq":1,"sender":{"id":"u1"},"text":"hi","created_at":"2026-11-30T04:00:00.5Z"}],"HAS_MORE":true}`,
		"cut short":          `{"messages":[{"id":"m1","seq":1}`,
		"broken at the end":  `{"messages":[{"id":"m1","seq":1}],"has_more":tru}`,
		"a string for a seq": `{"messages":[{"id":"m1","seq":"1"}],"has_more":false}`,
		"a bad time":         `{"messages":[{"id":"m1","created_at":"yesterday"}]}`,
		"two values":         `{"messages":[]} {}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, answers[r.URL.Path[len("/api/v1/threads/"):len(r.URL.Path)-len("/messages")]])
	}))
	defer srv.Close()
	c := client.New(srv.URL)
	for name := range answers {
		p, err := c.Messages(context.Background(), name, client.MessagesQuery{Limit: 50})
		if name == "valid" {
			if err != nil || len(p.Messages) != 1 || p.Messages[0].Seq != 1 || !p.HasMore || p.Messages[0].CreatedAt.Nanosecond() != 5e8 {
				t.Errorf("%s: %+v, %v", name, p, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// A Retry-After of more seconds than a Duration holds is read as the
// longest wait there is, not as a negative one.
func TestError_RetryAfterBeyondADuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "99999999999999999999")
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"type":"urn:parley:problem:throttled","status":429,"detail":"slow down"}`)
	}))
	defer srv.Close()
	_, err := client.New(srv.URL).Do(context.Background(), "GET", "/api/v1/me", nil, nil)
	var e *client.Error
	if !errors.As(err, &e) || e.RetryAfter <= 0 {
		t.Fatalf("a huge Retry-After read as %v (%v), want the longest wait", e.RetryAfter, err)
	}
}

// A header given without its value is an error, and nothing is sent: the
// request would otherwise go without a header its caller meant to send.
func TestDo_AHeaderWithoutAValueIsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("sent %s %s", r.Method, r.URL)
	}))
	defer srv.Close()
	resp, err := client.New(srv.URL).Do(context.Background(), "POST", "/api/v1/shares", nil, nil, "Idempotency-Key")
	if err == nil || resp != nil {
		t.Fatalf("Do with an odd header: %v, %v; want an error and no response", resp, err)
	}
}

// A redirect is an error of the call, never followed: Parley's API does
// not redirect, and a POST followed as a GET would send nothing and
// answer as if it had.
func TestDo_ARedirectIsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			t.Errorf("the redirect was followed: %s %s", r.Method, r.URL)
		}
		http.Redirect(w, r, "https://elsewhere.example"+r.URL.Path, http.StatusMovedPermanently)
	}))
	defer srv.Close()
	_, err := client.New(srv.URL).WithToken("t").SendMessage(context.Background(), "th1", "hello", "k1")
	if e, ok := errors.AsType[*client.Error](err); !ok || e.Status != http.StatusMovedPermanently || !strings.Contains(e.Detail, "elsewhere.example") {
		t.Fatalf("a redirected send: %v, want an error naming where it led", err)
	}
}

// An answer larger than any of the API's is refused once it passes 128 MiB,
// never read to its end: an endless one returns too. An export, as large
// as the member's data, is read whole.
func TestDo_RefusesAnAnswerLargerThanTheAPIs(t *testing.T) {
	big := `{"exported_at":"2026-12-03T06:00:00Z","pad":"` + strings.Repeat("x", 129<<20) + `"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v1/me/export" {
			fmt.Fprint(w, big)
			return
		}
		fmt.Fprint(w, `{"friends":[`)
		for r.Context().Err() == nil {
			if _, err := fmt.Fprint(w, `{"username":"alice"},`); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	c := client.New(srv.URL).WithToken("t")
	if friends, err := c.Friends(context.Background()); err == nil || !strings.Contains(err.Error(), "larger than 128 MiB") {
		t.Errorf("an endless answer: %d friends, %v", len(friends), err)
	}
	if e, err := c.Export(context.Background()); err != nil || e.ExportedAt.IsZero() {
		t.Errorf("an export of 129 MiB: %v", err)
	}
}

// A call the server refuses returns nil with its error, not an empty
// value that reads as an answer.
func TestMethods_ReturnNilWithAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"type":"urn:parley:problem:unauthorized","title":"Unauthorized","status":401}`)
	}))
	defer srv.Close()
	c, ctx := client.New(srv.URL).WithToken("pss_ended"), context.Background()
	if u, err := c.Me(ctx); u != nil || client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("Me: %+v, %v", u, err)
	}
	if p, err := c.Threads(ctx, client.ThreadsQuery{}); p != nil || err == nil {
		t.Errorf("Threads: %+v, %v", p, err)
	}
	if f, err := c.Friends(ctx); f != nil || err == nil {
		t.Errorf("Friends: %+v, %v", f, err)
	}
	if p, err := c.FriendsPage(ctx, client.FriendsQuery{}); p != nil || err == nil {
		t.Errorf("FriendsPage: %+v, %v", p, err)
	}
	if b, err := c.BlockedMembers(ctx); b != nil || err == nil {
		t.Errorf("BlockedMembers: %+v, %v", b, err)
	}
	if p, err := c.BlockedMembersPage(ctx, client.BlocksQuery{}); p != nil || err == nil {
		t.Errorf("BlockedMembersPage: %+v, %v", p, err)
	}
	if r, err := c.ShareReport(ctx, "pc_x", client.ReportQuery{}); r != nil || err == nil {
		t.Errorf("ShareReport: %+v, %v", r, err)
	}
	if e, err := c.Webhook(ctx, "pc_x", "w1"); e != nil || err == nil {
		t.Errorf("Webhook: %+v, %v", e, err)
	}
	if p, err := c.Changes(ctx, "t1", client.ChangesQuery{}); p != nil || err == nil {
		t.Errorf("Changes: %+v, %v", p, err)
	}
}

// Friends and BlockedMembers read every page, each from the cursor the
// page before gave, 200 at a time, and answer them all in order; a page
// method sends the cursor and limit asked, and neither when not asked.
func TestMemberLists_ReadEveryPage(t *testing.T) {
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.String())
		list := map[string]string{"/api/v1/friends": "friends", "/api/v1/blocks": "blocked"}[r.URL.Path]
		cursor := r.URL.Query().Get("cursor")
		next := map[string]string{"": "c1", "c1": "c2", "c2": ""}[cursor]
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{%q: [{"user": {"id": "u-%s", "username": "m%s"}, "since": "2026-12-01T00:00:00Z"}], "next_cursor": %q}`, list, cursor, cursor, next)
	}))
	defer srv.Close()
	c, ctx := client.New(srv.URL).WithToken("pss_x"), context.Background()
	friends, err := c.Friends(ctx)
	if err != nil || len(friends) != 3 || friends[0].User.ID != "u-" || friends[2].User.ID != "u-c2" {
		t.Errorf("Friends: %+v, %v", friends, err)
	}
	blocked, err := c.BlockedMembers(ctx)
	if err != nil || len(blocked) != 3 || blocked[1].User.ID != "u-c1" {
		t.Errorf("BlockedMembers: %+v, %v", blocked, err)
	}
	if p, err := c.FriendsPage(ctx, client.FriendsQuery{Cursor: "c1", Limit: 7}); err != nil || p.NextCursor != "c2" || len(p.Friends) != 1 {
		t.Errorf("FriendsPage: %+v, %v", p, err)
	}
	if p, err := c.BlockedMembersPage(ctx, client.BlocksQuery{}); err != nil || p.NextCursor != "c1" || len(p.Blocked) != 1 {
		t.Errorf("BlockedMembersPage: %+v, %v", p, err)
	}
	want := []string{
		"/api/v1/friends?limit=200", "/api/v1/friends?cursor=c1&limit=200", "/api/v1/friends?cursor=c2&limit=200",
		"/api/v1/blocks?limit=200", "/api/v1/blocks?cursor=c1&limit=200", "/api/v1/blocks?cursor=c2&limit=200",
		"/api/v1/friends?cursor=c1&limit=7", "/api/v1/blocks",
	}
	if !slices.Equal(asked, want) {
		t.Errorf("asked\n%q\nwant\n%q", asked, want)
	}
}
