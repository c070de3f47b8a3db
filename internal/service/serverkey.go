package service

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/parleyhq/parley"
)

// LoadServerKey returns the server's key of the given name, making it with
// make and storing it on first use: it outlives restarts, and every node on
// the same store shares it. When two nodes race to make it, the first
// stored wins. It takes the store rather than a Service for the keys the
// service itself is built with, such as the provider's token sealing key.
func LoadServerKey(ctx context.Context, store parley.Store, name string, make func() ([]byte, error)) ([]byte, error) {
	var key []byte
	err := store.Read(ctx, func(tx parley.Tx) (err error) {
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
	err = store.Write(ctx, func(tx parley.Tx) error { return tx.CreateServerKey(ctx, name, fresh) })
	if parley.ErrorCode(err) == parley.ECONFLICT {
		return LoadServerKey(ctx, store, name, make)
	}
	return fresh, err
}

// ServerKey returns the server's random 256-bit key of the given name, as
// LoadServerKey does.
func (s *Service) ServerKey(ctx context.Context, name string) ([]byte, error) {
	return LoadServerKey(ctx, s.store, name, func() ([]byte, error) {
		k := make([]byte, 32)
		_, err := rand.Read(k)
		return k, err
	})
}
