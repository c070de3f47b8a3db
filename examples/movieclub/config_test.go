package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

// The secrets may come from the environment, as the README's walkthrough
// gives them, but -help, which prints every flag's default, never shows
// them.
func TestConfig_SecretsFromTheEnvironmentNeverInHelp(t *testing.T) {
	env := map[string]string{
		"MOVIECLUB_CLIENT_ID":      "mc_client",
		"MOVIECLUB_CLIENT_SECRET":  "pcs_the-client-secret",
		"MOVIECLUB_WEBHOOK_SECRET": "whsec_dGhlIHdlYmhvb2sgc2VjcmV0",
	}
	getenv := func(name string) string { return env[name] }

	var help strings.Builder
	if _, err := parseConfig([]string{"-help"}, getenv, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-help: %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(help.String(), "mc_client") {
		t.Errorf("-help does not show the client ID from the environment as its default:\n%s", help.String())
	}
	for _, secret := range []string{env["MOVIECLUB_CLIENT_SECRET"], env["MOVIECLUB_WEBHOOK_SECRET"]} {
		if strings.Contains(help.String(), secret) {
			t.Errorf("-help shows the secret %q:\n%s", secret, help.String())
		}
	}

	c, err := parseConfig(nil, getenv, &help)
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientSecret != env["MOVIECLUB_CLIENT_SECRET"] || c.WebhookSecret != env["MOVIECLUB_WEBHOOK_SECRET"] {
		t.Errorf("secrets from the environment: %q, %q", c.ClientSecret, c.WebhookSecret)
	}
	c, err = parseConfig([]string{"-client-secret", "pcs_from-the-flag"}, getenv, &help)
	if err != nil || c.ClientSecret != "pcs_from-the-flag" {
		t.Errorf("a flag did not win over the environment: %q, %v", c.ClientSecret, err)
	}
}

// A webhook secret that is not one, mistyped or cut short, stops movieclub
// at start, saying so, rather than starting it to answer every delivery
// 500 until Parley disables the endpoint.
func TestConfig_RefusesAWebhookSecretThatIsNone(t *testing.T) {
	for _, secret := range []string{"whsec_not base64!", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} {
		env := map[string]string{"MOVIECLUB_CLIENT_ID": "pc_x", "MOVIECLUB_CLIENT_SECRET": "s", "MOVIECLUB_WEBHOOK_SECRET": secret}
		_, err := parseConfig(nil, func(name string) string { return env[name] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--webhook-secret") {
			t.Errorf("webhook secret %q: %v, want an error naming --webhook-secret", secret, err)
		}
	}
}
