package sqlstore

import (
	"context"
	"strings"
	"time"
)

func (t *txn) UpdateAppRedirectURIs(ctx context.Context, clientID string, uris []string) error {
	res, err := t.exec(ctx, `UPDATE apps SET redirect_uris = $2 WHERE client_id = $1`, clientID, strings.Join(uris, "\n"))
	if err != nil {
		return mapError("update app redirect URIs", err)
	}
	return mustAffect(res, "app")
}

func (t *txn) RotateAppSecret(ctx context.Context, clientID string, secretHash []byte, oldUntil time.Time) error {
	if err := t.forgetOldSecretsTokens(ctx, clientID); err != nil {
		return mapError("rotate app secret", err)
	}
	res, err := t.exec(ctx, `
		UPDATE apps SET old_secret_hash = secret_hash, secret_hash = $2, old_secret_until = $3
		WHERE client_id = $1 AND secret_hash IS NOT NULL`,
		clientID, secretHash, micros(oldUntil))
	if err != nil {
		return mapError("rotate app secret", err)
	}
	return mustAffect(res, "confidential app")
}

func (t *txn) EndOldAppSecret(ctx context.Context, clientID string) error {
	if err := t.forgetOldSecretsTokens(ctx, clientID); err != nil {
		return mapError("end old app secret", err)
	}
	res, err := t.exec(ctx, `
		UPDATE apps SET old_secret_hash = NULL, old_secret_until = NULL
		WHERE client_id = $1 AND secret_hash IS NOT NULL`, clientID)
	if err != nil {
		return mapError("end old app secret", err)
	}
	return mustAffect(res, "confidential app")
}

// forgetOldSecretsTokens deletes the client tokens an app got with the
// secret a rotation replaced, as that secret ends.
func (t *txn) forgetOldSecretsTokens(ctx context.Context, clientID string) error {
	_, err := t.exec(ctx, `
		DELETE FROM client_tokens WHERE client_id = $1
		AND secret_hash = (SELECT old_secret_hash FROM apps WHERE client_id = $1)`, clientID)
	return err
}

func (t *txn) RemoveGrantThread(ctx context.Context, grantID, threadID string) error {
	res, err := t.exec(ctx, `DELETE FROM grant_threads WHERE grant_id = $1 AND thread_id = $2`, grantID, threadID)
	if err != nil {
		return mapError("remove grant thread", err)
	}
	if err := mustAffect(res, "grant thread"); err != nil {
		return err
	}
	_, err = t.exec(ctx, `
		INSERT INTO grant_threads_taken_out (grant_id, thread_id) VALUES ($1, $2)
		ON CONFLICT (grant_id, thread_id) DO NOTHING`, grantID, threadID)
	return mapError("remove grant thread", err)
}
