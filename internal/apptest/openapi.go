package apptest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The API does what its document says: every response an Env's clients get
// from /api/v1 is checked against internal/httpapi/openapi.json. The
// operation is found by method and path template; its status must be
// documented (exactly, or as 4XX, 5XX or default); the content type must be
// one documented for that status; the body must validate against that
// content's schema, formats included; and a header of listedHeaders it
// carries must be one the document lists for that status. A response under /api/v1 that no
// operation takes (an unknown path, or a method the path lacks) must be a
// problem. Anything else fails the test, naming the operation, the status
// and the schema path that disagree.
//
// An operation that switches to a WebSocket (101) names the schema of the
// messages it sends in x-parley-websocket-message: each text message the
// server sends must validate against it, formats included, and hold no
// property, at any depth, that the schema does not name.

// openAPIDocURL names the document as a schema resource.
const openAPIDocURL = "https://parley.invalid/openapi.json"

// conformance holds the compiled document; it is built once per test binary.
type conformance struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	// templates are the document's paths, split into segments.
	templates [][]string

	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema
}

var (
	conformanceOnce sync.Once
	conformanceDoc  *conformance
	conformanceErr  error
)

// apiConformance returns the compiled document of /api/v1.
func apiConformance() (*conformance, error) {
	conformanceOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(httpapi.OpenAPI()))
		if err != nil {
			conformanceErr = fmt.Errorf("openapi.json: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020) // OpenAPI 3.1's schema dialect
		c.AssertFormat()
		if err := c.AddResource(openAPIDocURL, doc); err != nil {
			conformanceErr = fmt.Errorf("openapi.json: %w", err)
			return
		}
		cf := &conformance{doc: doc.(map[string]any), compiler: c, schemas: map[string]*jsonschema.Schema{}}
		for path := range cf.doc["paths"].(map[string]any) {
			cf.templates = append(cf.templates, strings.Split(path, "/"))
		}
		conformanceDoc = cf
	})
	return conformanceDoc, conformanceErr
}

// operation finds the document's operation for a request: the path
// template the path matches, preferring literal segments to parameters
// (/events/tickets over /events/{id}), and its method.
func (cf *conformance) operation(method, path string) (template string, op map[string]any, pathKnown bool) {
	segs := strings.Split(path, "/")
	best := -1
	for _, tpl := range cf.templates {
		if len(tpl) != len(segs) {
			continue
		}
		literal, ok := 0, true
		for i, t := range tpl {
			switch {
			case strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}"):
				ok = ok && segs[i] != ""
			case t == segs[i]:
				literal++
			default:
				ok = false
			}
		}
		if ok && literal > best {
			best, template = literal, strings.Join(tpl, "/")
		}
	}
	if best < 0 {
		return "", nil, false
	}
	op, _ = cf.doc["paths"].(map[string]any)[template].(map[string]any)[strings.ToLower(method)].(map[string]any)
	return template, op, true
}

// schema compiles, once, the schema at a JSON pointer into the document.
func (cf *conformance) schema(pointer string) (*jsonschema.Schema, error) {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	if s, ok := cf.schemas[pointer]; ok {
		return s, nil
	}
	s, err := cf.compiler.Compile(openAPIDocURL + "#" + pointer)
	if err != nil {
		return nil, err
	}
	cf.schemas[pointer] = s
	return s, nil
}

// resolve follows a response object's $ref into components, returning the
// object and its JSON pointer.
func (cf *conformance) resolve(v any, pointer string) (map[string]any, string) {
	obj, _ := v.(map[string]any)
	for obj != nil {
		ref, ok := obj["$ref"].(string)
		if !ok {
			break
		}
		pointer = strings.TrimPrefix(ref, "#")
		obj = cf.node(pointer)
	}
	return obj, pointer
}

// node returns the object at a JSON pointer into the document, or nil.
func (cf *conformance) node(pointer string) map[string]any {
	cur := any(cf.doc)
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		switch v := cur.(type) {
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return nil
			}
			cur = v[i]
		case map[string]any:
			cur = v[pointerUnescaper.Replace(tok)]
		default:
			return nil
		}
	}
	obj, _ := cur.(map[string]any)
	return obj
}

// pointerEscaper and pointerUnescaper escape and unescape a JSON pointer's
// token (RFC 6901). Made once: a Replacer builds its tables at its first
// use, which made one per token 35% of the CPU of the events' benchmark.
var (
	pointerEscaper   = strings.NewReplacer("~", "~0", "/", "~1")
	pointerUnescaper = strings.NewReplacer("~1", "/", "~0", "~")
)

// pointerEscape escapes a JSON pointer token (RFC 6901).
func pointerEscape(s string) string { return pointerEscaper.Replace(s) }

// listedHeaders are the response headers the document must list wherever
// the API sends them: they tell a client or a cache what to do with the
// body (keep it or not, save it as a file), which a partner must know.
var listedHeaders = []string{"Cache-Control", "Content-Disposition"}

// check returns what is wrong with a response, or nil. body is the whole
// body; it is ignored for a 101, whose body is the new protocol.
//
// HEAD is answered as GET is, without the body (RFC 9110 section 9.3.2):
// it is checked against the GET operation, its content type included, and
// its empty body is not validated.
func (cf *conformance) check(method, path string, status int, header http.Header, body []byte) error {
	where, contentType := method+" "+path, header.Get("Content-Type")
	head := method == http.MethodHead
	if head {
		method = http.MethodGet
	}
	template, op, known := cf.operation(method, path)
	if !known || op == nil {
		// No operation takes it: it must be refused with a problem.
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			return fmt.Errorf("%s is no documented operation, yet it answered %d", where, status)
		}
		if head {
			return checkType(where+" (no operation)", status, "application/problem+json", contentType)
		}
		return cf.checkBody(where+" (no operation)", status, "/components/schemas/Problem", "application/problem+json", contentType, body)
	}
	opPointer := "/paths/" + pointerEscape(template) + "/" + strings.ToLower(method)
	where = fmt.Sprintf("%s %s (operation %v, %s)", method, template, op["operationId"], path)
	responses, _ := op["responses"].(map[string]any)
	key := strconv.Itoa(status)
	for _, k := range []string{key, key[:1] + "XX", "default"} {
		if _, ok := responses[k]; ok {
			key = k
			break
		}
	}
	raw, ok := responses[key]
	if !ok {
		documented := slices.Sorted(maps.Keys(responses))
		return fmt.Errorf("%s: status %d is not documented (documented: %s)", where, status, strings.Join(documented, ", "))
	}
	resp, respPointer := cf.resolve(raw, opPointer+"/responses/"+key)
	where = fmt.Sprintf("%s: status %d (%s)", where, status, respPointer)
	listed, _ := resp["headers"].(map[string]any)
	for _, h := range listedHeaders {
		if _, ok := listed[h]; !ok && header.Get(h) != "" {
			return fmt.Errorf("%s: header %s: %q is not documented", where, h, header.Get(h))
		}
	}
	if status == http.StatusSwitchingProtocols {
		return nil
	}
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) > 0 {
			return fmt.Errorf("%s documents no body, yet one came (%s): %.200s", where, contentType, body)
		}
		return nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	media, ok := content[mt].(map[string]any)
	if !ok {
		types := slices.Sorted(maps.Keys(content))
		return fmt.Errorf("%s: content type %q is not documented (documented: %s)", where, contentType, strings.Join(types, ", "))
	}
	if _, ok := media["schema"]; !ok || head {
		return nil
	}
	return cf.checkBody(where, status, respPointer+"/content/"+pointerEscape(mt)+"/schema", mt, contentType, body)
}

// checkBody validates a body against the schema at pointer, after checking
// it came as wantType.
func (cf *conformance) checkBody(where string, status int, pointer, wantType, contentType string, body []byte) error {
	if err := checkType(where, status, wantType, contentType); err != nil {
		return err
	}
	sch, err := cf.schema(pointer)
	if err != nil {
		return fmt.Errorf("%s: schema %s does not compile: %w", where, pointer, err)
	}
	var inst any
	if wantType == "text/plain" {
		inst = string(body)
	} else if inst, err = jsonschema.UnmarshalJSON(bytes.NewReader(body)); err != nil {
		return fmt.Errorf("%s: body is not JSON: %w: %.200s", where, err, body)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("%s: body does not validate against %s:\n%v\nbody: %.500s", where, pointer, err, body)
	}
	return nil
}

// checkType checks that a response came as wantType.
func checkType(where string, status int, wantType, contentType string) error {
	if mt, _, _ := mime.ParseMediaType(contentType); mt != wantType {
		return fmt.Errorf("%s: status %d came as %q, want %s", where, status, contentType, wantType)
	}
	return nil
}

// ConformingTransport is an http.RoundTripper that checks every response
// from /api/v1 against the OpenAPI document, and every message of a
// WebSocket it opens there as it is read, calling fail with what
// disagrees. Other paths pass unchecked.
type ConformingTransport struct {
	Base http.RoundTripper
	Fail func(format string, args ...any)
}

// RoundTrip sends the request and checks the response. The body is read
// whole and handed on unchanged. The secrets both carry are recorded
// (Secret).
func (t *ConformingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.GetBody != nil && strings.HasPrefix(req.URL.Path, "/api/v1/") {
		if b, err := req.GetBody(); err == nil {
			sent, _ := io.ReadAll(b)
			secretsIn(sent)
		}
	}
	resp, err := t.Base.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/api/v1/") {
		return resp, err
	}
	cf, err := apiConformance()
	if err != nil {
		t.Fail("conformance: %v", err)
		return resp, nil
	}
	var body []byte
	if resp.StatusCode != http.StatusSwitchingProtocols && req.Method != http.MethodHead {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		secretsIn(body)
	}
	if err := cf.check(req.Method, req.URL.Path, resp.StatusCode, resp.Header, body); err != nil {
		t.Fail("the API disagrees with openapi.json: %v", err)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		if pointer := cf.messageSchema(req.Method, req.URL.Path); pointer != "" {
			if conn, ok := resp.Body.(io.ReadWriteCloser); ok {
				where := req.Method + " " + req.URL.Path
				resp.Body = &messageChecker{ReadWriteCloser: conn, check: func(msg []byte) {
					if err := cf.checkMessage(where, pointer, msg); err != nil {
						t.Fail("the API disagrees with openapi.json: %v", err)
					}
				}}
			}
		}
	}
	return resp, nil
}

// messageSchema returns the pointer to the schema of the WebSocket
// messages an operation sends (x-parley-websocket-message), or "".
func (cf *conformance) messageSchema(method, path string) string {
	template, op, _ := cf.operation(method, path)
	if _, ok := op["x-parley-websocket-message"]; !ok {
		return ""
	}
	_, pointer := cf.resolve(op["x-parley-websocket-message"], "/paths/"+pointerEscape(template)+"/"+strings.ToLower(method)+"/x-parley-websocket-message")
	return pointer
}

// checkMessage checks a WebSocket text message against the schema at
// pointer: it must validate, and name no property the schema does not.
func (cf *conformance) checkMessage(where, pointer string, msg []byte) error {
	where = "WebSocket message of " + where
	if err := cf.checkBody(where, http.StatusSwitchingProtocols, pointer, "application/json", "application/json", msg); err != nil {
		return err
	}
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(msg)) // JSON, as checkBody found
	var unnamed []string
	cf.unnamed([]string{pointer}, inst, "", &unnamed)
	if len(unnamed) > 0 {
		slices.Sort(unnamed)
		return fmt.Errorf("%s: %s names no property %s: %.500s", where, pointer, strings.Join(unnamed, ", "), msg)
	}
	return nil
}

// unnamed appends to found, as JSON pointers into inst (at is inst's), the
// properties of inst that none of the schemas at pointers names: not in
// their properties, nor in those of the schemas they refer to or combine
// (allOf, anyOf, oneOf, and then or else as their if holds), when they
// name any.
func (cf *conformance) unnamed(pointers []string, inst any, at string, found *[]string) {
	props, items := map[string][]string{}, []string(nil)
	for _, p := range pointers {
		cf.named(p, inst, props, &items)
	}
	switch inst := inst.(type) {
	case map[string]any:
		if len(props) == 0 {
			return // a free-form object
		}
		for k, v := range inst {
			if len(props[k]) == 0 {
				*found = append(*found, at+"/"+pointerEscape(k))
			}
			cf.unnamed(props[k], v, at+"/"+pointerEscape(k), found)
		}
	case []any:
		for i, v := range inst {
			cf.unnamed(items, v, fmt.Sprintf("%s/%d", at, i), found)
		}
	}
}

// named gathers, for inst, the schemas of each property and of the items
// that the schema at pointer gives, following $ref and combinations.
func (cf *conformance) named(pointer string, inst any, props map[string][]string, items *[]string) {
	node := cf.node(pointer)
	properties, _ := node["properties"].(map[string]any)
	for k := range properties {
		props[k] = append(props[k], pointer+"/properties/"+pointerEscape(k))
	}
	if _, ok := node["items"]; ok {
		*items = append(*items, pointer+"/items")
	}
	if ref, ok := node["$ref"].(string); ok {
		cf.named(strings.TrimPrefix(ref, "#"), inst, props, items)
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		schemas, _ := node[kw].([]any)
		for i := range schemas {
			cf.named(fmt.Sprintf("%s/%s/%d", pointer, kw, i), inst, props, items)
		}
	}
	if _, ok := node["if"]; ok {
		branch := "else"
		if s, err := cf.schema(pointer + "/if"); err == nil && s.Validate(inst) == nil {
			branch = "then"
		}
		if _, ok := node[branch]; ok {
			cf.named(pointer+"/"+branch, inst, props, items)
		}
	}
}

// messageChecker is a WebSocket connection, as a client reads it, that
// hands check each text message the server sends, whole, as it passes.
// The server's frames are never masked (RFC 6455 section 5.1); the
// connection is not compressed, as Parley's clients ask for none.
type messageChecker struct {
	io.ReadWriteCloser
	check func(msg []byte)

	unread []byte // the start of a frame not yet whole
	msg    []byte // the text message so far
	inText bool   // whether a text message's frames are coming
}

func (c *messageChecker) Read(p []byte) (int, error) {
	n, err := c.ReadWriteCloser.Read(p)
	c.unread = append(c.unread, p[:n]...)
	for c.frame() {
	}
	return n, err
}

// frame takes one whole frame from unread (RFC 6455 section 5.2), and
// reports whether there was one.
func (c *messageChecker) frame() bool {
	b := c.unread
	if len(b) < 2 {
		return false
	}
	fin, opcode := b[0]&0x80 != 0, b[0]&0x0f
	size, header := uint64(b[1]&0x7f), 2
	switch {
	case size == 126 && len(b) >= 4:
		size, header = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case size == 127 && len(b) >= 10:
		size, header = binary.BigEndian.Uint64(b[2:]), 10
	case size >= 126:
		return false
	}
	if uint64(len(b)-header) < size {
		return false
	}
	payload := b[header : header+int(size)]
	c.unread = b[header+int(size):]
	switch opcode {
	case 0x1: // text
		c.msg, c.inText = append(c.msg[:0], payload...), true
	case 0x2: // binary
		c.inText = false
	case 0x0: // continuation
		c.msg = append(c.msg, payload...)
	default: // control frames, which may come between a message's frames
		return true
	}
	if fin && c.inText {
		c.check(c.msg)
		c.inText = false
	}
	return true
}

// CheckWebhook checks a webhook delivery's body against the OpenAPI
// document's webhooks: its type must be one the document lists, and the
// body must validate against that event's schema.
func CheckWebhook(body []byte) error {
	cf, err := apiConformance()
	if err != nil {
		return err
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return fmt.Errorf("webhook body is not JSON: %w: %.200s", err, body)
	}
	hooks, _ := cf.doc["webhooks"].(map[string]any)
	if _, ok := hooks[head.Type]; !ok {
		return fmt.Errorf("webhook of type %q, which openapi.json does not list", head.Type)
	}
	pointer := "/webhooks/" + pointerEscape(head.Type) + "/post/requestBody/content/application~1json/schema"
	return cf.checkBody("webhook "+head.Type, 0, pointer, "application/json", "application/json", body)
}

// CheckOpenAPIExamples checks every example the OpenAPI document gives
// (an object's "example", or each of its "examples"' values) against the
// schema beside it, and returns how many it checked and what is wrong
// with each that does not hold, so that no example a partner copies
// disagrees with what the document promises.
func CheckOpenAPIExamples() (checked int, problems []error) {
	cf, err := apiConformance()
	if err != nil {
		return 0, []error{err}
	}
	var walk func(v any, pointer string)
	walk = func(v any, pointer string) {
		switch v := v.(type) {
		case map[string]any:
			if _, ok := v["schema"]; ok {
				var examples []any
				if ex, ok := v["example"]; ok {
					examples = append(examples, ex)
				}
				if exs, ok := v["examples"].(map[string]any); ok {
					for _, ex := range exs {
						if ex, ok := ex.(map[string]any); ok {
							examples = append(examples, ex["value"])
						}
					}
				}
				for _, ex := range examples {
					checked++
					s, err := cf.schema(pointer + "/schema")
					if err == nil {
						err = s.Validate(ex)
					}
					if err != nil {
						problems = append(problems, fmt.Errorf("the example at %s: %w", pointer, err))
					}
				}
			}
			for k, child := range v {
				walk(child, pointer+"/"+pointerEscape(k))
			}
		case []any:
			for i, child := range v {
				walk(child, fmt.Sprintf("%s/%d", pointer, i))
			}
		}
	}
	walk(cf.doc, "")
	return checked, problems
}
