package oauth

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/go-jose/go-jose/v4"
	"github.com/parleyhq/parley"
)

// Where the provider's keys live: in the database, as they are or wrapped
// by a key the operator keeps out of it (DatabaseKeys), or in a file of
// their own (FileKeys).

// KeyPlace is where the provider's keys are kept.
type KeyPlace interface {
	// load returns the keys kept, or errNoKeys.
	load(ctx context.Context) (*storedRing, error)
	// create keeps the first keys; errKeysExist if some are kept already.
	create(ctx context.Context, keys *storedRing) error
	// replace keeps keys in place of old; errKeysReplaced when the keys
	// kept are no longer old.
	replace(ctx context.Context, old, keys *storedRing) error
	// String names the place for operators.
	String() string
}

var (
	errNoKeys       = errors.New("oauth: no keys")
	errKeysExist    = errors.New("oauth: keys exist")
	errKeysReplaced = errors.New("oauth: keys replaced meanwhile")
)

// Names of the keys the provider keeps in the database.
const (
	ringKeyName = "oauth.keys"
	// inFileKeyName marks a database whose keys are in a keys file, so
	// that a server started without it refuses rather than make others. It
	// holds the keys' ID (storedRing.ID), so that a server given another
	// install's file, or none where the file should be, refuses too; "1"
	// for keys moved into a file before they had an ID, which any file
	// matches.
	inFileKeyName = "oauth.keys-in-file"
	// anyKeysFile is the mark of such keys.
	anyKeysFile = "1"
	// The names of the single sealing and signing key of parleys before
	// rotation; the first load turns them into the first generation.
	legacySealingKeyName = "oauth.token-sealing"
	legacySigningKeyName = "oauth.id-token-signing"
)

// DatabaseKeys is the provider's keys kept in store, shared by every
// server of it. With a wrap key (32 bytes) they are kept sealed by
// it, as a JWE (dir, A256GCM), and cannot be read without it.
func DatabaseKeys(store parley.Store, wrap []byte) KeyPlace {
	return &dbPlace{store: store, wrap: wrap}
}

type dbPlace struct {
	store parley.Store
	wrap  []byte
}

func (p *dbPlace) String() string {
	if p.wrap != nil {
		return "the database, wrapped by PARLEY_KEYS_WRAP_KEY"
	}
	return "the database"
}

func (p *dbPlace) load(ctx context.Context) (*storedRing, error) {
	var value, signing, sealing []byte
	err := p.store.Read(ctx, func(tx parley.Tx) (err error) {
		value, err = tx.FindServerKey(ctx, ringKeyName)
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			return err
		}
		if signing, err = tx.FindServerKey(ctx, legacySigningKeyName); err != nil {
			return err
		}
		sealing, err = tx.FindServerKey(ctx, legacySealingKeyName)
		return err
	})
	switch {
	case parley.ErrorCode(err) == parley.ENOTFOUND:
		return nil, p.noKeys(ctx)
	case err != nil:
		return nil, err
	case value == nil:
		return p.adoptLegacy(ctx, &storedRing{Generations: []storedGeneration{{Signing: signing, Sealing: sealing}}})
	}
	return p.unwrap(value)
}

// noKeys returns errNoKeys, or, when the database's keys were moved to a
// keys file, says to use it.
func (p *dbPlace) noKeys(ctx context.Context) error {
	err := p.store.Read(ctx, func(tx parley.Tx) error {
		_, err := tx.FindServerKey(ctx, inFileKeyName)
		return err
	})
	switch {
	case parley.ErrorCode(err) == parley.ENOTFOUND:
		return errNoKeys
	case err == nil:
		return errors.New("the provider's keys are in a keys file: start every server and command with --keys-file (PARLEY_KEYS_FILE)")
	}
	return err
}

// adoptLegacy keeps the single keys of an older parley as the first
// generation, and forgets them under their old names.
func (p *dbPlace) adoptLegacy(ctx context.Context, keys *storedRing) (*storedRing, error) {
	value, err := p.seal(keys)
	if err != nil {
		return nil, err
	}
	err = p.store.Write(ctx, func(tx parley.Tx) error {
		if err := tx.CreateServerKey(ctx, ringKeyName, value); err != nil {
			return err
		}
		return errors.Join(tx.DeleteServerKey(ctx, legacySigningKeyName), tx.DeleteServerKey(ctx, legacySealingKeyName))
	})
	if parley.ErrorCode(err) == parley.ECONFLICT {
		return p.load(ctx)
	}
	return keys, err
}

func (p *dbPlace) create(ctx context.Context, keys *storedRing) error {
	value, err := p.seal(keys)
	if err != nil {
		return err
	}
	err = p.store.Write(ctx, func(tx parley.Tx) error {
		if err := tx.DeleteServerKey(ctx, inFileKeyName); err != nil {
			return err
		}
		return tx.CreateServerKey(ctx, ringKeyName, value)
	})
	if parley.ErrorCode(err) == parley.ECONFLICT {
		return errKeysExist
	}
	return err
}

func (p *dbPlace) replace(ctx context.Context, old, keys *storedRing) error {
	return p.replaceForgetting(ctx, old, keys, "")
}

// replaceForgetting is replace, which also forgets the server key of the
// given name, unless it is empty, in the same transaction: a secret kept
// as it is, once the keys hold it.
func (p *dbPlace) replaceForgetting(ctx context.Context, old, keys *storedRing, forget string) error {
	var before []byte
	err := p.store.Read(ctx, func(tx parley.Tx) (err error) {
		before, err = tx.FindServerKey(ctx, ringKeyName)
		return err
	})
	if err != nil {
		return err
	}
	if kept, err := p.unwrap(before); err != nil {
		return err
	} else if !sameRing(kept, old) {
		return errKeysReplaced
	}
	value, err := p.seal(keys)
	if err != nil {
		return err
	}
	err = p.store.Write(ctx, func(tx parley.Tx) error {
		if err := tx.ReplaceServerKey(ctx, ringKeyName, before, value); err != nil || forget == "" {
			return err
		}
		return tx.DeleteServerKey(ctx, forget)
	})
	if parley.ErrorCode(err) == parley.ECONFLICT {
		return errKeysReplaced
	}
	return err
}

// rawSecret returns the secret of the given name kept in the database as
// it is, or nil.
func (p *dbPlace) rawSecret(ctx context.Context, name string) (v []byte, err error) {
	err = p.store.Read(ctx, func(tx parley.Tx) error {
		v, err = tx.FindServerKey(ctx, name)
		return err
	})
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return nil, nil
	}
	return v, err
}

// forgetRawSecret forgets the secret of the given name kept as it is.
func (p *dbPlace) forgetRawSecret(ctx context.Context, name string) error {
	return p.store.Write(ctx, func(tx parley.Tx) error { return tx.DeleteServerKey(ctx, name) })
}

// rewrite keeps keys in place of whatever the database holds, in one
// transaction: to wrap keys kept as they were, or the other way round.
func (p *dbPlace) rewrite(ctx context.Context, keys *storedRing) error {
	value, err := p.seal(keys)
	if err != nil {
		return err
	}
	return p.store.Write(ctx, func(tx parley.Tx) error { return putServerKey(ctx, tx, ringKeyName, value) })
}

// putServerKey keeps value under name in place of whatever is kept there.
func putServerKey(ctx context.Context, tx parley.Tx, name string, value []byte) error {
	if err := tx.DeleteServerKey(ctx, name); err != nil {
		return err
	}
	return tx.CreateServerKey(ctx, name, value)
}

// markInFile forgets the database's keys, if it holds any, and marks it as
// having its keys, those of the ID given (anyKeysFile for keys without
// one: an empty mark would read as none), in a keys file.
func markInFile(ctx context.Context, tx parley.Tx, id string) error {
	for _, name := range []string{ringKeyName, inFileKeyName} {
		if err := tx.DeleteServerKey(ctx, name); err != nil {
			return err
		}
	}
	return tx.CreateServerKey(ctx, inFileKeyName, []byte(id))
}

// seal encodes keys, wrapped if the place has a wrap key.
func (p *dbPlace) seal(keys *storedRing) ([]byte, error) {
	plain, err := keys.encode()
	if err != nil || p.wrap == nil {
		return plain, err
	}
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: p.wrap, KeyID: wrapKeyID(p.wrap)}, nil)
	if err != nil {
		return nil, fmt.Errorf("oauth: wrap keys: %w", err)
	}
	obj, err := enc.Encrypt(plain)
	if err != nil {
		return nil, fmt.Errorf("oauth: wrap keys: %w", err)
	}
	s, err := obj.CompactSerialize()
	return []byte(s), err
}

// unwrap reads keys as seal kept them, and says what the operator should
// do when they are wrapped and the place has no key, or the wrong one, or
// the other way around.
func (p *dbPlace) unwrap(value []byte) (*storedRing, error) {
	wrapped := !bytes.HasPrefix(value, []byte("{"))
	switch {
	case wrapped && p.wrap == nil:
		return nil, errors.New("the keys in the database are wrapped: set PARLEY_KEYS_WRAP_KEY to the key that wrapped them")
	case !wrapped && p.wrap != nil:
		return nil, errors.New("PARLEY_KEYS_WRAP_KEY is set but the keys in the database are not wrapped: wrap them with `parley keys move --to-database` (stop the servers first), or unset it")
	case !wrapped:
		return decodeRing(value)
	}
	obj, err := jose.ParseEncryptedCompact(string(value), []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, errors.New("oauth: the wrapped keys in the database cannot be read")
	}
	plain, err := obj.Decrypt(p.wrap)
	if err != nil {
		return nil, fmt.Errorf("PARLEY_KEYS_WRAP_KEY (key %s) is not the key that wrapped the keys in the database (key %s)", wrapKeyID(p.wrap), obj.Header.KeyID)
	}
	return decodeRing(plain)
}

// wrapKeyID names a wrap key without revealing it: the start of its
// SHA-256, so that an operator can tell two keys apart.
func wrapKeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// sameRing reports whether two rings hold the same keys.
func sameRing(a, b *storedRing) bool {
	x, errX := a.encode()
	y, errY := b.encode()
	return errX == nil && errY == nil && bytes.Equal(x, y)
}

// FileKeys is the provider's keys kept in the file at path, as JSON, and
// never in store, which is marked as having its keys in a file. The file
// must be the server user's alone, 0600; one others could read is refused.
// Every server of a cluster needs the same file.
func FileKeys(path string, store parley.Store) KeyPlace { return &filePlace{path: path, store: store} }

type filePlace struct {
	path  string
	store parley.Store
}

func (p *filePlace) String() string { return "the keys file " + p.path }

func (p *filePlace) load(ctx context.Context) (*storedRing, error) {
	mark, err := p.databaseMark(ctx)
	if err != nil {
		return nil, err
	}
	exists, err := statKeysFile(p.path)
	switch {
	case err != nil:
		return nil, err
	case !exists && mark != "":
		// Not made afresh: the keys every token was issued with are in
		// the install's file, and a node with others would refuse them.
		return nil, fmt.Errorf("the provider's keys are in the install's keys file, and %s does not exist: give every server and command that file (--keys-file)", p.path)
	case !exists:
		return nil, errNoKeys
	}
	b, err := os.ReadFile(p.path)
	if err != nil {
		return nil, fmt.Errorf("keys file: %w", err)
	}
	keys, err := decodeRing(b)
	if err != nil {
		return nil, fmt.Errorf("the keys file %s cannot be read as parley's keys", p.path)
	}
	if mark != "" && mark != anyKeysFile && keys.ID != mark {
		return nil, fmt.Errorf("the keys file %s holds another install's keys (%s), not this database's (%s): give every server and command the install's own file (--keys-file)", p.path, cmp.Or(keys.ID, "keys without an ID"), mark)
	}
	if mark == "" {
		// A database new to a keys file made before it takes the file's
		// keys as its own, and is marked so: started without the file,
		// or with another, it then refuses rather than make keys.
		err := p.store.Write(ctx, func(tx parley.Tx) error { return markInFile(ctx, tx, cmp.Or(keys.ID, anyKeysFile)) })
		if err != nil && parley.ErrorCode(err) != parley.ECONFLICT { // another server marked it
			return nil, err
		}
	}
	return keys, nil
}

// CheckKeysFile checks, before anything is made with it, that the keys
// file at path may be used: one that exists must be the server user's
// alone (its keys are then read as LoadKeys reads them), and one that does
// not must have its directory there, to be made in.
func CheckKeysFile(path string) error {
	exists, err := statKeysFile(path)
	if err == nil && !exists {
		if _, err := os.Stat(filepath.Dir(path)); errors.Is(err, fs.ErrNotExist) {
			return errNoKeysDir(path)
		}
	}
	return err
}

// errNoKeysDir is the error of a keys file at path whose directory is not
// there.
func errNoKeysDir(path string) error {
	return fmt.Errorf("keys file: the directory %s does not exist: make it first", filepath.Dir(path))
}

// statKeysFile reports whether the keys file at path exists, and refuses
// one that others may read or that belongs to another user.
func statKeysFile(path string) (bool, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("keys file: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return false, fmt.Errorf("the keys file %s is open to other users (mode %#o): make it the server user's alone with chmod 600 %s, and rotate the keys (parley keys rotate), which others may have read", path, perm, path)
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return false, fmt.Errorf("the keys file %s belongs to another user (uid %d): it must be the server user's (uid %d)", path, st.Uid, os.Getuid())
	}
	return true, nil
}

// databaseMark returns the database's mark of keys in a file
// (inFileKeyName), "" for none. It refuses a database that holds keys: a
// server reading the file would leave them, and the tokens they sealed,
// behind.
func (p *filePlace) databaseMark(ctx context.Context) (string, error) {
	var mark []byte
	err := p.store.Read(ctx, func(tx parley.Tx) (err error) {
		for _, name := range []string{ringKeyName, legacySigningKeyName} {
			if _, err := tx.FindServerKey(ctx, name); parley.ErrorCode(err) != parley.ENOTFOUND {
				return cmp.Or(err, errKeysExist)
			}
		}
		mark, err = tx.FindServerKey(ctx, inFileKeyName)
		if parley.ErrorCode(err) == parley.ENOTFOUND {
			return nil
		}
		return err
	})
	if errors.Is(err, errKeysExist) {
		return "", fmt.Errorf("the database holds the provider's keys, and a keys file is set: move them into it with `parley keys move --to-file %s` (stop the servers first)", p.path)
	}
	return string(mark), err
}

func (p *filePlace) create(ctx context.Context, keys *storedRing) error {
	if err := p.writeNew(keys); err != nil {
		return err
	}
	return p.store.Write(ctx, func(tx parley.Tx) error { return markInFile(ctx, tx, cmp.Or(keys.ID, anyKeysFile)) })
}

// takeFrom makes the keys file of keys moved out of the database db: the
// file first, without the secrets kept with the keys, then, in one
// transaction, those secrets kept in the database as they are (where the
// servers of a keys file keep them, Keys.Secret) and the keys forgotten
// there. A move that stops before that transaction leaves the database as
// it was.
func (p *filePlace) takeFrom(ctx context.Context, db *dbPlace, keys *storedRing) error {
	moved := &storedRing{ID: cmp.Or(keys.ID, parley.NewID()), Generations: keys.Generations}
	if err := p.writeNew(moved); err != nil {
		return err
	}
	return db.store.Write(ctx, func(tx parley.Tx) error {
		for name, v := range keys.Secrets {
			if err := putServerKey(ctx, tx, name, v); err != nil {
				return err
			}
		}
		return markInFile(ctx, tx, moved.ID)
	})
}

// writeNew writes keys to the keys file, which must not exist yet:
// errKeysExist if it does.
func (p *filePlace) writeNew(keys *storedRing) error {
	return p.write(keys, func(tmp string) error {
		err := os.Link(tmp, p.path)
		if errors.Is(err, fs.ErrExist) {
			return errKeysExist
		}
		return err
	})
}

func (p *filePlace) replace(ctx context.Context, old, keys *storedRing) error {
	kept, err := p.load(ctx)
	if err != nil {
		return err
	}
	if !sameRing(kept, old) {
		return errKeysReplaced
	}
	return p.write(keys, func(tmp string) error { return os.Rename(tmp, p.path) })
}

// remove forgets the keys file, once its keys moved into the database.
func (p *filePlace) remove() error { return os.Remove(p.path) }

// write writes keys to a new 0600 file beside the keys file, synced, and
// has put make it the keys file.
func (p *filePlace) write(keys *storedRing, put func(tmp string) error) error {
	b, err := keys.encode()
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p.path), ".parley-keys-*")
	if errors.Is(err, fs.ErrNotExist) {
		return errNoKeysDir(p.path)
	} else if err != nil {
		return fmt.Errorf("keys file: %w", err)
	}
	defer os.Remove(f.Name())
	err = errors.Join(f.Chmod(0o600), write(f, b), f.Sync(), f.Close())
	if err == nil {
		err = put(f.Name())
	}
	if err != nil && !errors.Is(err, errKeysExist) {
		return fmt.Errorf("keys file: %w", err)
	}
	return err
}

func write(f *os.File, b []byte) error {
	_, err := f.Write(b)
	return err
}

// MoveKeys moves the provider's keys from one place to another, where
// there must be none yet: into a keys file, out of one, or from the
// database as it is into the database wrapped. Servers must be stopped
// meanwhile, and started again with the new place. A keys file keeps no
// secrets (Keys.Secret): moving the keys from the database into one keeps
// the secrets kept with them in the database as they are (filePlace.
// takeFrom); moving the keys out of one, the secrets move in with them
// when a server next loads them (LoadKeys).
func MoveKeys(ctx context.Context, from, to KeyPlace) error {
	keys, err := from.load(ctx)
	if errors.Is(err, errNoKeys) {
		return fmt.Errorf("there are no keys in %s to move", from)
	} else if err != nil {
		return err
	}
	switch from := from.(type) {
	case *dbPlace:
		switch to := to.(type) {
		case *dbPlace:
			return to.rewrite(ctx, keys)
		case *filePlace:
			err = to.takeFrom(ctx, from, keys)
		}
	case *filePlace:
		if err = to.create(ctx, keys); err == nil {
			err = from.remove()
		}
	}
	if errors.Is(err, errKeysExist) {
		return fmt.Errorf("there are keys in %s already", to)
	}
	return err
}
