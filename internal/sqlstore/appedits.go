package sqlstore

import (
	"context"
	"strings"
)

func (t *txn) UpdateAppRedirectURIs(ctx context.Context, clientID string, uris []string) error {
	res, err := t.exec(ctx, `UPDATE apps SET redirect_uris = $2 WHERE client_id = $1`, clientID, strings.Join(uris, "\n"))
	if err != nil {
		return mapError("update app redirect URIs", err)
	}
	return mustAffect(res, "app")
}

func (t *txn) UpdateAppSecretHash(ctx context.Context, clientID string, secretHash []byte) error {
	res, err := t.exec(ctx, `UPDATE apps SET secret_hash = $2 WHERE client_id = $1 AND secret_hash IS NOT NULL`, clientID, secretHash)
	if err != nil {
		return mapError("update app secret", err)
	}
	return mustAffect(res, "confidential app")
}

func (t *txn) RemoveGrantThread(ctx context.Context, grantID, threadID string) error {
	res, err := t.exec(ctx, `DELETE FROM grant_threads WHERE grant_id = $1 AND thread_id = $2`, grantID, threadID)
	if err != nil {
		return mapError("remove grant thread", err)
	}
	return mustAffect(res, "grant thread")
}
