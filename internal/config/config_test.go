package config

import (
	"math"
	"strings"
	"testing"
)

// Rate limits come from the environment as rates (decimals allowed) and
// bursts; a rate of 0 lifts a limit, and a limit that cannot work is
// refused by Validate.
func TestConfig_RateLimits(t *testing.T) {
	env := map[string]string{
		"PARLEY_RATE_LIMIT_APP": "2.5", "PARLEY_RATE_LIMIT_APP_BURST": "10",
		"PARLEY_RATE_LIMIT_MEMBER": "0", "PARLEY_RATE_LIMIT_MEMBER_BURST": "0",
	}
	c, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimitApp != 2.5 || c.RateLimitAppBurst != 10 || c.RateLimitMember != 0 || c.Validate() != nil {
		t.Fatalf("from the environment: %+v (%v)", c, c.Validate())
	}
	if _, err := FromEnv(func(k string) string { return map[string]string{"PARLEY_RATE_LIMIT_APP": "fast"}[k] }); err == nil {
		t.Error("a rate that is not a number was taken")
	}
	for name, change := range map[string]func(*Config){
		"NegativeRate": func(c *Config) { c.RateLimitMember = -1 },
		"NotANumber":   func(c *Config) { c.RateLimitApp = math.NaN() },
		"TooFast":      func(c *Config) { c.RateLimitApp = 2e6 },
		"NoBurst":      func(c *Config) { c.RateLimitAppBurst = 0 },
	} {
		t.Run(name, func(t *testing.T) {
			c := Default()
			change(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "rate limit") {
				t.Errorf("Validate: %v, want a rate limit refused", err)
			}
		})
	}
}

// The key that wraps the provider's keys comes from the environment as
// base64 of 32 bytes; anything else is refused without being repeated.
func TestConfig_KeysWrapKey(t *testing.T) {
	good := strings.Repeat("A", 43) + "="
	env := map[string]string{"PARLEY_KEYS_WRAP_KEY": good, "PARLEY_KEYS_FILE": "/etc/parley/keys.json"}
	c, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if k, err := c.WrapKey(); err != nil || len(k) != 32 || c.KeysFile != "/etc/parley/keys.json" {
		t.Fatalf("wrap key %d bytes, %v; keys file %q", len(k), err, c.KeysFile)
	}
	for _, bad := range []string{"c2VjcmV0LXRvby1zaG9ydA==", "not base64 at all!", good + good} {
		c.KeysWrapKey = bad
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "PARLEY_KEYS_WRAP_KEY must be") || strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
