package app

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// The OIDC library logs each authorization refusal it sends back to an
// app with the app's state in it, through slog's default logger, which is
// the server's: the server's logger leaves the state out, and keeps the
// rest.
func TestNewLogger_LeavesOutTheAppsState(t *testing.T) {
	var out bytes.Buffer
	log := newLogger(&out, slog.LevelInfo)
	refusal := &oidc.Error{ErrorType: oidc.InvalidRequest, Description: "code_challenge is missing", State: "st_9f8e7d6c5b4a3928", SessionState: "ss_1706f5e4d3c2"}
	log.Warn("auth request", slog.Any("oidc_error", refusal))
	line := out.String()
	if strings.Contains(line, "st_9f8e7d6c5b4a3928") || strings.Contains(line, "ss_1706f5e4d3c2") {
		t.Errorf("the log holds the app's state: %s", line)
	}
	if !strings.Contains(line, "code_challenge is missing") || !strings.Contains(line, `"type":"invalid_request"`) {
		t.Errorf("the log lost the refusal: %s", line)
	}
}
