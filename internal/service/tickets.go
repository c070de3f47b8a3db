package service

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/ratelimit"
)

// CreateEventTicket returns a ticket that opens the caller's realtime stream
// once, within parley.EventTicketTTL, for clients that cannot send the
// token in a header. The stream it opens is the caller's: an app's is held
// to the same grant and ends with the same token.
func (s *Service) CreateEventTicket(ctx context.Context) (*IssuedTicket, error) {
	c, err := caller(ctx, parley.ScopeMessagesRead)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	ticket, hash := newToken(eventTicketPrefix)
	et := &parley.EventTicket{Hash: hash, UserID: c.User.ID, SessionHash: c.SessionTokenHash, ExpiresAt: now.Add(parley.EventTicketTTL)}
	if c.App != nil {
		et.TokenHash = c.App.TokenHash
	}
	if err := s.store.Write(ctx, func(tx parley.Tx) error { return tx.CreateEventTicket(ctx, et, now) }); err != nil {
		return nil, err
	}
	return &IssuedTicket{Ticket: ticket, ExpiresAt: et.ExpiresAt}, nil
}

// eventTicketPrefix marks a ticket to open a realtime stream.
const eventTicketPrefix = "pet_"

// IssuedTicket is a ticket just made; only its hash is kept.
type IssuedTicket struct {
	Ticket    string    `json:"ticket"`
	ExpiresAt time.Time `json:"expires_at"`
}

// failedTicketsPerAddress holds the event tickets of one client address
// that fail (unknown, used or expired) to 60 at once, then one a second;
// once they are spent, every ticket from the address is refused before it
// is looked for. Taking a ticket is a write, which a request without any
// credential could otherwise make as often as it liked. A client gets a
// ticket just before it connects, and fails only when it waited too long.
var failedTicketsPerAddress = ratelimit.Policy{Name: "failed event tickets", Rate: 1, Burst: 60}

// AuthenticateTicket takes a ticket, which then cannot be used again, and
// returns the caller that made it: EUNAUTHORIZED when the ticket is
// unknown, used or expired, or the session or token that made it no longer
// works, which counts against the client address's failedTicketsPerAddress.
func (s *Service) AuthenticateTicket(ctx context.Context, ticket string) (c *parley.Caller, err error) {
	err = s.countFailures(ctx, failedTicketsPerAddress, "ticket", func() error {
		c, err = s.takeTicket(ctx, ticket)
		return err
	})
	return c, err
}

// takeTicket is AuthenticateTicket, uncounted.
func (s *Service) takeTicket(ctx context.Context, ticket string) (*parley.Caller, error) {
	bad := parley.Errorf(parley.EUNAUTHORIZED, "the ticket is invalid, used or expired: get a new one")
	var et *parley.EventTicket
	err := s.store.Write(ctx, func(tx parley.Tx) (err error) {
		et, err = tx.TakeEventTicket(ctx, parley.HashToken(ticket))
		return err
	})
	if isNotFound(err) {
		return nil, bad
	} else if err != nil {
		return nil, err
	}
	if !s.Now().Before(et.ExpiresAt) {
		return nil, bad
	}
	var c *parley.Caller
	err = s.store.Read(ctx, func(tx parley.Tx) (err error) {
		if et.TokenHash == nil {
			c, err = s.sessionCaller(ctx, tx, et.SessionHash)
			return err
		}
		tg, err := s.liveAccessToken(ctx, tx, et.TokenHash)
		if err != nil {
			return err
		}
		c = appCaller(tg, et.TokenHash)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if c.User.ID != et.UserID {
		return nil, bad
	}
	return c, nil
}
