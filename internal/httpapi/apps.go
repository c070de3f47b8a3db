package httpapi

import (
	"net/http"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
)

func (s *Server) handleAppCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name         string   `json:"name"`
		RedirectURIs []string `json:"redirect_uris"`
		Public       bool     `json:"public"`
		Purpose      string   `json:"purpose"`
		Homepage     string   `json:"homepage"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	reg, err := s.svc.RegisterApp(r.Context(), service.NewApp{
		Name: in.Name, RedirectURIs: in.RedirectURIs, Public: in.Public, Purpose: in.Purpose, Homepage: in.Homepage,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, reg)
}

func (s *Server) handleAppList(w http.ResponseWriter, r *http.Request) {
	apps, err := s.svc.MyApps(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Apps []*parley.App `json:"apps"`
	}{apps})
}

func (s *Server) handleAppDelete(w http.ResponseWriter, r *http.Request) {
	if _, err := s.svc.DeleteMyApp(r.Context(), r.PathValue("client_id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
