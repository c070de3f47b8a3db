package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// webhook, with --webhook, has u000 register an app and one webhook
// endpoint of it subscribed to message.created, at a receiver on loopback
// that answers 204 and counts what it gets. The app has no grant, so the
// sends that follow are told to no one: what the run shows is what a send
// pays for the endpoint's being there.
func (b *bench) webhook(ctx context.Context) error {
	if !b.o.webhook {
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var got atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(ln)
	context.AfterFunc(ctx, func() { srv.Close() })
	b.webhookDeliveries = func() int64 { return got.Load() }

	var app struct {
		ClientID string `json:"client_id"`
	}
	if _, err := b.users[0].Do(ctx, "POST", "/api/v1/apps", map[string]any{
		"name": "w1 webhook", "redirect_uris": []string{"https://w1.example/callback"},
	}, &app); err != nil {
		return fmt.Errorf("register the app: %w", err)
	}
	var endpoint struct {
		ActiveFrom time.Time `json:"active_from"`
	}
	if _, err := b.users[0].Do(ctx, "POST", "/api/v1/apps/"+app.ClientID+"/webhooks", map[string]any{
		"url": "http://" + ln.Addr().String() + "/hooks", "events": []string{"message.created"},
	}, &endpoint); err != nil {
		return fmt.Errorf("register the webhook endpoint: %w", err)
	}
	// The sends start once the endpoint receives events.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(endpoint.ActiveFrom)):
	}
	return nil
}
