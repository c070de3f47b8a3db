package oauth

import (
	"bytes"
	"encoding/base64"
	"testing"
)

// A sealed token opens only as sealed: altered, cut or sealed under another
// key, it is refused, and the same value never seals the same way twice.
func TestSealer(t *testing.T) {
	t.Parallel()
	s, err := newSealer(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := newSealer(bytes.Repeat([]byte{2}, 32))
	sealed, _ := s.Encrypt("token-id:subject")
	if again, _ := s.Encrypt("token-id:subject"); again == sealed {
		t.Error("sealing is deterministic")
	}
	if plain, err := s.Decrypt(sealed); err != nil || plain != "token-id:subject" {
		t.Fatalf("opened %q (%v)", plain, err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(sealed)
	raw[len(raw)/2] ^= 1
	for name, v := range map[string]string{
		"altered":       base64.RawURLEncoding.EncodeToString(raw),
		"cut":           sealed[:len(sealed)-4],
		"not base64url": "***",
		"empty":         "",
	} {
		if _, err := s.Decrypt(v); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	if _, err := other.Decrypt(sealed); err == nil {
		t.Error("opened under another key")
	}
}
