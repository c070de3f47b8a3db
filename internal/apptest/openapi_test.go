package apptest

import (
	"strings"
	"testing"
)

// TestConformance_NamesWhatDisagrees feeds the checker answers that break
// the document, and one that keeps it, and reads what it says.
func TestConformance_NamesWhatDisagrees(t *testing.T) {
	cf, err := apiConformance()
	if err != nil {
		t.Fatal(err)
	}
	problem := `{"type":"urn:parley:problem:conflict","title":"Conflict","status":409}`
	for name, tc := range map[string]struct {
		method, path string
		status       int
		contentType  string
		body         string
		want         []string // in the error; none for no error
	}{
		"OK": {"GET", "/api/v1/threads/abc", 404, "application/problem+json",
			`{"type":"urn:parley:problem:not_found","title":"Not Found","status":404,"detail":"thread not found"}`, nil},
		"LiteralSegmentWins": {"POST", "/api/v1/events/tickets", 201, "application/json",
			`{"ticket":"pet_x","expires_at":"2026-11-29T12:00:00Z"}`, nil},
		"UndocumentedStatus": {"GET", "/api/v1/me", 409, "application/problem+json", problem,
			[]string{"GET /api/v1/me", "getMe", "status 409 is not documented"}},
		"UndocumentedType": {"GET", "/api/v1/me", 401, "text/plain", "no",
			[]string{"status 401", "/components/responses/Unauthorized", `content type "text/plain"`}},
		"BodyBreaksSchema": {"POST", "/api/v1/shares", 201, "application/json",
			`{"id":"m1","thread_id":"t1","seq":1,"kind":"share","share":{"url":"https://a b","title":"x"}}`,
			[]string{"POST /api/v1/shares", "createShare", "status 201", "/paths/~1api~1v1~1shares/post/responses/201/content/application~1json/schema"}},
		"UnknownPathAnswered": {"GET", "/api/v1/nope", 200, "application/json", `{}`,
			[]string{"no documented operation"}},
		"UnknownPathRefusedAsProblem": {"GET", "/api/v1/nope", 404, "application/problem+json",
			`{"type":"urn:parley:problem:not_found","title":"Not Found","status":404}`, nil},
	} {
		t.Run(name, func(t *testing.T) {
			err := cf.check(tc.method, tc.path, tc.status, tc.contentType, []byte(tc.body))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
