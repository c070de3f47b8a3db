package httpapi

import (
	"bytes"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The document's request schemas refuse what the server refuses with 400
// (its tests of bad input), so that a client generated from the document
// does not build a request the server will not take; and they take what
// the server takes.
func TestOpenAPI_RequestSchemasAsTheServers(t *testing.T) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(openAPI))
	if err != nil {
		t.Fatal(err)
	}
	const base = "https://parley.invalid/openapi.json"
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(base, doc); err != nil {
		t.Fatal(err)
	}
	body := func(path, method string) string {
		return "#/paths/" + strings.ReplaceAll(path, "/", "~1") + "/" + method + "/requestBody/content/application~1json/schema"
	}
	q101 := strings.Repeat("q", 101)
	for _, tc := range []struct {
		schema, instance string
		valid            bool
	}{
		{"#/components/schemas/NewAccount", `{"username": " Ada ", "password": "correct horse"}`, true},
		{"#/components/schemas/NewAccount", `{"username": "ab", "password": "correct horse"}`, false},
		{"#/components/schemas/NewAccount", `{"username": "no one", "password": "correct horse"}`, false},
		{body("/api/v1/me", "patch"), `{"display_name": "Ada", "colour": "red"}`, false},
		{body("/api/v1/me", "delete"), `{"password": "x", "confirm": true}`, false},
		{body("/api/v1/me/password", "put"), `{"current_password": "x", "new_password": "correct horse", "logout": true}`, false},
		{"#/components/schemas/ThreadUpdate", `{"title": null, "muted": true}`, true},
		{"#/components/schemas/ThreadUpdate", `{"title": null}`, false},
		{"#/components/schemas/ThreadUpdate", `{"muted": null}`, false},
		{"#/components/schemas/NewMessage", `{"text": "   "}`, false},
		{"#/components/schemas/NewMessage", `{"text": " hi "}`, true},
		{"#/components/schemas/NewShare", `{"to": "bob", "url": "mailto:bob@example.com", "title": "t"}`, false},
		{"#/components/schemas/NewApp", `{"name": "Films", "redirect_uris": ["https://films.example/cb"], "homepage": "ftp://films.example/"}`, false},
		{"#/components/parameters/Include/schema", `"messages:50"`, true},
		{"#/components/parameters/Include/schema", `"messages:51"`, false},
		{"#/components/parameters/Include/schema", `"messages:+5"`, false},
		{"#/paths/~1api~1v1~1search~1messages/get/parameters/0/schema", `"  hi  "`, true},
		{"#/paths/~1api~1v1~1search~1messages/get/parameters/0/schema", `"` + q101 + `"`, false},
		{"#/paths/~1api~1v1~1search~1messages/get/parameters/0/schema", `"   "`, false},
	} {
		s, err := c.Compile(base + tc.schema)
		if err != nil {
			t.Fatalf("%s: %v", tc.schema, err)
		}
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(tc.instance))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(inst); (err == nil) != tc.valid {
			t.Errorf("%s takes %.60s: %v, want %v (%v)", tc.schema, tc.instance, err == nil, tc.valid, err)
		}
	}
}
