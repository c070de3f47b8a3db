package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// TestStorageFull_RefusedThenRecovers: on a full disk a write fails with
// parley.ErrStorageFull and keeps nothing; the store says so once, and
// once more when, space freed, writes succeed again without a restart.
// Every write acknowledged before, during and after is kept. (The disk is
// the embedded database's; PostgreSQL's disk is its server's:
// TestStorageFull_PostgreSQL.)
func TestStorageFull_RefusedThenRecovers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := sqlstoretest.SmallDisk(t, 4<<20)
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	told := watchFullness(db)
	create := func(name string) error {
		return db.Write(ctx, func(tx parley.Tx) error {
			return tx.CreateUser(ctx, &parley.User{ID: parley.NewID(), Username: name, DisplayName: strings.Repeat("x", 2000), CreatedAt: parley.Now()}, "hash")
		})
	}
	var kept, refused []string
	for _, name := range []string{"before1", "before2", "before3"} {
		if err := create(name); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, name)
	}

	free := sqlstoretest.Fill(t, dir)
	// Writes may go on into room the database already has; then they
	// are refused, several at once sharing their commits.
	for i := 0; len(refused) < 3; i++ {
		if i == 100 {
			t.Fatalf("800 writes on a full disk, none refused")
		}
		names, errs := make([]string, 8), make([]error, 8)
		var wg sync.WaitGroup
		for j := range names {
			names[j] = fmt.Sprintf("member%02d%02d", i, j)
			wg.Go(func() { errs[j] = create(names[j]) })
		}
		wg.Wait()
		for j, err := range errs {
			switch {
			case err == nil:
				kept = append(kept, names[j])
			case errors.Is(err, parley.ErrStorageFull) && parley.ErrorCode(err) == parley.EFULL:
				refused = append(refused, names[j])
			default:
				t.Fatalf("write on a full disk: %v", err)
			}
		}
	}
	if got := told(); !slices.Equal(got, []bool{true}) {
		t.Errorf("told %v while full, want [true]: once, however many writes are refused", got)
	}
	if full, n := db.StorageFull(); !full || n != int64(len(refused)) {
		t.Errorf("StorageFull = %v, %d; want true, %d", full, n, len(refused))
	}
	// A write that needs no room succeeds on the full disk, and says
	// nothing of it: the store stays full.
	if err := db.Write(ctx, func(parley.Tx) error { return nil }); err != nil {
		t.Fatalf("a write of nothing on a full disk: %v", err)
	}
	if full, _ := db.StorageFull(); !full || !slices.Equal(told(), []bool{true}) {
		t.Errorf("after a write of nothing on the full disk, StorageFull = %v and told %v; want still full, told once", full, told())
	}

	free()
	if err := create("zafter"); err != nil {
		t.Fatalf("write once space is freed: %v", err)
	}
	kept = append(kept, "zafter")
	if got := told(); !slices.Equal(got, []bool{true, false}) {
		t.Errorf("told %v after space was freed, want [true false]", got)
	}
	if full, _ := db.StorageFull(); full {
		t.Error("StorageFull still says full after a write succeeded")
	}
	slices.Sort(kept)
	if got := usernames(t, db); !slices.Equal(got, kept) {
		t.Errorf("stored %v\nwant the acknowledged %v\n(refused: %v)", got, kept, refused)
	}
}

// TestStorageFull_PostgreSQL: PostgreSQL's disk_full fails the write with
// parley.ErrStorageFull, keeping nothing of it, and the store says so once,
// and again when the next write succeeds.
func TestStorageFull_PostgreSQL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlstoretest.Open(t, "postgres")
	told := watchFullness(db)
	user := func(name string) *parley.User {
		return &parley.User{ID: parley.NewID(), Username: name, CreatedAt: parley.Now()}
	}
	for range 2 {
		err := db.Write(ctx, func(tx parley.Tx) error {
			if err := tx.CreateUser(ctx, user("refused"), "hash"); err != nil {
				return err
			}
			return sqlstore.RaiseDiskFull(ctx, tx)
		})
		if !errors.Is(err, parley.ErrStorageFull) || parley.ErrorCode(err) != parley.EFULL {
			t.Fatalf("write on a full disk: %v", err)
		}
	}
	if got := told(); !slices.Equal(got, []bool{true}) {
		t.Errorf("told %v while full, want [true]", got)
	}
	mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateUser(ctx, user("kept"), "hash") })
	if got := told(); !slices.Equal(got, []bool{true, false}) {
		t.Errorf("told %v after a write succeeded, want [true false]", got)
	}
	if got := usernames(t, db); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("stored %v, want only the acknowledged [kept]", got)
	}
}

// watchFullness records what the store tells of its disk filling and
// clearing, and returns what it told so far.
func watchFullness(db *sqlstore.DB) (told func() []bool) {
	var mu sync.Mutex
	var said []bool
	db.OnStorageFull(func(full bool) {
		mu.Lock()
		defer mu.Unlock()
		said = append(said, full)
	})
	return func() []bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(said)
	}
}

// usernames returns the usernames of every member stored, in order.
func usernames(t *testing.T, db *sqlstore.DB) []string {
	t.Helper()
	ctx := context.Background()
	var users []*parley.User
	if err := db.Read(ctx, func(tx parley.Tx) (err error) {
		users, err = tx.FindUsers(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Username)
	}
	return names
}

// TestHealth_Probes: the write probe succeeds on a store that takes
// writes; the schema version read is this binary's until a newer parley
// records its own.
func TestHealth_Probes(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		if err := db.CheckWritable(ctx); err != nil {
			t.Fatalf("CheckWritable: %v", err)
		}
		if v, err := db.DatabaseSchema(ctx); err != nil || v != sqlstore.SchemaVersion() {
			t.Fatalf("DatabaseSchema = %d, %v; want %d", v, err, sqlstore.SchemaVersion())
		}
		if err := sqlstore.RecordSchema(ctx, db, sqlstore.SchemaVersion()+1); err != nil {
			t.Fatal(err)
		}
		if v, err := db.DatabaseSchema(ctx); err != nil || v != sqlstore.SchemaVersion()+1 {
			t.Fatalf("DatabaseSchema after a newer parley migrated = %d, %v; want %d", v, err, sqlstore.SchemaVersion()+1)
		}
	})
}

// TestHealth_Stats: the database's size, and the webhook queue's depth and
// the time its longest-waiting due delivery fell due.
func TestHealth_Stats(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := parley.Now()
		s, err := db.Stats(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		if s.DatabaseBytes <= 0 || s.WebhooksQueued != 0 || !s.OldestDueWebhook.IsZero() {
			t.Fatalf("empty store: %+v", s)
		}
		e := newWebhookEndpoint(t, db)
		mustWrite(t, db, func(tx parley.Tx) error {
			var ds []parley.NewWebhookDelivery
			for i, at := range []time.Time{now.Add(-time.Minute), now.Add(-time.Second), now.Add(time.Hour)} {
				ds = append(ds, parley.NewWebhookDelivery{ID: fmt.Sprint("d", i), EndpointID: e.ID, Event: parley.WebhookMessageCreated, Payload: []byte(`{}`), CreatedAt: at})
			}
			return tx.EnqueueWebhooks(ctx, ds)
		})
		if s, err = db.Stats(ctx, now); err != nil {
			t.Fatal(err)
		}
		if s.WebhooksQueued != 3 || !s.OldestDueWebhook.Equal(now.Add(-time.Minute).Truncate(time.Microsecond)) {
			t.Fatalf("three queued, two due, the oldest a minute ago: %+v", s)
		}
	})
}
