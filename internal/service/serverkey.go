package service

import (
	"context"
	"crypto/rand"

	"github.com/parleyhq/parley"
)

// ServerKey returns the server's random 256-bit key of the given name,
// making and storing it on first use: it outlives restarts, and every node
// on the same store shares it.
func (s *Service) ServerKey(ctx context.Context, name string) ([]byte, error) {
	var key []byte
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		key, err = tx.FindServerKey(ctx, name)
		return err
	})
	if !isNotFound(err) {
		return key, err
	}
	fresh := make([]byte, 32)
	rand.Read(fresh) // never fails: crypto/rand crashes the program instead
	err = s.store.Write(ctx, func(tx parley.Tx) error { return tx.CreateServerKey(ctx, name, fresh) })
	if parley.ErrorCode(err) == parley.ECONFLICT {
		return s.ServerKey(ctx, name) // another node made it first
	}
	return fresh, err
}
