package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// messagePage is a page of 50 messages as history returns it, with
// characters encoding/json escapes, a deleted message, an app's and a
// share's.
func messagePage() *parley.MessagePage {
	at := time.Date(2026, 11, 29, 14, 0, 0, 123456000, time.UTC)
	p := &parley.MessagePage{HasMore: true}
	for i := range 50 {
		m := &parley.Message{ID: parley.NewID(), ThreadID: "thr", Seq: int64(i + 1), Kind: parley.MessageKindText,
			Sender: parley.UserRef{ID: "usr", Username: "u<&>", DisplayName: "Zoë \u2028"},
			Text:   "bench <message> & " + strings.Repeat("x", 80), CreatedAt: at.Add(time.Duration(i) * time.Second)}
		switch i {
		case 1:
			m.DeletedAt, m.Text = &at, ""
		case 2:
			m.Via = &parley.Via{ClientID: "app", Name: "App"}
		case 3:
			m.Share = &parley.Share{URL: "https://example.com/?a=1&b=<2>", Title: "Title"}
		}
		p.Messages = append(p.Messages, m)
	}
	return p
}

// writeJSON's bodies are what encoding/json's Encoder writes, byte for
// byte, for everything the API answers with: a page of messages, a nil
// slice, a report's cells with their MarshalJSON, an empty struct.
func TestWriteJSON_WritesWhatEncodingJSONWrites(t *testing.T) {
	t.Parallel()
	values := map[string]any{
		"page":      messagePage(),
		"nil slice": &parley.MessagePage{},
		"cells":     []parley.Cell{{Value: 3}, {Below: 5}},
		"empty":     struct{}{},
	}
	for name, v := range values {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(v); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		writeJSON(rec, 200, v)
		if got := rec.Body.String(); got != want.String() {
			t.Errorf("%s: writeJSON wrote\n%s\nencoding/json writes\n%s", name, got, want.String())
		}
	}
}

// BenchmarkWriteJSON_MessagePage encodes a page of 50 messages, as a
// history read answers.
func BenchmarkWriteJSON_MessagePage(b *testing.B) {
	p := messagePage()
	rec := httptest.NewRecorder()
	for b.Loop() {
		rec.Body.Reset()
		writeJSON(rec, 200, p)
	}
}
