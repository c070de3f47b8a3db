package httpapi

import (
	"net/http"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
)

func (s *Server) handleAccessLog(w http.ResponseWriter, r *http.Request) {
	q, limit, err := pageQuery(r)
	if err == nil && q.Has("app") && q.Get("app") == "" {
		// Taken as none, it would answer every app's entries to a client
		// whose app came out empty.
		err = parley.Errorf(parley.EINVALID, "app must be an app's client_id")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.svc.AccessLog(r.Context(), service.AccessLogQuery{ClientID: q.Get("app"), Cursor: q.Get("cursor"), Limit: limit})
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

func (s *Server) handleGrantList(w http.ResponseWriter, r *http.Request) {
	list, err := s.svc.ConnectedApps(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Grants []*parley.ConnectedApp `json:"grants"`
	}{list})
}

func (s *Server) handleGrantNarrow(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Scopes    []string `json:"scopes"`
		ThreadIDs []string `json:"thread_ids"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	a, _, err := s.svc.NarrowGrant(r.Context(), r.PathValue("id"), service.GrantNarrowing{Scopes: in.Scopes, ThreadIDs: in.ThreadIDs})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) handleGrantRevoke(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.RevokeGrant(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleThreadApps(w http.ResponseWriter, r *http.Request) {
	a, err := s.svc.ThreadApps(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) handleThreadAppAccess(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Allowed *bool `json:"allowed"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Allowed == nil {
		s.writeError(w, r, parley.Errorf(parley.EINVALID, "allowed must be true or false"))
		return
	}
	a, err := s.svc.SetThreadAppAccess(r.Context(), r.PathValue("id"), *in.Allowed)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}
