package httpapi

import (
	"net/http"

	"github.com/parleyhq/parley/internal/service"
)

func (s *Server) handleShareCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		To    string `json:"to"`
		URL   string `json:"url"`
		Title string `json:"title"`
		Note  string `json:"note"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	msg, replayed, err := s.svc.Share(r.Context(), service.NewShare{
		To: in.To, URL: in.URL, Title: in.Title, Note: in.Note, IdempotencyKey: r.Header.Get("Idempotency-Key"),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusCreated, msg)
}
