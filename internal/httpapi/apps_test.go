package httpapi_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// registeredApp mirrors the answer to POST /api/v1/apps.
type registeredApp struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Name         string   `json:"name"`
	OwnerID      string   `json:"owner_id"`
	RedirectURIs []string `json:"redirect_uris"`
	ClientType   string   `json:"client_type"`
	State        string   `json:"state"`
	AllThreads   bool     `json:"all_threads_approved"`
}

func TestApps_Register(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	register := func(body map[string]any) (registeredApp, error) {
		var a registeredApp
		_, err := alice.Do(ctx, "POST", "/api/v1/apps", body, &a)
		return a, err
	}

	t.Run("Confidential", func(t *testing.T) {
		a, err := register(map[string]any{
			"name": "Tunes", "redirect_uris": []string{"https://tunes.example/callback"}, "purpose": "Send songs to friends",
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(a.ClientID, "pc_") || !strings.HasPrefix(a.ClientSecret, "pcs_") || a.ClientType != "confidential" ||
			a.State != "active" || a.AllThreads || a.OwnerID != apptest.MustMe(t, alice).ID {
			t.Fatalf("registered %+v", a)
		}
		// The secret is shown once: listing never shows it.
		var list struct{ Apps []registeredApp }
		if _, err := alice.Do(ctx, "GET", "/api/v1/apps", nil, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Apps) != 1 || list.Apps[0].ClientID != a.ClientID || list.Apps[0].ClientSecret != "" {
			t.Fatalf("list = %+v", list)
		}
		if strings.Contains(env.Logs.String(), a.ClientSecret) {
			t.Fatal("the client secret is in the logs")
		}
	})
	t.Run("PublicHasNoSecret", func(t *testing.T) {
		a, err := register(map[string]any{"name": "Phone", "redirect_uris": []string{"com.example.phone:/cb", "http://127.0.0.1:7000/cb"}, "public": true})
		if err != nil || a.ClientSecret != "" || a.ClientType != "public" {
			t.Fatalf("registered %+v, %v", a, err)
		}
	})
	t.Run("OthersAppsNotListed", func(t *testing.T) {
		var list struct{ Apps []registeredApp }
		if _, err := bob.Do(ctx, "GET", "/api/v1/apps", nil, &list); err != nil || len(list.Apps) != 0 {
			t.Fatalf("bob's apps = %+v, %v", list, err)
		}
	})
	for name, body := range map[string]map[string]any{
		"ErrNoName":           {"redirect_uris": []string{"https://x.example/cb"}},
		"ErrNoRedirectURI":    {"name": "X"},
		"ErrRelativeURI":      {"name": "X", "redirect_uris": []string{"/cb"}},
		"ErrFragment":         {"name": "X", "redirect_uris": []string{"https://x.example/cb#frag"}},
		"ErrPlainHTTP":        {"name": "X", "redirect_uris": []string{"http://x.example/cb"}},
		"ErrBareCustomScheme": {"name": "X", "redirect_uris": []string{"myapp:/cb"}},
		// A query the authorization response could not keep whole.
		"ErrSemicolonInQuery":     {"name": "X", "redirect_uris": []string{"https://x.example/cb?tenant=acme;region=eu"}},
		"ErrResponseParamInQuery": {"name": "X", "redirect_uris": []string{"https://x.example/cb?app=1&state=x"}},
		"ErrHomepage":             {"name": "X", "redirect_uris": []string{"https://x.example/cb"}, "homepage": "javascript:alert(1)"},
		"ErrPurposeTooLong":       {"name": "X", "redirect_uris": []string{"https://x.example/cb"}, "purpose": strings.Repeat("p", 501)},
		// Not URIs (RFC 3986): refused, not repaired.
		"ErrSpaceInRedirectURI":   {"name": "X", "redirect_uris": []string{"https://x.example/a b"}},
		"ErrNonASCIIRedirectHost": {"name": "X", "redirect_uris": []string{"https://exämple.com/cb"}},
		"ErrNonASCIIRedirectPath": {"name": "X", "redirect_uris": []string{"https://x.example/café"}},
		"ErrBadEscapeRedirectURI": {"name": "X", "redirect_uris": []string{"https://x.example/%zz"}},
		"ErrSpaceInHomepage":      {"name": "X", "redirect_uris": []string{"https://x.example/cb"}, "homepage": "https://x.example/a b"},
		"ErrNonASCIIHomepageHost": {"name": "X", "redirect_uris": []string{"https://x.example/cb"}, "homepage": "https://exämple.com/"},
		"ErrNonASCIIHomepagePath": {"name": "X", "redirect_uris": []string{"https://x.example/cb"}, "homepage": "https://x.example/café"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := register(body)
			wantProblem(t, err, http.StatusBadRequest, "invalid")
		})
	}
	t.Run("ErrSignedOut", func(t *testing.T) {
		_, err := env.Client.Do(ctx, "POST", "/api/v1/apps", map[string]any{"name": "X", "redirect_uris": []string{"https://x.example/cb"}}, nil)
		wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
	})
}

// A member registers apps of their own while they have fewer than
// parley.MaxOwnApps that are not deleted: one more is refused, 409 with
// what to do, and registers nothing. Apps an operator registers for them
// count, but the cap never refuses the operator; deleted ones do not count.
func TestApps_RegisterAtMostMaxOwnApps(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	var n atomic.Int32 // each app its own name, as another's is refused
	register := func() error {
		_, err := alice.Do(ctx, "POST", "/api/v1/apps", map[string]any{"name": fmt.Sprint("Tunes ", n.Add(1)), "redirect_uris": []string{"https://tunes.example/callback"}}, nil)
		return err
	}
	mine := func() []registeredApp {
		t.Helper()
		var list struct{ Apps []registeredApp }
		if _, err := alice.Do(ctx, "GET", "/api/v1/apps", nil, &list); err != nil {
			t.Fatal(err)
		}
		return list.Apps
	}
	for range parley.MaxOwnApps - 1 {
		if err := register(); err != nil {
			t.Fatal(err)
		}
	}
	operatorsApp := env.MustPartnerOf(t, "Given", "alice")
	err := register()
	wantProblem(t, err, http.StatusConflict, "conflict")
	if detail := err.(*client.Error).Detail; !strings.Contains(detail, "10 apps") || !strings.Contains(detail, "delete one you no longer use") {
		t.Errorf("the refusal says %q, want how many and how to make room", detail)
	}
	if n := len(mine()); n != parley.MaxOwnApps {
		t.Fatalf("alice has %d apps after the refusal, want %d", n, parley.MaxOwnApps)
	}

	env.MustPartnerOf(t, "Given too", "alice")
	if n := len(mine()); n != parley.MaxOwnApps+1 {
		t.Fatalf("alice has %d apps after an operator gave her one more, want %d", n, parley.MaxOwnApps+1)
	}
	if _, err := env.Server.Service.DeleteApp(service.ConsoleContext(ctx), operatorsApp.App.ClientID); err != nil {
		t.Fatal(err)
	}
	if err := alice.DeleteApp(ctx, mine()[0].ClientID); err != nil {
		t.Fatal(err)
	}
	if err := register(); err != nil {
		t.Fatalf("registering after an operator deleted one app and alice another: %v", err)
	}
	wantProblem(t, register(), http.StatusConflict, "conflict")
}

// A member registers at most parley.MaxAppsPerDay apps in any 24 hours,
// however many they deleted since: one more is refused, 429 with how long
// to wait, until the earliest of them is a day old, and registers nothing.
func TestApps_RegisterAtMostMaxAppsPerDay(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	env.Clock.Freeze()
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	var n atomic.Int32 // each app its own name, as another's is refused
	register := func() (registeredApp, error) {
		var a registeredApp
		_, err := alice.Do(ctx, "POST", "/api/v1/apps", map[string]any{"name": fmt.Sprint("Tunes ", n.Add(1)), "redirect_uris": []string{"https://tunes.example/callback"}}, &a)
		return a, err
	}
	for i := range parley.MaxAppsPerDay {
		a, err := register()
		if err != nil {
			t.Fatalf("registration %d of the day: %v", i+1, err)
		}
		if err := alice.DeleteApp(ctx, a.ClientID); err != nil {
			t.Fatal(err)
		}
		env.Clock.Advance(time.Minute)
	}
	_, err := register()
	wantProblem(t, err, http.StatusTooManyRequests, "throttled")
	wait := 24*time.Hour - parley.MaxAppsPerDay*time.Minute
	if e := err.(*client.Error); e.RetryAfter != wait || !strings.Contains(e.Detail, "a member may register 20 a day") {
		t.Errorf("the refusal: %q, Retry-After %v; want how many a day, and to wait %v", e.Detail, e.RetryAfter, wait)
	}
	if apps, err := alice.Apps(ctx); err != nil || len(apps) != 0 {
		t.Errorf("alice's apps after the refusal: %+v, %v; want none", apps, err)
	}
	env.Clock.Advance(wait)
	if _, err := register(); err != nil {
		t.Fatalf("once the day's first app is a day old: %v", err)
	}
	wantProblem(t, func() error { _, err := register(); return err }(), http.StatusTooManyRequests, "throttled")
}

// Members registering one name at the same moment, on PostgreSQL under
// READ COMMITTED as on SQLite's single writer, get one app of that name:
// the others are refused 409, as a name already taken is.
func TestApps_RegistrationsOfOneNameAtOnce(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	const atOnce = 8
	var members []*client.Client
	for i := range atOnce {
		members = append(members, env.MustMember(t, fmt.Sprint("member", i)))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for _, m := range members {
		wg.Go(func() {
			resp, err := m.Do(ctx, "POST", "/api/v1/apps", map[string]any{"name": "Tunes", "redirect_uris": []string{"https://tunes.example/callback"}}, nil)
			status := client.StatusOf(err)
			if err == nil {
				status = resp.StatusCode
			} else if status == 0 {
				t.Errorf("a registration at once: %v", err)
			} else if e := err.(*client.Error); !strings.Contains(e.Detail, `an app named "Tunes" is registered already`) {
				t.Errorf("a refused registration says %q, want that the name is taken", e.Detail)
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if want := map[int]int{http.StatusCreated: 1, http.StatusConflict: atOnce - 1}; !maps.Equal(statuses, want) {
		t.Errorf("%d registrations of one name at once answered %v (status: count), want %v", atOnce, statuses, want)
	}
}

// A member deletes an app they registered: every grant of it ends at once
// (its token refused at its next use, its stream ended), each member's log
// says its developer ended it, and it works and shows nowhere again. No
// one else deletes it: another member, or the app itself, learns nothing
// of it.
func TestApps_OwnerDeletesApp(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	films := env.MustPartnerOf(t, "Films", "alice")
	id := films.App.ClientID
	tok := env.MustToken(t, films, "bob", []string{"openid", "profile", "offline_access", "messages.read"}, apptest.Answer{})
	app := env.Client.WithToken(tok.AccessToken)
	stream, err := app.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()

	wantProblem(t, carol.DeleteApp(ctx, id), http.StatusNotFound, "not_found")
	wantProblem(t, app.DeleteApp(ctx, id), http.StatusForbidden, "insufficient_scope")
	if _, err := app.Me(ctx); err != nil {
		t.Fatalf("after others tried to delete it, the app's token: %v", err)
	}

	if err := alice.DeleteApp(ctx, id); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, func() error { _, err := app.Me(ctx); return err }(), http.StatusUnauthorized, "unauthorized")
	if _, err := films.Config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("the deleted app's refresh token still works")
	}
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := stream.Next(wait); err == nil || wait.Err() != nil {
		t.Error("the deleted app's stream is still open after 5s")
	}
	page, err := bob.AccessLog(ctx, client.AccessLogQuery{App: id})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) == 0 || page.Entries[0].Action != parley.ActionGrantRevokedByDeveloper || page.Entries[0].AppName != "Films" {
		t.Errorf("bob's log of the app, newest first: %+v; want the grant ended by its developer", page.Entries)
	}
	if v, err := bob.VerifyAccessLog(ctx); err != nil || !v.Intact {
		t.Errorf("bob's log verifies: %+v, %v", v, err)
	}
	if apps, err := alice.Apps(ctx); err != nil || len(apps) != 0 {
		t.Errorf("alice's apps after she deleted her one: %+v, %v", apps, err)
	}
	if connected, err := bob.ConnectedApps(ctx); err != nil || len(connected) != 0 {
		t.Errorf("bob's connected apps after the app was deleted: %+v, %v", connected, err)
	}
	wantProblem(t, alice.DeleteApp(ctx, id), http.StatusNotFound, "not_found")
	wantProblem(t, alice.DeleteApp(ctx, "pc_nonexistent"), http.StatusNotFound, "not_found")
}

// Registrations at once count each other's apps: a member one app short
// of parley.MaxOwnApps who registers many at the same moment, as a script
// or many tabs might, gets exactly one, and the others are refused, on
// PostgreSQL under READ COMMITTED as on SQLite's single writer.
func TestApps_RegistrationsAtOnceStopAtMaxOwnApps(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	var n atomic.Int32 // each app its own name, as another's is refused
	register := func() (*http.Response, error) {
		return alice.Do(ctx, "POST", "/api/v1/apps", map[string]any{"name": fmt.Sprint("Tunes ", n.Add(1)), "redirect_uris": []string{"https://tunes.example/callback"}}, nil)
	}
	for range parley.MaxOwnApps - 1 {
		if _, err := register(); err != nil {
			t.Fatal(err)
		}
	}
	const atOnce = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range atOnce {
		wg.Go(func() {
			resp, err := register()
			status := client.StatusOf(err)
			if err == nil {
				status = resp.StatusCode
			} else if status == 0 {
				t.Errorf("a registration at once: %v", err)
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if want := map[int]int{http.StatusCreated: 1, http.StatusConflict: atOnce - 1}; !maps.Equal(statuses, want) {
		t.Errorf("%d registrations at once, one app short of the most, answered %v (status: count), want %v", atOnce, statuses, want)
	}
	var list struct{ Apps []registeredApp }
	if _, err := alice.Do(ctx, "GET", "/api/v1/apps", nil, &list); err != nil {
		t.Fatal(err)
	}
	if n := len(list.Apps); n != parley.MaxOwnApps {
		t.Fatalf("alice has %d apps after registering %d at once, want %d", n, atOnce, parley.MaxOwnApps)
	}
}

// After its owner rotates an app's secret, the list of apps says until
// when the secret replaced works beside the new one; once the owner stops
// it, the list says nothing of it.
func TestApps_ListSaysUntilWhenTheOldSecretWorks(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	svc := env.Server.Service
	caller, err := svc.Authenticate(ctx, alice.Token())
	if err != nil {
		t.Fatal(err)
	}
	asAlice := parley.NewContextWithCaller(ctx, caller)
	tunes := env.MustPartnerOf(t, "Tunes", "alice")
	oldSecretUntil := func() *time.Time {
		t.Helper()
		var list struct {
			Apps []struct {
				OldSecretUntil *time.Time `json:"old_secret_until"`
			}
		}
		if _, err := alice.Do(ctx, "GET", "/api/v1/apps", nil, &list); err != nil || len(list.Apps) != 1 {
			t.Fatalf("list = %+v, %v", list, err)
		}
		return list.Apps[0].OldSecretUntil
	}
	if u := oldSecretUntil(); u != nil {
		t.Errorf("never rotated, old_secret_until is %v", u)
	}
	reg, err := svc.RotateAppSecret(asAlice, tunes.App.ClientID, nil)
	if err != nil {
		t.Fatal(err)
	}
	apptest.Secret(reg.ClientSecret)
	if u := oldSecretUntil(); u == nil || !u.Equal(*reg.App.OldSecretUntil) {
		t.Errorf("after a rotation old_secret_until is %v, want %v", u, reg.App.OldSecretUntil)
	}
	if _, err := svc.EndOldAppSecret(asAlice, tunes.App.ClientID); err != nil {
		t.Fatal(err)
	}
	if u := oldSecretUntil(); u != nil {
		t.Errorf("the old secret stopped, old_secret_until is %v", u)
	}
}

// A member's app may not pass for another on its consent page: a name
// another live app has, compared case-insensitively after NFKC, is
// refused 409; one holding the server's own name ("Parley"), 400. An
// operator may give an app the server's name; a deleted app's name is
// free again. Lookalikes from other scripts are not caught here: the
// consent page says who registered the app (web's tests).
func TestApps_RegisterRefusesANameThatPassesForAnother(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	env.MustPartner(t, "Films")
	env.MustPartner(t, "Parley Support") // an operator's: allowed
	register := func(m *client.Client, name string) (registeredApp, error) {
		var a registeredApp
		_, err := m.Do(ctx, "POST", "/api/v1/apps", map[string]any{"name": name, "redirect_uris": []string{"http://127.0.0.1:9/cb"}}, &a)
		return a, err
	}
	for _, name := range []string{"Films", "films", " FILMS ", "Ｆｉｌｍｓ"} {
		t.Run("ErrTaken "+name, func(t *testing.T) {
			_, err := register(alice, name)
			wantProblem(t, err, http.StatusConflict, "conflict")
		})
	}
	for _, name := range []string{"Parley", "parley", "Parley Security", "My PARLEY helper", "Ｐａｒｌｅｙ", "P.a.r.l.e.y", "Parley Support", "Parley ✅ verified by Parley operators"} {
		t.Run("ErrServerName "+name, func(t *testing.T) {
			_, err := register(alice, name)
			wantProblem(t, err, http.StatusBadRequest, "invalid")
		})
	}
	t.Run("OtherMembersName", func(t *testing.T) {
		a, err := register(bob, "Tunes")
		if err != nil {
			t.Fatal(err)
		}
		_, err = register(alice, "tunes")
		wantProblem(t, err, http.StatusConflict, "conflict")
		if err := bob.DeleteApp(ctx, a.ClientID); err != nil {
			t.Fatal(err)
		}
		if _, err := register(alice, "tunes"); err != nil {
			t.Fatalf("a deleted app's name: %v", err)
		}
	})
	t.Run("FilmsClubIsNotFilms", func(t *testing.T) {
		if _, err := register(alice, "Films Club"); err != nil {
			t.Fatal(err)
		}
	})
}

// An app's homepage, shown on every consent page of the app, is at most
// parley.MaxRedirectURILen characters, as a redirect URI is: a longer one
// is refused, 400, and registers nothing. Spaces around it are trimmed,
// as the developer console's form trims them.
func TestApps_RegisterHomepageAtMostMaxRedirectURILen(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	homepage := func(n int) string {
		return "https://films.example/" + strings.Repeat("a", n-len("https://films.example/"))
	}
	register := func(name, homepage string) (registeredApp, error) {
		var a registeredApp
		_, err := alice.Do(ctx, "POST", "/api/v1/apps", map[string]any{"name": name, "homepage": homepage, "redirect_uris": []string{"https://films.example/cb"}}, &a)
		return a, err
	}
	t.Run("ErrTooLong", func(t *testing.T) {
		_, err := register("Films", homepage(parley.MaxRedirectURILen+1))
		wantProblem(t, err, http.StatusBadRequest, "invalid")
		if detail := err.(*client.Error).Detail; !strings.Contains(detail, "homepage must be at most 512 characters") {
			t.Errorf("the refusal says %q, want how long a homepage may be", detail)
		}
		if apps, err := alice.Apps(ctx); err != nil || len(apps) != 0 {
			t.Errorf("alice's apps after the refusal: %+v, %v; want none", apps, err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		longest := homepage(parley.MaxRedirectURILen)
		if _, err := register("Films", " "+longest+"\n"); err != nil {
			t.Fatal(err)
		}
		apps, err := alice.Apps(ctx)
		if err != nil || len(apps) != 1 || apps[0].Homepage != longest {
			t.Errorf("alice's apps: %+v, %v; want Films, its homepage trimmed", apps, err)
		}
	})
}
