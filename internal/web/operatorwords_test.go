package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
)

// Every decision the operator page lists reads in words, an account's
// deletion and a key rotation too, not as the action's code.
func TestOperatorPages_EveryDecisionInWords(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "olga")
	env.MustMember(t, "mallory")
	mustOperator(t, env, "olga")
	console := service.ConsoleContext(context.Background())
	if err := env.Server.Service.DeleteUser(console, "mallory"); err != nil {
		t.Fatal(err)
	}
	if err := env.Server.Service.RecordKeyRotation(console, "kid-1"); err != nil {
		t.Fatal(err)
	}
	if err := env.Server.Service.RecordKeyMove(console, "the keys file /etc/parley/keys.json"); err != nil {
		t.Fatal(err)
	}
	olga := newScriptless(t, env.URL)
	olga.signIn("olga")
	_, log, _ := strings.Cut(olga.get("/operator").body, `id="decision-log"`)
	for _, code := range []string{"user.delete mallory", "keys.rotate signing", "keys.move the keys file"} {
		if strings.Contains(log, "</td><td>"+code) {
			t.Errorf("the decision log shows %q as its code:\n%s", code, log)
		}
	}
}
