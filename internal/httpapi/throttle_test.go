package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// signIn posts a sign-in and returns the status, the Retry-After header
// and the problem type, if any.
func signIn(t *testing.T, env *apptest.Env, username, password string) (int, string, string) {
	t.Helper()
	return post(t, env.URL+"/api/v1/sessions", fmt.Sprintf(`{"username": %q, "password": %q}`, username, password))
}

func post(t *testing.T, url, body string) (int, string, string) {
	t.Helper()
	return postWith(t, http.DefaultClient, url, body)
}

// postWith posts JSON through hc and returns the status, the Retry-After
// header and the problem type, if any.
func postWith(t *testing.T, hc *http.Client, url, body string) (int, string, string) {
	t.Helper()
	resp, err := hc.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct{ Type string }
	json.NewDecoder(resp.Body).Decode(&p)
	return resp.StatusCode, resp.Header.Get("Retry-After"), p.Type
}

// Five failed sign-ins to an account make the next attempt wait, even with
// the right password; a success before that clears the account's failures;
// other accounts from the same address are not held up.
func TestSignIn_ThrottledPerAccount(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.Clock.Freeze()
	env.MustMember(t, "alice")
	env.MustMember(t, "bob")
	right := apptest.Password("alice")
	for i := range 4 {
		if status, _, _ := signIn(t, env, "alice", "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, status)
		}
	}
	if status, _, _ := signIn(t, env, "Alice", right); status != http.StatusCreated {
		t.Fatalf("right password after 4 failures: %d", status)
	}
	// The success cleared the 4 failures: 5 more are answered as usual.
	for i := range 5 {
		if status, _, _ := signIn(t, env, "alice", "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("failure %d after a success: %d", i+1, status)
		}
	}
	for _, password := range []string{"wrong", right} {
		status, retry, typ := signIn(t, env, " ALICE ", password)
		if secs, _ := strconv.Atoi(retry); status != http.StatusTooManyRequests || typ != "urn:parley:problem:throttled" || secs < 1 {
			t.Errorf("after 5 failures, %q: %d Retry-After %q type %q; want 429 with Retry-After", password, status, retry, typ)
		}
	}
	if status, _, _ := signIn(t, env, "bob", apptest.Password("bob")); status != http.StatusCreated {
		t.Errorf("bob from the same address: %d", status)
	}
}

// Failed sign-ins from one address, to any usernames, slow that address
// down after 20.
func TestSignIn_ThrottledPerAddress(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.Clock.Freeze()
	env.MustMember(t, "alice")
	for i := range 20 {
		if status, _, _ := signIn(t, env, fmt.Sprintf("ghost%02d", i), "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, status)
		}
	}
	if status, retry, typ := signIn(t, env, "alice", apptest.Password("alice")); status != http.StatusTooManyRequests || retry == "" || typ != "urn:parley:problem:throttled" {
		t.Errorf("after 20 failures from the address: %d Retry-After %q type %q", status, retry, typ)
	}
}

// Successful sign-ins do not count against an address that many members
// share.
func TestSignIn_SuccessesDoNotCountAgainstTheAddress(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.Clock.Freeze()
	members := []string{"alice", "bob", "carol"}
	for _, name := range members {
		env.MustMember(t, name)
	}
	for i := range 30 {
		name := members[i%len(members)]
		if status, _, _ := signIn(t, env, name, apptest.Password(name)); status != http.StatusCreated {
			t.Fatalf("sign-in %d, %s: %d", i+1, name, status)
		}
	}
}

// One account's sign-ins from one address, successful ones too, are
// limited to 30 at once, then 10 a minute: a member who knows their
// password cannot keep the server's password checks busy, or open sessions
// without end. Other accounts from the same address are not held up, nor
// the same account from another address: no one spends a member's
// allowance for them, and keeps them out.
func TestSignIn_RateLimitedPerAccount(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1" })
	env.Clock.Freeze()
	env.MustMember(t, "alice") // her first sign-in
	env.MustMember(t, "bob")
	for i := 2; i <= 30; i++ {
		if status, _, _ := signIn(t, env, "alice", apptest.Password("alice")); status != http.StatusCreated {
			t.Fatalf("sign-in %d: %d", i, status)
		}
	}
	for _, password := range []string{apptest.Password("alice"), "wrong"} {
		status, retry, typ := signIn(t, env, "ALICE", password)
		if secs, _ := strconv.Atoi(retry); status != http.StatusTooManyRequests || typ != "urn:parley:problem:throttled" || secs < 1 || secs > 6 {
			t.Errorf("sign-in 31, %q: %d Retry-After %q type %q; want 429 with Retry-After 1 to 6", password, status, retry, typ)
		}
	}
	if status, _, _ := signIn(t, env, "bob", apptest.Password("bob")); status != http.StatusCreated {
		t.Errorf("bob from the same address: %d", status)
	}
	elsewhere := &http.Client{Transport: apptest.ForwardedFor{Addr: "198.51.100.2"}}
	body := fmt.Sprintf(`{"username": "alice", "password": %q}`, apptest.Password("alice"))
	if status, _, _ := postWith(t, elsewhere, env.URL+"/api/v1/sessions", body); status != http.StatusCreated {
		t.Errorf("alice from another address: %d, want 201", status)
	}
	env.Clock.Advance(6 * time.Second)
	if status, _, _ := signIn(t, env, "alice", apptest.Password("alice")); status != http.StatusCreated {
		t.Errorf("alice 6 seconds later: %d", status)
	}
	if status, _, _ := signIn(t, env, "alice", apptest.Password("alice")); status != http.StatusTooManyRequests {
		t.Errorf("alice's second sign-in 6 seconds later: %d, want 429", status)
	}
}

// An address that its failed sign-ins hold back is refused before its
// sign-ins count for the accounts they name: however many it sends while
// it waits, a member who signs in from it once it may again is not held
// back by the rate limit of their sign-ins, and no refusal is the rate
// limit's.
func TestSignIn_ThrottledAddressSpendsNoAccountsAllowance(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.Clock.Freeze()
	env.MustMember(t, "alice") // her first sign-in
	for i := range 20 {
		if status, _, _ := signIn(t, env, fmt.Sprintf("ghost%02d", i), "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, status)
		}
	}
	for i := range 40 {
		if status, _, _ := signIn(t, env, "alice", apptest.Password("alice")); status != http.StatusTooManyRequests {
			t.Fatalf("sign-in %d while the address waits: %d, want 429", i+1, status)
		}
	}
	env.Clock.Advance(time.Second) // the address's wait after 20 failures
	if status, retry, _ := signIn(t, env, "alice", apptest.Password("alice")); status != http.StatusCreated {
		t.Errorf("alice once the address may sign in again: %d Retry-After %q, want 201", status, retry)
	}
	if got, _ := env.LookupMetric(t, `parley_rate_limited_total{policy="sign-ins"}`); got != 0 {
		t.Errorf(`parley_rate_limited_total{policy="sign-ins"} = %v, want 0: the address's throttle refused them`, got)
	}
}

// One address may create as many accounts as the server allows; the next
// waits a minute.
func TestAccounts_CreationThrottledPerAddress(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.SignUpsPerAddress = 3 })
	env.Clock.Freeze()
	ctx := context.Background()
	for i := range 3 {
		if _, err := env.Client.CreateAccount(ctx, fmt.Sprintf("member%d", i), "password-1", ""); err != nil {
			t.Fatal(err)
		}
	}
	status, retry, typ := post(t, env.URL+"/api/v1/accounts", `{"username": "member3", "password": "password-1"}`)
	if secs, _ := strconv.Atoi(retry); status != http.StatusTooManyRequests || typ != "urn:parley:problem:throttled" || secs < 59 || secs > 60 {
		t.Fatalf("fourth account: %d Retry-After %q type %q; want 429 after a minute", status, retry, typ)
	}
	if status, _, _ := signIn(t, env, "member3", "password-1"); status != http.StatusUnauthorized {
		t.Errorf("the refused account signs in: %d", status)
	}
}

// A success at an address that many failed at (an office's NAT) leaves its
// last failure as it was: the next member there, with the right password
// and no failure since, goes in, and the address's failures are forgotten
// a day after the last, however often members sign in there meanwhile.
func TestSignIn_SuccessesDoNotHoldTheAddressBack(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.Clock.Freeze()
	env.MustMember(t, "alice")
	env.MustMember(t, "bob")
	for i := range 20 {
		if status, _, _ := signIn(t, env, fmt.Sprintf("ghost%02d", i), "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, status)
		}
	}
	// Ten more, each once the address may try again: the wait doubles to
	// its 15-minute cap.
	for i := range 10 {
		env.Clock.Advance(15 * time.Minute)
		if status, _, _ := signIn(t, env, fmt.Sprintf("ghost%02d", 20+i), "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", 21+i, status)
		}
	}
	// Every day for three days, alice signs in once, successfully.
	for day := range 3 {
		env.Clock.Advance(23 * time.Hour)
		if status, _, _ := signIn(t, env, "alice", apptest.Password("alice")); status != http.StatusCreated {
			t.Fatalf("day %d: alice's sign-in with her password: %d", day+1, status)
		}
	}
	// No failure for 69 hours, far past the day after which failures are
	// forgotten; bob signs in right after alice's success.
	if status, retry, _ := signIn(t, env, "bob", apptest.Password("bob")); status != http.StatusCreated {
		t.Errorf("bob with his password, 69 hours after the address's last failure, right after alice's success: %d (Retry-After %q), want 201", status, retry)
	}
}

// A member signed in through the API, who gives their password again to
// change it or to delete the account, is not held up by a stranger's
// failed sign-ins to their username: the session's password checks are
// throttled on their own.
func TestSignIn_StrangersDoNotHoldUpASession(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1" })
	env.Clock.Freeze()
	alice := env.MustMember(t, "alice") // signed in, through the API
	stranger := &http.Client{Transport: apptest.ForwardedFor{Addr: "198.51.100.66"}}
	for i := range 5 {
		body := fmt.Sprintf(`{"username": "alice", "password": "guess %d"}`, i)
		if status, _, _ := postWith(t, stranger, env.URL+"/api/v1/sessions", body); status != http.StatusUnauthorized {
			t.Fatalf("stranger's guess %d: %d", i+1, status)
		}
	}
	if _, err := alice.ChangePassword(context.Background(), apptest.Password("alice"), "a brand new long password"); err != nil {
		t.Errorf("alice, signed in, changing her password with the right one after a stranger's 5 guesses from elsewhere: %v, want success", err)
	}
}

// A client that changes its member's password is given its device's proof
// under the new one, in place of its sign-in's, which ended with the old:
// a stranger's failed sign-ins hold it up no more than before.
func TestSignIn_APasswordChangeGivesTheClientItsProof(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1" })
	env.Clock.Freeze()
	ctx := context.Background()
	env.MustMember(t, "alice")
	s, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice"))
	if err != nil {
		t.Fatal(err)
	}
	const brandNew = "a brand new long password"
	proof, err := env.Client.WithToken(s.Token).ChangePassword(ctx, apptest.Password("alice"), brandNew)
	if err != nil || !strings.HasPrefix(proof, "pdv_") || proof == s.DeviceProof {
		t.Fatalf("changing her password: device proof %q (her sign-in's %q), %v; want a new one", proof, s.DeviceProof, err)
	}
	stranger := &http.Client{Transport: apptest.ForwardedFor{Addr: "203.0.113.9"}}
	for i := range 10 {
		body := fmt.Sprintf(`{"username": "alice", "password": "guess %d"}`, i)
		postWith(t, stranger, env.URL+"/api/v1/sessions", body)
	}
	if _, err := env.Client.SignInWithDeviceProof(ctx, "alice", brandNew, s.DeviceProof); client.StatusOf(err) != http.StatusTooManyRequests {
		t.Errorf("with the proof made under her old password, after a stranger's guesses: %v, want 429", err)
	}
	if _, err := env.Client.SignInWithDeviceProof(ctx, "alice", brandNew, proof); err != nil {
		t.Errorf("with the proof her password change gave, after a stranger's guesses: %v, want success", err)
	}
}

// A client that signed in before and kept the device_proof it was given
// is not held up by a stranger's failed sign-ins to its member's username,
// however many: it signs in with the proof, as a browser with its cookie
// does. Without the proof, or with another member's, the member waits as
// any new device does; the proof is worth nothing without the password.
func TestSignIn_AKeptDeviceProofIsNotHeldUpByStrangers(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1" })
	env.Clock.Freeze()
	ctx := context.Background()
	env.MustMember(t, "alice")
	env.MustMember(t, "bob")
	first, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice"))
	if err != nil || !strings.HasPrefix(first.DeviceProof, "pdv_") {
		t.Fatalf("alice's sign-in: device proof %q, %v", first.DeviceProof, err)
	}
	bobs, err := env.Client.SignIn(ctx, "bob", apptest.Password("bob"))
	if err != nil {
		t.Fatal(err)
	}
	stranger := &http.Client{Transport: apptest.ForwardedFor{Addr: "203.0.113.9"}}
	for i := range 30 {
		body := fmt.Sprintf(`{"username": "alice", "password": "guess %d"}`, i)
		if status, _, _ := postWith(t, stranger, env.URL+"/api/v1/sessions", body); status == http.StatusTooManyRequests {
			env.Clock.Advance(time.Minute) // the stranger waits, and goes on
		}
	}
	for name, proof := range map[string]string{"NoProof": "", "BobsProof": bobs.DeviceProof, "Forged": "pdv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		if _, err := env.Client.SignInWithDeviceProof(ctx, "alice", apptest.Password("alice"), proof); client.StatusOf(err) != http.StatusTooManyRequests {
			t.Errorf("%s: alice's sign-in after a stranger's guesses: %v, want 429", name, err)
		}
	}
	if _, err := env.Client.SignInWithDeviceProof(ctx, "alice", "not her password", first.DeviceProof); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("the proof with a wrong password: %v, want 401", err)
	}
	again, err := env.Client.SignInWithDeviceProof(ctx, "alice", apptest.Password("alice"), first.DeviceProof)
	if err != nil {
		t.Fatalf("alice's sign-in with the proof she kept, after a stranger's guesses: %v, want success", err)
	}
	if again.DeviceProof == "" || again.DeviceProof == first.DeviceProof {
		t.Errorf("the sign-in's new proof %q, want a new one", again.DeviceProof)
	}
}
