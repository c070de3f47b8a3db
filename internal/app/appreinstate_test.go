package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// With --apps-require-review, `parley app unsuspend` of an app that waits
// for review, and was never suspended, is no approval: the app goes on
// waiting, as the command says, and only `parley app approve` (or its
// button on /operator) lets members connect it.
func TestCLI_UnsuspendIsNoApproval(t *testing.T) {
	env := apptest.Start(t, func(c *config.Config) { c.AppsRequireReview = true })
	owner := env.MustMember(t, "owner")
	dir := env.Server.Config
	ctx := context.Background()
	register := func(name string) string {
		t.Helper()
		var reg struct {
			ClientID string `json:"client_id"`
			State    string `json:"state"`
		}
		if _, err := owner.Do(ctx, "POST", "/api/v1/apps", map[string]any{"name": name, "redirect_uris": []string{apptest.RedirectURI}}, &reg); err != nil {
			t.Fatal(err)
		}
		if reg.State != parley.AppPending {
			t.Fatalf("%s is %q, want pending", name, reg.State)
		}
		return reg.ClientID
	}
	stateOf := func(clientID string) string {
		t.Helper()
		var list struct {
			Apps []struct {
				ClientID string `json:"client_id"`
				State    string `json:"state"`
			}
		}
		if _, err := owner.Do(ctx, "GET", "/api/v1/apps", nil, &list); err != nil {
			t.Fatal(err)
		}
		for _, a := range list.Apps {
			if a.ClientID == clientID {
				return a.State
			}
		}
		t.Fatalf("%s not listed", clientID)
		return ""
	}

	t.Run("NeverSuspended", func(t *testing.T) {
		id := register("Films")
		out, err := run(t, dir, "", "app", "unsuspend", id)
		if err != nil {
			t.Fatalf("unsuspend: %q, %v", out, err)
		}
		if want := id + " (Films) is still pending: parley app approve lets members connect it\n"; out != want {
			t.Errorf("unsuspend said %q, want %q", out, want)
		}
		if got := stateOf(id); got != parley.AppPending {
			t.Errorf("after unsuspend, a pending app is %q: members may connect it unreviewed", got)
		}
	})
	// Approving a suspended app lifts no suspension, and says so.
	t.Run("ApprovedWhileSuspended", func(t *testing.T) {
		id := register("Music")
		if out, err := run(t, dir, "", "app", "suspend", id); err != nil {
			t.Fatalf("suspend: %q, %v", out, err)
		}
		for _, args := range [][]string{{"app", "approve", id}, {"app", "approve", id, "--reach", "all"}} {
			out, err := run(t, dir, "", args...)
			if err != nil || !strings.HasSuffix(out, "but it is suspended: parley app unsuspend lets it\n") {
				t.Errorf("%v: %q, %v; want it to say the app is suspended", args, out, err)
			}
		}
		if got := stateOf(id); got != parley.AppSuspended {
			t.Errorf("after approve, a suspended app is %q", got)
		}
	})
}
