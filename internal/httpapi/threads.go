package httpapi

import (
	"math"
	"net/http"
	"net/url"
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
	th, created, replayed, err := s.svc.CreateThread(r.Context(), service.NewThread{Participants: in.Participants, Title: in.Title,
		Kind: in.Kind, IdempotencyKey: r.Header.Get("Idempotency-Key")})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, status, th)
}

func (s *Server) handleThreadList(w http.ResponseWriter, r *http.Request) {
	q, limit, err := pageQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	withMessages, err := includeMessages(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.svc.Threads(r.Context(), q.Get("cursor"), limit, withMessages)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// includeMessages parses include=messages:N, 0 when the query has no
// include; one given empty is not messages:N.
func includeMessages(q url.Values) (int, error) {
	if !q.Has("include") {
		return 0, nil
	}
	n, ok := strings.CutPrefix(q.Get("include"), "messages:")
	if !ok {
		return 0, parley.Errorf(parley.EINVALID, "include must be messages:N")
	}
	v, ok := decimal(n)
	if !ok {
		return 0, parley.ErrInboxMessages
	}
	return int(min(v, math.MaxInt32)), nil // the service refuses one over its bound
}

func (s *Server) handleThreadGet(w http.ResponseWriter, r *http.Request) {
	th, err := s.svc.Thread(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, th)
}

func (s *Server) handleThreadUpdate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title *string `json:"title"`
		Muted *bool   `json:"muted"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	th, err := s.svc.UpdateThread(r.Context(), r.PathValue("id"), service.ThreadUpdate{Title: in.Title, Muted: in.Muted})
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

func (s *Server) handleThreadTyping(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Typing(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleParticipantRemove(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.RemoveParticipant(r.Context(), r.PathValue("id"), r.PathValue("user_id")); err != nil {
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

// handleReadMarkers answers how far each participant of a thread has
// read: what read.updated events told, for a client that missed some.
func (s *Server) handleReadMarkers(w http.ResponseWriter, r *http.Request) {
	markers, err := s.svc.ReadMarkers(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		ReadMarkers []parley.ReadMarker `json:"read_markers"`
	}{markers})
}

// seqParam parses an optional message number; absent is nil.
func seqParam(q url.Values, name string) (*int64, error) {
	if !q.Has(name) {
		return nil, nil
	}
	n, ok := decimal(q.Get(name))
	if !ok {
		return nil, parley.Errorf(parley.EINVALID, "%s must be a whole number, written in digits only", name)
	}
	return &n, nil
}

// limitParam parses the query's optional page size; absent is 0, the
// service's default, and one given, even empty, must be positive.
func limitParam(q url.Values) (int, error) {
	if !q.Has("limit") {
		return 0, nil
	}
	n, ok := decimal(q.Get("limit"))
	if !ok || n < 1 {
		return 0, parley.Errorf(parley.EINVALID, "limit must be a positive whole number, written in digits only")
	}
	return int(min(n, math.MaxInt32)), nil // the service refuses one over its page's size
}

// decimal parses a number of the query as the API documents them: ASCII
// digits only, so that "+5", " 5" and "-0" are refused, not read as 5 or
// 0 (strconv takes a sign), and a value over int64 is refused too.
func decimal(v string) (int64, bool) {
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}
