package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
)

func (s *Server) handleAccountCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username    string `json:"username"`
		Password    string `json:"password"`
		DisplayName string `json:"display_name"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.svc.Register(r.Context(), service.NewAccount{Username: in.Username, Password: in.Password, DisplayName: in.DisplayName})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

// sessionCreated is the answer to a sign-in: the session's token, and the
// proof that this device signed in, for its next sign-in to send.
type sessionCreated struct {
	Token       string       `json:"token"`
	User        *parley.User `json:"user"`
	DeviceProof string       `json:"device_proof"`
}

// handleSessionCreate signs a member in. A client that keeps the device
// proof of its last sign-in and sends it is not held up by others' failed
// sign-ins to the username, as a browser with its cookie is not
// (service.WithDeviceProof).
func (s *Server) handleSessionCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username    string `json:"username"`
		Password    string `json:"password"`
		DeviceProof string `json:"device_proof"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	signedIn, err := s.svc.SignIn(service.WithDeviceProof(r.Context(), in.DeviceProof), in.Username, in.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, sessionCreated{Token: signedIn.Token, User: signedIn.User, DeviceProof: signedIn.DeviceProof})
}

func (s *Server) handleSessionDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.SignOut(r.Context()); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleOtherSessionsDelete ends every session of the member but the one
// of this request, and says how many it ended.
func (s *Server) handleOtherSessionsDelete(w http.ResponseWriter, r *http.Request) {
	n, err := s.svc.SignOutOthers(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		SessionsEnded int `json:"sessions_ended"`
	}{n})
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	u, err := s.svc.Me(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// handleMeUpdate changes what the member may change of their account:
// their display name.
func (s *Server) handleMeUpdate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		DisplayName *string `json:"display_name"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.DisplayName == nil {
		s.writeError(w, r, parley.Errorf(parley.EINVALID, "display_name is required: it is all this call changes"))
		return
	}
	u, err := s.svc.SetDisplayName(r.Context(), *in.DisplayName)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// handleAccountDelete deletes the signed-in member's account, once they
// give their password again.
func (s *Server) handleAccountDelete(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Password string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.DeleteAccount(r.Context(), in.Password); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handlePasswordChange gives the member a new password once they gave
// their current one, and ends their other sessions. It answers the
// client's device proof under the new password: the one it kept from its
// sign-in ended with the old.
func (s *Server) handlePasswordChange(w http.ResponseWriter, r *http.Request) {
	var in struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	proof, err := s.svc.ChangePassword(r.Context(), in.CurrentPassword, in.NewPassword)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		DeviceProof string `json:"device_proof"`
	}{proof})
}

// handleExport streams the signed-in member's export as a download. Once
// it has begun, a failure cuts the download off (LongAnswer.Fail).
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	e, err := s.svc.Export(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a := NewLongAnswer(w)
	if err := WriteExport(r.Context(), a, e); err != nil {
		a.Fail(r.Context(), s.log, "export", err)
		s.writeError(w, r, err)
	}
}

// WriteExport answers, through a, with a member's export as a download
// named by its Filename, as the API and the privacy pages give it.
func WriteExport(ctx context.Context, a *LongAnswer, e *service.Export) error {
	h := a.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Disposition", `attachment; filename="`+e.Filename()+`"`)
	h.Set("Cache-Control", "no-store")
	return e.WriteTo(ctx, a)
}

// longAnswerProgress is how long each write of a long answer may take to
// reach the client.
const longAnswerProgress = time.Minute

// LongAnswer writes an answer as long as a member's history, such as their
// export or their access log's download: where other answers must be
// written within a deadline for the whole, each write of it has a minute.
type LongAnswer struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	began bool
}

// NewLongAnswer returns a long answer written to w.
func NewLongAnswer(w http.ResponseWriter) *LongAnswer {
	return &LongAnswer{w: w, rc: http.NewResponseController(w)}
}

func (a *LongAnswer) Write(b []byte) (int, error) {
	a.rc.SetWriteDeadline(time.Now().Add(longAnswerProgress))
	a.began = true
	return a.w.Write(b)
}

// Fail ends the answer that failed with err. If some of it went out, it
// logs err as what failed and cuts the connection without the answer's
// end (http.ErrAbortHandler), so that the client finds the download
// failed rather than take what came of it for the whole; the request is
// counted as failed (500). If none did, it takes back the download's
// headers and returns, for the caller to answer with the error.
func (a *LongAnswer) Fail(ctx context.Context, log *slog.Logger, what string, err error) {
	if !a.began {
		a.w.Header().Del("Content-Disposition")
		a.w.Header().Del("Content-Type")
		return
	}
	log.ErrorContext(ctx, what, "err", err)
	panic(http.ErrAbortHandler)
}
