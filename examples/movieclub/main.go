// Command movieclub is an example partner app of Parley, small enough to
// read in one sitting and copy from. A member signs in with Parley,
// recommends a film to a friend (a share card), and sees the friend's
// replies; Parley's webhooks tell movieclub when something changed, and
// movieclub reads the change through /api/v1. It also shows its share
// report, which counts recommendations and clicks without naming anyone.
//
// It uses the standard library, golang.org/x/oauth2, Parley's Go client,
// github.com/parleyhq/parley/client, and zitadel's OpenID Connect client
// (github.com/zitadel/oidc/v3: pkg/client, pkg/client/rs and pkg/oidc),
// with which it introspects and revokes the member's access token it
// holds. It keeps everything in memory: a real app would keep its members'
// tokens in a database, encrypted.
//
//	go run ./examples/movieclub --client-id ID --client-secret SECRET --webhook-secret whsec_…
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/parleyhq/parley/client"
)

// Config is how movieclub is set up: where Parley is, who movieclub is to
// Parley, and where movieclub itself is reached.
type Config struct {
	// ParleyURL is Parley's public URL, which is also its OpenID Connect
	// issuer.
	ParleyURL string
	// ClientID and ClientSecret are what registering the app returned.
	ClientID, ClientSecret string
	// Addr is the address movieclub listens on.
	Addr string
	// PublicURL is where members' browsers and Parley reach movieclub; the
	// app's redirect URI is PublicURL + "/callback" and its webhook
	// endpoint PublicURL + "/webhooks".
	PublicURL string
	// WebhookSecret is the whsec_… secret Parley showed when the webhook
	// endpoint was registered.
	WebhookSecret string
}

// parseConfig reads flags, each defaulting to its MOVIECLUB_… environment
// variable, and writes -help's text to usage. The two secrets are taken
// from the environment after the flags, not as the flags' defaults, which
// -help would print. A webhook secret that is not one is refused here,
// where it would otherwise have every delivery fail.
func parseConfig(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var c Config
	fs := flag.NewFlagSet("movieclub", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.StringVar(&c.ParleyURL, "parley-url", env("MOVIECLUB_PARLEY_URL", "http://127.0.0.1:8080"), "Parley's public URL (env MOVIECLUB_PARLEY_URL)")
	fs.StringVar(&c.ClientID, "client-id", env("MOVIECLUB_CLIENT_ID", ""), "the app's client_id (env MOVIECLUB_CLIENT_ID)")
	fs.StringVar(&c.ClientSecret, "client-secret", "", "the app's client_secret (env MOVIECLUB_CLIENT_SECRET)")
	fs.StringVar(&c.Addr, "addr", env("MOVIECLUB_ADDR", "127.0.0.1:8090"), "address to listen on (env MOVIECLUB_ADDR)")
	fs.StringVar(&c.PublicURL, "public-url", env("MOVIECLUB_PUBLIC_URL", ""), "the URL movieclub is reached at; default http:// + the address (env MOVIECLUB_PUBLIC_URL)")
	fs.StringVar(&c.WebhookSecret, "webhook-secret", "", "the webhook endpoint's whsec_… secret (env MOVIECLUB_WEBHOOK_SECRET)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.ClientSecret = cmp.Or(c.ClientSecret, getenv("MOVIECLUB_CLIENT_SECRET"))
	c.WebhookSecret = cmp.Or(c.WebhookSecret, getenv("MOVIECLUB_WEBHOOK_SECRET"))
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	c.ParleyURL = strings.TrimRight(c.ParleyURL, "/")
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.ClientID == "" || c.ClientSecret == "" {
		return c, errors.New("movieclub: --client-id and --client-secret are required (register the app first)")
	}
	if c.WebhookSecret == "" {
		return c, errors.New("movieclub: --webhook-secret is required (register the webhook endpoint first)")
	}
	if _, err := client.ParseWebhookSecret(c.WebhookSecret); err != nil {
		return c, errors.New("movieclub: --webhook-secret is not the whsec_… secret Parley showed when the webhook endpoint was registered (whsec_ and base64)")
	}
	return c, nil
}

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: cfg.Addr, Handler: New(cfg), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	fmt.Printf("movieclub on %s, signing in with %s\n", cfg.PublicURL, cfg.ParleyURL)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
