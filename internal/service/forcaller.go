package service

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/parleyhq/parley"
)

// A message is handed to each caller as that caller may see it: its share
// card with the caller's own link (linkShares), its reactions as far as an
// app's grant lets it read them (hideReactions), and, for an app, the app
// it was written through only when that is the app itself (hideOtherApps).
// Reads and replies go through forCaller, events through forCallerEvent.

// forCaller makes msgs what c may see of them.
func (s *Service) forCaller(ctx context.Context, c *parley.Caller, msgs ...*parley.Message) error {
	hideReactions(c, msgs...)
	hideOtherApps(c, msgs...)
	return s.linkShares(ctx, c, msgs...)
}

// hideOtherApps takes out of messages an app reads which other app wrote
// them (Via), as hideOrigin does of threads: which other apps the members
// use is not one app's to learn. A message another app wrote reads as its
// sender's, which it is. Members see every message's Via.
func hideOtherApps(c *parley.Caller, msgs ...*parley.Message) {
	if c.App == nil {
		return
	}
	for _, m := range msgs {
		if m != nil && m.Via != nil && m.Via.ClientID != c.App.App.ClientID {
			m.Via = nil
		}
	}
}

// shareKey, reactionsKey and viaKey mark the data of an event about a
// message with a share card, with reactions, or written through an app:
// JSON keys the encoding of a string can never hold, its quotes being
// escaped there.
var (
	shareKey     = []byte(`"share":{`)
	reactionsKey = []byte(`"reactions":[`)
	viaKey       = []byte(`"via":{`)
)

// forCallerEvent returns an event about a message as forCaller makes the
// message for c, and all else as it was; an event whose message forCaller
// leaves as it is, or that carries none, passes as it is.
func (s *Service) forCallerEvent(ctx context.Context, c *parley.Caller, ev parley.Event) (parley.Event, error) {
	switch ev.Type {
	case parley.EventMessageCreated, parley.EventMessageEdited, parley.EventMessageReacted:
	default:
		return ev, nil
	}
	if !bytes.Contains(ev.Data, shareKey) && !(hidesReactions(c) && bytes.Contains(ev.Data, reactionsKey)) &&
		!(c.App != nil && bytes.Contains(ev.Data, viaKey)) {
		return ev, nil
	}
	var msg parley.Message
	if err := json.Unmarshal(ev.Data, &msg); err != nil {
		return ev, err
	}
	if err := s.forCaller(ctx, c, &msg); err != nil {
		return ev, err
	}
	// The same event, but for its data: its ID and readers, those in the
	// thread when it was published, are what the delivery is logged by.
	out := ev
	out.Data = parley.NewEvent(ev.Type, ev.ThreadID, &msg).Data
	return out, nil
}
