package service

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/ratelimit"
)

// searchesPerMember holds one member's searches to 20 at once, then one
// every 2 seconds: a search reads every message of the member's threads
// (parley.MessageStore.SearchMessages), so it costs far more than a page
// of a thread, and a member looks for something now and then, not in a
// loop. Counted on every node alike, as the API's limits are.
var searchesPerMember = ratelimit.Policy{Name: "searches", Rate: 0.5, Burst: 20}

// SearchMessages returns a page of the messages the signed-in member can
// read that hold the text q, whatever its case (parley.SearchText): of the
// threads they are in, not deleted, their text or share card's title;
// newest first, limit at a time (parley.DefaultSearchLimit when 0), from
// the cursor of the page before (none: from the newest). Apps cannot
// search. EINVALID for an empty or long q, a limit out of range or a
// cursor this server did not give out; ETHROTTLED past searchesPerMember.
func (s *Service) SearchMessages(ctx context.Context, q, cursor string, limit int) (*parley.SearchPage, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	text, err := parley.SearchText(q)
	if err != nil {
		return nil, err
	}
	if limit, err = pageLimit(limit, parley.DefaultSearchLimit, parley.MaxSearchLimit); err != nil {
		return nil, err
	}
	f := parley.SearchFilter{MemberID: c.User.ID, Text: text, Limit: limit + 1}
	if cursor != "" {
		us, id, ok := decodeCursor(searchCursorMark, cursor)
		if !ok {
			return nil, parley.Errorf(parley.EINVALID, "cursor is not one this server gave out")
		}
		f.Before = &parley.SearchCursor{CreatedAt: time.UnixMicro(us).UTC(), ID: id}
	}
	if s.opts.Limiter != nil {
		key := "search:" + c.User.ID
		if d := s.opts.Limiter.Allow(key, searchesPerMember); !d.Allowed {
			return nil, s.rateLimited(ctx, searchesPerMember, key, d.RetryAfter, "searches")
		}
	}
	var found []*parley.Message
	err = s.store.Read(ctx, func(tx parley.Tx) (err error) {
		found, err = tx.SearchMessages(ctx, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	page := &parley.SearchPage{Messages: found}
	if len(found) > limit {
		page.Messages = found[:limit]
		last := found[limit-1]
		page.NextCursor = encodeCursor(searchCursorMark, last.CreatedAt.UnixMicro(), last.ID)
	}
	return page, s.forCaller(ctx, c, page.Messages...)
}
