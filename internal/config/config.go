// Package config holds the server's settings as one value: defaults, then
// environment variables, then flags. There are no globals.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/ratelimit"
)

// Registration modes.
const (
	RegistrationOpen   = "open"
	RegistrationClosed = "closed"
)

// Config is everything a Parley server is told.
type Config struct {
	// Addr is the host:port the server listens on (PARLEY_ADDR).
	Addr string
	// PublicURL is the URL members and apps reach the server at, and the
	// OpenID Connect issuer (PARLEY_PUBLIC_URL). Empty means http:// and
	// the address the server listens on, which suits loopback use only.
	PublicURL string
	// DataDir holds the embedded database (PARLEY_DATA).
	DataDir string
	// NATS is the URL of the NATS server, with JetStream, that carries
	// events between nodes (PARLEY_NATS), such as nats://127.0.0.1:4222;
	// several servers of one cluster may be given, separated by commas.
	// Empty means the in-process bus, for a single node.
	NATS string
	// Database is the URL of a PostgreSQL database (postgres://…) that
	// holds everything instead of the embedded one; several servers may
	// share it (PARLEY_DATABASE). Empty means the embedded SQLite database
	// under DataDir.
	Database string
	// Registration is open (anyone may create an account through the API)
	// or closed (only operators, with `parley user add`) (PARLEY_REGISTRATION).
	Registration string
	// SessionTTL is how long a sign-in lasts (PARLEY_SESSION_TTL).
	SessionTTL time.Duration
	// SignUpsPerAddress is how many accounts one client address may create
	// through the API before each further one waits
	// (PARLEY_SIGNUPS_PER_ADDRESS).
	SignUpsPerAddress int
	// RateLimitApp is how many requests a second an app may make to
	// /api/v1 through all its tokens together, a public client through
	// its tokens for one member, and all apps together for one member
	// (PARLEY_RATE_LIMIT_APP), and RateLimitAppBurst how many at once
	// (PARLEY_RATE_LIMIT_APP_BURST); a rate of 0 sets no limit.
	RateLimitApp      float64
	RateLimitAppBurst int
	// RateLimitMember is how many requests a second a member may make to
	// /api/v1 with their own sessions, forms they post on the pages
	// included (PARLEY_RATE_LIMIT_MEMBER), and
	// RateLimitMemberBurst how many at once
	// (PARLEY_RATE_LIMIT_MEMBER_BURST); a rate of 0 sets no limit.
	RateLimitMember      float64
	RateLimitMemberBurst int
	// LogLevel is debug, info, warn or error (PARLEY_LOG_LEVEL); Level
	// returns it as Validate parsed it.
	LogLevel string
	// DrainTime is how long a server that is asked to stop, and whose
	// /readyz a load balancer has asked in the minute before, goes on
	// serving while /readyz answers 503, so that the load balancer sends
	// it nothing new before it stops (PARLEY_DRAIN_TIME). A server nothing
	// watches stops at once.
	DrainTime time.Duration
	// ShutdownTimeout bounds a graceful shutdown, after the drain.
	ShutdownTimeout time.Duration
	// BodyTimeout bounds how long a request's body may take to arrive, on
	// every path but a realtime connection's upgrade: a body dribbled in
	// byte by byte must not hold a connection and its goroutine forever.
	// The deadline ends with the body: the work and the answer after it
	// have their own time. 0 sets none.
	BodyTimeout time.Duration
	// AnswerTimeout bounds how long an answer may take to be written, on
	// every path but a realtime connection once open: a client that stops
	// reading must not hold a connection and its goroutine forever. A
	// member's export and their access log's download, as long as their
	// history, have a minute from each of their writes instead
	// (httpapi.LongAnswer). 0 sets none.
	AnswerTimeout time.Duration
	// MemoryLimitMiB is the Go runtime's soft memory limit in MiB; 0 sets
	// none (PARLEY_MEMORY_LIMIT_MIB). GOMEMLIMIT, when set, wins.
	MemoryLimitMiB int
	// ReportMinPeople is the k of share reports: no number in one is
	// counted from fewer people (PARLEY_REPORT_MIN_PEOPLE); at least
	// parley.MinReportMinPeople.
	ReportMinPeople int
	// WebhooksAllowPrivate lets webhook endpoints be on loopback, over
	// plain http too, for tests and development; other private addresses
	// stay refused.
	WebhooksAllowPrivate bool
	// AppsRequireReview makes the apps members register wait for an
	// operator's approval before anyone may connect them
	// (PARLEY_APPS_REQUIRE_REVIEW).
	AppsRequireReview bool
	// KeysFile is the file that holds the OAuth provider's keys (its
	// ID-token signing and token-sealing keys) instead of the database
	// (PARLEY_KEYS_FILE); made on first start, it must be 0600 and the
	// same on every server of a cluster.
	KeysFile string
	// KeysWrapKey is the base64 of 32 random bytes that seal the
	// provider's keys in the database (PARLEY_KEYS_WRAP_KEY, from the
	// environment only, so that it is in no command line).
	KeysWrapKey string
	// TrustedProxies lists the reverse proxies, as addresses or CIDR
	// prefixes separated by commas, whose X-Forwarded-For header the
	// server believes about a request's client (PARLEY_TRUSTED_PROXIES).
	// Empty trusts no header: the client is the connection's peer.
	// Proxies returns them as Validate parsed them.
	TrustedProxies string
	// MetricsAddr is the host:port of a listener of its own for /metrics,
	// which then is served there only, not at Addr (PARLEY_METRICS_ADDR).
	// Empty serves /metrics at Addr, to clients on the same machine only.
	MetricsAddr string
	// MinFreeDiskMiB is the free space, in MiB, of the data directory's
	// disk below which /readyz says the server is not ready
	// (PARLEY_MIN_FREE_DISK_MIB). PostgreSQL's disk is not watched.
	MinFreeDiskMiB int

	// proxies and level are TrustedProxies and LogLevel as Validate parsed
	// them, when validated says it did.
	proxies   []netip.Prefix
	level     slog.Level
	validated bool
}

// Default returns the settings of a server started with no flags.
func Default() Config {
	return Config{
		Addr:              "127.0.0.1:8080",
		DataDir:           "./data",
		Registration:      RegistrationOpen,
		SessionTTL:        parley.DefaultSessionTTL,
		SignUpsPerAddress: parley.DefaultSignUpsPerAddress,
		// Far above a person's client or a partner polling its members'
		// threads, far below a script reading in a loop.
		RateLimitApp:         50,
		RateLimitAppBurst:    100,
		RateLimitMember:      20,
		RateLimitMemberBurst: 100,
		LogLevel:             "info",
		DrainTime:            5 * time.Second,
		ShutdownTimeout:      15 * time.Second,
		BodyTimeout:          30 * time.Second,
		AnswerTimeout:        time.Minute,
		MemoryLimitMiB:       64,
		ReportMinPeople:      parley.DefaultReportMinPeople,
		MinFreeDiskMiB:       256,
	}
}

// FromEnv returns the defaults overridden by PARLEY_* environment variables.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Default()
	for name, dst := range map[string]*string{
		"PARLEY_ADDR":            &c.Addr,
		"PARLEY_PUBLIC_URL":      &c.PublicURL,
		"PARLEY_DATA":            &c.DataDir,
		"PARLEY_NATS":            &c.NATS,
		"PARLEY_DATABASE":        &c.Database,
		"PARLEY_REGISTRATION":    &c.Registration,
		"PARLEY_LOG_LEVEL":       &c.LogLevel,
		"PARLEY_KEYS_FILE":       &c.KeysFile,
		"PARLEY_KEYS_WRAP_KEY":   &c.KeysWrapKey,
		"PARLEY_TRUSTED_PROXIES": &c.TrustedProxies,
		"PARLEY_METRICS_ADDR":    &c.MetricsAddr,
	} {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	for name, dst := range map[string]*int{
		"PARLEY_MEMORY_LIMIT_MIB":        &c.MemoryLimitMiB,
		"PARLEY_SIGNUPS_PER_ADDRESS":     &c.SignUpsPerAddress,
		"PARLEY_RATE_LIMIT_APP_BURST":    &c.RateLimitAppBurst,
		"PARLEY_RATE_LIMIT_MEMBER_BURST": &c.RateLimitMemberBurst,
		"PARLEY_REPORT_MIN_PEOPLE":       &c.ReportMinPeople,
		"PARLEY_MIN_FREE_DISK_MIB":       &c.MinFreeDiskMiB,
	} {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return c, fmt.Errorf("config: %s: %w", name, err)
			}
			*dst = n
		}
	}
	for name, dst := range map[string]*float64{
		"PARLEY_RATE_LIMIT_APP":    &c.RateLimitApp,
		"PARLEY_RATE_LIMIT_MEMBER": &c.RateLimitMember,
	} {
		if v := getenv(name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return c, fmt.Errorf("config: %s: %w", name, err)
			}
			*dst = f
		}
	}
	if v := getenv("PARLEY_APPS_REQUIRE_REVIEW"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("config: PARLEY_APPS_REQUIRE_REVIEW: %w", err)
		}
		c.AppsRequireReview = b
	}
	for name, dst := range map[string]*time.Duration{
		"PARLEY_SESSION_TTL": &c.SessionTTL,
		"PARLEY_DRAIN_TIME":  &c.DrainTime,
	} {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return c, fmt.Errorf("config: %s: %w", name, err)
			}
			*dst = d
		}
	}
	return c, nil
}

// Validate reports the first setting that cannot work. When all can, it
// keeps the settings it parsed, for Proxies and Level.
func (c *Config) Validate() error {
	c.validated = false
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("config: addr %q: %w", c.Addr, err)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("config: metrics addr %q: %w", c.MetricsAddr, err)
		}
	}
	if c.MinFreeDiskMiB < 0 {
		return fmt.Errorf("config: minimum free disk %d MiB is negative", c.MinFreeDiskMiB)
	}
	if c.DrainTime < 0 {
		return fmt.Errorf("config: drain time %s is negative", c.DrainTime)
	}
	if c.DataDir == "" {
		return errors.New("config: the data directory must be set")
	}
	if MeantAsDatabase(c.DataDir) {
		// Taken as a directory, a URL meant for --database would become a
		// new embedded database under ./postgres:, and its password would
		// be printed as the directory's name. Not repeated.
		return errors.New("config: --data (PARLEY_DATA) is a directory for the embedded database; give a PostgreSQL URL to --database (PARLEY_DATABASE), and write a directory whose name begins like a URL or host= as ./NAME")
	}
	if c.Database != "" {
		// The URL may hold a password: the error does not repeat it.
		u, err := url.Parse(c.Database)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return errors.New("config: database must be a PostgreSQL URL, postgres://user@host:port/name?options, or empty for the embedded database")
		}
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err == nil && u.User != nil {
			// Not repeated: what comes before the host may be a password,
			// which the issuer would publish in every endpoint's URL.
			return errors.New("config: the public URL must not hold a user name or password: write it as browsers write its origin, such as https://chat.example.com")
		}
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			strings.TrimSuffix(u.Path, "/") != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
			return fmt.Errorf("config: public URL %q must be an http or https URL with no path, such as https://chat.example.com", c.PublicURL)
		}
		// The URL is the OpenID Connect issuer, compared as a string by
		// every client, and its scheme tells whether cookies are Secure: it
		// is taken only as written in lower case, never made so silently.
		if !strings.HasPrefix(c.PublicURL, u.Scheme+"://") {
			return fmt.Errorf("config: public URL %q must begin %s:// in lower case", c.PublicURL, u.Scheme)
		}
		if origin, err := asBrowsersWriteIt(u); err != nil {
			return fmt.Errorf("config: public URL %q %w", c.PublicURL, err)
		} else if u.Host != origin {
			return fmt.Errorf("config: public URL %q must be written as browsers write its origin, %s://%s: the host in lower case, without the default port", c.PublicURL, u.Scheme, origin)
		}
	}
	if c.NATS != "" {
		for u := range strings.SplitSeq(c.NATS, ",") {
			if p, err := url.Parse(strings.TrimSpace(u)); err != nil || (p.Scheme != "nats" && p.Scheme != "tls") || p.Host == "" {
				return fmt.Errorf("config: NATS URL %q must be a nats:// or tls:// URL, such as nats://127.0.0.1:4222", RedactURL(u))
			}
		}
	}
	if c.Registration != RegistrationOpen && c.Registration != RegistrationClosed {
		return fmt.Errorf("config: registration must be %q or %q, not %q", RegistrationOpen, RegistrationClosed, c.Registration)
	}
	if c.MemoryLimitMiB < 0 {
		return fmt.Errorf("config: memory limit %d MiB is negative", c.MemoryLimitMiB)
	}
	if c.SignUpsPerAddress < 1 {
		return fmt.Errorf("config: sign-ups per address %d is under 1", c.SignUpsPerAddress)
	}
	if c.ReportMinPeople < parley.MinReportMinPeople {
		return fmt.Errorf("config: report minimum of people %d is under %d: smaller groups could be told apart", c.ReportMinPeople, parley.MinReportMinPeople)
	}
	for _, l := range []struct {
		name  string
		rate  float64
		burst int
	}{{"app", c.RateLimitApp, c.RateLimitAppBurst}, {"member", c.RateLimitMember, c.RateLimitMemberBurst}} {
		if !(l.rate >= 0 && l.rate <= ratelimit.MaxRate) {
			return fmt.Errorf("config: the %s rate limit %g must be 0 (none) to %g requests a second", l.name, l.rate, ratelimit.MaxRate)
		}
		if l.rate > 0 && l.burst < 1 {
			return fmt.Errorf("config: the %s rate limit's burst %d is under 1", l.name, l.burst)
		}
	}
	if c.SessionTTL < time.Minute {
		return fmt.Errorf("config: session TTL %s is under a minute", c.SessionTTL)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("config: log level %q: %w", c.LogLevel, err)
	}
	if _, err := c.WrapKey(); err != nil {
		return err
	}
	proxies, err := parseProxies(c.TrustedProxies)
	if err != nil {
		return err
	}
	c.proxies, c.level, c.validated = proxies, lvl, true
	return nil
}

// WrapKey returns the key that wraps the provider's keys in the database,
// nil when there is none. The error does not repeat the setting.
func (c Config) WrapKey() ([]byte, error) {
	if c.KeysWrapKey == "" {
		return nil, nil
	}
	k, err := base64.StdEncoding.DecodeString(c.KeysWrapKey)
	if err != nil || len(k) != wrapKeySize {
		return nil, fmt.Errorf("config: PARLEY_KEYS_WRAP_KEY must be the base64 of %d random bytes, such as the output of `openssl rand -base64 %d`", wrapKeySize, wrapKeySize)
	}
	return k, nil
}

// wrapKeySize is the size of the key that wraps the provider's keys:
// AES-256.
const wrapKeySize = 32

// Proxies returns the trusted proxies as prefixes, a lone address as a
// prefix of its full length, as Validate parsed them. It panics on a
// Config that Validate did not pass, rather than trust no proxy.
func (c Config) Proxies() []netip.Prefix {
	c.mustBeValid("Proxies")
	return c.proxies
}

// mustBeValid panics unless Validate passed c: what a method named by
// method returns was parsed there.
func (c Config) mustBeValid(method string) {
	if !c.validated {
		panic("config: " + method + " called on a Config that Validate did not pass")
	}
}

// parseProxies parses a list of addresses and CIDR prefixes separated by
// commas.
func parseProxies(list string) ([]netip.Prefix, error) {
	var proxies []netip.Prefix
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			a, aerr := netip.ParseAddr(item)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("config: trusted proxy %q must be an IP address or a CIDR prefix, such as 127.0.0.1 or 10.0.0.0/8", item)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		proxies = append(proxies, p.Masked())
	}
	return proxies, nil
}

// asBrowsersWriteIt returns the host and port of u as a browser writes
// them in an origin (WHATWG URL): the host in lower case, the port in plain
// decimal and left out when it is the scheme's default. The public URL is
// the origin the pages' WebSocket must come from, compared as written, and
// the issuer, which clients compare as written too. An international name
// is refused, for its ASCII form (xn--) to be given.
func asBrowsersWriteIt(u *url.URL) (string, error) {
	if strings.ContainsFunc(u.Host, func(r rune) bool { return r >= 0x80 }) {
		return "", errors.New("must name its host in ASCII, as browsers write it (xn--...)")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" {
		return host, nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", errors.New("has no valid port")
	}
	if port = strconv.Itoa(n); port == map[string]string{"http": "80", "https": "443"}[u.Scheme] {
		return host, nil
	}
	return host + ":" + port, nil
}

// ListenURL is the http URL of addr, the host:port a server has bound,
// written as browsers write its origin (without port 80): the public URL
// of a server that has none set.
func ListenURL(addr string) string {
	u := &url.URL{Scheme: "http", Host: addr}
	if origin, err := asBrowsersWriteIt(u); err == nil {
		u.Host = origin
	}
	return u.String()
}

// Warnings returns what a server started with this configuration should
// warn its operator of: settings that work, but are unsafe where members
// reach the server over a network, and a database under the data
// directory that a server on PostgreSQL does not use (commands run
// without the server's PARLEY_DATABASE write there).
func (c Config) Warnings() []string {
	var w []string
	if c.Database != "" && c.DataDir != "" {
		if _, err := os.Stat(c.DatabasePath()); err == nil {
			w = append(w, "--database is set, and the data directory holds an embedded database ("+RedactDir(c.DataDir)+"/parley.db) that this server does not use: parley commands run without --database (PARLEY_DATABASE) act on that file, not on this server's database (docs/deploy.md)")
		}
	}
	listenHost, _, _ := net.SplitHostPort(c.Addr)
	publicHost := listenHost
	if c.PublicURL == "" {
		if !isLoopback(listenHost) {
			w = append(w, "--public-url is unset while the server listens beyond loopback: set it to the https:// URL members reach the server at")
		}
	} else if u, err := url.Parse(c.PublicURL); err == nil {
		publicHost = u.Hostname()
		if u.Scheme == "http" && !isLoopback(publicHost) {
			w = append(w, "--public-url is http:// on a host other than loopback: passwords and tokens would cross the network in the clear; serve https:// through a reverse proxy (docs/deploy.md)")
		}
	}
	if c.Registration == RegistrationOpen && !isLoopback(publicHost) {
		w = append(w, "--registration is open on a public URL: anyone may create accounts; use --registration closed and parley user add, except for a trial")
	}
	return w
}

// isLoopback reports whether host, a name or an address, is this machine's
// loopback; an empty host (every interface) is not.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// RedactURL returns a URL without its passwords, to print: the user
// information's, and any query parameter whose name holds "password", as
// PostgreSQL's password and sslpassword, each replaced by xxxxx; and a NATS
// URL's token, which stands where a user name goes.
func RedactURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "(unparsable)"
	}
	q, redacted := u.Query(), false
	for name := range q {
		if strings.Contains(strings.ToLower(name), "password") {
			q.Set(name, "xxxxx")
			redacted = true
		}
	}
	if redacted {
		u.RawQuery = q.Encode()
	}
	if _, hasPassword := u.User.Password(); u.User != nil && !hasPassword && (u.Scheme == "nats" || u.Scheme == "tls") {
		// nats://TOKEN@host: NATS takes a lone user name for a token.
		u.User = url.User("xxxxx")
	}
	return u.Redacted()
}

// RedactURLs is RedactURL for a list of URLs separated by commas, as the
// NATS servers of one cluster are given: each is redacted on its own.
func RedactURLs(s string) string {
	urls := strings.Split(s, ",")
	for i, u := range urls {
		urls[i] = RedactURL(u)
	}
	return strings.Join(urls, ",")
}

// meantAsDatabase matches what a database would be named by if it were
// not a directory: a URL's scheme (scheme:), or the first keyword of a
// PostgreSQL keyword/value connection string (host=…).
var meantAsDatabase = regexp.MustCompile(`^\s*(?:[A-Za-z][A-Za-z0-9+.-]*:|(?:host|hostaddr|port|dbname|user|password|sslmode|service)\s*=)`)

// MeantAsDatabase reports whether s, given where a directory is asked
// for, looks meant as a database instead: a URL, postgres:// or another
// (a scheme in capitals or misspelt, a slash missing), or a keyword/value
// connection string. A directory whose name begins so is written ./NAME.
func MeantAsDatabase(s string) bool {
	return meantAsDatabase.MatchString(s)
}

// RedactDir returns a data directory to print: as it is, but for one that
// looks meant as a database (MeantAsDatabase), which Validate refuses and
// which may hold a password: a URL with a host then without its passwords
// (RedactURL), and anything else so meant not at all.
func RedactDir(dir string) string {
	if !MeantAsDatabase(dir) {
		return dir
	}
	if u, err := url.Parse(strings.TrimSpace(dir)); err == nil && u.Host != "" {
		return RedactURL(dir)
	}
	return "(not a directory: a database's connection string)"
}

// Engine names the database engine: "postgres" with a Database URL,
// otherwise "sqlite".
func (c Config) Engine() string {
	if c.Database != "" {
		return "postgres"
	}
	return "sqlite"
}

// DatabasePath is the embedded database's file.
func (c Config) DatabasePath() string { return filepath.Join(c.DataDir, "parley.db") }

// Level returns the log level as Validate parsed it. It panics on a
// Config that Validate did not pass, rather than log at info.
func (c Config) Level() slog.Level {
	c.mustBeValid("Level")
	return c.level
}
