package sqlstore_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// A server key is created once, replaced only by whoever read the key
// stored, and deleted; a missing one is ENOTFOUND.
func TestServerKeys_CreateReplaceDelete(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testServerKeys_CreateReplaceDelete)
}

func testServerKeys_CreateReplaceDelete(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	write := func(fn func(parley.Tx) error) error { return db.Write(ctx, fn) }
	find := func() (key []byte, err error) {
		err = db.Read(ctx, func(tx parley.Tx) error {
			key, err = tx.FindServerKey(ctx, "k")
			return err
		})
		return key, err
	}
	if err := write(func(tx parley.Tx) error { return tx.ReplaceServerKey(ctx, "k", []byte("a"), []byte("b")) }); parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Errorf("replacing a missing key: %v", err)
	}
	if err := write(func(tx parley.Tx) error { return tx.CreateServerKey(ctx, "k", []byte("one")) }); err != nil {
		t.Fatal(err)
	}
	if err := write(func(tx parley.Tx) error { return tx.CreateServerKey(ctx, "k", []byte("two")) }); parley.ErrorCode(err) != parley.ECONFLICT {
		t.Errorf("creating it again: %v", err)
	}
	if err := write(func(tx parley.Tx) error { return tx.ReplaceServerKey(ctx, "k", []byte("one"), []byte("two")) }); err != nil {
		t.Fatal(err)
	}
	// A server that read "one" before the replacement is refused.
	if err := write(func(tx parley.Tx) error { return tx.ReplaceServerKey(ctx, "k", []byte("one"), []byte("three")) }); parley.ErrorCode(err) != parley.ECONFLICT {
		t.Errorf("replacing a key replaced meanwhile: %v", err)
	}
	if key, err := find(); err != nil || !bytes.Equal(key, []byte("two")) {
		t.Errorf("key %q, %v; want two", key, err)
	}
	if err := write(func(tx parley.Tx) error { return tx.CreateServerKey(ctx, "a", []byte("first")) }); err != nil {
		t.Fatal(err)
	}
	var names []string
	err := db.Read(ctx, func(tx parley.Tx) (err error) { names, err = tx.FindServerKeyNames(ctx); return err })
	if err != nil || !slices.Equal(names, []string{"a", "k"}) {
		t.Errorf("names %q, %v; want a and k, in order", names, err)
	}
	for range 2 {
		if err := write(func(tx parley.Tx) error { return tx.DeleteServerKey(ctx, "k") }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := find(); parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Errorf("deleted key: %v", err)
	}
}
