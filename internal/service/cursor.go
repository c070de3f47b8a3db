package service

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/parleyhq/parley"
)

// Cursors of threads and of changes are a number and an ID, "<n>.<id>" in
// base64url: opaque to clients, and checked on the way in, since a client
// may send anything.

func encodeCursor(n int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(n, 10) + "." + id))
}

// decodeCursor reads a cursor encodeCursor made: ok is false unless it
// holds a number of at least 0 and an ID of the form parley.NewID gives
// (every thread's): anything else in its place, a NUL or bytes that are
// not UTF-8 among them, is not one this server gave out, and is never
// passed on to the store, which on PostgreSQL fails on such a string.
func decodeCursor(cursor string) (n int64, id string, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, "", false
	}
	num, id, ok := strings.Cut(string(raw), ".")
	n, err = strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n < 0 || !parley.IsID(id) {
		return 0, "", false
	}
	return n, id, true
}
