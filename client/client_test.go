package client_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/parleyhq/parley/client"
)

// The client's tests against a server are in Parley's main module, which
// runs real servers; these need none.

func TestStatusOf_FindsTheServersAnswerInAWrappedError(t *testing.T) {
	problem := &client.Error{Status: http.StatusNotFound, Type: "urn:parley:problem:not_found", Detail: "no such thread"}
	for _, c := range []struct {
		err  error
		want int
	}{
		{problem, http.StatusNotFound},
		{fmt.Errorf("open the thread: %w", problem), http.StatusNotFound},
		{errors.New("connection refused"), 0},
		{nil, 0},
	} {
		if got := client.StatusOf(c.err); got != c.want {
			t.Errorf("StatusOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestError_SaysStatusTypeAndDetail(t *testing.T) {
	err := &client.Error{Status: http.StatusConflict, Type: "urn:parley:problem:conflict", Detail: "already friends"}
	if got, want := err.Error(), "parley: 409 urn:parley:problem:conflict: already friends"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
