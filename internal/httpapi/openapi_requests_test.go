package httpapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode"

	"github.com/parleyhq/parley"
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

	// What the server trims is Unicode's white space (strings.TrimSpace),
	// no more and no less, whichever the character: the document's
	// patterns take around a username, and refuse as all of a search or a
	// message, exactly the characters the server does.
	compile := func(schema string) *jsonschema.Schema {
		s, err := c.Compile(base + schema)
		if err != nil {
			t.Fatalf("%s: %v", schema, err)
		}
		return s
	}
	username := compile("#/components/schemas/NewAccount/properties/username")
	search := compile("#/paths/~1api~1v1~1search~1messages/get/parameters/0/schema")
	text := compile("#/components/schemas/NewMessage/properties/text")
	takes := func(s *jsonschema.Schema, v string) bool { return s.Validate(v) == nil }
	// Every white space character, and those that other definitions count
	// as white space: U+001C to U+001F (Python's), U+180E (Unicode's
	// before 6.3), U+200B and U+FEFF (ECMA-262's \s has U+FEFF).
	chars := []rune{'x', 0x1c, 0x1d, 0x1e, 0x1f, 0x180e, 0x200b, 0x2060, 0xfeff}
	for _, rg := range unicode.White_Space.R16 {
		for r := rg.Lo; r <= rg.Hi; r += rg.Stride {
			chars = append(chars, rune(r))
		}
	}
	for _, r := range chars {
		ch := string(r)
		if doc, server := takes(username, ch+"ada"+ch), parley.ValidateUsername(parley.NormalizeUsername(ch+"ada"+ch)) == nil; doc != server {
			t.Errorf("username %+q: the document takes it: %v, the server: %v", ch+"ada"+ch, doc, server)
		}
		if doc, server := takes(search, ch), func() bool { _, err := parley.SearchText(ch); return err == nil }(); doc != server {
			t.Errorf("search %+q: the document takes it: %v, the server: %v", ch, doc, server)
		}
		// A message must show something, which no pattern says whole; the
		// document refuses what is only white space, and takes all the
		// server takes.
		if doc, server := takes(text, ch), parley.ValidateText(ch) == nil; unicode.IsSpace(r) == doc || server && !doc {
			t.Errorf("text %+q: the document takes it: %v, the server: %v", ch, doc, server)
		}
	}
}

// The document's patterns mean the same to every validator: none uses \s or
// \S, which Go's regexp (RE2) reads as ASCII white space and ECMA-262's,
// which JSON Schema names, as Unicode's and U+FEFF, neither as the server
// trims (strings.TrimSpace); the white space is spelled out instead.
func TestOpenAPI_PatternsReadAlikeInEveryDialect(t *testing.T) {
	var doc any
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if p, ok := v["pattern"].(string); ok && (strings.Contains(p, `\s`) || strings.Contains(p, `\S`)) {
				t.Errorf("%s/pattern uses \\s or \\S: %s", at, p)
			}
			for k, child := range v {
				walk(child, at+"/"+k)
			}
		case []any:
			for _, child := range v {
				walk(child, at+"/[]")
			}
		}
	}
	walk(doc, "")
}
