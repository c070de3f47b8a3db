package httpapi

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// openAPIDoc is the part of the OpenAPI document the tests look at.
type openAPIDoc struct {
	OpenAPI  string                                `json:"openapi"`
	Security []map[string][]string                 `json:"security"`
	Paths    map[string]map[string]json.RawMessage `json:"paths"`
}

// openAPIOperation is the part of an operation the tests look at. Security
// is a pointer so that an absent requirement (the global one applies) is
// told apart from an empty one (no authentication).
type openAPIOperation struct {
	OperationID string                     `json:"operationId"`
	Security    *[]map[string][]string     `json:"security"`
	Responses   map[string]json.RawMessage `json:"responses"`
}

// openAPIMethods are the keys of a path item that name operations; the
// others (parameters, summary, ...) are not operations.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadOpenAPI(t *testing.T) (openAPIDoc, any) {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	var raw any
	if err := json.Unmarshal(openAPI, &raw); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	return doc, raw
}

// documentedOperations returns the document's operations keyed by
// "METHOD path".
func documentedOperations(t *testing.T, doc openAPIDoc) map[string]openAPIOperation {
	t.Helper()
	ops := map[string]openAPIOperation{}
	for path, item := range doc.Paths {
		for key, raw := range item {
			if !slices.Contains(openAPIMethods, key) {
				continue
			}
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", key, path, err)
			}
			ops[strings.ToUpper(key)+" "+path] = op
		}
	}
	return ops
}

func TestOpenAPI_MatchesRoutes(t *testing.T) {
	t.Parallel()
	doc, raw := loadOpenAPI(t)
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	ops := documentedOperations(t, doc)
	routes := (&Server{}).routes()
	routeByKey := map[string]route{}
	for _, rt := range routes {
		routeByKey[rt.method+" "+rt.pattern] = rt
	}

	t.Run("EveryRouteDocumented", func(t *testing.T) {
		for _, rt := range routes {
			// ServeMux patterns and OpenAPI paths share the {name} syntax;
			// a {name...} wildcard would need translating.
			if strings.Contains(rt.pattern, "...}") {
				t.Errorf("%s %s: wildcard patterns have no OpenAPI form; document it by hand and teach this test", rt.method, rt.pattern)
				continue
			}
			if _, ok := ops[rt.method+" "+rt.pattern]; !ok {
				t.Errorf("%s %s is routed but not in openapi.json (paths[%q].%s)", rt.method, rt.pattern, rt.pattern, strings.ToLower(rt.method))
			}
		}
	})

	t.Run("EveryOperationRouted", func(t *testing.T) {
		for key := range ops {
			if _, ok := routeByKey[key]; !ok {
				t.Errorf("%s is in openapi.json but not in the route table", key)
			}
		}
	})

	t.Run("RefsResolve", func(t *testing.T) {
		refs := map[string]bool{}
		collectRefs(raw, refs)
		if len(refs) == 0 {
			t.Fatal("no $ref found; the walk is broken")
		}
		for _, ref := range sortedKeys(refs) {
			if !strings.HasPrefix(ref, "#/components/") {
				t.Errorf("$ref %q: want a reference to #/components/...", ref)
				continue
			}
			if _, ok := resolvePointer(raw, ref); !ok {
				t.Errorf("$ref %q does not resolve", ref)
			}
		}
	})

	t.Run("OperationIDsAndSuccess", func(t *testing.T) {
		seen := map[string]string{}
		for _, key := range sortedKeys(ops) {
			op := ops[key]
			if op.OperationID == "" {
				t.Errorf("%s has no operationId", key)
			} else if other, dup := seen[op.OperationID]; dup {
				t.Errorf("operationId %q is used by %s and %s", op.OperationID, other, key)
			} else {
				seen[op.OperationID] = key
			}
			if !hasSuccess(op.Responses) {
				t.Errorf("%s documents no 2xx response", key)
			}
			// checkRequest refuses a malformed query or a repeated header
			// on every route, before its handler.
			if _, ok := op.Responses["400"]; !ok {
				t.Errorf("%s documents no 400 response", key)
			}
			// writeError answers 503 wherever it may answer 500: for a
			// request the client gave up on, or an app's request whose
			// access changed each time it was served.
			_, internal := op.Responses["500"]
			if _, ok := op.Responses["503"]; internal && !ok {
				t.Errorf("%s documents 500 but not 503", key)
			}
		}
	})

	// Every authenticated call is rate limited, and every answer to one
	// carries the limit's headers, not only the 429.
	t.Run("RateLimitHeaders", func(t *testing.T) {
		for _, rt := range routes {
			op, ok := ops[rt.method+" "+rt.pattern]
			if !ok || rt.public {
				continue
			}
			if _, ok := op.Responses["429"]; !ok {
				t.Errorf("%s %s documents no 429", rt.method, rt.pattern)
			}
			for code, raw := range op.Responses {
				if !hasSuccess(map[string]json.RawMessage{code: raw}) {
					continue
				}
				var success struct{ Headers map[string]json.RawMessage }
				json.Unmarshal(raw, &success)
				for _, h := range []string{"RateLimit-Policy", "RateLimit"} {
					if _, ok := success.Headers[h]; !ok {
						t.Errorf("%s %s: its %s answer documents no %s header", rt.method, rt.pattern, code, h)
					}
				}
			}
		}
	})

	t.Run("Security", func(t *testing.T) {
		if len(doc.Security) == 0 {
			t.Fatal("no global security requirement")
		}
		for _, rt := range routes {
			key := rt.method + " " + rt.pattern
			op, ok := ops[key]
			if !ok {
				continue // reported by EveryRouteDocumented
			}
			switch {
			case rt.public && (op.Security == nil || len(*op.Security) != 0):
				t.Errorf("%s is public: want \"security\": []", key)
			case !rt.public && op.Security != nil && len(*op.Security) == 0:
				t.Errorf("%s needs a token but its security is empty", key)
			}
		}
	})
}

// Each scope's description names every operation that needs the scope,
// and only those, so that the member's consent and a partner's reading of
// what a scope opens are the operations the server opens with it.
func TestOpenAPI_ScopesNameTheirOperations(t *testing.T) {
	doc, raw := loadOpenAPI(t)
	flows, ok := resolvePointer(raw, "#/components/securitySchemes/oauth2/flows")
	if !ok {
		t.Fatal("openapi.json has no oauth2 flows")
	}
	described := map[string]string{} // scope: description
	for _, flow := range flows.(map[string]any) {
		scopes, _ := flow.(map[string]any)["scopes"].(map[string]any)
		for scope, d := range scopes {
			described[scope] = d.(string)
		}
	}
	needs := map[string][]string{} // scope: "METHOD path" of the operations that need it
	for key, op := range documentedOperations(t, doc) {
		security := doc.Security
		if op.Security != nil {
			security = *op.Security
		}
		for _, requirement := range security {
			for _, scope := range requirement["oauth2"] {
				needs[scope] = append(needs[scope], key)
			}
		}
	}
	for _, keys := range needs {
		slices.Sort(keys)
	}
	operation := regexp.MustCompile(`\b(GET|PUT|POST|DELETE|PATCH) /[A-Za-z0-9_/{}-]+`)
	for _, scope := range sortedKeys(described) {
		named := operation.FindAllString(described[scope], -1)
		for _, key := range needs[scope] {
			if !slices.Contains(named, key) {
				t.Errorf("%s needs %s, whose description does not name it: %q", key, scope, described[scope])
			}
		}
		for _, key := range named {
			if !slices.Contains(needs[scope], key) {
				t.Errorf("the description of %s names %s, which does not need it", scope, key)
			}
		}
	}
	for _, scope := range sortedKeys(needs) {
		if _, ok := described[scope]; !ok {
			t.Errorf("%s need %s, which the oauth2 scheme does not describe", strings.Join(needs[scope], ", "), scope)
		}
	}
}

// hasSuccess reports whether responses include a 2xx, or a 101 for a
// WebSocket upgrade, whose success is switching protocols.
func hasSuccess(responses map[string]json.RawMessage) bool {
	for code := range responses {
		if code == "101" || code == "2XX" || len(code) == 3 && code[0] == '2' {
			return true
		}
	}
	return false
}

// collectRefs gathers the value of every "$ref" in a decoded JSON value.
func collectRefs(v any, refs map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if s, ok := child.(string); ok && k == "$ref" {
				refs[s] = true
				continue
			}
			collectRefs(child, refs)
		}
	case []any:
		for _, child := range v {
			collectRefs(child, refs)
		}
	}
}

// resolvePointer follows a local JSON pointer ("#/a/b") through a decoded
// JSON value.
func resolvePointer(root any, ref string) (any, bool) {
	cur := root
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func TestOpenAPI_Served(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	handleOpenAPI(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	res := rec.Result()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("body does not parse: %v", err)
	}
	if body.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q, want 3.1.0", body.OpenAPI)
	}
}
