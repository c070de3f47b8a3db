package httpapi

import (
	"net/http"
)

func (s *Server) handleBlockCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	blocked, err := s.svc.Block(r.Context(), in.Username)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, blocked)
}

func (s *Server) handleBlockList(w http.ResponseWriter, r *http.Request) {
	q, limit, err := pageQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.svc.BlockedMembers(r.Context(), q.Get("cursor"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) handleBlockDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Unblock(r.Context(), r.PathValue("user_id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
