package httpapi

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// An answer that fails once begun is cut off, not ended as if whole: the
// client reading it finds the download failed.
func TestAbortAnswer_ClientSeesTheDownloadFail(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"entries":[`))
		http.NewResponseController(w).Flush()
		AbortAnswer(r.Context(), slog.New(slog.DiscardHandler), "write", errors.New("the database went away"))
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if body, err := io.ReadAll(resp.Body); err == nil {
		t.Errorf("the answer cut off after %q read as whole", body)
	}
}
