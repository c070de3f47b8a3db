package apptest

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
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
		header       http.Header
		body         string
		want         []string // in the error; none for no error
	}{
		"OK": {"GET", "/api/v1/threads/abc", 404, contentType("application/problem+json"),
			`{"type":"urn:parley:problem:not_found","title":"Not Found","status":404,"detail":"thread not found"}`, nil},
		"LiteralSegmentWins": {"POST", "/api/v1/events/tickets", 201, contentType("application/json"),
			`{"ticket":"pet_x","expires_at":"2026-11-29T12:00:00Z"}`, nil},
		"UndocumentedStatus": {"GET", "/api/v1/me", 409, contentType("application/problem+json"), problem,
			[]string{"GET /api/v1/me", "getMe", "status 409 is not documented"}},
		"UndocumentedType": {"GET", "/api/v1/me", 401, contentType("text/plain"), "no",
			[]string{"status 401", "/components/responses/Unauthorized", `content type "text/plain"`}},
		"BodyBreaksSchema": {"POST", "/api/v1/shares", 201, contentType("application/json"),
			`{"id":"m1","thread_id":"t1","seq":1,"kind":"share","share":{"url":"https://a b","title":"x"}}`,
			[]string{"POST /api/v1/shares", "createShare", "status 201", "/paths/~1api~1v1~1shares/post/responses/201/content/application~1json/schema"}},
		"UndocumentedHeader": {"POST", "/api/v1/events/tickets", 201, withHeader(contentType("application/json"), "Content-Disposition", "attachment"),
			`{"ticket":"pet_x","expires_at":"2026-11-29T12:00:00Z"}`,
			[]string{"status 201", "header Content-Disposition", `"attachment" is not documented`}},
		"DocumentedHeader": {"POST", "/api/v1/events/tickets", 201, withHeader(contentType("application/json"), "Cache-Control", "no-store"),
			`{"ticket":"pet_x","expires_at":"2026-11-29T12:00:00Z"}`, nil},
		"UnknownPathAnswered": {"GET", "/api/v1/nope", 200, contentType("application/json"), `{}`,
			[]string{"no documented operation"}},
		"UnknownPathRefusedAsProblem": {"GET", "/api/v1/nope", 404, contentType("application/problem+json"),
			`{"type":"urn:parley:problem:not_found","title":"Not Found","status":404}`, nil},
	} {
		t.Run(name, func(t *testing.T) {
			err := cf.check(tc.method, tc.path, tc.status, tc.header, []byte(tc.body))
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

// contentType is a response's header with its Content-Type.
func contentType(t string) http.Header { return http.Header{"Content-Type": {t}} }

// withHeader is h with a field added.
func withHeader(h http.Header, name, value string) http.Header {
	h.Add(name, value)
	return h
}

// TestConformance_EventMessages feeds the checker of a WebSocket's
// messages events that break the document, and one that keeps it.
func TestConformance_EventMessages(t *testing.T) {
	cf, err := apiConformance()
	if err != nil {
		t.Fatal(err)
	}
	pointer := cf.messageSchema("GET", "/api/v1/events")
	if pointer != "/components/schemas/Event" {
		t.Fatalf("GET /api/v1/events sends %q, want /components/schemas/Event", pointer)
	}
	read := `{"type":"read.updated","thread_id":"tttttttttttttttttttttttttt","data":{"thread_id":"tttttttttttttttttttttttttt","user_id":"uuuuuuuuuuuuuuuuuuuuuuuuuu","seq":3}}`
	for name, tc := range map[string]struct {
		msg  string
		want []string // in the error; none for no error
	}{
		"OK": {read, nil},
		"UnnamedProperty": {`{"type":"read.updated","thread_id":"tttttttttttttttttttttttttt","data":{"thread_id":"tttttttttttttttttttttttttt","user_id":"uuuuuuuuuuuuuuuuuuuuuuuuuu","seq":3,"at":"x"}}`,
			[]string{"WebSocket message of GET /api/v1/events", "names no property /data/at"}},
		"UnnamedAtTheTop": {`{"type":"read.updated","thread_id":"tttttttttttttttttttttttttt","extra":1,"data":{"thread_id":"tttttttttttttttttttttttttt","user_id":"uuuuuuuuuuuuuuuuuuuuuuuuuu","seq":3}}`,
			[]string{"names no property /extra"}},
		"BreaksTheSchema": {`{"type":"read.updated","data":{"thread_id":"tttttttttttttttttttttttttt","user_id":"uuuuuuuuuuuuuuuuuuuuuuuuuu","seq":3}}`,
			[]string{"does not validate against /components/schemas/Event", "thread_id"}},
	} {
		t.Run(name, func(t *testing.T) {
			err := cf.checkMessage("GET /api/v1/events", pointer, []byte(tc.msg))
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

// TestConformance_MessageCheckerReadsFrames: the checker of a WebSocket
// hands on each text message whole, however the connection is read, from
// frames of every length, split into fragments with control frames
// between, and passes binary messages by.
func TestConformance_MessageCheckerReadsFrames(t *testing.T) {
	frame := func(first byte, payload string) []byte {
		switch n := len(payload); {
		case n < 126:
			return append([]byte{first, byte(n)}, payload...)
		case n < 1<<16:
			return append([]byte{first, 126, byte(n >> 8), byte(n)}, payload...)
		default:
			return append(binary.BigEndian.AppendUint64([]byte{first, 127}, uint64(n)), payload...)
		}
	}
	const fin, text, binaryMsg, continuation, ping = 0x80, 0x1, 0x2, 0x0, 0x9
	long, longer := strings.Repeat("a", 300), strings.Repeat("b", 70000)
	var stream []byte
	for _, f := range [][]byte{
		frame(fin|text, "short"),
		frame(text, "split "),
		frame(fin|ping, "are you there"),
		frame(continuation, long),
		frame(fin|continuation, longer),
		frame(fin|binaryMsg, "not text"),
		frame(fin|text, "last"),
	} {
		stream = append(stream, f...)
	}
	var got []string
	c := &messageChecker{ReadWriteCloser: readOnly{iotest.OneByteReader(bytes.NewReader(stream))}, check: func(msg []byte) { got = append(got, string(msg)) }}
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatal(err)
	}
	if want := []string{"short", "split " + long + longer, "last"}; !slices.Equal(got, want) {
		t.Errorf("messages %.40q, want %.40q", got, want)
	}
}

// readOnly is a connection that is only read.
type readOnly struct{ io.Reader }

func (readOnly) Write(p []byte) (int, error) { return len(p), nil }
func (readOnly) Close() error                { return nil }
