package httpapi

import (
	"net/http"
)

func (s *Server) handleFriendAdd(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	status, err := s.svc.AddFriend(r.Context(), in.Username)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, status)
}

func (s *Server) handleFriendList(w http.ResponseWriter, r *http.Request) {
	q, limit, err := pageQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.svc.Friends(r.Context(), q.Get("cursor"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) handleFriendRequests(w http.ResponseWriter, r *http.Request) {
	q, limit, err := pageQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reqs, err := s.svc.FriendRequests(r.Context(), q.Get("cursor"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reqs)
}

func (s *Server) handleFriendDelete(w http.ResponseWriter, r *http.Request) {
	if _, err := s.svc.RemoveFriend(r.Context(), r.PathValue("user_id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
