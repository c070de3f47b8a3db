package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"golang.org/x/oauth2"
)

// Over https every cookie the server sets, the pages' and a sign-in with
// Parley's, is its host's own: __Host-, Secure, for the whole site, no
// Domain. A cookie of the same name without the prefix, which a sibling
// subdomain or a page over plain http could plant, signs no one in: not on
// the pages, not on the realtime stream.
func TestCookies_OverHTTPSTheHostsOwn(t *testing.T) {
	front, env := startBehindHTTPS(t)
	env.MustMember(t, "alice")
	mallory := env.MustMember(t, "mallory")
	partner := env.MustPartner(t, "Tunes")

	b := apptest.NewBrowser()
	set := &setCookies{next: front.Client().Transport}
	b.HTTP.Transport = set
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	cfg.Endpoint.AuthURL = front.URL + "/oauth2/authorize"
	answer := b.Authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), "alice", apptest.Answer{})
	if answer.Query().Get("code") == "" || answer.Query().Get("iss") != front.URL {
		t.Fatalf("the sign-in with Parley over https ended at %s, want a code from %s", answer, front.URL)
	}
	seen := map[string]bool{}
	for _, c := range set.all() {
		name, ok := strings.CutPrefix(c.Name, "__Host-")
		if !ok || !c.Secure || c.Path != "/" || c.Domain != "" || !c.HttpOnly {
			t.Errorf("set over https: %s; want __Host-…; Path=/; HttpOnly; Secure, no Domain", c)
		}
		if strings.HasPrefix(name, "parley_req_") {
			name = "parley_req_<id>"
		}
		seen[name] = true
	}
	for _, name := range []string{"parley_csrf", "parley_req_<id>", "parley_session", "parley_device"} {
		if !seen[name] {
			t.Errorf("no cookie %s set over https (set: %v)", name, seen)
		}
	}

	site, _ := url.Parse(front.URL)
	planted := func(name string) (inbox string, stream int) {
		t.Helper()
		b := apptest.NewBrowser()
		b.HTTP.Transport = front.Client().Transport
		b.HTTP.Jar.SetCookies(site, []*http.Cookie{{Name: name, Value: mallory.Token(), Path: "/", Secure: true}})
		inbox = b.Get(t, front.URL+"/").URL.Path
		h := http.Header{"Origin": {front.URL}}
		for _, c := range b.HTTP.Jar.Cookies(site) {
			h.Add("Cookie", c.String())
		}
		wss := "wss" + strings.TrimPrefix(front.URL, "https") + "/api/v1/events"
		conn, resp, err := websocket.Dial(context.Background(), wss, &websocket.DialOptions{HTTPClient: front.Client(), HTTPHeader: h})
		if err == nil {
			conn.CloseNow()
		}
		if resp == nil {
			t.Fatalf("the realtime stream with %s: %v", name, err)
		}
		return inbox, resp.StatusCode
	}
	if inbox, stream := planted("__Host-parley_session"); inbox != "/" || stream != http.StatusSwitchingProtocols {
		t.Errorf("the session under its own name: the inbox at %s, the stream %d; want /, 101", inbox, stream)
	}
	if inbox, stream := planted("parley_session"); inbox != "/sign-in" || stream != http.StatusUnauthorized {
		t.Errorf("a session planted without the prefix: the inbox at %s, the stream %d; want /sign-in, 401", inbox, stream)
	}
}

// startBehindHTTPS starts a server behind a reverse proxy that takes https
// on loopback, as operators run it, its public URL the proxy's.
func startBehindHTTPS(t *testing.T) (*httptest.Server, *apptest.Env) {
	var backend atomic.Pointer[url.URL]
	front := httptest.NewUnstartedServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(backend.Load())
		r.Out.Host = r.In.Host
	}})
	front.StartTLS()
	t.Cleanup(front.Close)
	env := apptest.Start(t, func(c *config.Config) { c.PublicURL = front.URL })
	u, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	backend.Store(u)
	return front, env
}

// setCookies is a transport that notes every cookie its answers set.
type setCookies struct {
	next http.RoundTripper
	mu   sync.Mutex
	set  []*http.Cookie
}

func (s *setCookies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err == nil {
		s.mu.Lock()
		s.set = append(s.set, resp.Cookies()...)
		s.mu.Unlock()
	}
	return resp, err
}

func (s *setCookies) all() []*http.Cookie {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set
}
