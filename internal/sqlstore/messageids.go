package sqlstore

import (
	"database/sql/driver"
	"fmt"

	"github.com/parleyhq/parley"
	"modernc.org/sqlite"
)

// SQLite stores a message's ID as the 16 bytes it encodes
// (parley.IDBytes), not as its 26 characters: 10 bytes fewer in the
// message's row and 10 in the unique index on it, a fifteenth of what a
// message takes on disk (bench/README.md, "A message's ID in 16 bytes").
// share_links.message_id, which refers to it, is stored alike. An ID of
// another form, which parley.NewID never returns but a caller may give, is
// stored as its text: each form reads back as the ID it was written as,
// and a lookup of one finds only what was stored as it. The bytes sort as
// the IDs' text does. PostgreSQL stores the text, as before: the bytes
// were made for the footprint W1 measures, SQLite's, and PostgreSQL's
// is left for when it is measured.

// messageIDColumns are, for each table, the column that holds a message's
// ID in messageID's form: what a copy to PostgreSQL and Digest turn back
// into text.
var messageIDColumns = map[string]string{"messages": "id", "share_links": "message_id"}

// messageID returns the message ID id as t's engine stores it, for a
// statement's argument.
func (t *txn) messageID(id string) any {
	if t.pg == nil {
		return sqliteMessageID(id)
	}
	return id
}

// sqliteMessageID returns the message ID id as SQLite stores it: its
// bytes, or id itself if it is of another form.
func sqliteMessageID(id string) any {
	if b, ok := parley.IDBytes(id); ok {
		return b[:]
	}
	return id
}

// storedID is a message's ID as a row holds it, on either engine: a
// scan's destination, (*storedID)(&id), that sets id to its text.
type storedID string

func (s *storedID) Scan(src any) error {
	switch v := src.(type) {
	case string:
		*s = storedID(v)
	case []byte:
		id, ok := idText(v)
		if !ok {
			return fmt.Errorf("sqlstore: a message ID of %d bytes", len(v))
		}
		*s = storedID(id)
	default:
		return fmt.Errorf("sqlstore: a message ID of %T", src)
	}
	return nil
}

// messageIDText returns a message ID's stored value v as its text: v
// itself unless it is bytes.
func messageIDText(v any) any {
	if b, ok := v.([]byte); ok {
		if id, ok := idText(b); ok {
			return id
		}
	}
	return v
}

// idText returns the ID whose bytes are b, and whether b is 16 bytes long.
func idText(b []byte) (string, bool) {
	if len(b) != 16 {
		return "", false
	}
	return parley.IDFromBytes([16]byte(b)), true
}

// The names, in SQLite's statements, of the functions that turn a
// message's ID from its text to its stored form and back, for the
// migration that stored IDs as bytes (0047) and the one that undoes it.
const (
	sqliteIDBytes = "parley_id_bytes"
	sqliteIDText  = "parley_id_text"
)

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(sqliteIDBytes, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		if s, ok := args[0].(string); ok {
			return sqliteMessageID(s), nil
		}
		return args[0], nil
	})
	sqlite.MustRegisterDeterministicScalarFunction(sqliteIDText, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		return messageIDText(args[0]), nil
	})
}
