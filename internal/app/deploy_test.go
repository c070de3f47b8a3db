package app_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// The proxies' configurations docs/deploy.md documents.
const (
	caddyfile = "../../docs/Caddyfile"
	nginxConf = "../../docs/nginx.conf"
)

// Parley behind Caddy configured as docs/deploy.md says (testBehindProxy).
func TestDeploy_BehindCaddy(t *testing.T) {
	testBehindProxy(t, startCaddy, `"uri":"/api/v1/events?"`)
}

// Parley behind nginx configured as docs/deploy.md says (testBehindProxy).
func TestDeploy_BehindNginx(t *testing.T) {
	testBehindProxy(t, startNginx, `"GET /api/v1/events" 101 `)
}

// testBehindProxy runs Parley behind a proxy that start starts, over TLS
// on loopback: a member signs up and in, another sends a message, and the
// first gets it as a live event on a WebSocket, every request through the
// proxy. Parley, trusting the proxy, sees and logs the client's own
// address (127.0.0.2; the proxy is 127.0.0.1), not one the client forged;
// /metrics is not served through the proxy, whose answers tell browsers
// to keep to https; a page's form posted by a browser that sends no
// Sec-Fetch-Site passes the origin check, the site's port in the Host
// Parley sees; the proxy's access log holds the WebSocket's request,
// as the text loggedEvents; and neither its access log nor Parley's log
// holds the query string that carried the WebSocket's ticket, nor the
// token of the share link a member followed.
func testBehindProxy(t *testing.T, start func(t *testing.T, port int, upstream string) *runningProxy, loggedEvents string) {
	port := apptest.FreePort(t)
	site := fmt.Sprintf("https://localhost:%d", port)
	env := apptest.Start(t, func(c *config.Config) {
		c.PublicURL = site
		c.TrustedProxies = "127.0.0.1"
	})
	proxy := start(t, port, strings.TrimPrefix(env.URL, "http://"))

	// A client on 127.0.0.2 that forges X-Forwarded-For.
	hc := &http.Client{Transport: &apptest.ConformingTransport{Fail: t.Errorf, Base: apptest.ForwardedFor{Addr: "203.0.113.9", Base: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: proxy.roots},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
			return d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
		},
	}}}}
	ctx := context.Background()
	anon := client.New(site).WithHTTPClient(hc)
	signIn := func(username string) *client.Client {
		t.Helper()
		if _, err := anon.CreateAccount(ctx, username, apptest.Password(username), ""); err != nil {
			t.Fatalf("sign up %s through the proxy: %v", username, err)
		}
		s, err := anon.SignIn(ctx, username, apptest.Password(username))
		if err != nil {
			t.Fatalf("sign in %s through the proxy: %v", username, err)
		}
		return anon.WithToken(s.Token)
	}
	alice, bob := signIn("alice"), signIn("bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, bob, "alice")

	ticket, err := alice.EventTicket(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := alice.EventsWithTicket(ctx, ticket.Ticket)
	if err != nil {
		t.Fatalf("the WebSocket through the proxy: %v", err)
	}
	defer stream.Close()
	sent := apptest.MustSend(t, bob, th.ID, "through the proxy")
	for {
		ev, err := stream.Next(ctx)
		if err != nil {
			t.Fatalf("the live event through the proxy: %v", err)
		}
		var m client.Message
		if ev.Type == client.EventMessageCreated && json.Unmarshal(ev.Data, &m) == nil && m.ID == sent.ID {
			break
		}
	}

	// Bob follows his link to a card alice shared, through the proxy. Its
	// token is his alone: whoever holds it can count his click, and a log
	// line of it says when he opened what, from where.
	card, err := alice.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/1", Title: "A film"})
	if err != nil {
		t.Fatal(err)
	}
	page, err := bob.Messages(ctx, card.ThreadID, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var link string
	for _, m := range page.Messages {
		if m.ID == card.ID && m.Share != nil {
			link = m.Share.Link
		}
	}
	if !strings.HasPrefix(link, site+"/s/") {
		t.Fatalf("bob's link %q, want one on %s", link, site)
	}
	shareToken := strings.TrimPrefix(link, site+"/s/")
	noRedirect := *hc
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequest("GET", link, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("bob's link through the proxy: %d, Referrer-Policy %q; want the page saying where it leads", resp.StatusCode, resp.Header.Get("Referrer-Policy"))
	}

	// A browser that sends no Sec-Fetch-Site (an older one) has a page's
	// form checked by its Origin against the Host Parley sees: the proxy
	// passes the Host the browser sent, port and all, or a form posted to
	// a site on another port than 443 would be refused as cross-origin.
	req, err = http.NewRequest("POST", site+"/sign-in", strings.NewReader("username=alice"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", site)
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	form, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(form), "Origin does not match Host") {
		t.Errorf("a form posted from %s through the proxy, without Sec-Fetch-Site: %d %s", site, resp.StatusCode, form)
	}

	signedIn := env.LogEntries(t, "signed in")
	if len(signedIn) != 2 || signedIn[0]["client"] != "127.0.0.2" || signedIn[1]["client"] != "127.0.0.2" {
		t.Errorf("Parley logged the sign-ins as %v, want from the client's address 127.0.0.2", signedIn)
	}
	resp, err = hc.Get(site + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics through the proxy: %d, want 404", resp.StatusCode)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no Strict-Transport-Security through the proxy")
	}

	stream.Close()
	env.Stop()
	proxy.stop()
	access, err := os.ReadFile(proxy.accessLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(access), loggedEvents) {
		t.Errorf("the proxy's access log lacks the WebSocket's request:\n%s", access)
	}
	for name, log := range map[string]string{"the proxy's access log": string(access), "Parley's log": env.Logs.String()} {
		if strings.Contains(log, ticket.Ticket) {
			t.Errorf("%s holds the ticket:\n%s", name, log)
		}
		if strings.Contains(log, shareToken) {
			t.Errorf("%s holds the token of bob's share link:\n%s", name, log)
		}
	}
	if strings.Contains(env.Logs.String(), "203.0.113.9") {
		t.Errorf("Parley's log holds the forged address:\n%s", env.Logs)
	}
}

// runningProxy is a reverse proxy serving the documented configuration.
type runningProxy struct {
	// roots holds the root that signed the site's certificate.
	roots     *x509.CertPool
	accessLog string
	stop      func()
}

// startCaddy runs Caddy with docs/Caddyfile for https://localhost:port,
// proxying to upstream, and waits until it holds the site's certificate.
// Around the documented site block it sets only what keeps a test to
// itself: no admin endpoint, certificates from Caddy's own authority in a
// temporary directory and kept out of the system's trust store, and no
// listener but the site's on 127.0.0.1. Without caddy on the PATH the
// test is skipped, or fails under CI=true.
func startCaddy(t *testing.T, port int, upstream string) *runningProxy {
	t.Helper()
	bin := apptest.Program(t, "caddy")
	doc, err := filepath.Abs(caddyfile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "Caddyfile")
	wrapper := fmt.Sprintf(`{
	admin off
	auto_https disable_redirects
	skip_install_trust
	local_certs
	http_port %d
	https_port %d
	default_bind 127.0.0.1
	storage file_system %s
}
import %s
`, apptest.FreePort(t), port, filepath.Join(dir, "data"), doc)
	if err := os.WriteFile(config, []byte(wrapper), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &runningProxy{accessLog: filepath.Join(dir, "access.log")}
	cmd := exec.Command(bin, "run", "--adapter", "caddyfile", "--config", config)
	cmd.Env = []string{"HOME=" + dir, "XDG_DATA_HOME=" + filepath.Join(dir, "xdg-data"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "xdg-config"),
		"PARLEY_SITE=localhost", "PARLEY_UPSTREAM=" + upstream, "PARLEY_ACCESS_LOG=" + c.accessLog}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &apptest.SyncBuffer{}
	ready, exited := make(chan struct{}), make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stderr, logs))
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), `"certificate obtained successfully"`) {
				close(ready)
				signalled = true
			}
		}
		exited <- cmd.Wait()
	}()
	stopped := false
	c.stop = func() {
		if !stopped {
			stopped = true
			cmd.Process.Signal(os.Interrupt)
			<-exited
		}
	}
	t.Cleanup(c.stop)
	select {
	case <-ready:
	case err := <-exited:
		stopped = true
		t.Fatalf("caddy exited: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("caddy obtained no certificate:\n%s", logs)
	}
	root, err := os.ReadFile(filepath.Join(dir, "data", "pki", "authorities", "local", "root.crt"))
	if err != nil {
		t.Fatal(err)
	}
	c.roots = x509.NewCertPool()
	if !c.roots.AppendCertsFromPEM(root) {
		t.Fatal("caddy's root certificate does not parse")
	}
	// Caddy logs the certificate a moment before it serves it.
	waitServing(t, port, c.roots, logs.String)
	return c
}

// waitServing waits until the proxy serves https://localhost on port with
// a certificate roots trusts, and fails the test with the proxy's log if it
// does not within 5 seconds.
func waitServing(t *testing.T, port int, roots *x509.CertPool, log func() string) {
	t.Helper()
	for try := 0; ; try++ {
		conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{ServerName: "localhost", RootCAs: roots})
		if err == nil {
			conn.Close()
			return
		}
		if try == 500 {
			t.Fatalf("the proxy does not serve: %v\n%s", err, log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startNginx runs nginx with docs/nginx.conf for https://localhost:port,
// proxying to upstream, and waits until it serves. The documented file is
// changed only where it names what a test cannot have: its listeners move
// to 127.0.0.1 (port for https), its certificate is one the test makes
// for localhost, its access log and upstream are the test's; and it is
// included in the least http block nginx needs, with nginx's own files in
// a temporary directory. Each change must find what it changes, so that
// the test follows the file. Without nginx on the PATH the test is
// skipped, or fails under CI=true.
func startNginx(t *testing.T, port int, upstream string) *runningProxy {
	t.Helper()
	bin := apptest.Program(t, "nginx")
	doc, err := os.ReadFile(nginxConf)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := &runningProxy{accessLog: filepath.Join(dir, "access.log")}
	var cert, key string
	p.roots, cert, key = selfSigned(t, dir, "localhost")
	conf := string(doc)
	for _, c := range [][2]string{
		{"    listen 80;\n", fmt.Sprintf("    listen 127.0.0.1:%d;\n", apptest.FreePort(t))},
		{"    listen [::]:80;\n", ""},
		{"    listen 443 ssl http2;\n", fmt.Sprintf("    listen 127.0.0.1:%d ssl http2;\n", port)},
		{"    listen [::]:443 ssl http2;\n", ""},
		{"server_name chat.example.com;", "server_name localhost;"},
		{"/etc/letsencrypt/live/chat.example.com/fullchain.pem", cert},
		{"/etc/letsencrypt/live/chat.example.com/privkey.pem", key},
		{"/var/log/nginx/parley-access.log", p.accessLog},
		{"proxy_pass http://127.0.0.1:8080;", "proxy_pass http://" + upstream + ";"},
	} {
		if !strings.Contains(conf, c[0]) {
			t.Fatalf("%s no longer holds %q", nginxConf, c[0])
		}
		conf = strings.ReplaceAll(conf, c[0], c[1])
	}
	site := filepath.Join(dir, "parley.conf")
	main := filepath.Join(dir, "nginx.conf")
	errorLog := filepath.Join(dir, "error.log")
	wrapper := fmt.Sprintf(`daemon off;
pid %[1]s/nginx.pid;
error_log %[2]s;
events {}
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	include %[3]s;
}
`, dir, errorLog, site)
	for name, text := range map[string]string{site: conf, main: wrapper} {
		if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-p", dir, "-e", errorLog, "-c", main)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.stop = sync.OnceFunc(func() {
		cmd.Process.Signal(syscall.SIGQUIT) // nginx's graceful shutdown
		cmd.Wait()
	})
	t.Cleanup(p.stop)
	waitServing(t, port, p.roots, func() string {
		logged, _ := os.ReadFile(errorLog)
		return string(logged)
	})
	return p
}

// selfSigned makes a self-signed certificate for host, writes it and its
// key to dir, and returns a pool that trusts it and the files' paths.
func selfSigned(t *testing.T, dir, host string) (roots *x509.CertPool, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for name, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(name, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return roots, certFile, keyFile
}

// The deployment guide shows the configuration files the tests use, as
// they are: what an operator copies from it is what was tested.
func TestDeploy_GuideShowsTheTestedFiles(t *testing.T) {
	guide, err := os.ReadFile("../../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Caddyfile", "nginx.conf", "parley.service", "parleyctl", "parley-backup.service", "parley-backup.timer"} {
		file, err := os.ReadFile(filepath.Join("../../docs", name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(guide), "\n"+string(file)+"```\n") {
			t.Errorf("docs/deploy.md does not show docs/%s as it is", name)
		}
	}
}

// The systemd units of the guide, the server's and the daily backup's
// with its timer, are ones systemd accepts, every line of them understood
// (systemd-analyze verify warns of an unknown or malformed setting, such
// as a % that is no specifier, and goes on). Without systemd-analyze the
// test is skipped, but under CI=true it fails.
func TestDeploy_SystemdUnit(t *testing.T) {
	analyze := apptest.Program(t, "systemd-analyze")
	// verify wants ExecStart's program to exist: this test's binary does.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var paths []string
	for _, name := range []string{"parley.service", "parley-backup.service", "parley-backup.timer"} {
		unit, err := os.ReadFile(filepath.Join("../../docs", name))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/parley", self)), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	out, err := exec.Command(analyze, append([]string{"verify"}, paths...)...).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// The server's unit brings parley back whatever its exit status: SIGHUP
// stops it cleanly, exit 0 (README, "Running"), and a kill -HUP meant as a
// reload must not leave the service down, as Restart=on-failure would.
func TestDeploy_ServiceComesBackAfterACleanStop(t *testing.T) {
	unit, err := os.ReadFile("../../docs/parley.service")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "\nRestart=always\n") {
		t.Error("docs/parley.service does not restart parley after a clean stop (Restart=always)")
	}
}

// docs/parleyctl runs parley with the service's environment file read as
// systemd reads it: comments skipped, a pair of quotes taken off, a value's
// $, & and spaces kept as they are (no shell runs over it), and --data the
// unit's whatever the file says. A line that is no VAR=value, or whose
// value holds a backslash, which systemd reads as an escape, stops it
// before parley runs, naming the line by its number, not its text, which
// may hold a password. Here runuser and parley are one program that prints
// what it was given.
func TestDeploy_Parleyctl(t *testing.T) {
	sh := apptest.Program(t, "sh")
	script, err := os.ReadFile("../../docs/parleyctl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	envFile, fake, ctl := filepath.Join(dir, "parley.env"), filepath.Join(dir, "parley"), filepath.Join(dir, "parleyctl")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nenv\nprintf 'arg=%s\\n' \"$@\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	for old, new := range map[string]string{
		"/etc/parley/parley.env":                          envFile,
		"exec runuser -u parley -- /usr/local/bin/parley": "exec " + fake,
	} {
		if !strings.Contains(string(script), old) {
			t.Fatalf("docs/parleyctl has no %q", old)
		}
		script = []byte(strings.ReplaceAll(string(script), old, new))
	}
	if err := os.WriteFile(ctl, script, 0o700); err != nil {
		t.Fatal(err)
	}
	parleyctl := func(env string, args ...string) (string, error) {
		t.Helper()
		if err := os.WriteFile(envFile, []byte(env), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(sh, append([]string{ctl}, args...)...).CombinedOutput()
		return string(out), err
	}

	const database = `postgres://parley:p$ss&w rd@127.0.0.1:5432/parley?sslmode=disable&pool_max_conns=16`
	out, err := parleyctl("# the settings\n; also a comment\n\n  PARLEY_DATABASE="+database+"\nPARLEY_PUBLIC_URL=\"https://chat.example.com\"\nPARLEY_LOG_LEVEL='info'\nPARLEY_DATA=/elsewhere",
		"user", "add", "Alice Liddell", "--password-stdin")
	if err != nil {
		t.Fatalf("parleyctl: %v\n%s", err, out)
	}
	for _, want := range []string{
		"PARLEY_DATABASE=" + database, "PARLEY_PUBLIC_URL=https://chat.example.com", "PARLEY_LOG_LEVEL=info", "PARLEY_DATA=/var/lib/parley",
		"arg=user\narg=add\narg=Alice Liddell\narg=--password-stdin\n",
	} {
		if !strings.Contains(out, "\n"+want) && !strings.HasPrefix(out, want) {
			t.Errorf("parleyctl ran parley without %q:\n%s", want, out)
		}
	}

	out, err = parleyctl("PARLEY_ADDR=127.0.0.1:8080\npostgres://parley:secret@db/parley\n", "db", "init")
	if err == nil || strings.Contains(out, "arg=") || strings.Contains(out, "secret") || !strings.Contains(out, "line 2: not VAR=value") {
		t.Errorf("parleyctl on a line that is no VAR=value: %v\n%s", err, out)
	}

	// systemd reads PARLEY_DATABASE=postgres://parley:pa\ss@… as pass;
	// parleyctl, which does not read escapes, refuses it rather than run
	// parley with another password than the server's.
	out, err = parleyctl(`PARLEY_DATABASE=postgres://parley:pa\ss@db/parley`, "db", "init")
	if err == nil || strings.Contains(out, "arg=") || strings.Contains(out, "pa\\ss") || !strings.Contains(out, "line 1: a backslash") {
		t.Errorf("parleyctl on a value with a backslash: %v\n%s", err, out)
	}
}

// systemCAs is the system's bundle of CAs on Debian, which the guide's
// pg_dump and pg_restore URLs name as sslrootcert.
const systemCAs = "/etc/ssl/certs/ca-certificates.crt"

// The guide's pg_dump and pg_restore verify the server as Parley does,
// against the system's CAs: libpq, theirs, wants ~/.postgresql/root.crt
// with sslmode=verify-full unless sslrootcert names another file, where
// pgx verifies against the system's CAs, so each of their URLs names the
// system's bundle, which pgx reads as well. libpq, run on such a URL with
// an empty home, looks for no root.crt: on the loopback database, whose
// certificate no CA signed, it gets as far as verifying it.
func TestDeploy_DumpVerifiesAsParleyDoes(t *testing.T) {
	var urls []string
	quoted := regexp.MustCompile(`(pg_dump|pg_restore) .*-d ["']([^"']+)["']`)
	for _, name := range []string{"deploy.md", "parley-backup.service"} {
		text, err := os.ReadFile(filepath.Join("../../docs", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range quoted.FindAllStringSubmatch(string(text), -1) {
			urls = append(urls, m[2])
		}
	}
	if len(urls) < 4 {
		t.Fatalf("found %d URLs of pg_dump and pg_restore in the guide: %q", len(urls), urls)
	}
	var query url.Values
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		query = u.Query()
		if mode := query.Get("sslmode"); strings.HasPrefix(mode, "verify-") && query.Get("sslrootcert") != systemCAs {
			t.Errorf("%s: sslmode=%s without sslrootcert=%s: pg_dump and pg_restore want ~/.postgresql/root.crt", raw, mode, systemCAs)
		}
	}
	if _, err := os.Stat(systemCAs); err != nil {
		t.Skipf("no %s here: %v", systemCAs, err)
	}
	t.Run("Pgx", func(t *testing.T) {
		cfg, err := pgconn.ParseConfig("postgres://parley@db.internal:5432/parley?" + query.Encode())
		if err != nil || cfg.TLSConfig == nil || cfg.TLSConfig.RootCAs == nil {
			t.Fatalf("pgx on the guide's URL: %v; want it verifying against %s", err, systemCAs)
		}
	})
	t.Run("Libpq", func(t *testing.T) {
		pgDump := apptest.Program(t, "pg_dump")
		u, err := url.Parse(sqlstoretest.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		u.RawQuery = query.Encode()
		home := t.TempDir()
		cmd := exec.Command(pgDump, "--schema-only", "-d", u.String(), "-f", filepath.Join(home, "parley.dump"))
		cmd.Env = append(os.Environ(), "HOME="+home)
		if out, err := cmd.CombinedOutput(); strings.Contains(string(out), "root.crt") {
			t.Errorf("pg_dump on the guide's URL: %v\n%s", err, out)
		}
	})
}
