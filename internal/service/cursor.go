package service

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/parleyhq/parley"
)

// Cursors of threads and of changes are a number and an ID, "<n>.<id>" in
// base64url: opaque to clients, and checked on the way in, since a client
// may send anything. A cursor of the inbox names a thread, as one of a
// thread's changes does, and one of a search a message, so the first two
// start with a mark of their kind, threadCursorMark and searchCursorMark,
// which no cursor of a thread's changes holds: none passes for another.
// (Changes cursors, which clients keep, have none, as before there were
// marks.)

const (
	// threadCursorMark starts a cursor of the inbox: "t<n>.<id>".
	threadCursorMark = "t"
	// searchCursorMark starts a cursor of a search's results: "s<n>.<id>".
	searchCursorMark = "s"
)

// encodeCursor makes a cursor of n and id, starting with mark: "" for one
// of a thread's changes, threadCursorMark for one of the inbox,
// searchCursorMark for one of a search.
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
	rest, marked := strings.CutPrefix(string(raw), mark)
	num, id, ok := strings.Cut(rest, ".")
	// A number starts with a digit: not with another kind's mark, nor a sign.
	if !marked || num == "" || num[0] < '0' || num[0] > '9' {
		return 0, "", false
	}
	n, err = strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n < 0 || !parley.IsID(id) {
		return 0, "", false
	}
	return n, id, true
}
