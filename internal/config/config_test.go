package config

import (
	"log/slog"
	"math"
	"os"
	"strings"
	"testing"
	"time"
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

// Trusted proxies are addresses or CIDR prefixes separated by commas,
// from the environment too; anything else is refused.
func TestConfig_TrustedProxies(t *testing.T) {
	c, err := FromEnv(func(k string) string {
		return map[string]string{"PARLEY_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8,::1"}[k]
	})
	if err != nil || c.Validate() != nil {
		t.Fatalf("from the environment: %v, %v", err, c.Validate())
	}
	var got []string
	for _, p := range c.Proxies() {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "127.0.0.1/32 10.0.0.0/8 ::1/128" {
		t.Errorf("proxies %v", got)
	}
	for _, bad := range []string{"proxy.example.com", "10.0.0.0/33", "fe80::1%eth0"} {
		c := Default()
		c.TrustedProxies = bad
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "trusted proxy") {
			t.Errorf("Validate(%q): %v, want it refused", bad, err)
		}
	}
}

// The trusted proxies and the log level are parsed once, by Validate:
// a Config it did not pass, never validated or refused, has neither,
// and asking for them panics rather than trust no proxy or log at info.
func TestConfig_ParsedByValidate(t *testing.T) {
	c := Default()
	c.TrustedProxies, c.LogLevel = "10.0.0.1", "debug"
	mustPanic(t, "Proxies before Validate", func() { c.Proxies() })
	mustPanic(t, "Level before Validate", func() { c.Level() })
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.Proxies(); len(got) != 1 || got[0].String() != "10.0.0.1/32" {
		t.Errorf("Proxies() = %v", got)
	}
	if got := c.Level(); got != slog.LevelDebug {
		t.Errorf("Level() = %v", got)
	}
	c.LogLevel = "loud"
	if err := c.Validate(); err == nil {
		t.Fatal("Validate took log level \"loud\"")
	}
	mustPanic(t, "Level after a refused Validate", func() { c.Level() })
}

// mustPanic fails the test unless fn panics.
func mustPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	fn()
}

// The public URL is the OpenID Connect issuer, the origin the pages'
// WebSocket must come from and, by its scheme, what makes cookies Secure:
// one with a path, a scheme in capitals (which a check for "https://"
// would take for plain http, and leave the session cookie unprotected), a
// host in capitals or the scheme's default port (which browsers leave out
// of the origin) is refused.
func TestConfig_PublicURL(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://chat.example.com":        true,
		"https://chat.example.com/":       true,
		"http://127.0.0.1:8080":           true,
		"https://chat.example.com/parley": false,
		"ftp://chat.example.com":          false,
		"HTTPS://chat.example.com":        false,
		"Https://chat.example.com":        false,
		"HTTP://127.0.0.1:8080":           false,
		"https://chat.example.com:8443":   true,
		"https://[::1]:8443":              true,
		// Not as a browser writes the origin the pages' WebSocket comes
		// from, nor the issuer as clients compare it.
		"https://chat.example.com:443":  false,
		"http://chat.example.com:80":    false,
		"https://Chat.Example.com":      false,
		"https://chat.example.com:0443": false,
		"http://127.0.0.1:08080":        false,
		"https://chat.example.com:":     false,
		"https://bücher.example":        false, // browsers write xn--bcher-kva
		"https://xn--bcher-kva.example": true,
		"https://chat.example.com.":     true,
		"http://[fe80::1]:8080":         true,
		"https://chat.example.com/?":    false,
		// A user name or password would be published in every endpoint
		// of discovery, and no browser's origin holds one.
		"https://user:pw@chat.example.com": false,
		"https://user@chat.example.com":    false,
	} {
		c := Default()
		c.PublicURL = url
		err := c.Validate()
		if (err == nil) != ok {
			t.Errorf("Validate(%q): %v, want accepted %v", url, err, ok)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("Validate(%q) repeats the password: %v", url, err)
		}
	}
}

// A server without a public URL takes the address it listens on as its
// own, written as a browser writes it, so that it is a public URL Validate
// takes: on port 80, without the port, which browsers leave out of the
// origin its pages' WebSocket comes from.
func TestListenURL_AsBrowsersWriteIt(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		"127.0.0.1:80":   "http://127.0.0.1",
		"[::1]:80":       "http://[::1]",
		"[::1]:8443":     "http://[::1]:8443",
		"127.0.0.1:443":  "http://127.0.0.1:443",
	} {
		got := ListenURL(addr)
		c := Default()
		c.PublicURL = got
		if err := c.Validate(); got != want || err != nil {
			t.Errorf("ListenURL(%q) = %q (Validate: %v); want %q, valid", addr, got, err, want)
		}
	}
}

// A server that members reach over a network warns at start when its
// public URL is unset or plain http, or when anyone may register on it;
// one on loopback, for development, does not.
func TestConfig_Warnings(t *testing.T) {
	for name, c := range map[string]struct {
		addr, publicURL, registration string
		want                          []string
	}{
		"LoopbackDevelopment":     {"127.0.0.1:8080", "", "open", nil},
		"LocalhostURL":            {"127.0.0.1:8080", "http://localhost:8080", "open", nil},
		"BehindAProxy":            {"127.0.0.1:8080", "https://chat.example.com", "closed", nil},
		"UnsetURLOnAllInterfaces": {"0.0.0.0:8080", "", "closed", []string{"--public-url is unset"}},
		"HTTPOnAPublicHost":       {"127.0.0.1:8080", "http://chat.example.com", "closed", []string{"--public-url is http://"}},
		"OpenOnAPublicURL":        {"127.0.0.1:8080", "https://chat.example.com", "open", []string{"--registration is open"}},
		"EverythingAtOnce":        {":8080", "", "open", []string{"--public-url is unset", "--registration is open"}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := Default()
			cfg.Addr, cfg.PublicURL, cfg.Registration = c.addr, c.publicURL, c.registration
			got := cfg.Warnings()
			if len(got) != len(c.want) {
				t.Fatalf("warnings %q, want ones starting %q", got, c.want)
			}
			for i, w := range c.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("warning %q, want one starting %q", got[i], w)
				}
			}
		})
	}
}

// A server on PostgreSQL warns at start when its data directory holds an
// embedded database: a command run without the server's PARLEY_DATABASE
// (an operator's, as root, that never read the environment file) made it,
// and acted on it rather than on the server's database. Without the file,
// or on the embedded database, it does not.
func TestConfig_WarnsOfAnEmbeddedDatabaseUnused(t *testing.T) {
	const pg = "postgres://parley@127.0.0.1:5432/parley"
	for name, c := range map[string]struct {
		database string
		file     bool
		want     bool
	}{
		"PostgreSQLWithAFile":    {pg, true, true},
		"PostgreSQLWithoutAFile": {pg, false, false},
		"Embedded":               {"", true, false},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := Default()
			cfg.Addr, cfg.PublicURL, cfg.Registration = "127.0.0.1:8080", "https://chat.example.com", "closed"
			cfg.DataDir, cfg.Database = t.TempDir(), c.database
			if c.file {
				if err := os.WriteFile(cfg.DatabasePath(), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got := cfg.Warnings()
			if c.want && (len(got) != 1 || !strings.HasPrefix(got[0], "--database is set, and the data directory holds an embedded database")) {
				t.Fatalf("warnings %q, want one of the unused embedded database", got)
			}
			if !c.want && len(got) != 0 {
				t.Fatalf("warnings %q, want none", got)
			}
		})
	}
}

// The metrics listener, the free disk /readyz wants and the drain before a
// stop come from the environment; a metrics address that is no host:port,
// a negative minimum or a negative drain is refused by Validate.
func TestConfig_Health(t *testing.T) {
	env := map[string]string{"PARLEY_METRICS_ADDR": "127.0.0.1:9090", "PARLEY_MIN_FREE_DISK_MIB": "512", "PARLEY_DRAIN_TIME": "20s"}
	c, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsAddr != "127.0.0.1:9090" || c.MinFreeDiskMiB != 512 || c.DrainTime != 20*time.Second || c.Validate() != nil {
		t.Fatalf("from the environment: %+v (%v)", c, c.Validate())
	}
	if d := Default(); d.MetricsAddr != "" || d.MinFreeDiskMiB != 256 || d.DrainTime != 5*time.Second {
		t.Errorf("defaults: metrics at %q, %d MiB free, drain %s; want at the main address, 256, 5s", d.MetricsAddr, d.MinFreeDiskMiB, d.DrainTime)
	}
	for name, change := range map[string]func(*Config){
		"MetricsAddrNoPort": func(c *Config) { c.MetricsAddr = "localhost" },
		"NegativeMinFree":   func(c *Config) { c.MinFreeDiskMiB = -1 },
		"NegativeDrain":     func(c *Config) { c.DrainTime = -time.Second },
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

// The data directory holds the embedded database: a database given
// there instead, from --data or from PARLEY_DATA where PARLEY_DATABASE
// was meant (a postgres:// URL, its scheme in capitals or a slash missing,
// a keyword/value connection string), is refused, naming --database,
// without repeating its password. A directory whose name holds a colon
// is taken, written ./NAME where it begins like a URL.
func TestConfig_DataDirIsNoDatabase(t *testing.T) {
	for _, dir := range []string{
		"postgres://parley:s3cret@127.0.0.1:5432/parley",
		"postgresql://parley@db.internal/parley?password=s3cret",
		"POSTGRES://parley:s3cret@db.internal/parley",
		"postgres:/db.internal/parley?password=s3cret",
		"host=db.internal user=parley password=s3cret dbname=parley",
		" postgres://parley:s3cret@127.0.0.1:5432/parley", // PARLEY_DATA= postgres://…
		"\tpostgres://parley:s3cret@db/parley",
	} {
		c, err := FromEnv(func(k string) string { return map[string]string{"PARLEY_DATA": dir}[k] })
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "give a PostgreSQL URL to --database") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("PARLEY_DATA=%q: Validate: %v; want it refused, naming --database", dir, err)
		}
	}
	for _, dir := range []string{"./data", "/var/lib/parley", "data/copy:1", "./postgres:copy", "./host=db"} {
		c := Default()
		c.DataDir = dir
		if err := c.Validate(); err != nil {
			t.Errorf("--data %q: %v", dir, err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:s3cret@db:5432/parley?sslmode=require":     "postgres://u:xxxxx@db:5432/parley?sslmode=require",
		"postgres://u@db/parley?password=s3cret&sslmode=disable": "postgres://u@db/parley?password=xxxxx&sslmode=disable",
		"postgres://u@db/parley?sslpassword=s3cret":              "postgres://u@db/parley?sslpassword=xxxxx",
		"nats://127.0.0.1:4222":                                  "nats://127.0.0.1:4222",
		"nats://s3cret@127.0.0.1:4222":                           "nats://xxxxx@127.0.0.1:4222",
		"postgres://u:s3cret@%zz/db":                             "(unparsable)",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// A data directory is printed as it is, not escaped as a URL's path; one
// that looks meant as a database, which Validate refuses, is printed
// without its password, as a URL where it is one with a host, and
// otherwise not at all.
func TestRedactDir(t *testing.T) {
	const hidden = "(not a directory: a database's connection string)"
	for in, want := range map[string]string{
		"./data":                   "./data",
		"/srv/parley data/données": "/srv/parley data/données",
		"./postgres:copy":          "./postgres:copy",
		"postgres://parley:s3cret@db:5432/parley?sslmode=disable": "postgres://parley:xxxxx@db:5432/parley?sslmode=disable",
		"POSTGRES://parley@db/parley?password=s3cret":             "postgres://parley@db/parley?password=xxxxx",
		"postgres:/db/parley?password=s3cret":                     hidden,
		"postgres:parley:s3cret@db/parley":                        hidden,
		"host=db user=parley password=s3cret":                     hidden,
	} {
		if got := RedactDir(in); got != want {
			t.Errorf("RedactDir(%q) = %q, want %q", in, got, want)
		}
	}
}
