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
	msg, err := s.svc.Share(r.Context(), service.NewShare{To: in.To, URL: in.URL, Title: in.Title, Note: in.Note})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, msg)
}
