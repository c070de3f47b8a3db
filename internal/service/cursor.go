package service

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// Cursors of threads and of changes are a number and an ID, "<n>.<id>" in
// base64url: opaque to clients, and checked on the way in, since a client
// may send anything. A cursor of the inbox names a thread, as one of a
// thread's changes does, one of a search a message, and one of the friend
// requests a member received, of their friends or of the members they
// block a member, so the first five start with a mark of their kind,
// threadCursorMark, searchCursorMark, requestCursorMark, friendCursorMark
// and blockCursorMark, which no cursor of a thread's changes holds: none
// passes for another.
// (Changes cursors, which clients keep, have none, as before there were
// marks.)

const (
	// threadCursorMark starts a cursor of the inbox: "t<n>.<id>".
	threadCursorMark = "t"
	// searchCursorMark starts a cursor of a search's results: "s<n>.<id>".
	searchCursorMark = "s"
	// requestCursorMark starts a cursor of the friend requests a member
	// received: "r<n>.<asker's id>", n when they asked, in microseconds.
	requestCursorMark = "r"
	// friendCursorMark starts a cursor of a member's friends:
	// "f<n>.<friend's id>", n since when they are friends, in
	// microseconds.
	friendCursorMark = "f"
	// blockCursorMark starts a cursor of the members a member blocks:
	// "b<n>.<blocked member's id>", n when they were blocked, in
	// microseconds.
	blockCursorMark = "b"
)

// pageLimit is a page's limit as asked: def when 0, else from 1 to max.
func pageLimit(limit, def, max int) (int, error) {
	if limit == 0 {
		return def, nil
	}
	if limit < 1 || limit > max {
		return 0, parley.Errorf(parley.EINVALID, "limit must be 1 to %d", max)
	}
	return limit, nil
}

// encodeCursor makes a cursor of n and id, starting with mark: "" for one
// of a thread's changes, threadCursorMark for one of the inbox,
// searchCursorMark for one of a search, requestCursorMark for one of
// received friend requests, friendCursorMark for one of friends,
// blockCursorMark for one of blocks.
func encodeCursor(mark string, n int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(mark + strconv.FormatInt(n, 10) + "." + id))
}

// decodeCursor reads a cursor encodeCursor made with mark: ok is false
// unless it starts with mark, then holds a number of at least 0 and an ID
// of the form parley.NewID gives (every thread's): anything else in its
// place, a NUL or bytes that are not UTF-8 among them, is not one this
// server gave out, and is never passed on to the store, which on
// PostgreSQL fails on such a string.
func decodeCursor(mark, cursor string) (n int64, id string, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, "", false
	}
	return parseCursor(mark, string(raw))
}

// parseCursor reads a cursor's text, decoded, as decodeCursor does.
func parseCursor(mark, raw string) (n int64, id string, ok bool) {
	rest, marked := strings.CutPrefix(raw, mark)
	num, id, ok := strings.Cut(rest, ".")
	n, counted := parseCount(num)
	if !marked || !ok || !counted || !parley.IsID(id) {
		return 0, "", false
	}
	return n, id, true
}

// parseCount reads a cursor's number: digits, of at least 0. It starts
// with a digit: not with another kind's mark, nor a sign.
func parseCount(text string) (int64, bool) {
	if text == "" || text[0] < '0' || text[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseInt(text, 10, 64)
	return n, err == nil && n >= 0
}

// A changes feed's cursor is "<change>.<thread ID>@<from>" (encodeCursor's
// form, the reach added): the last change read, the thread, and the first
// message the caller's reach of the thread began at when the cursor was
// given (0 for a member, who reads a thread from its start). An app's
// reach moves when the thread leaves its grant and comes back (the member
// unticked it, and the app shared into it again, from the new card on; or
// ticked it again, from the start): what the feed shows from then on is
// told from the new start, and what changed before it, deletions among
// them, is not, so a cursor of the earlier reach would skip it unseen.
// Such a cursor is refused (errStaleChangeCursor), for the app to read the
// thread anew. A cursor given before the reach was in it has none, and is
// read as of any reach.
const reachMark = "@"

// errStaleChangeCursor refuses a changes feed's cursor given for another
// reach of the thread than the caller's now.
var errStaleChangeCursor = parley.Errorf(parley.ECONFLICT,
	"this cursor was given before the thread left your app's grant and came back into it: your app now sees it from another message on; forget your copy of the thread and read its changes again from an empty cursor")

func encodeChangeCursor(change, from int64, threadID string) string {
	return encodeCursor("", change, threadID+reachMark+strconv.FormatInt(from, 10))
}

// decodeChangeCursor reads a cursor of the thread's changes: the change to
// read after, and the reach it was given for, -1 when it names none.
func decodeChangeCursor(cursor, threadID string) (change, from int64, err error) {
	if cursor == "" {
		return 0, -1, nil
	}
	bad := parley.Errorf(parley.EINVALID, "cursor is not one this server gave out for this thread")
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, 0, bad
	}
	head, fromText, withReach := strings.Cut(string(raw), reachMark)
	change, id, ok := parseCursor("", head)
	if !ok || id != threadID {
		return 0, 0, bad
	}
	if !withReach {
		return change, -1, nil
	}
	from, ok = parseCount(fromText)
	if !ok {
		return 0, 0, bad
	}
	return change, from, nil
}

// decodeMemberCursor reads a cursor of a list of members newest first,
// made by encodeMemberCursor with mark: nil for none, EINVALID for one
// this server did not give out for such a list.
func decodeMemberCursor(mark, cursor string) (*parley.MemberCursor, error) {
	if cursor == "" {
		return nil, nil
	}
	us, id, ok := decodeCursor(mark, cursor)
	if !ok {
		return nil, parley.Errorf(parley.EINVALID, "cursor is not one this server gave out")
	}
	return &parley.MemberCursor{Since: time.UnixMicro(us).UTC(), UserID: id}, nil
}

// cutMemberPage cuts a list of members newest first, read with one more
// than limit, to limit, and returns it with the cursor, marked mark, of
// the page after it, from its last member's place: "" when the list held
// no more.
func cutMemberPage[T any](list []T, limit int, mark string, place func(T) (time.Time, string)) ([]T, string) {
	if len(list) <= limit {
		return list, ""
	}
	list = list[:limit]
	since, id := place(list[limit-1])
	return list, encodeMemberCursor(mark, since, id)
}

// encodeMemberCursor makes the cursor of the page after a member's place,
// since when and their ID, in a list of members newest first.
func encodeMemberCursor(mark string, since time.Time, userID string) string {
	return encodeCursor(mark, since.UnixMicro(), userID)
}
