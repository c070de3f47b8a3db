package httpapi

import (
	"net/http"

	"github.com/parleyhq/parley/internal/service"
)

func (s *Server) handleAccessLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	in := service.AccessLogQuery{ClientID: q.Get("app")}
	before, err := seqParam(q, "before")
	if err == nil {
		in.Limit, err = limitParam(q.Get("limit"))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if before != nil {
		in.Before = *before
	}
	page, err := s.svc.AccessLog(r.Context(), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) handleAccessLogVerify(w http.ResponseWriter, r *http.Request) {
	v, err := s.svc.VerifyAccessLog(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
