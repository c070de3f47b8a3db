package app_test

import (
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
)

// `parley app add` registers an app that is active at once, owned by any
// member, without review (also under --apps-require-review): an operator's
// decision, which `parley audit` should list as it lists `app approve`.
func TestCLI_AuditListsAppAdd(t *testing.T) {
	dir := apptest.Install(t)
	if _, err := run(t, dir, "long-enough-password\n", "user", "add", "alice", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, dir, "", "app", "add", "--name", "Films", "--redirect-uri", apptest.RedirectURI, "--owner", "alice")
	if err != nil {
		t.Fatalf("app add: %v\n%s", err, out)
	}
	for _, a := range decisions(t, dir) {
		if strings.HasPrefix(a.Action, "app.") {
			return
		}
	}
	t.Errorf("parley audit lists no decision about the app that app add registered: %+v", decisions(t, dir))
}
