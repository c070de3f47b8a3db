package service

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/parleyhq/parley"
)

// SecretKeeper keeps the server's secrets by name, such as the key that
// signs the pages' CSRF tokens: it returns the secret of the name, making
// it with make and keeping it on first use, so that it outlives restarts
// and every server of the store shares it. internal/oauth keeps them with
// the provider's keys in the database, wrapped when those are.
type SecretKeeper interface {
	Secret(ctx context.Context, name string, make func() ([]byte, error)) ([]byte, error)
}

// StoreSecrets keeps secrets in the store as they are: the service's
// keeper when Options.Secrets is nil.
type StoreSecrets struct{ Store parley.Store }

// Secret returns the secret of the given name kept in the store, making
// and storing it on first use. When two nodes race to make it, the first
// stored wins.
func (k StoreSecrets) Secret(ctx context.Context, name string, make func() ([]byte, error)) ([]byte, error) {
	var key []byte
	err := k.Store.Read(ctx, func(tx parley.Tx) (err error) {
		key, err = tx.FindServerKey(ctx, name)
		return err
	})
	if !isNotFound(err) {
		return key, err
	}
	fresh, err := make()
	if err != nil {
		return nil, fmt.Errorf("service: make %s key: %w", name, err)
	}
	err = k.Store.Write(ctx, func(tx parley.Tx) error { return tx.CreateServerKey(ctx, name, fresh) })
	if parley.ErrorCode(err) == parley.ECONFLICT {
		return k.Secret(ctx, name, make)
	}
	return fresh, err
}

// ServerKey returns the server's random 256-bit key of the given name,
// from the service's SecretKeeper.
func (s *Service) ServerKey(ctx context.Context, name string) ([]byte, error) {
	return s.opts.Secrets.Secret(ctx, name, func() ([]byte, error) {
		k := make([]byte, 32)
		_, err := rand.Read(k)
		return k, err
	})
}
