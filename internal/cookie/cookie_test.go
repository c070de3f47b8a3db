package cookie_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/cookie"
)

func TestSite_New(t *testing.T) {
	for _, tc := range []struct {
		site   cookie.Site
		maxAge time.Duration
		want   string
	}{
		{cookie.Site{Secure: true}, time.Hour, "__Host-parley_session=v; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax"},
		{cookie.Site{Secure: true}, 0, "__Host-parley_session=v; Path=/; HttpOnly; Secure; SameSite=Lax"},
		{cookie.Site{Secure: true}, -time.Second, "__Host-parley_session=v; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"},
		{cookie.Site{}, 90 * time.Minute, "parley_session=v; Path=/; Max-Age=5400; HttpOnly; SameSite=Lax"},
		{cookie.Site{}, -time.Nanosecond, "parley_session=v; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"},
	} {
		if got := tc.site.New("parley_session", "v", tc.maxAge).String(); got != tc.want {
			t.Errorf("%+v, for %v: %s, want %s", tc.site, tc.maxAge, got, tc.want)
		}
	}
}

// On a secure site only the prefixed cookie is the site's own; on a plain
// http one, only the bare name is.
func TestSite_Value(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: "parley_session", Value: "planted"})
	r.AddCookie(&http.Cookie{Name: "__Host-parley_session", Value: "own"})
	r.AddCookie(&http.Cookie{Name: "other", Value: "x"})
	for _, tc := range []struct {
		site      cookie.Site
		want      string
		wantNames []string
	}{
		{cookie.Site{Secure: true}, "own", []string{"parley_session"}},
		{cookie.Site{}, "planted", []string{"parley_session", "__Host-parley_session", "other"}},
	} {
		if got, ok := tc.site.Value(r, "parley_session"); !ok || got != tc.want {
			t.Errorf("%+v: Value = %q, %v; want %q", tc.site, got, ok, tc.want)
		}
		if got := tc.site.Names(r); !slices.Equal(got, tc.wantNames) {
			t.Errorf("%+v: Names = %q, want %q", tc.site, got, tc.wantNames)
		}
	}
	if v, ok := (cookie.Site{Secure: true}).Value(httptest.NewRequest("GET", "/", nil), "parley_session"); ok {
		t.Errorf("Value without the cookie = %q, true", v)
	}
}

func TestSiteOf(t *testing.T) {
	for url, secure := range map[string]bool{"https://chat.example.com": true, "http://127.0.0.1:8080": false, "": false} {
		if got := cookie.SiteOf(url); got.Secure != secure {
			t.Errorf("SiteOf(%q) = %+v, want Secure %v", url, got, secure)
		}
	}
}
