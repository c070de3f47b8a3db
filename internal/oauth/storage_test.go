package oauth

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// An app is told of a failure of the server's own as server_error, with
// nothing of the server's insides, however the failure reaches the
// provider: as a client's check, a grant's, or another step of a sign-in.
// What an app can act on it is told as before.
func TestStorage_InternalErrorsTellNothing(t *testing.T) {
	t.Parallel()
	insides := fmt.Errorf("sqlstore: find apps: %w", errors.New("sql: database is closed"))
	for name, err := range map[string]error{
		"Client":  clientError(insides),
		"Grant":   grantError(insides),
		"Request": hideInternal(parley.Errorf(parley.EINTERNAL, "sqlstore: find auth request: disk I/O error")),
	} {
		t.Run(name, func(t *testing.T) {
			e := oidc.DefaultToServerError(err, err.Error())
			body, _ := e.MarshalJSON()
			if e.ErrorType != oidc.ServerError || strings.Contains(string(body), "sql") {
				t.Errorf("the app is told %s", body)
			}
		})
	}
	if err := clientError(parley.Errorf(parley.EUNAUTHORIZED, "the client secret is wrong")); !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("a wrong secret is %v, want invalid_client", err)
	}
	if hideInternal(nil) != nil {
		t.Error("no error became one")
	}
}
