package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
)

func (s *Server) handleThreadCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Participants []string `json:"participants"`
		Title        string   `json:"title"`
		Kind         string   `json:"kind"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	th, created, err := s.svc.CreateThread(r.Context(), service.NewThread{Participants: in.Participants, Title: in.Title, Kind: in.Kind})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, th)
}

func (s *Server) handleThreadList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), "limit")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	withMessages, err := includeMessages(q.Get("include"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.svc.Threads(r.Context(), q.Get("cursor"), int(limit), withMessages)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// includeMessages parses include=messages:N.
func includeMessages(include string) (int, error) {
	if include == "" {
		return 0, nil
	}
	n, ok := strings.CutPrefix(include, "messages:")
	v, err := strconv.Atoi(n)
	if !ok || err != nil {
		return 0, parley.Errorf(parley.EINVALID, "include must be messages:N")
	}
	return v, nil
}

func (s *Server) handleThreadGet(w http.ResponseWriter, r *http.Request) {
	th, err := s.svc.Thread(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, th)
}

// participantList is the body listing a thread's participants.
type participantList struct {
	Participants []parley.UserRef `json:"participants"`
}

func (s *Server) handleParticipantList(w http.ResponseWriter, r *http.Request) {
	users, err := s.svc.Participants(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, participantList{users})
}

func (s *Server) handleParticipantAdd(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	users, err := s.svc.AddParticipant(r.Context(), r.PathValue("id"), in.Username)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, participantList{users})
}

func (s *Server) handleThreadLeave(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.LeaveThread(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleThreadRead(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Seq *int64 `json:"seq"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Seq == nil {
		s.writeError(w, r, parley.Errorf(parley.EINVALID, "seq is required"))
		return
	}
	if err := s.svc.MarkRead(r.Context(), r.PathValue("id"), *in.Seq); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// intParam parses an optional non-negative integer query parameter; empty is 0.
func intParam(v, name string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, parley.Errorf(parley.EINVALID, "%s must be a non-negative integer", name)
	}
	return n, nil
}
