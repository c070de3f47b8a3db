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
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
)

// How the provider's keys rotate. A rotation adds a generation of keys, an
// ID-token signing key and a token-sealing key, that every node publishes
// (in the JWKS) and can open with for KeyPublishDelay before any node signs
// or seals with it. Each node reads the keys again every KeyReloadInterval,
// so by the time the new keys are used, every node knows them, and so do
// apps that fetched the JWKS. The generation it replaced keeps verifying
// and opening for keyRetention after that, the longest life of what it
// made, and is then dropped.
const (
	// KeyPublishDelay is how long a rotated key is known before it is used.
	KeyPublishDelay = 10 * time.Minute
	// KeyReloadInterval is how often a server reads its keys again.
	KeyReloadInterval = time.Minute
	// keyRetention is how long a replaced key goes on verifying and
	// opening: the lifetime of access tokens and codes it sealed and of ID
	// tokens it signed (refresh tokens are random, not sealed), and a
	// margin for clocks that differ.
	keyRetention = max(service.AccessTokenTTL, idTokenLifetime) + 5*time.Minute
)

// Keys are the provider's secrets: generations of the key that seals opaque
// access tokens and codes and of the key that signs ID tokens. The newest
// generation in force signs and seals; every generation still kept
// verifies and opens. Keys reads them again from where they live on Reload.
// Keys seals and opens as op.Crypto; the service opens access tokens with
// it.
type Keys struct {
	place KeyPlace
	clock parley.Clock
	ring  atomic.Pointer[ring]
}

// LoadKeys returns the provider's keys from place. With create, keys that
// do not exist yet are made; without, their absence is an error.
func LoadKeys(ctx context.Context, place KeyPlace, clock parley.Clock, create bool) (*Keys, error) {
	k := &Keys{place: place, clock: clock}
	stored, err := place.load(ctx)
	if errors.Is(err, errNoKeys) && create {
		var fresh *storedRing
		if fresh, err = newStoredRing(clock.Now()); err != nil {
			return nil, err
		}
		if err = place.create(ctx, fresh); errors.Is(err, errKeysExist) {
			stored, err = place.load(ctx)
		} else {
			stored = fresh
		}
	}
	if errors.Is(err, errNoKeys) {
		return nil, fmt.Errorf("there are no keys in %s", place)
	} else if err != nil {
		return nil, err
	}
	r, err := stored.open()
	if err != nil {
		return nil, err
	}
	k.ring.Store(r)
	if err := k.adoptSecrets(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// Reload reads the keys again, taking in a rotation another process made.
func (k *Keys) Reload(ctx context.Context) error {
	stored, err := k.place.load(ctx)
	if err != nil {
		return err
	}
	r, err := stored.open()
	if err != nil {
		return err
	}
	k.ring.Store(r)
	return nil
}

// Encrypt seals plain with the sealing key in force.
func (k *Keys) Encrypt(plain string) (string, error) {
	return k.ring.Load().current(k.clock.Now()).sealer.Encrypt(plain)
}

// Decrypt opens what Encrypt sealed under any key still kept, and refuses
// anything else.
func (k *Keys) Decrypt(sealed string) (string, error) {
	for _, g := range k.ring.Load().kept(k.clock.Now()) {
		if plain, err := g.sealer.Decrypt(sealed); err == nil {
			return plain, nil
		}
	}
	return "", errors.New("oauth: not a sealed value")
}

// Secret returns the server's secret of the given name, such as the key
// that signs the pages' CSRF tokens, making it with make and keeping it
// with the provider's keys in the database on first use, wrapped with them
// when they are: it outlives restarts, and every server of the database
// shares it. When two servers make one at once, the first kept wins.
//
// Keys kept in a keys file keep no secrets: servers sharing a file would
// each make their own. The secrets of those servers are in the database
// as they are (service.StoreSecrets), and move in with the keys, as those
// of a parley from before secrets were kept with the keys do, when keys
// in the database are loaded (LoadKeys).
func (k *Keys) Secret(ctx context.Context, name string, make func() ([]byte, error)) ([]byte, error) {
	place, inDB := k.place.(*dbPlace)
	switch {
	case !inDB:
		return nil, fmt.Errorf("oauth: %s keeps no secrets", k.place)
	case isProviderKey(name):
		return nil, fmt.Errorf("oauth: %s names the provider's own keys, not a secret", name)
	}
	for {
		// The secret kept as it is is read first: another server that
		// moves it in with the keys replaces the keys and forgets it in
		// one transaction, so if it is gone, the keys read next hold it.
		raw, err := place.rawSecret(ctx, name)
		if err != nil {
			return nil, err
		}
		stored, err := place.load(ctx)
		if err != nil {
			return nil, err
		}
		v, kept := stored.Secrets[name]
		switch {
		case kept && raw == nil:
			return v, nil
		case kept:
			// Read just before another server moved it in: the keys'
			// copy is the one, and the other is forgotten if it is not
			// yet.
			return v, place.forgetRawSecret(ctx, name)
		case raw != nil:
			v = raw
		default:
			if v, err = make(); err != nil {
				return nil, fmt.Errorf("oauth: make secret %s: %w", name, err)
			}
		}
		next := &storedRing{ID: stored.ID, Generations: stored.Generations, Secrets: maps.Clone(stored.Secrets)}
		if next.Secrets == nil {
			next.Secrets = map[string][]byte{}
		}
		next.Secrets[name] = v
		err = place.replaceForgetting(ctx, stored, next, name)
		if errors.Is(err, errKeysReplaced) {
			continue
		}
		return v, err
	}
}

// adoptSecrets moves the secrets kept in the database as they are in with
// the keys, when those are kept there: every server key not the
// provider's own.
func (k *Keys) adoptSecrets(ctx context.Context) error {
	place, inDB := k.place.(*dbPlace)
	if !inDB {
		return nil
	}
	var names []string
	err := place.store.Read(ctx, func(tx parley.Tx) (err error) {
		names, err = tx.FindServerKeyNames(ctx)
		return err
	})
	if err != nil {
		return err
	}
	for _, name := range names {
		if isProviderKey(name) {
			continue
		}
		_, err := k.Secret(ctx, name, func() ([]byte, error) { return nil, errors.New("no secret to move in") })
		if err != nil {
			return err
		}
	}
	return nil
}

// isProviderKey reports whether a server key's name is one of the
// provider's own (keyplace.go), not a secret's.
func isProviderKey(name string) bool { return strings.HasPrefix(name, "oauth.") }

// signing returns the signing key in force.
func (k *Keys) signing() *signingKey { return k.ring.Load().current(k.clock.Now()).signing }

// verifying returns every signing key still kept, to publish in the JWKS.
func (k *Keys) verifying() []*signingKey {
	var out []*signingKey
	for _, g := range k.ring.Load().kept(k.clock.Now()) {
		out = append(out, g.signing)
	}
	return out
}

// KeyGeneration describes one generation of keys, as `parley keys` lists
// them.
type KeyGeneration struct {
	// KeyID is the signing key's ID, as the JWKS and ID tokens' headers
	// name it.
	KeyID string
	// From is when it began, or begins, signing and sealing.
	From time.Time
	// Until is when it stops verifying and opening; zero while it is the
	// newest.
	Until time.Time
}

// RotateKeys adds a generation of keys to those at place, used from
// KeyPublishDelay after now, drops the generations whose time ended, and
// returns the generations kept, the new one last.
func RotateKeys(ctx context.Context, place KeyPlace, now time.Time) ([]KeyGeneration, error) {
	for {
		stored, err := place.load(ctx)
		if err != nil {
			return nil, err
		}
		next, err := newGeneration(now.Add(KeyPublishDelay))
		if err != nil {
			return nil, err
		}
		rotated := &storedRing{ID: stored.ID, Generations: append(stored.kept(now), *next), Secrets: stored.Secrets}
		err = place.replace(ctx, stored, rotated)
		if errors.Is(err, errKeysReplaced) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return rotated.describe()
	}
}

// ListKeys returns the generations of keys at place that are kept at now.
func ListKeys(ctx context.Context, place KeyPlace, now time.Time) ([]KeyGeneration, error) {
	stored, err := place.load(ctx)
	if err != nil {
		return nil, err
	}
	return (&storedRing{Generations: stored.kept(now)}).describe()
}

// storedRing is the keys as they are kept: generations in the order they
// were made, each used from its From time until the next one's.
type storedRing struct {
	// ID names the keys of one install, the same through rotations: a
	// keys file is taken only by the database marked with its ID
	// (filePlace). Keys made before it have none.
	ID          string             `json:"id,omitempty"`
	Generations []storedGeneration `json:"generations"`
	// Secrets are the server's other secrets by name (Keys.Secret), kept
	// with the keys in the database, wrapped with them when they are,
	// never in a keys file (MoveKeys); they do not rotate.
	Secrets map[string][]byte `json:"secrets,omitempty"`
}

// storedGeneration is one generation of keys as it is kept.
type storedGeneration struct {
	// From is when it begins signing and sealing.
	From time.Time `json:"from"`
	// Signing is the RSA signing key, PKCS #8.
	Signing []byte `json:"signing"`
	// Sealing is the 256-bit AES key.
	Sealing []byte `json:"sealing"`
}

// newStoredRing makes the first generation of keys, used from now, under
// an ID of their own.
func newStoredRing(now time.Time) (*storedRing, error) {
	g, err := newGeneration(now)
	if err != nil {
		return nil, err
	}
	return &storedRing{ID: parley.NewID(), Generations: []storedGeneration{*g}}, nil
}

// newGeneration makes a generation of keys used from from.
func newGeneration(from time.Time) (*storedGeneration, error) {
	sealing := make([]byte, 32)
	if _, err := rand.Read(sealing); err != nil {
		return nil, fmt.Errorf("oauth: make keys: %w", err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("oauth: make keys: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		return nil, fmt.Errorf("oauth: make keys: %w", err)
	}
	return &storedGeneration{From: from.UTC(), Signing: der, Sealing: sealing}, nil
}

// until returns when generation i stops verifying and opening: keyRetention
// after the next generation began; zero for the newest.
func (s *storedRing) until(i int) time.Time {
	if i+1 == len(s.Generations) {
		return time.Time{}
	}
	return s.Generations[i+1].From.Add(keyRetention)
}

// kept returns the generations still verifying and opening at now.
func (s *storedRing) kept(now time.Time) []storedGeneration {
	var out []storedGeneration
	for i, g := range s.Generations {
		if u := s.until(i); u.IsZero() || now.Before(u) {
			out = append(out, g)
		}
	}
	return out
}

// describe lists the generations.
func (s *storedRing) describe() ([]KeyGeneration, error) {
	r, err := s.open()
	if err != nil {
		return nil, err
	}
	out := make([]KeyGeneration, len(r.generations))
	for i, g := range r.generations {
		out[i] = KeyGeneration{KeyID: g.signing.id, From: g.from, Until: s.until(i)}
	}
	return out, nil
}

// encode returns the ring as JSON.
func (s *storedRing) encode() ([]byte, error) { return json.Marshal(s) }

// decodeRing reads what encode wrote.
func decodeRing(b []byte) (*storedRing, error) {
	var s storedRing
	if err := json.Unmarshal(b, &s); err != nil || len(s.Generations) == 0 {
		return nil, errors.New("oauth: the stored keys cannot be read")
	}
	return &s, nil
}

// open parses the stored keys.
func (s *storedRing) open() (*ring, error) {
	r := &ring{}
	for i, g := range s.Generations {
		priv, err := x509.ParsePKCS8PrivateKey(g.Signing)
		if err != nil {
			return nil, fmt.Errorf("oauth: signing key: %w", err)
		}
		rsaKey, ok := priv.(*rsa.PrivateKey)
		if !ok || len(g.Sealing) != 32 {
			return nil, errors.New("oauth: stored keys have the wrong type")
		}
		pub, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(pub)
		sealer, err := newSealer(g.Sealing)
		if err != nil {
			return nil, err
		}
		r.generations = append(r.generations, generation{
			from: g.From, until: s.until(i), sealer: sealer,
			signing: &signingKey{id: hex.EncodeToString(sum[:8]), key: rsaKey},
		})
	}
	return r, nil
}

// ring is the keys in use, oldest first.
type ring struct{ generations []generation }

// generation is one generation of keys in use.
type generation struct {
	from, until time.Time
	sealer      *sealer
	signing     *signingKey
}

// current returns the newest generation in force at now: the newest whose
// time began, or else the oldest.
func (r *ring) current(now time.Time) *generation {
	for i, g := range slices.Backward(r.generations) {
		if !g.from.After(now) {
			return &r.generations[i]
		}
	}
	return &r.generations[0]
}

// kept returns the generations still verifying and opening at now, the
// one in force first.
func (r *ring) kept(now time.Time) []*generation {
	out := []*generation{r.current(now)}
	for i, g := range slices.Backward(r.generations) {
		if &r.generations[i] != out[0] && (g.until.IsZero() || now.Before(g.until)) {
			out = append(out, &r.generations[i])
		}
	}
	return out
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
