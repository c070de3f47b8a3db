package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/service"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// slow is a limit the wall clock cannot refill during a test: a request
// every 1000 seconds, so that only the injected clock moves it.
const slow = 0.001

// limited is the answer to one call, as the rate limit shows it.
type limited struct {
	status                   int
	policy, rateLimit, retry string
	problem                  httpapi.Problem
	contentType              string
}

// call makes an authenticated GET with token over HTTP and reads its
// rate-limit headers and, when refused, its problem.
func call(t *testing.T, env *apptest.Env, token, path string) limited {
	t.Helper()
	req, err := http.NewRequest("GET", env.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	l := limited{status: resp.StatusCode, policy: resp.Header.Get("RateLimit-Policy"), rateLimit: resp.Header.Get("RateLimit"),
		retry: resp.Header.Get("Retry-After"), contentType: resp.Header.Get("Content-Type")}
	if resp.StatusCode == http.StatusTooManyRequests {
		if err := json.NewDecoder(resp.Body).Decode(&l.problem); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// wantRefused checks a 429 of the policy: problem+json, Retry-After and
// the RateLimit fields with nothing left.
func wantRefused(t *testing.T, l limited, policy string) {
	t.Helper()
	secs, err := strconv.Atoi(l.retry)
	if l.status != http.StatusTooManyRequests || l.contentType != "application/problem+json" ||
		l.problem.Type != "urn:parley:problem:throttled" || l.problem.Status != 429 || l.problem.Detail == "" ||
		err != nil || secs < 1 || l.policy == "" || l.rateLimit == "" || l.rateLimit[:len(policy)+6] != `"`+policy+`";r=0` {
		t.Fatalf("over the %s limit: %+v; want 429 problem+json with Retry-After and RateLimit r=0", policy, l)
	}
}

// A member's own sessions share one limit: past the burst, calls are
// refused with 429, Retry-After and the RateLimit fields, until the
// allowance grows back; another member is unaffected.
func TestRateLimits_PerMember(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.RateLimitMember, c.RateLimitMemberBurst = slow, 3 })
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	other, err := env.Client.SignIn(context.Background(), "alice", apptest.Password("alice"))
	if err != nil {
		t.Fatal(err)
	}
	for i, token := range []string{alice.Token(), other.Token, alice.Token()} {
		l := call(t, env, token, "/api/v1/me")
		if want := fmt.Sprintf(`"member";r=%d;t=%d`, 2-i, 1000*(i+1)); l.status != http.StatusOK ||
			l.policy != `"member";q=3;w=3000` || l.rateLimit != want {
			t.Fatalf("call %d: %d, RateLimit-Policy %q, RateLimit %q; want 200 with %q", i+1, l.status, l.policy, l.rateLimit, want)
		}
	}
	over := call(t, env, other.Token, "/api/v1/me")
	wantRefused(t, over, "member")
	if secs, _ := strconv.Atoi(over.retry); secs < 999 || secs > 1000 {
		t.Errorf("Retry-After %s, want the 1000 seconds until the next call passes", over.retry)
	}
	if l := call(t, env, bob.Token(), "/api/v1/me"); l.status != http.StatusOK {
		t.Errorf("bob, another member: %d", l.status)
	}
	env.Clock.Advance(1000 * time.Second)
	if l := call(t, env, alice.Token(), "/api/v1/me"); l.status != http.StatusOK || l.rateLimit != `"member";r=0;t=3000` {
		t.Errorf("after 1000 seconds: %d, RateLimit %q; want one call back", l.status, l.rateLimit)
	}
}

// An app's tokens share one limit, whichever member each acts for; the
// members' own sessions and other apps count apart. A token over the limit
// that no longer works is told so, not to wait, though the node holds it
// in its cache.
func TestRateLimits_PerAppAcrossTokens(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.RateLimitApp, c.RateLimitAppBurst = slow, 4 })
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	films, tunes := env.MustPartner(t, "Films"), env.MustPartner(t, "Tunes")
	scopes := []string{"openid", "profile"}
	forAlice := env.MustToken(t, films, "alice", scopes, apptest.Answer{}).AccessToken
	forBob := env.MustToken(t, films, "bob", scopes, apptest.Answer{}).AccessToken
	for i, token := range []string{forAlice, forBob, forAlice, forBob} {
		if l := call(t, env, token, "/api/v1/me"); l.status != http.StatusOK || l.policy != `"app";q=4;w=4000` {
			t.Fatalf("the app's call %d: %d, RateLimit-Policy %q", i+1, l.status, l.policy)
		}
	}
	wantRefused(t, call(t, env, forAlice, "/api/v1/me"), "app")
	wantRefused(t, call(t, env, forBob, "/api/v1/me"), "app")
	for name, token := range map[string]string{
		"alice's session": alice.Token(), "bob's session": bob.Token(),
		"another app": env.MustToken(t, tunes, "alice", scopes, apptest.Answer{}).AccessToken,
	} {
		if l := call(t, env, token, "/api/v1/me"); l.status != http.StatusOK {
			t.Errorf("%s: %d", name, l.status)
		}
	}

	apps, err := alice.ConnectedApps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range apps {
		if a.ClientID == films.App.ClientID {
			if err := alice.RevokeGrant(context.Background(), a.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if l := call(t, env, forAlice, "/api/v1/me"); l.status != http.StatusUnauthorized {
		t.Errorf("the revoked grant's token over the app's limit: %d, want 401", l.status)
	}
	wantRefused(t, call(t, env, forBob, "/api/v1/me"), "app")
}

// A public app's client_id is no secret and its tokens live on its
// members' devices, so its tokens count per member: anyone may connect it
// to an account of their own and spend that account's allowance of it,
// and no other member's.
func TestRateLimits_PublicAppPerMember(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.RateLimitApp, c.RateLimitAppBurst = slow, 3 })
	env.MustMember(t, "mallory")
	env.MustMember(t, "bob")
	phone := env.MustPartner(t, "Phone", func(a *service.NewApp) { a.Public = true })
	phone.Config.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	scopes := []string{"openid", "profile"}
	mallory := env.MustToken(t, phone, "mallory", scopes, apptest.Answer{}).AccessToken
	bob := env.MustToken(t, phone, "bob", scopes, apptest.Answer{}).AccessToken
	for i := range 3 {
		if l := call(t, env, mallory, "/api/v1/me"); l.status != http.StatusOK || l.policy != `"app";q=3;w=3000` {
			t.Fatalf("mallory's call %d: %d, RateLimit-Policy %q", i+1, l.status, l.policy)
		}
	}
	over := call(t, env, mallory, "/api/v1/me")
	wantRefused(t, over, "app")
	if want := "too many requests from this app for your account; try again in 17 minutes"; over.problem.Detail != want {
		t.Errorf("refusal %q, want %q", over.problem.Detail, want)
	}
	for i := range 3 {
		if l := call(t, env, bob, "/api/v1/me"); l.status != http.StatusOK || l.rateLimit != fmt.Sprintf(`"app";r=%d;t=%d`, 2-i, 1000*(i+1)) {
			t.Fatalf("bob's call %d with his own token of the public app, after mallory spent hers: %d, RateLimit %q", i+1, l.status, l.rateLimit)
		}
	}
}

// Every app acting for a member counts, besides its own limit, against
// one allowance of all apps for that member, at the app limit's rate and
// burst: a member who makes apps and connects them to their own account
// gets no more calls for it. The RateLimit fields show the policy with the
// least left; a call refused for the member spends nothing of its app's
// own allowance, which the app's other members go on using.
func TestRateLimits_OwnAppsDoNotMultiplyAMembersAllowance(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) {
		c.RateLimitApp, c.RateLimitAppBurst = slow, 6
		c.RateLimitMember, c.RateLimitMemberBurst = slow, 10
	})
	env.MustMember(t, "mallory")
	env.MustMember(t, "bob")
	scopes := []string{"openid", "profile"}
	var apps []*apptest.Partner
	var tokens []string
	for i := range 3 {
		p := env.MustPartnerOf(t, fmt.Sprintf("Mine %d", i), "mallory")
		apps = append(apps, p)
		tokens = append(tokens, env.MustToken(t, p, "mallory", scopes, apptest.Answer{}).AccessToken)
	}
	// The first app: its own limit and the member's apps' alike, the
	// app's own shown. The second: the member's apps' has less left.
	if l := call(t, env, tokens[0], "/api/v1/me"); l.status != http.StatusOK || l.policy != `"app";q=6;w=6000` || l.rateLimit != `"app";r=5;t=1000` {
		t.Fatalf("the first app's call: %d, RateLimit-Policy %q, RateLimit %q", l.status, l.policy, l.rateLimit)
	}
	if l := call(t, env, tokens[1], "/api/v1/me"); l.status != http.StatusOK || l.policy != `"member-apps";q=6;w=6000` || l.rateLimit != `"member-apps";r=4;t=2000` {
		t.Fatalf("the second app's call: %d, RateLimit-Policy %q, RateLimit %q", l.status, l.policy, l.rateLimit)
	}
	served := 2
	for _, token := range tokens {
		for call(t, env, token, "/api/v1/me").status == http.StatusOK {
			served++
		}
	}
	if served != 6 {
		t.Fatalf("mallory's three apps were served %d calls for her, want the burst of 6 for all apps together", served)
	}
	over := call(t, env, tokens[2], "/api/v1/me")
	wantRefused(t, over, "member-apps")
	if want := "too many requests from apps for this account; try again in 17 minutes"; over.problem.Detail != want {
		t.Errorf("refusal %q, want %q", over.problem.Detail, want)
	}
	// The third app served mallory nothing: its allowance is whole.
	forBob := env.MustToken(t, apps[2], "bob", scopes, apptest.Answer{}).AccessToken
	for i := range 6 {
		if l := call(t, env, forBob, "/api/v1/me"); l.status != http.StatusOK {
			t.Fatalf("the third app's call %d for bob: %d, RateLimit %q", i+1, l.status, l.rateLimit)
		}
	}
	if got := env.Metric(t, `parley_rate_limited_total{policy="member-apps"}`); got < 4 {
		t.Errorf(`parley_rate_limited_total{policy="member-apps"} = %v, want the refusals counted`, got)
	}
}

// An app's own token, of the client-credentials grant, counts against its
// app's limit with the app's tokens for members, and not against another
// app's: apps reading their reports do not share one allowance.
func TestRateLimits_AppOwnTokenCountsAsTheApp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := apptest.Start(t, func(c *config.Config) { c.RateLimitApp, c.RateLimitAppBurst = slow, 2 })
	env.MustMember(t, "alice")
	films, tunes := env.MustPartner(t, "Films"), env.MustPartner(t, "Tunes")
	own := func(p *apptest.Partner) string {
		cc := clientcredentials.Config{ClientID: p.App.ClientID, ClientSecret: p.App.ClientSecret,
			TokenURL: env.URL + "/oauth2/token", Scopes: []string{client.ScopeReportsRead}, AuthStyle: oauth2.AuthStyleInHeader}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	report := func(p *apptest.Partner) string { return "/api/v1/apps/" + p.App.ClientID + "/reports/shares" }
	filmsOwn := own(films)
	if l := call(t, env, filmsOwn, report(films)); l.status != http.StatusOK || l.policy != `"app";q=2;w=2000` {
		t.Fatalf("the app's own report: %d, RateLimit-Policy %q", l.status, l.policy)
	}
	forAlice := env.MustToken(t, films, "alice", []string{"openid", "profile"}, apptest.Answer{}).AccessToken
	if l := call(t, env, forAlice, "/api/v1/me"); l.status != http.StatusOK {
		t.Fatalf("the app's call for alice: %d", l.status)
	}
	wantRefused(t, call(t, env, filmsOwn, report(films)), "app")
	if l := call(t, env, own(tunes), report(tunes)); l.status != http.StatusOK {
		t.Errorf("another app's own report: %d", l.status)
	}
}

// At the defaults, a script that reads in a loop is slowed down: however
// fast the machine, no more pass than the burst and the rate allow over the
// time the reads took. Making accounts in bulk from one address is
// throttled apart (TestAccounts_CreationThrottledPerAddress).
func TestRateLimits_DefaultsStopAReadLoop(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	defaults := config.Default()
	start := time.Now()
	passed := 0
	for range 300 {
		switch l := call(t, env, alice.Token(), "/api/v1/friends"); l.status {
		case http.StatusOK:
			passed++
		case http.StatusTooManyRequests:
		default:
			t.Fatalf("read: %d", l.status)
		}
	}
	took := time.Since(start)
	if most := float64(defaults.RateLimitMemberBurst) + defaults.RateLimitMember*took.Seconds() + 1; float64(passed) > most {
		t.Fatalf("%d of 300 reads in %s passed; the default limit lets at most %.0f through", passed, took, most)
	}
	for i := range 200 {
		if _, err := env.Client.CreateAccount(context.Background(), fmt.Sprintf("bulk%03d", i), "password-1", ""); client.StatusOf(err) == http.StatusTooManyRequests {
			// Alice's account was the address's first.
			if i+1 != defaults.SignUpsPerAddress {
				t.Fatalf("account %d refused, want %d to pass besides alice's", i+1, defaults.SignUpsPerAddress-1)
			}
			return
		}
	}
	t.Fatal("200 accounts made from one address")
}

// Two servers on one PostgreSQL database share a limit: what one lets
// through, the other counts once they have synced, so the two together let
// through no more than one would.
func TestNodes_RateLimitShared(t *testing.T) {
	t.Parallel()
	url := sqlstoretest.PostgresURL(t)
	onOne := func(c *config.Config) { c.Database, c.RateLimitMember, c.RateLimitMemberBurst = url, slow, 4 }
	a, b := apptest.Start(t, onOne), apptest.Start(t, onOne)
	ctx := context.Background()
	token := a.MustMember(t, "alice").Token()
	if l := call(t, b, token, "/api/v1/me"); l.status != http.StatusOK {
		t.Fatalf("the first call on b: %d", l.status)
	}
	for i := range 3 {
		if l := call(t, a, token, "/api/v1/me"); l.status != http.StatusOK {
			t.Fatalf("call %d on a: %d", i+1, l.status)
		}
	}
	for _, n := range []*apptest.Env{a, b, a} {
		if err := n.Server.Limits.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Four calls in all, the burst: neither server lets a fifth through.
	wantRefused(t, call(t, b, token, "/api/v1/me"), "member")
	wantRefused(t, call(t, a, token, "/api/v1/me"), "member")
}

// Refusals of one key are logged one line a minute, the line counting the
// refusals it stands for, those held back since the last line with it;
// the metrics count every one. A throttled address's sign-ins likewise.
func TestRateLimits_RefusalsLoggedOnceAMinute(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.RateLimitMember, c.RateLimitMemberBurst = slow, 1 })
	env.Clock.Freeze()
	alice := env.MustMember(t, "alice")
	if l := call(t, env, alice.Token(), "/api/v1/me"); l.status != http.StatusOK {
		t.Fatalf("the first call: %d", l.status)
	}
	for range 5 {
		wantRefused(t, call(t, env, alice.Token(), "/api/v1/me"), "member")
	}
	env.Clock.Advance(time.Minute)
	wantRefused(t, call(t, env, alice.Token(), "/api/v1/me"), "member")
	var counts []any
	for _, e := range env.LogEntries(t, "rate limited") {
		counts = append(counts, e["refusals"])
	}
	if fmt.Sprint(counts) != "[1 5]" {
		t.Errorf("six refusals, the last a minute after the others, logged with refusals %v; want two lines, of 1 and 5", counts)
	}
	if got := env.Metric(t, `parley_rate_limited_total{policy="member"}`); got != 6 {
		t.Errorf(`parley_rate_limited_total{policy="member"} = %v, want 6`, got)
	}

	for i := range 20 {
		if status, _, _ := signIn(t, env, fmt.Sprintf("ghost%02d", i), "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, status)
		}
	}
	for range 10 {
		if status, _, _ := signIn(t, env, "ghost00", "wrong"); status != http.StatusTooManyRequests {
			t.Fatalf("a sign-in past the address's failures: %d, want 429", status)
		}
	}
	if throttled := env.LogEntries(t, "throttled"); len(throttled) != 1 || throttled[0]["refusals"] != 1.0 {
		t.Errorf("ten sign-ins refused at once logged as %v, want one line", throttled)
	}
	if got := env.Metric(t, `parley_signin_failures_total{reason="throttled"}`); got != 10 {
		t.Errorf(`parley_signin_failures_total{reason="throttled"} = %v, want 10`, got)
	}
}

// The Go client hands a refused call's Retry-After to its caller, who
// cannot otherwise know how long to wait.
func TestRateLimits_ClientReadsRetryAfter(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.RateLimitMember, c.RateLimitMemberBurst = slow, 1 })
	alice := env.MustMember(t, "alice")
	if _, err := alice.Me(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := alice.Me(context.Background())
	wantProblem(t, err, http.StatusTooManyRequests, "throttled")
	if e := err.(*client.Error); e.RetryAfter < 999*time.Second || e.RetryAfter > 1000*time.Second {
		t.Errorf("RetryAfter = %v, want the 1000 seconds until the next call passes", e.RetryAfter)
	}
}

// The Go client keeps the rate limit each caller's latest answer told,
// refused or not, so that a partner sees its quota running down before a
// 429; a client with another token is another caller, told nothing yet.
func TestRateLimits_ClientReadsTheLatestLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := apptest.Start(t, func(c *config.Config) { c.RateLimitMember, c.RateLimitMemberBurst = slow, 2 })
	alice := env.MustMember(t, "alice")
	if l, told := alice.RateLimit(); told {
		t.Errorf("before any call: %+v", l)
	}
	want := client.RateLimit{Policy: "member", Quota: 2, Window: 2000 * time.Second, Remaining: 1, Reset: 1000 * time.Second}
	if _, err := alice.Me(ctx); err != nil {
		t.Fatal(err)
	}
	if l, told := alice.RateLimit(); !told || l != want {
		t.Errorf("after a call: %+v, %v; want %+v", l, told, want)
	}
	if _, err := alice.Me(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := alice.Me(ctx)
	wantProblem(t, err, http.StatusTooManyRequests, "throttled")
	want.Remaining, want.Reset = 0, 2000*time.Second
	if l, told := alice.RateLimit(); !told || l != want {
		t.Errorf("after a refused call: %+v, %v; want %+v", l, told, want)
	}
	if l, told := alice.WithToken("another").RateLimit(); told {
		t.Errorf("another token: %+v", l)
	}
}

// A member's exports are held to 3 at once, then one a minute
// (exportsPerMember), apart from the member's rate limit, of which an
// export is a single call: each reads everything of the member's. Past
// that, 429 problem+json with Retry-After; another member's exports are
// their own, and a minute later one more goes through.
func TestRateLimits_ExportsPerMember(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.Clock.Freeze()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	for i := range 3 {
		if l := call(t, env, alice.Token(), "/api/v1/me/export"); l.status != http.StatusOK {
			t.Fatalf("export %d: %d, want 200", i+1, l.status)
		}
	}
	over := call(t, env, alice.Token(), "/api/v1/me/export")
	secs, err := strconv.Atoi(over.retry)
	if over.status != http.StatusTooManyRequests || over.contentType != "application/problem+json" ||
		over.problem.Type != "urn:parley:problem:throttled" || over.problem.Status != 429 || err != nil || secs < 1 || secs > 60 {
		t.Fatalf("a 4th export at once: %+v; want 429 problem+json with Retry-After up to a minute", over)
	}
	if got := env.Metric(t, `parley_rate_limited_total{policy="exports"}`); got != 1 {
		t.Errorf(`parley_rate_limited_total{policy="exports"} = %v, want 1`, got)
	}
	if l := call(t, env, bob.Token(), "/api/v1/me/export"); l.status != http.StatusOK {
		t.Errorf("bob's export while alice waits: %d", l.status)
	}
	env.Clock.Advance(time.Duration(secs) * time.Second)
	if l := call(t, env, alice.Token(), "/api/v1/me/export"); l.status != http.StatusOK {
		t.Errorf("alice's export after Retry-After: %d", l.status)
	}
	if l := call(t, env, alice.Token(), "/api/v1/me/export"); l.status != http.StatusTooManyRequests {
		t.Errorf("alice's next export at once: %d, want 429", l.status)
	}
}
