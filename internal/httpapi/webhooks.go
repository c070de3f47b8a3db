package httpapi

import (
	"net/http"

	"github.com/parleyhq/parley"
)

func (s *Server) handleWebhookCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.svc.CreateWebhookEndpoint(r.Context(), r.PathValue("client_id"), in.URL, in.Events)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, e)
}

func (s *Server) handleWebhookList(w http.ResponseWriter, r *http.Request) {
	list, err := s.svc.WebhookEndpoints(r.Context(), r.PathValue("client_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Endpoints []*parley.WebhookEndpoint `json:"endpoints"`
	}{list})
}

func (s *Server) handleWebhookGet(w http.ResponseWriter, r *http.Request) {
	e, err := s.svc.WebhookEndpoint(r.Context(), r.PathValue("client_id"), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) handleWebhookDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.DeleteWebhookEndpoint(r.Context(), r.PathValue("client_id"), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleWebhookRotate(w http.ResponseWriter, r *http.Request) {
	e, err := s.svc.RotateWebhookSecret(r.Context(), r.PathValue("client_id"), r.PathValue("id"), nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) handleWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	q, limit, err := pageQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.svc.WebhookDeliveries(r.Context(), r.PathValue("client_id"), r.PathValue("id"), q.Get("cursor"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) handleWebhookRedeliver(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.RedeliverWebhook(r.Context(), r.PathValue("client_id"), r.PathValue("id"), r.PathValue("delivery_id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
