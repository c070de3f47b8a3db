package oauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// The single sealing and signing key of a parley from before rotation
// become the first generation at the first start: what they sealed still
// opens, and they are no longer kept under their old names.
func TestKeys_AdoptKeysOfAnOlderParley(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		sealing := bytes.Repeat([]byte{7}, 32)
		rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
		der, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
		if err := db.Write(ctx, func(tx parley.Tx) error {
			return errors.Join(tx.CreateServerKey(ctx, legacySealingKeyName, sealing), tx.CreateServerKey(ctx, legacySigningKeyName, der))
		}); err != nil {
			t.Fatal(err)
		}
		old, _ := newSealer(sealing)
		sealed, _ := old.Encrypt("token-id:subject")

		keys, err := LoadKeys(ctx, DatabaseKeys(db, nil), parley.WallClock{}, true)
		if err != nil {
			t.Fatal(err)
		}
		if plain, err := keys.Decrypt(sealed); err != nil || plain != "token-id:subject" {
			t.Errorf("a token sealed before the upgrade opens as %q, %v", plain, err)
		}
		if !keys.signing().key.Equal(rsaKey) {
			t.Error("the signing key changed")
		}
		for _, name := range []string{legacySealingKeyName, legacySigningKeyName} {
			err := db.Read(ctx, func(tx parley.Tx) error { _, err := tx.FindServerKey(ctx, name); return err })
			if parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("%s is still kept: %v", name, err)
			}
		}
	})
}

// A rotation keeps the generations still in force and removes from where
// they are kept those whose time ended.
func TestRotateKeys_RemovesExpiredGenerations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	place := FileKeys(filepath.Join(t.TempDir(), "keys.json"), sqlstoretest.Open(t, "sqlite"))
	start := parley.Now()
	keys, err := LoadKeys(ctx, place, parley.WallClock{}, true)
	if err != nil {
		t.Fatal(err)
	}
	first := keys.signing().id
	gens, err := RotateKeys(ctx, place, start)
	if err != nil || len(gens) != 2 || gens[0].KeyID != first || !gens[0].Until.Equal(gens[1].From.Add(keyRetention)) {
		t.Fatalf("after one rotation %+v, %v", gens, err)
	}
	second := gens[1].KeyID
	gens, err = RotateKeys(ctx, place, gens[0].Until.Add(time.Second))
	if err != nil || len(gens) != 2 || gens[0].KeyID != second {
		t.Fatalf("after the first generation expired, a rotation kept %+v, %v", gens, err)
	}
	stored, err := place.load(ctx)
	if err != nil || len(stored.Generations) != 2 {
		t.Fatalf("the keys file holds %d generations, %v", len(stored.Generations), err)
	}
}
