package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

const appSelect = `SELECT client_id, name, owner_id, redirect_uris, homepage, purpose, client_type, state,
	all_threads_approved, created_at, old_secret_until FROM apps `

func (t *txn) CreateApp(ctx context.Context, a *parley.App, secretHash []byte) error {
	_, err := t.exec(ctx, `
		INSERT INTO apps (client_id, name, owner_id, redirect_uris, homepage, purpose, client_type, secret_hash, state,
			all_threads_approved, created_at, name_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		a.ClientID, a.Name, nullString(a.OwnerID), strings.Join(a.RedirectURIs, "\n"), a.Homepage, a.Purpose,
		a.ClientType, secretHash, a.State, a.AllThreadsApproved, micros(a.CreatedAt), parley.AppNameKey(a.Name))
	return mapError("create app", err)
}

func (t *txn) FindLiveAppByName(ctx context.Context, name string) (*parley.App, error) {
	return t.findApp(ctx, `WHERE name_key = $1 AND state <> 'deleted' ORDER BY created_at, client_id LIMIT 1`,
		parley.AppNameKey(name))
}

func (t *txn) ClaimAppName(ctx context.Context, clientID string) error {
	res, err := t.exec(ctx, `UPDATE apps SET name_claimed = TRUE WHERE client_id = $1`, clientID)
	if err != nil {
		return mapError("claim app name", err)
	}
	return mustAffect(res, "app")
}

func (t *txn) CountLiveApps(ctx context.Context, ownerID string) (n int, err error) {
	err = t.queryRow(ctx, "app", `SELECT COUNT(*) FROM apps WHERE owner_id = $1 AND state <> 'deleted'`,
		[]any{ownerID}, &n)
	return n, mapError("count live apps", err)
}

func (t *txn) CountAppsRegisteredSince(ctx context.Context, ownerID string, since time.Time) (n int, first time.Time, err error) {
	var earliest sql.NullInt64
	if err := t.queryRow(ctx, "app", `SELECT COUNT(*), MIN(created_at) FROM apps WHERE owner_id = $1 AND created_at > $2`,
		[]any{ownerID, micros(since)}, &n, &earliest); err != nil {
		return 0, time.Time{}, mapError("count apps registered", err)
	}
	if earliest.Valid {
		first = fromMicros(earliest.Int64)
	}
	return n, first, nil
}

// fillAppNameKeys gives each app stored before migration 0068 its name's
// key (parley.AppNameKey), which only Go computes; every app registered
// since has one. It runs whenever the schema was brought up to date, in
// one transaction, and finds nothing to do once done: two servers filling
// at once write the same keys.
func fillAppNameKeys(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: fill app name keys: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT client_id, name FROM apps WHERE name_key IS NULL`)
	if err != nil {
		return fmt.Errorf("sqlstore: fill app name keys: %w", err)
	}
	names := map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return fmt.Errorf("sqlstore: fill app name keys: %w", err)
		}
		names[id] = name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore: fill app name keys: %w", err)
	}
	for id, name := range names {
		if _, err := tx.ExecContext(ctx, `UPDATE apps SET name_key = $2 WHERE client_id = $1 AND name_key IS NULL`,
			id, parley.AppNameKey(name)); err != nil {
			return fmt.Errorf("sqlstore: fill app name keys: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: fill app name keys: %w", err)
	}
	return nil
}

func (t *txn) findApps(ctx context.Context, where string, args ...any) ([]*parley.App, error) {
	rows, err := t.query(ctx, appSelect+where, args...)
	if err != nil {
		return nil, mapError("find apps", err)
	}
	defer rows.Close()
	apps := []*parley.App{}
	for rows.Next() {
		var a parley.App
		var owner sql.NullString
		var uris string
		var created int64
		var oldUntil sql.NullInt64
		if err := rows.Scan(&a.ClientID, &a.Name, &owner, &uris, &a.Homepage, &a.Purpose, &a.ClientType, &a.State,
			&a.AllThreadsApproved, &created, &oldUntil); err != nil {
			return nil, mapError("find apps", err)
		}
		a.OwnerID, a.RedirectURIs, a.CreatedAt = owner.String, strings.Split(uris, "\n"), fromMicros(created)
		a.OldSecretUntil = fromNullMicros(oldUntil)
		apps = append(apps, &a)
	}
	return apps, mapError("find apps", rows.Err())
}

func (t *txn) FindAppByClientID(ctx context.Context, clientID string) (*parley.App, error) {
	return t.findApp(ctx, `WHERE client_id = $1`, clientID)
}

func (t *txn) FindAppForUpdate(ctx context.Context, clientID string) (*parley.App, error) {
	return t.findApp(ctx, `WHERE client_id = $1`+t.locked, clientID)
}

// findApp returns the one app the condition finds; ENOTFOUND for none.
func (t *txn) findApp(ctx context.Context, where string, args ...any) (*parley.App, error) {
	apps, err := t.findApps(ctx, where, args...)
	if err != nil {
		return nil, err
	}
	if len(apps) == 0 {
		return nil, parley.Errorf(parley.ENOTFOUND, "app not found")
	}
	return apps[0], nil
}

func (t *txn) FindApps(ctx context.Context, ownerID string) ([]*parley.App, error) {
	return t.findApps(ctx, `WHERE $1 = '' OR owner_id = $1 ORDER BY created_at, client_id`, ownerID)
}

func (t *txn) SetAppRegistrationKey(ctx context.Context, clientID, key string) error {
	res, err := t.exec(ctx, `UPDATE apps SET registration_key = $2 WHERE client_id = $1`, clientID, key)
	if err != nil {
		return mapError("set app registration key", err)
	}
	return mustAffect(res, "app")
}

func (t *txn) FindAppByRegistrationKey(ctx context.Context, ownerID, key string) (*parley.App, error) {
	return t.findApp(ctx, `WHERE owner_id = $1 AND registration_key = $2`, ownerID, key)
}

func (t *txn) UpdateAppReview(ctx context.Context, clientID, state string, allThreads bool) error {
	res, err := t.exec(ctx, `UPDATE apps SET state = $2, all_threads_approved = $3 WHERE client_id = $1`,
		clientID, state, allThreads)
	if err != nil {
		return mapError("update app review", err)
	}
	return mustAffect(res, "app")
}

func (t *txn) FindAppSecretHashes(ctx context.Context, clientID string) (hash, oldHash []byte, err error) {
	if err := t.queryRow(ctx, "app", `SELECT secret_hash, old_secret_hash FROM apps WHERE client_id = $1`,
		[]any{clientID}, &hash, &oldHash); err != nil {
		return nil, nil, mapError("find app secret", err)
	}
	return hash, oldHash, nil
}
