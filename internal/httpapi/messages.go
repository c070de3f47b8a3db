package httpapi

import (
	"net/http"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
)

func (s *Server) handleMessageCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Text       string `json:"text"`
		ReplyToSeq int64  `json:"reply_to_seq"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	d := service.Draft{Text: in.Text, ReplyToSeq: in.ReplyToSeq}
	msg, replayed, err := s.svc.SendMessage(r.Context(), r.PathValue("id"), d, r.Header.Get("Idempotency-Key"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	} else {
		s.metrics.messagesSent.Inc()
	}
	writeJSON(w, http.StatusCreated, msg)
}

func (s *Server) handleMessageList(w http.ResponseWriter, r *http.Request) {
	q, limit, err := pageQuery(r)
	mq := service.MessageQuery{Limit: limit}
	if err == nil {
		if mq.Before, err = seqParam(q, "before"); err == nil {
			mq.After, err = seqParam(q, "after")
		}
	}
	switch include := q.Get("include"); {
	case err != nil:
	case include == "notes":
		mq.Notes = true
	case q.Has("include"):
		err = parley.Errorf(parley.EINVALID, "include must be notes")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.svc.Messages(r.Context(), r.PathValue("id"), mq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) handleMessageEdit(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Text string `json:"text"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	msg, err := s.svc.EditMessage(r.Context(), r.PathValue("id"), in.Text)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, msg)
}

func (s *Server) handleReactionPut(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Emoji string `json:"emoji"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	msg, err := s.svc.React(r.Context(), r.PathValue("id"), in.Emoji)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, msg)
}

func (s *Server) handleReactionDelete(w http.ResponseWriter, r *http.Request) {
	if _, err := s.svc.TakeBackReaction(r.Context(), r.PathValue("id"), ""); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleFlagPut(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Reason string `json:"reason"`
		Note   string `json:"note"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	flag, created, err := s.svc.FlagMessage(r.Context(), r.PathValue("id"), parley.Flag{Reason: in.Reason, Note: in.Note})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, flag)
}

func (s *Server) handleFlagGet(w http.ResponseWriter, r *http.Request) {
	flag, err := s.svc.FindFlag(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, flag)
}

func (s *Server) handleSearchMessages(w http.ResponseWriter, r *http.Request) {
	q, limit, err := pageQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.svc.SearchMessages(r.Context(), q.Get("q"), q.Get("cursor"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) handleMessageDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.DeleteMessage(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleChangeList(w http.ResponseWriter, r *http.Request) {
	q, limit, err := pageQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.svc.Changes(r.Context(), r.PathValue("id"), service.ChangeQuery{Cursor: q.Get("cursor"), Limit: limit})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}
