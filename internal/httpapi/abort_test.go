package httpapi

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// failingDownload is a long answer that fails, after writing its first
// bytes or before any, and answers the error itself when it can.
func failingDownload(began bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", `attachment; filename="export.json"`)
		a := NewLongAnswer(w)
		if began {
			a.Write([]byte(`{"entries":[`))
			http.NewResponseController(w).Flush()
		}
		a.Fail(r.Context(), slog.New(slog.DiscardHandler), "export", errors.New("the database went away"))
		writeProblem(w, http.StatusInternalServerError, "internal", "Internal error.")
	}
}

// requestsCounted returns how many requests m counted with status code.
func requestsCounted(t *testing.T, m *Metrics, code string) (n float64) {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "parley_http_requests_total" {
			continue
		}
		for _, c := range f.GetMetric() {
			for _, l := range c.GetLabel() {
				if l.GetName() == "code" && l.GetValue() == code {
					n += c.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// A long answer that fails once begun is cut off, not ended as if whole:
// the client reading it finds the download failed, and the request is
// counted as failed. One that fails before any of it went out is answered
// with the error, not as a download.
func TestLongAnswer_Fail(t *testing.T) {
	for _, began := range []bool{true, false} {
		m := NewMetrics()
		mux := http.NewServeMux()
		mux.Handle("GET /download", failingDownload(began))
		srv := httptest.NewServer(m.Instrument(slog.New(slog.DiscardHandler), mux))
		resp, err := http.Get(srv.URL + "/download")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		switch {
		case began && err == nil:
			t.Errorf("the answer cut off after %q read as whole", body)
		case !began && (resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Disposition") != ""):
			t.Errorf("the download that failed before its first byte: %s, Content-Disposition %q; want the error, not a download",
				resp.Status, resp.Header.Get("Content-Disposition"))
		}
		if n := requestsCounted(t, m, "500"); n != 1 {
			t.Errorf("the failed download (begun %v) counted %v times as failed, want once", began, n)
		}
	}
}

// The API counts a download it cut off as failed, as the pages do.
func TestLongAnswer_FailCountedByTheAPI(t *testing.T) {
	m := NewMetrics()
	s := &Server{log: slog.New(slog.DiscardHandler), metrics: m, mux: http.NewServeMux()}
	s.mux.Handle("GET /download", failingDownload(true))
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	defer srv.Close()
	if resp, err := http.Get(srv.URL + "/download"); err == nil {
		io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if n := requestsCounted(t, m, "500"); n != 1 {
		t.Errorf("the download cut off counted %v times as failed, want once", n)
	}
}

// bugInHandler fails as a bug in a handler does.
func bugInHandler(w http.ResponseWriter, r *http.Request) {
	panic("assignment to entry in nil map")
}

// A handler's panic is answered 500 and logged with its stack, as
// net/http and the server's chores log theirs: "assignment to entry in nil
// map" alone tells no one where the bug is.
func TestHandlerPanic_LoggedWithItsStack(t *testing.T) {
	var logs strings.Builder
	s := &Server{log: slog.New(slog.NewJSONHandler(&logs, nil)), metrics: NewMetrics(), mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /api/v1/bug", bugInHandler)
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/bug")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", resp.StatusCode)
	}
	var line string
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, `"panic in handler"`) {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no panic logged:\n%s", logs.String())
	}
	if !strings.Contains(line, "bugInHandler") {
		t.Errorf("the panic is logged without where it happened (no stack):\n%s", line)
	}
}
