package service

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// Known devices: a browser where a member signed in keeps a proof of it
// (OWASP's device cookies), so that a stranger's failed sign-ins to the
// member's username cannot keep the member out. Without a proof, the
// failed sign-ins to one username are throttled together
// (signInAccountRule), whoever makes them, and anyone who knows the
// username could keep its member waiting. With a proof for the username,
// the attempt is throttled under the proof alone, by the same rule: the
// member's own mistypes slow only that browser down. A stolen proof gives
// a thief the guesses of that one browser besides a stranger's; the client
// address's throttle and rate limit apply either way.
//
// A proof holds for the password it was made under: a new password (the
// member's, or an operator's for an account someone else may hold) ends
// every proof made before, so that whoever signed in with the old one
// keeps no throttle of their own against the new.
//
// A proof is "pdv_" and, in base64url, a random nonce, the time it was
// made and an HMAC of both, the username and the password's hash under
// the server's key (deviceKeyName), which every node shares. Nothing of it
// is stored: the throttle's record under the nonce is forgotten as any
// throttle's is.

// DeviceProofTTL is how long a device proof lasts from the sign-in that
// made it; each sign-in makes a new one.
const DeviceProofTTL = 365 * 24 * time.Hour

const (
	deviceProofPrefix = "pdv_"
	deviceKeyName     = "device-proof"
	deviceNonceLen    = 16
	deviceMACLen      = 16
	// signInDeviceKey starts the throttle key of the sign-ins made with
	// one device proof.
	signInDeviceKey = "sign-in:device:"
)

type deviceKey struct {
	mu  sync.Mutex
	key []byte
}

// deviceProofKey returns the key device proofs are made with, making it on
// first use.
func (s *Service) deviceProofKey(ctx context.Context) ([]byte, error) {
	s.devices.mu.Lock()
	defer s.devices.mu.Unlock()
	if s.devices.key != nil {
		return s.devices.key, nil
	}
	k, err := s.ServerKey(ctx, deviceKeyName)
	if err != nil {
		return nil, err
	}
	s.devices.key = k
	return k, nil
}

type deviceContextKey struct{}

// WithDeviceProof returns ctx carrying the device proof a browser sent
// (SignedIn.DeviceProof of an earlier sign-in there), for the password
// checks made on ctx.
func WithDeviceProof(ctx context.Context, proof string) context.Context {
	if proof == "" {
		return ctx
	}
	return context.WithValue(ctx, deviceContextKey{}, proof)
}

// newDeviceProof makes a proof that this device signed in as username with
// the password of passwordHash.
func (s *Service) newDeviceProof(ctx context.Context, username, passwordHash string) (string, error) {
	key, err := s.deviceProofKey(ctx)
	if err != nil {
		return "", err
	}
	b := make([]byte, deviceNonceLen+8, deviceNonceLen+8+deviceMACLen)
	rand.Read(b[:deviceNonceLen])
	binary.BigEndian.PutUint64(b[deviceNonceLen:], uint64(s.Now().Unix()))
	return deviceProofPrefix + base64.RawURLEncoding.EncodeToString(append(b, deviceMAC(key, username, passwordHash, b)...)), nil
}

// knownDevice returns the throttle key of the device proof ctx carries,
// if it is a proof, unexpired, that this device signed in as username with
// the password whose hash is passwordHash, the member's now.
func (s *Service) knownDevice(ctx context.Context, username, passwordHash string) (string, bool) {
	proof, _ := ctx.Value(deviceContextKey{}).(string)
	raw, ok := strings.CutPrefix(proof, deviceProofPrefix)
	if !ok {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) != deviceNonceLen+8+deviceMACLen {
		return "", false
	}
	key, err := s.deviceProofKey(ctx)
	if err != nil {
		// The sign-in is throttled with the username's others.
		s.log.ErrorContext(ctx, "device proof key", "err", err)
		return "", false
	}
	made, mac := b[:deviceNonceLen+8], b[deviceNonceLen+8:]
	if !hmac.Equal(mac, deviceMAC(key, username, passwordHash, made)) {
		return "", false
	}
	at := time.Unix(int64(binary.BigEndian.Uint64(made[deviceNonceLen:])), 0)
	if s.Now().Sub(at) >= DeviceProofTTL {
		return "", false
	}
	return signInDeviceKey + hex.EncodeToString(made[:deviceNonceLen]), true
}

// deviceMAC is the MAC of a proof's nonce and time for username and the
// hash of the password it holds for.
func deviceMAC(key []byte, username, passwordHash string, made []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(username))
	m.Write([]byte{0})
	m.Write([]byte(passwordHash))
	m.Write([]byte{0})
	m.Write(made)
	return m.Sum(nil)[:deviceMACLen]
}
