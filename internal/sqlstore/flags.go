package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/parleyhq/parley"
)

func (t *txn) CreateFlag(ctx context.Context, f *parley.Flag, reporterID string) (bool, error) {
	const op = "create flag"
	e := f.Evidence
	res, err := t.exec(ctx, `
		INSERT INTO flags (id, thread_no, seq, reporter_no, reason, note, at, kind, body, share_url, share_title)
		SELECT $1, m.thread_no, m.seq, `+senderNo(3)+`, $4, $5, $6, $7, $8, $9, $10 FROM messages m WHERE m.id = $2 AND m.deleted_at IS NULL
		ON CONFLICT (reporter_no, thread_no, seq) DO UPDATE SET id = excluded.id, reason = excluded.reason, note = excluded.note,
			at = excluded.at, kind = excluded.kind, body = excluded.body, share_url = excluded.share_url,
			share_title = excluded.share_title, resolution = NULL, resolved_at = NULL
		WHERE flags.resolution IS NOT NULL`,
		f.ID, t.messageID(f.MessageID), reporterID, f.Reason, f.Note, micros(f.At), e.Kind, e.Text, e.ShareURL, e.ShareTitle)
	if err != nil {
		return false, mapError(op, err)
	}
	n, err := res.RowsAffected()
	return n == 1, mapError(op, err)
}

// flagColumns are the columns a flagRow scans, from flagsJoined.
const flagColumns = `f.id, m.id, t.id, f.seq, f.reason, f.note, f.at, COALESCE(f.resolution, ''), f.resolved_at`

// flagsJoined are the flags f with their messages m and threads t.
const flagsJoined = `flags f JOIN messages m ON m.thread_no = f.thread_no AND m.seq = f.seq JOIN threads t ON t.no = f.thread_no`

// flagRow scans a flag's flagColumns.
type flagRow struct {
	flag       parley.Flag
	at         int64
	resolvedAt sql.NullInt64
}

// dest returns the row's destinations for flagColumns, then more.
func (r *flagRow) dest(more ...any) []any {
	f := &r.flag
	return append([]any{&f.ID, (*storedID)(&f.MessageID), &f.ThreadID, &f.Seq, &f.Reason, &f.Note, &r.at, &f.Resolution, &r.resolvedAt}, more...)
}

// scanned returns the flag the row scanned.
func (r *flagRow) scanned() *parley.Flag {
	f := r.flag
	f.At, f.ResolvedAt = fromMicros(r.at), fromNullMicros(r.resolvedAt)
	return &f
}

func (t *txn) FindFlag(ctx context.Context, reporterID, messageID string) (*parley.Flag, error) {
	const op = "find flag"
	var r flagRow
	err := t.queryRow(ctx, "flag", `SELECT `+flagColumns+` FROM `+flagsJoined+`
		WHERE m.id = $2 AND f.reporter_no = `+senderNo(1), []any{reporterID, t.messageID(messageID)}, r.dest()...)
	if err != nil {
		return nil, mapError(op, err)
	}
	return r.scanned(), nil
}

func (t *txn) FindFlags(ctx context.Context, reporterID string, after *parley.Flag, limit int) ([]*parley.Flag, error) {
	var afterAt int64
	var afterID string
	if after != nil {
		afterAt, afterID = micros(after.At), after.ID
	}
	return t.findFlags(ctx, "find flags", false, `f.reporter_no = `+senderNo(1)+` AND (f.at, f.id) > ($2, $3)
		ORDER BY f.at, f.id LIMIT $4`, reporterID, afterAt, afterID, limit)
}

func (t *txn) FindOpenFlags(ctx context.Context, limit int) ([]*parley.Flag, error) {
	return t.findFlags(ctx, "find open flags", true, `f.resolution IS NULL ORDER BY f.at, f.id LIMIT $1`, limit)
}

// findFlags returns the flags where says, with their evidence when
// evidence is set.
func (t *txn) findFlags(ctx context.Context, op string, evidence bool, where string, args ...any) ([]*parley.Flag, error) {
	columns, joined := flagColumns, flagsJoined
	if evidence {
		columns += `, r.id, r.username, r.display_name, s.id, s.username, s.display_name, COALESCE(f.kind, ''), COALESCE(f.body, ''), COALESCE(f.share_url, ''), COALESCE(f.share_title, ''),
			COALESCE(m.via_client_id, ''), COALESCE(m.via_name, ''), m.created_at, m.deleted_at`
		joined += ` JOIN users r ON r.no = f.reporter_no JOIN users s ON s.no = m.sender_no`
	}
	rows, err := t.query(ctx, `SELECT `+columns+` FROM `+joined+` WHERE `+where, args...)
	if err != nil {
		return nil, mapError(op, err)
	}
	defer rows.Close()
	flags := []*parley.Flag{}
	for rows.Next() {
		var r flagRow
		var e parley.FlagEvidence
		var sentAt int64
		var deletedAt sql.NullInt64
		var via parley.Via
		dest := r.dest()
		if evidence {
			dest = r.dest(&e.Reporter.ID, &e.Reporter.Username, &e.Reporter.DisplayName,
				&e.Sender.ID, &e.Sender.Username, &e.Sender.DisplayName, &e.Kind, &e.Text, &e.ShareURL, &e.ShareTitle,
				&via.ClientID, &via.Name, &sentAt, &deletedAt)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, mapError(op, err)
		}
		f := r.scanned()
		if evidence {
			e.SentAt, e.DeletedAt = fromMicros(sentAt), fromNullMicros(deletedAt)
			if via.ClientID != "" {
				e.Via = &via
			}
			f.Evidence = &e
		}
		flags = append(flags, f)
	}
	return flags, mapError(op, rows.Err())
}

func (t *txn) ResolveFlags(ctx context.Context, messageID, throughID, resolution string, at time.Time) (int, error) {
	const op = "resolve flags"
	res, err := t.exec(ctx, `
		WITH through AS (
			SELECT f.thread_no, f.seq, f.at, f.id FROM flags f JOIN messages m ON m.thread_no = f.thread_no AND m.seq = f.seq
			WHERE m.id = $1 AND f.id = $2
		)
		UPDATE flags SET resolution = $3, resolved_at = $4, kind = NULL, body = NULL, share_url = NULL, share_title = NULL
		FROM through
		WHERE flags.thread_no = through.thread_no AND flags.seq = through.seq AND flags.resolution IS NULL
			AND (flags.at, flags.id) <= (through.at, through.id)`,
		t.messageID(messageID), throughID, resolution, micros(at))
	if err != nil {
		return 0, mapError(op, err)
	}
	n, err := res.RowsAffected()
	return int(n), mapError(op, err)
}

func (t *txn) DeleteFlags(ctx context.Context, reporterID string) error {
	_, err := t.exec(ctx, `DELETE FROM flags WHERE reporter_no = `+senderNo(1), reporterID)
	return mapError("delete flags", err)
}
