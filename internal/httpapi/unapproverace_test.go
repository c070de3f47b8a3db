package httpapi_test

import (
	"context"
	"net/url"
	"sync"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// An operator's unapproval of reach "all" ends every grant that reaches
// all threads, and members may grant that reach no more: no grant of reach
// "all" outlives it, even one a member approves on the consent page at the
// same moment. Several rounds make each interleaving likely on PostgreSQL
// (PARLEY_TEST_DATABASE=postgres), where the two writes run at once;
// SQLite takes one at a time.
func TestUnapprove_RacingConsentKeepsNoGrantOfAll(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	alice := env.MustMember(t, "alice")
	ctx := context.Background()
	console := service.ConsoleContext(ctx)
	svc := env.Server.Service
	partner := env.MustPartner(t, "Films")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	for round := range 30 {
		if _, err := svc.ApproveAllThreads(console, partner.App.ClientID); err != nil {
			t.Fatal(err)
		}
		b := apptest.NewBrowser()
		p := b.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		p = b.Submit(t, p, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.UnapproveAllThreads(console, partner.App.ClientID); err != nil {
				t.Error(err)
			}
		}()
		b.Submit(t, p, url.Values{"action": {"approve"}, "thread_scope": {parley.ThreadScopeAll}})
		wg.Wait()
		grants, err := alice.ConnectedApps(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range grants {
			if g.ClientID == partner.App.ClientID && g.ThreadScope == parley.ThreadScopeAll && g.RevokedAt == nil {
				t.Fatalf("round %d: a grant of reach all (%s) is in force after the app's approval for it was withdrawn", round, g.ID)
			}
		}
	}
}
