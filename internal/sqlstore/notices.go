package sqlstore

import (
	"context"
	"database/sql"
	"slices"

	"github.com/parleyhq/parley"
)

func (t *txn) AddThreadNotice(ctx context.Context, n *parley.ThreadNotice) error {
	_, err := t.exec(ctx, `
		INSERT INTO thread_notices (id, thread_id, kind, at, by_user_id, client_id, grant_id, scopes)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		n.ID, n.ThreadID, n.Kind, micros(n.At), n.By.ID, nullString(n.ClientID), nullString(n.GrantID), n.Scopes.String())
	return mapError("add thread notice", err)
}

func (t *txn) FindThreadNotices(ctx context.Context, threadID string, limit int) ([]parley.ThreadNotice, error) {
	rows, err := t.query(ctx, `
		SELECT n.id, n.kind, n.at, u.id, u.username, u.display_name,
			COALESCE(n.client_id, ''), COALESCE(a.name, ''), COALESCE(n.grant_id, ''), n.scopes
		FROM thread_notices n
		JOIN `+shownUsers+` u ON u.id = n.by_user_id
		LEFT JOIN apps a ON a.client_id = n.client_id
		WHERE n.thread_id = $1
		ORDER BY n.at DESC, n.id DESC LIMIT $2`, threadID, limit)
	if err != nil {
		return nil, mapError("find thread notices", err)
	}
	defer rows.Close()
	list := []parley.ThreadNotice{}
	for rows.Next() {
		n := parley.ThreadNotice{ThreadID: threadID}
		var at int64
		var scopes string
		if err := rows.Scan(&n.ID, &n.Kind, &at, &n.By.ID, &n.By.Username, &n.By.DisplayName,
			&n.ClientID, &n.AppName, &n.GrantID, &scopes); err != nil {
			return nil, mapError("find thread notices", err)
		}
		n.At, n.Scopes = fromMicros(at), parley.ParseScopes(scopes)
		list = append(list, n)
	}
	if err := rows.Err(); err != nil {
		return nil, mapError("find thread notices", err)
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list, nil
}

func (t *txn) AddTimelineNote(ctx context.Context, n *parley.TimelineNote) error {
	if n.Kind == parley.NoteRenamed {
		// The thread's last note, if it is this member's renaming after
		// the same message, takes the new title and time.
		var id string
		err := t.queryRow(ctx, "timeline note", `
			UPDATE timeline_notes SET title = $1, at = $2
			WHERE id = (SELECT id FROM timeline_notes WHERE thread_id = $3 ORDER BY after_seq DESC, at DESC, id DESC LIMIT 1)
				AND kind = $4 AND by_user_id = $5 AND after_seq = $6
			RETURNING id`, []any{n.Title, micros(n.At), n.ThreadID, parley.NoteRenamed, n.By.ID, n.AfterSeq}, &id)
		if err == nil {
			n.ID = id
			return nil
		}
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			return mapError("add timeline note", err)
		}
	}
	var subject sql.NullString
	if n.Subject != nil {
		subject = nullString(n.Subject.ID)
	}
	_, err := t.exec(ctx, `
		INSERT INTO timeline_notes (id, thread_id, after_seq, at, kind, by_user_id, subject_user_id, title)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		n.ID, n.ThreadID, n.AfterSeq, micros(n.At), n.Kind, n.By.ID, subject, n.Title)
	return mapError("add timeline note", err)
}

func (t *txn) FindTimelineNotes(ctx context.Context, userID, threadID string, from, to int64, limit int) ([]parley.TimelineNote, error) {
	rows, err := t.query(ctx, `
		SELECT n.id, n.after_seq, n.at, n.kind, n.title, b.id, b.username, b.display_name, s.id, s.username, s.display_name
		FROM participants p
		JOIN timeline_notes n ON n.thread_id = p.thread_id
		JOIN `+shownUsers+` b ON b.id = n.by_user_id
		LEFT JOIN `+shownUsers+` s ON s.id = n.subject_user_id
		WHERE p.thread_id = $1 AND p.user_id = $4 AND p.left_at IS NULL AND n.after_seq BETWEEN $2 AND $3
		ORDER BY n.after_seq DESC, n.at DESC, n.id DESC LIMIT $5`, threadID, from, to, userID, limit)
	if err != nil {
		return nil, mapError("find timeline notes", err)
	}
	defer rows.Close()
	list := []parley.TimelineNote{}
	for rows.Next() {
		n := parley.TimelineNote{ThreadID: threadID}
		var at int64
		var title, subjectID, subjectName, subjectDisplay sql.NullString
		if err := rows.Scan(&n.ID, &n.AfterSeq, &at, &n.Kind, &title, &n.By.ID, &n.By.Username, &n.By.DisplayName,
			&subjectID, &subjectName, &subjectDisplay); err != nil {
			return nil, mapError("find timeline notes", err)
		}
		n.At, n.Title = fromMicros(at), title.String
		if subjectID.Valid {
			n.Subject = &parley.UserRef{ID: subjectID.String, Username: subjectName.String, DisplayName: subjectDisplay.String}
		}
		list = append(list, n)
	}
	if err := rows.Err(); err != nil {
		return nil, mapError("find timeline notes", err)
	}
	slices.Reverse(list)
	return list, nil
}
