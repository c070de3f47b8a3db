package httpapi_test

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/httpapi"
)

// The client's problem types are every type the OpenAPI document lists,
// and its webhook reasons the server's.
func TestClient_ConstantsAreTheServers(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas struct {
				Problem struct {
					Properties struct {
						Type struct {
							Description string `json:"description"`
						} `json:"type"`
					} `json:"properties"`
				} `json:"Problem"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(httpapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z_]+)` \\(\\d{3}").FindAllStringSubmatch(doc.Components.Schemas.Problem.Properties.Type.Description, -1) {
		documented["urn:parley:problem:"+m[1]] = true
	}
	constants := []string{
		client.ProblemInvalid, client.ProblemUnauthorized, client.ProblemForbidden, client.ProblemInsufficientScope,
		client.ProblemNotFound, client.ProblemMethodNotAllowed, client.ProblemConflict, client.ProblemTooLarge,
		client.ProblemUnsupportedMediaType, client.ProblemUpgradeRequired, client.ProblemThrottled,
		client.ProblemInternal, client.ProblemUnavailable, client.ProblemStorageFull,
	}
	for _, c := range constants {
		if !documented[c] {
			t.Errorf("%s is not among the OpenAPI's problem types", c)
		}
		delete(documented, c)
	}
	for c := range documented {
		t.Errorf("the OpenAPI lists %s, which the client has no constant for", c)
	}
	for _, code := range []string{parley.EINVALID, parley.EUNAUTHORIZED, parley.EFORBIDDEN, parley.ESCOPE, parley.ENOTFOUND,
		parley.ECONFLICT, parley.ETOOLARGE, parley.ETHROTTLED, parley.EFULL, parley.EINTERNAL} {
		found := false
		for _, c := range constants {
			found = found || c == "urn:parley:problem:"+code
		}
		if !found {
			t.Errorf("the client has no constant for the domain's %s", code)
		}
	}
	for got, want := range map[string]string{
		client.GrantEndRevoked: parley.GrantEndRevoked, client.GrantEndExpired: parley.GrantEndExpired,
		client.GrantEndSuspended: parley.GrantEndSuspended, client.ThreadEndClosed: parley.ThreadEndClosed,
		client.ThreadEndLeft: parley.ThreadEndLeft, client.ThreadEndUnticked: parley.ThreadEndUnticked,
		client.ThreadEndNarrowed: parley.ThreadEndNarrowed,
	} {
		if got != want {
			t.Errorf("the client's %q is the server's %q", got, want)
		}
	}
}
