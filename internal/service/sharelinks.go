package service

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"sync"
	"time"

	"github.com/parleyhq/parley"
)

// Tracked share links. Each member of the thread a card goes into has a
// link of their own, /s/{token}, so that the first click of each recipient
// can be counted for the app's report, and nothing else is learnt of them.
//
// A token is the HMAC-SHA256, under a server key, of the message's and the
// member's IDs: 256 bits no one can guess without the key. The store keeps
// only each token's SHA-256, by which a click finds its link; the token
// itself is made again wherever the card is shown, so a page of messages,
// a thread summary and a realtime event each give every member their own
// link without reading anything more.

// ShareLinkPath is the path of share links on the public URL; the token
// follows it.
const ShareLinkPath = "/s/"

// shareLinkKeyName names the server key share tokens are made with. Its
// value is 32 random bytes and the time it was made, in microseconds: a
// card sent before has no links.
const shareLinkKeyName = "share-links"

// shareTokenLen is the length of a token: 32 bytes in unpadded base64url.
const shareTokenLen = 43

// linkKey holds the share link key once loaded.
type linkKey struct {
	mu    sync.Mutex
	key   []byte
	since time.Time
}

// shareLinkKey returns the key share tokens are made with and the time it
// was made, making it on first use; every node shares it through the store.
func (s *Service) shareLinkKey(ctx context.Context) ([]byte, time.Time, error) {
	s.links.mu.Lock()
	defer s.links.mu.Unlock()
	if s.links.key != nil {
		return s.links.key, s.links.since, nil
	}
	v, err := s.opts.Secrets.Secret(ctx, shareLinkKeyName, func() ([]byte, error) {
		k := make([]byte, 40)
		_, err := rand.Read(k[:32])
		binary.BigEndian.PutUint64(k[32:], uint64(s.Now().UnixMicro()))
		return k, err
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	s.links.key, s.links.since = v[:32], time.UnixMicro(int64(binary.BigEndian.Uint64(v[32:]))).UTC()
	return s.links.key, s.links.since, nil
}

// shareToken is the token of a member's link to a card.
func shareToken(key []byte, messageID, userID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(messageID))
	m.Write([]byte{0})
	m.Write([]byte(userID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newShareLinks makes the links of a card just sent, one for each member
// of its thread, with the share link key.
func newShareLinks(key []byte, msg *parley.Message, memberIDs []string) []parley.ShareLink {
	clientID := ""
	if msg.Via != nil {
		clientID = msg.Via.ClientID
	}
	links := make([]parley.ShareLink, len(memberIDs))
	for i, id := range memberIDs {
		links[i] = parley.ShareLink{
			TokenHash: parley.HashToken(shareToken(key, msg.ID, id)), MessageID: msg.ID, ClientID: clientID,
			SenderID: msg.Sender.ID, UserID: id, SentAt: msg.CreatedAt,
		}
	}
	return links
}

// linkShares gives each share card among msgs the link of the member c
// reads it as. An app reading through a member's grant gets the links of
// its own cards only, which it shows the member so that their clicks count
// in its report: another app's card keeps its URL alone, as a link an app
// holds can be followed by the app itself, which must not be able to count
// clicks in another app's report.
func (s *Service) linkShares(ctx context.Context, c *parley.Caller, msgs ...*parley.Message) error {
	var key []byte
	var since time.Time
	for _, m := range msgs {
		if m == nil || m.Share == nil || c.App != nil && (m.Via == nil || m.Via.ClientID != c.App.Grant.ClientID) {
			continue
		}
		if key == nil {
			var err error
			if key, since, err = s.shareLinkKey(ctx); err != nil {
				return err
			}
		}
		if m.CreatedAt.Before(since) {
			continue
		}
		link := *m.Share
		link.Link = s.opts.PublicURL + ShareLinkPath + shareToken(key, m.ID, c.User.ID)
		m.Share = &link
	}
	return nil
}

// ShareVisit is where a share link leads, and whose link it is.
type ShareVisit struct {
	// URL is the card's URL.
	URL string
	// MemberID is the member the link was made for.
	MemberID string
}

// FollowShareLink returns where a share link leads. With count, the
// follow is a person's click, and the first one of the member the link is
// for counts toward the app's report: not the sender's own, and not in a
// thread closed to apps, which tells apps nothing. Only a first click
// writes. An unknown or malformed token, or one whose card was deleted,
// is ENOTFOUND.
func (s *Service) FollowShareLink(ctx context.Context, token string, count bool) (*ShareVisit, error) {
	notFound := parley.Errorf(parley.ENOTFOUND, "no such link")
	if len(token) != shareTokenLen {
		return nil, notFound
	}
	if _, err := base64.RawURLEncoding.DecodeString(token); err != nil {
		return nil, notFound
	}
	hash := parley.HashToken(token)
	var target *parley.ShareTarget
	closed := false
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		if target, err = tx.FindShareTarget(ctx, hash); err != nil || !count {
			return err
		}
		closers, err := tx.FindThreadClosers(ctx, target.ThreadID)
		closed = len(closers) > 0
		return err
	})
	switch {
	case isNotFound(err) || err == nil && target.URL == "":
		return nil, notFound
	case err != nil:
		return nil, err
	}
	l := target.Link
	if count && !closed && l.ClickedAt == nil && l.UserID != l.SenderID && l.ClientID != "" {
		// The visit goes on whether or not the click is counted.
		err := s.store.Write(ctx, func(tx parley.Tx) error {
			_, err := tx.ClickShareLink(ctx, hash, s.Now())
			return err
		})
		if err != nil {
			s.log.ErrorContext(ctx, "count share click", "err", err)
		}
	}
	return &ShareVisit{URL: target.URL, MemberID: l.UserID}, nil
}
