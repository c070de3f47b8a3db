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

// The metrics listener and the free disk /readyz wants come from the
// environment; a metrics address that is no host:port, or a negative
// minimum, is refused by Validate.
func TestConfig_Health(t *testing.T) {
	env := map[string]string{"PARLEY_METRICS_ADDR": "127.0.0.1:9090", "PARLEY_MIN_FREE_DISK_MIB": "512"}
	c, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsAddr != "127.0.0.1:9090" || c.MinFreeDiskMiB != 512 || c.Validate() != nil {
		t.Fatalf("from the environment: %+v (%v)", c, c.Validate())
	}
	if d := Default(); d.MetricsAddr != "" || d.MinFreeDiskMiB != 256 {
		t.Errorf("defaults: metrics at %q, %d MiB free; want at the main address, 256", d.MetricsAddr, d.MinFreeDiskMiB)
	}
	for name, change := range map[string]func(*Config){
		"MetricsAddrNoPort": func(c *Config) { c.MetricsAddr = "localhost" },
		"NegativeMinFree":   func(c *Config) { c.MinFreeDiskMiB = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			c := Default()
			change(&c)
			if err := c.Validate(); err == nil {
				t.Error("Validate took it")
			}
		})
	}
}
