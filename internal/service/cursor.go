package service

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Cursors of threads and of changes are a number and an ID, "<n>.<id>" in
// base64url: opaque to clients, and checked on the way in, since a client
// may send anything.

func encodeCursor(n int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(n, 10) + "." + id))
}

// decodeCursor reads a cursor encodeCursor made: ok is false unless it
// holds a number of at least 0 and a non-empty ID.
func decodeCursor(cursor string) (n int64, id string, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, "", false
	}
	num, id, ok := strings.Cut(string(raw), ".")
	n, err = strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n < 0 || id == "" {
		return 0, "", false
	}
	return n, id, true
}
