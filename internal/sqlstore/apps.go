package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/parleyhq/parley"
)

const appSelect = `SELECT client_id, name, owner_id, redirect_uris, homepage, purpose, client_type, state,
	all_threads_approved, created_at, old_secret_until FROM apps `

func (t *txn) CreateApp(ctx context.Context, a *parley.App, secretHash []byte) error {
	_, err := t.exec(ctx, `
		INSERT INTO apps (client_id, name, owner_id, redirect_uris, homepage, purpose, client_type, secret_hash, state,
			all_threads_approved, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		a.ClientID, a.Name, nullString(a.OwnerID), strings.Join(a.RedirectURIs, "\n"), a.Homepage, a.Purpose,
		a.ClientType, secretHash, a.State, a.AllThreadsApproved, micros(a.CreatedAt))
	return mapError("create app", err)
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
