package oauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// secretMaker makes 32 random bytes, counting its calls.
type secretMaker struct{ calls atomic.Int32 }

func (m *secretMaker) make() ([]byte, error) {
	m.calls.Add(1)
	b := make([]byte, 32)
	_, err := rand.Read(b)
	return b, err
}

// newWrapKey returns a new wrap key: 32 random bytes.
func newWrapKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

func mustLoadKeys(t *testing.T, place KeyPlace) *Keys {
	t.Helper()
	keys, err := LoadKeys(context.Background(), place, parley.WallClock{}, true)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func mustSecret(t *testing.T, keys *Keys, name string, m *secretMaker) []byte {
	t.Helper()
	v, err := keys.Secret(context.Background(), name, m.make)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// serverKey reads the server key of the given name as the database holds
// it; nil when it holds none.
func serverKey(t *testing.T, db *sqlstore.DB, name string) []byte {
	t.Helper()
	ctx := context.Background()
	var v []byte
	err := db.Read(ctx, func(tx parley.Tx) (err error) { v, err = tx.FindServerKey(ctx, name); return err })
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	return v
}

// The server's secrets are kept with the provider's keys, wrapped with
// them: made once, shared by every server of the database, kept through
// rotations and moves, and nowhere in the database in the clear.
func TestKeys_SecretsKeptWithTheKeys(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		wrap := newWrapKey()
		var maker secretMaker
		secret := mustSecret(t, mustLoadKeys(t, DatabaseKeys(db, wrap)), "web.csrf", &maker)

		// Another server of the database.
		if got := mustSecret(t, mustLoadKeys(t, DatabaseKeys(db, wrap)), "web.csrf", &maker); !bytes.Equal(got, secret) {
			t.Fatal("another server got another secret")
		}
		if serverKey(t, db, "web.csrf") != nil {
			t.Error("the secret is in the database as it is")
		}
		ring := serverKey(t, db, ringKeyName)
		for _, clear := range [][]byte{secret, []byte(base64.StdEncoding.EncodeToString(secret))} {
			if bytes.Contains(ring, clear) {
				t.Error("the wrapped keys hold the secret in the clear")
			}
		}

		if _, err := RotateKeys(ctx, DatabaseKeys(db, wrap), parley.Now()); err != nil {
			t.Fatal(err)
		}
		if err := MoveKeys(ctx, DatabaseKeys(db, wrap), DatabaseKeys(db, nil)); err != nil {
			t.Fatal(err)
		}
		if got := mustSecret(t, mustLoadKeys(t, DatabaseKeys(db, nil)), "web.csrf", &maker); !bytes.Equal(got, secret) {
			t.Fatal("the secret changed with a rotation and a move of the keys")
		}
		if n := maker.calls.Load(); n != 1 {
			t.Fatalf("the secret was made %d times", n)
		}
	})
}

// Servers that make the same secret at once all get the first one kept.
func TestKeys_SecretMadeOnceByServersAtOnce(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		servers := []*Keys{mustLoadKeys(t, DatabaseKeys(db, nil)), mustLoadKeys(t, DatabaseKeys(db, nil))}
		var maker secretMaker
		got, errs := make([][]byte, 8), make([]error, 8)
		var wg sync.WaitGroup
		for i := range got {
			wg.Go(func() { got[i], errs[i] = servers[i%2].Secret(context.Background(), "webhook-secrets", maker.make) })
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if !bytes.Equal(got[i], got[0]) {
				t.Fatalf("server %d got another secret than the first", i)
			}
		}
		if kept := mustSecret(t, mustLoadKeys(t, DatabaseKeys(db, nil)), "webhook-secrets", &maker); !bytes.Equal(kept, got[0]) {
			t.Fatal("the secret kept is not the one the servers got")
		}
	})
}

// The secrets an older parley kept in the database as they are move in
// with the keys, unchanged, when a server loads them, and are forgotten
// where they were.
func TestKeys_AdoptSecretsOfAnOlderParley(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		old := map[string][]byte{"share-links": bytes.Repeat([]byte{9}, 40), "web.csrf": bytes.Repeat([]byte{8}, 32)}
		if err := db.Write(ctx, func(tx parley.Tx) error {
			for name, v := range old {
				if err := tx.CreateServerKey(ctx, name, v); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		wrap := newWrapKey()
		keys := mustLoadKeys(t, DatabaseKeys(db, wrap))
		for name, v := range old {
			if serverKey(t, db, name) != nil {
				t.Errorf("%s is still in the database as it is once the keys are loaded", name)
			}
			var maker secretMaker
			if got := mustSecret(t, keys, name, &maker); !bytes.Equal(got, v) || maker.calls.Load() != 0 {
				t.Errorf("%s: got %x (made %d times), want the older parley's %x", name, got, maker.calls.Load(), v)
			}
		}
	})
}

// Keys in a keys file keep no secrets: servers sharing the file would each
// make their own. Nor is a name of the provider's own keys a secret's.
func TestKeys_SecretsRefused(t *testing.T) {
	t.Parallel()
	var maker secretMaker
	inFile := mustLoadKeys(t, FileKeys(filepath.Join(t.TempDir(), "keys.json"), sqlstoretest.Open(t, "sqlite")))
	if _, err := inFile.Secret(context.Background(), "web.csrf", maker.make); err == nil || !strings.Contains(err.Error(), "keeps no secrets") {
		t.Errorf("a secret with the keys in a file: %v", err)
	}
	db := sqlstoretest.Open(t, "sqlite")
	inDB := mustLoadKeys(t, DatabaseKeys(db, nil))
	if _, err := inDB.Secret(context.Background(), ringKeyName, maker.make); err == nil || serverKey(t, db, ringKeyName) == nil {
		t.Errorf("a secret named as the keys: %v; the keys are kept: %t", err, serverKey(t, db, ringKeyName) != nil)
	}
}

// A move of the keys into a keys file that fails leaves the database as
// it was: the keys hold their secrets, and none is kept as it is.
func TestMoveKeys_FailedLeavesTheDatabaseAsItWas(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		wrap := newWrapKey()
		var maker secretMaker
		secret := mustSecret(t, mustLoadKeys(t, DatabaseKeys(db, wrap)), "webhook-secrets", &maker)
		taken := filepath.Join(t.TempDir(), "keys.json")
		if err := os.WriteFile(taken, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := MoveKeys(ctx, DatabaseKeys(db, wrap), FileKeys(taken, db)); err == nil || !strings.Contains(err.Error(), "there are keys in") {
			t.Fatalf("a move onto a file that exists: %v", err)
		}
		if serverKey(t, db, "webhook-secrets") != nil {
			t.Error("the failed move left the secret in the database as it is")
		}
		if got := mustSecret(t, mustLoadKeys(t, DatabaseKeys(db, wrap)), "webhook-secrets", &maker); !bytes.Equal(got, secret) || maker.calls.Load() != 1 {
			t.Fatalf("after the failed move: %x (made %d times), want the secret", got, maker.calls.Load())
		}
	})
}

// Servers that load the keys at once, each moving in the secrets an older
// parley kept as they are, all start, with the same secrets.
func TestKeys_ServersAdoptingAtOnceAllStart(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		mustLoadKeys(t, DatabaseKeys(db, nil))
		old := bytes.Repeat([]byte{5}, 32)
		if err := db.Write(ctx, func(tx parley.Tx) error {
			return errors.Join(tx.CreateServerKey(ctx, "web.csrf", old), tx.CreateServerKey(ctx, "webhook-secrets", old))
		}); err != nil {
			t.Fatal(err)
		}
		servers, errs := make([]*Keys, 8), make([]error, 8)
		var wg sync.WaitGroup
		for i := range servers {
			wg.Go(func() { servers[i], errs[i] = LoadKeys(ctx, DatabaseKeys(db, nil), parley.WallClock{}, false) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("server %d did not start: %v", i, err)
			}
		}
		var maker secretMaker
		for _, name := range []string{"web.csrf", "webhook-secrets"} {
			if got := mustSecret(t, servers[0], name, &maker); !bytes.Equal(got, old) {
				t.Errorf("%s: %x, want the older parley's", name, got)
			}
		}
	})
}

// Moving the keys into a keys file leaves their secrets in the database as
// they are, where servers of a keys file keep them; moving them back, the
// secrets move in with them again when they are loaded. Neither move
// makes a secret anew.
func TestMoveKeys_SecretsStayTheSame(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		var maker secretMaker
		secret := mustSecret(t, mustLoadKeys(t, DatabaseKeys(db, nil)), "webhook-secrets", &maker)

		file := FileKeys(filepath.Join(t.TempDir(), "keys.json"), db)
		if err := MoveKeys(ctx, DatabaseKeys(db, nil), file); err != nil {
			t.Fatal(err)
		}
		inFile, err := file.load(ctx)
		if err != nil || len(inFile.Secrets) != 0 {
			t.Fatalf("the keys file holds secrets %v (%v)", inFile.Secrets, err)
		}
		got, err := service.StoreSecrets{Store: db}.Secret(ctx, "webhook-secrets", maker.make)
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("in the database after the move to a file: %x, %v; want the secret", got, err)
		}

		if err := MoveKeys(ctx, file, DatabaseKeys(db, nil)); err != nil {
			t.Fatal(err)
		}
		if got := mustSecret(t, mustLoadKeys(t, DatabaseKeys(db, nil)), "webhook-secrets", &maker); !bytes.Equal(got, secret) {
			t.Fatal("the secret changed with the move back")
		}
		if n := maker.calls.Load(); n != 1 {
			t.Fatalf("the secret was made %d times", n)
		}
	})
}
