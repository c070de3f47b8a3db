package webhook

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
)

// Sealer keeps signing secrets encrypted at rest: the server must sign
// with them, so unlike other credentials they cannot be kept as hashes.
// It seals with AES-256-GCM under a random nonce, bound to the endpoint
// the secret belongs to, so that a sealed secret copied onto another
// endpoint does not open.
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns a sealer under a 256-bit key, the server's.
func NewSealer(key []byte) (*Sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("webhook: sealing key: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("webhook: sealing key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts an endpoint's secret.
func (s *Sealer) Seal(endpointID string, secret []byte) []byte {
	return s.aead.Seal(nil, nil, secret, []byte(endpointID))
}

// Open decrypts what Seal sealed for the endpoint, and refuses anything else.
func (s *Sealer) Open(endpointID string, sealed []byte) ([]byte, error) {
	secret, err := s.aead.Open(nil, nil, sealed, []byte(endpointID))
	if err != nil {
		return nil, errors.New("webhook: the endpoint's secret does not open with the server's key")
	}
	return secret, nil
}
