package oauth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Names of the keys the provider keeps in the store. They are made on first
// start and kept, so tokens and ID tokens outlive restarts and every node
// of a cluster shares them.
const (
	sealingKeyName = "oauth.token-sealing"
	signingKeyName = "oauth.id-token-signing"
)

// Keys are the provider's secrets: the key that seals opaque access tokens
// and codes, and the key that signs ID tokens.
type Keys struct {
	// Sealer seals and opens access tokens and codes. The service opens
	// access tokens with it.
	Sealer  op.Crypto
	signing *signingKey
}

// LoadKeys returns the provider's keys, making and storing them on first use.
func LoadKeys(ctx context.Context, store parley.Store) (*Keys, error) {
	sealing, err := service.LoadServerKey(ctx, store, sealingKeyName, func() ([]byte, error) {
		k := make([]byte, 32)
		_, err := rand.Read(k)
		return k, err
	})
	if err != nil {
		return nil, err
	}
	der, err := service.LoadServerKey(ctx, store, signingKeyName, func() ([]byte, error) {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		return x509.MarshalPKCS8PrivateKey(k)
	})
	if err != nil {
		return nil, err
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("oauth: signing key: %w", err)
	}
	rsaKey, ok := priv.(*rsa.PrivateKey)
	if !ok || len(sealing) != 32 {
		return nil, fmt.Errorf("oauth: stored keys have the wrong type")
	}
	pub, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(pub)
	id := hex.EncodeToString(sum[:8])
	sealer, err := newSealer(sealing)
	if err != nil {
		return nil, err
	}
	return &Keys{Sealer: sealer, signing: &signingKey{id: id, key: rsaKey}}, nil
}

// sealer seals with AES-256-GCM under a random nonce, as base64url(nonce ‖
// ciphertext ‖ tag). The op package asks only that a string sealed can be
// opened again; a JWE's key wrapping and JSON header added nothing to that
// but a third of the time an app's every call spends authenticating.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("oauth: sealing key: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("oauth: sealing key: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// Encrypt seals plain.
func (s *sealer) Encrypt(plain string) (string, error) {
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nil, nil, []byte(plain), nil)), nil
}

// Decrypt opens what Encrypt sealed, and refuses anything else.
func (s *sealer) Decrypt(sealed string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		return "", errors.New("oauth: not a sealed value")
	}
	plain, err := s.aead.Open(nil, nil, raw, nil)
	if err != nil {
		return "", errors.New("oauth: not a sealed value")
	}
	return string(plain), nil
}

// signingKey signs ID tokens with RS256, the algorithm every OpenID
// Connect client must support.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is the signing key as JWKS publishes it.
type publicKey struct{ *signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.signingKey.key.PublicKey }
