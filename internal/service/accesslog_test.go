package service

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for ANALYZE
)

// mustLoggedMember creates a member whose access log holds n entries,
// appended through the store's own AppendAccess, which chains them, and
// returns a context signed in as them.
func mustLoggedMember(tb testing.TB, db *sqlstore.DB, username string, n int) (context.Context, *parley.User) {
	tb.Helper()
	ctx := context.Background()
	u := &parley.User{ID: parley.NewID(), Username: username, DisplayName: username, CreatedAt: parley.Now()}
	if err := db.Write(ctx, func(tx parley.Tx) error { return tx.CreateUser(ctx, u, "hash") }); err != nil {
		tb.Fatal(err)
	}
	entry := parley.AccessEntry{At: parley.Now(), ClientID: "pc_films", AppName: "Films", GrantID: "g1",
		Action: string(parley.ScopeMessagesRead), MessageCount: 1}
	const batch = 2000
	for from := 0; from < n; from += batch {
		records := make([]parley.AccessRecord, min(batch, n-from))
		for i := range records {
			records[i] = parley.AccessRecord{Entry: entry, UserIDs: []string{u.ID}}
		}
		if err := db.Write(ctx, func(tx parley.Tx) error { return tx.AppendAccess(ctx, records) }); err != nil {
			tb.Fatal(err)
		}
	}
	return parley.NewContextWithCaller(ctx, &parley.Caller{User: parley.UserRef{ID: u.ID, Username: u.Username}}), u
}

// Verification reads the log a chunk at a time, and holds it to every
// link all the same: a change behind Parley's back is caught at the entry
// it touched, at a chunk's first or last entry as anywhere else, and the
// link from one chunk to the next is checked like any other.
func TestVerifyAccessLog_ChunkBoundaries(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		const n = 2*verifyChunk + 1 // two full chunks and one entry
		ctx, u := mustLoggedMember(t, db, "alice", n)
		s := New(db, nil, slog.New(slog.DiscardHandler), Options{})
		verify := func() *Verification {
			t.Helper()
			v, err := s.verifyAccessLog(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		if v := verify(); !v.Intact || v.Break != nil || v.Entries != n {
			t.Fatalf("verify the log as written: %+v, want %d entries intact", v, n)
		}
		edit := func(seq int64, change func(*parley.AccessEntry)) func() error {
			return func() error { return sqlstore.TamperAccessEntry(ctx, db, u.ID, seq, change) }
		}
		rehash := func(e *parley.AccessEntry) { e.Action = "threads.read"; e.Hash = e.ChainHash(e.PrevHash) }
		// Each change is undone before the next, but for the cuts.
		for _, tc := range []struct {
			name         string
			change, undo func() error
			seq          int64
			reason       string
			entries      int64
		}{
			{
				"EditedLastOfAChunk",
				edit(verifyChunk, func(e *parley.AccessEntry) { e.Action = "threads.read" }),
				edit(verifyChunk, func(e *parley.AccessEntry) { e.Action = string(parley.ScopeMessagesRead) }),
				verifyChunk, "altered", n,
			},
			{
				"EditedFirstOfAChunk",
				edit(verifyChunk+1, func(e *parley.AccessEntry) { e.MessageCount = 7 }),
				edit(verifyChunk+1, func(e *parley.AccessEntry) { e.MessageCount = 1 }),
				verifyChunk + 1, "altered", n,
			},
			{
				// The entry is consistent in itself: only the next
				// entry, read in the next chunk, shows it was replaced.
				"ReplacedAcrossAChunk",
				edit(verifyChunk, rehash),
				edit(verifyChunk, func(e *parley.AccessEntry) {
					e.Action = string(parley.ScopeMessagesRead)
					e.Hash = e.ChainHash(e.PrevHash)
				}),
				verifyChunk + 1, "previous hash", n,
			},
			{
				// No append gives a seq below 1, but the member's listing
				// shows an entry there: a fabricated one, consistent in
				// itself, is a break.
				"ForgedBeforeTheStart",
				func() error {
					e := &parley.AccessEntry{UserID: u.ID, Seq: 0, At: parley.Now(), ClientID: "pc_spy", AppName: "Spy",
						Action: string(parley.ScopeMessagesRead), MessageCount: 500, PrevHash: parley.GenesisHash}
					e.Hash = e.ChainHash(e.PrevHash)
					return sqlstore.ForgeAccessEntry(ctx, db, e)
				},
				func() error { return sqlstore.DeleteAccessEntry(ctx, db, u.ID, 0) },
				0, "before the start", n + 1,
			},
			{
				"TruncatedToFullChunks",
				func() error { return sqlstore.DeleteAccessEntry(ctx, db, u.ID, n) }, nil,
				n, "missing at the end", n - 1,
			},
			{
				"ForgedBeyondTheEndInAChunkOfItsOwn",
				func() error {
					return sqlstore.ForgeAccessEntry(ctx, db, &parley.AccessEntry{UserID: u.ID, Seq: 3*verifyChunk + 1,
						Action: "profile", PrevHash: []byte{0}, Hash: []byte{0}})
				},
				func() error { return sqlstore.DeleteAccessEntry(ctx, db, u.ID, 3*verifyChunk+1) },
				3*verifyChunk + 1, "beyond the end", n,
			},
			{
				"DeletedFirstOfAChunk",
				func() error { return sqlstore.DeleteAccessEntry(ctx, db, u.ID, verifyChunk+1) }, nil,
				verifyChunk + 1, "missing", n - 2,
			},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := verify()
				if err := tc.change(); err != nil {
					t.Fatal(err)
				}
				v := verify()
				if v.Intact || v.Break == nil || v.Break.Seq != tc.seq || !strings.Contains(v.Break.Reason, tc.reason) || v.Entries != tc.entries {
					t.Errorf("verify after the change: %+v %+v, want a break at %d (%s) in %d entries", v, v.Break, tc.seq, tc.reason, tc.entries)
				}
				if tc.undo != nil {
					if err := tc.undo(); err != nil {
						t.Fatal(err)
					}
					if v := verify(); v.Intact != before.Intact || v.Entries != before.Entries || (v.Break == nil) != (before.Break == nil) {
						t.Fatalf("verify after undoing the change: %+v, want %+v as before it", v, before)
					}
				}
			})
		}
	})
}

// The log grows while it is verified: entries appended after verification
// read the head are past it, and are not taken for forgeries.
func TestVerifyAccessLog_WhileTheLogGrows(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx, u := mustLoggedMember(t, db, "alice", verifyChunk/2)
		s := New(db, nil, slog.New(slog.DiscardHandler), Options{})
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			defer close(done)
			entry := parley.AccessEntry{At: parley.Now(), ClientID: "pc_films", AppName: "Films", GrantID: "g1", Action: "profile"}
			for range 200 {
				err := db.Write(ctx, func(tx parley.Tx) error {
					return tx.AppendAccess(ctx, []parley.AccessRecord{{Entry: entry, UserIDs: []string{u.ID}}})
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
		for verified := 0; ; verified++ {
			select {
			case <-done:
				wg.Wait()
				t.Logf("verified %d times while the log grew", verified)
				return
			default:
			}
			if v, err := s.VerifyAccessLog(ctx); err != nil || !v.Intact {
				t.Errorf("verify while the log grows: %+v, %v", v, err)
				<-done
				return
			}
		}
	})
}

// A member's check within verifyWholeEvery of the last that read their
// whole chain reads only the entries appended since the point it found
// intact: a change behind Parley's back before that point shows at the
// next whole reading, and one after it at once; the count is always the
// whole log's.
func TestVerifyAccessLog_WithinAMinuteReadsOnlyWhatIsNew(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		const n = verifyChunk + 500
		ctx, u := mustLoggedMember(t, db, "alice", n)
		clock := &laterClock{}
		s := New(db, nil, slog.New(slog.DiscardHandler), Options{Clock: clock})
		verify := func(when string, entries int64, brokenAt int64) {
			t.Helper()
			v, err := s.VerifyAccessLog(ctx)
			if err != nil {
				t.Fatal(err)
			}
			intact := brokenAt == 0
			if v.Intact != intact || v.Entries != entries || !intact && (v.Break == nil || v.Break.Seq != brokenAt) {
				t.Errorf("%s: %+v %+v, want %d entries, intact %v (a break at %d)", when, v, v.Break, entries, intact, brokenAt)
			}
		}
		appendEntries := func(k int) {
			t.Helper()
			entry := parley.AccessEntry{At: parley.Now(), ClientID: "pc_films", AppName: "Films", GrantID: "g1", Action: "profile"}
			records := make([]parley.AccessRecord, k)
			for i := range records {
				records[i] = parley.AccessRecord{Entry: entry, UserIDs: []string{u.ID}}
			}
			if err := db.Write(ctx, func(tx parley.Tx) error { return tx.AppendAccess(ctx, records) }); err != nil {
				t.Fatal(err)
			}
		}
		tamper := func(seq int64, action string) {
			t.Helper()
			if err := sqlstore.TamperAccessEntry(ctx, db, u.ID, seq, func(e *parley.AccessEntry) { e.Action = action }); err != nil {
				t.Fatal(err)
			}
		}

		verify("the whole log", n, 0)
		tamper(10, "threads.read")
		verify("within the minute, with an entry changed before the point it starts from", n, 0)
		appendEntries(5)
		verify("within the minute, five entries later", n+5, 0)
		appendEntries(3)
		tamper(n+7, "threads.read")
		verify("within the minute, an entry changed after the point it starts from", n+8, n+7)
		tamper(n+7, "profile")
		verify("the next check, which reads the whole log again", n+8, 10)
		tamper(10, string(parley.ScopeMessagesRead))
		verify("within the minute, once the change is undone", n+8, 0)
		tamper(10, "threads.read")
		clock.Advance(verifyWholeEvery)
		verify("a minute later", n+8, 10)
	})
}

// BenchmarkAccessLog pages through (200 entries a page, newest first, as
// the API gives it) and verifies members' access logs of 10,000, 50,000
// and 100,000 entries on each engine. Beside the time it reports entries
// a second, and peak-live-MiB: the most the heap held live, as the
// garbage collector found it, above what it held when the run began. The
// Go runtime runs under the server's default soft memory limit.
//
// PostgreSQL runs twice: as the logs were just loaded, before it has
// gathered statistics of the table (as after parley migrate, until
// autovacuum comes round), and once ANALYZE has run, as on a live server.
func BenchmarkAccessLog(b *testing.B) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(int64(config.Default().MemoryLimitMiB) << 20))
	for _, engine := range sqlstoretest.Engines {
		b.Run(engine, func(b *testing.B) { benchmarkAccessLog(b, sqlstoretest.Open(b, engine), nil) })
	}
	b.Run("postgres-analyzed", func(b *testing.B) {
		url := sqlstoretest.PostgresURL(b)
		db, err := sqlstore.OpenPostgres(context.Background(), url)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		benchmarkAccessLog(b, db, func() error {
			conn, err := sql.Open("pgx", url)
			if err != nil {
				return err
			}
			defer conn.Close()
			_, err = conn.Exec("ANALYZE access_log")
			return err
		})
	})
}

// benchmarkAccessLog fills db with the logs, calls loaded if there is
// one, and pages and verifies each log.
func benchmarkAccessLog(b *testing.B, db *sqlstore.DB, loaded func() error) {
	s := New(db, nil, slog.New(slog.DiscardHandler), Options{})
	lengths := []int{10_000, 50_000, 100_000}
	if testing.Short() {
		lengths = lengths[:1] // CI runs each benchmark once, to show that it works
	}
	members := make([]context.Context, len(lengths))
	for i, n := range lengths {
		members[i], _ = mustLoggedMember(b, db, fmt.Sprint("m", n), n)
	}
	if loaded != nil {
		if err := loaded(); err != nil {
			b.Fatal(err)
		}
	}
	for i, n := range lengths {
		ctx := members[i]
		b.Run(fmt.Sprintf("entries=%d/page", n), func(b *testing.B) {
			measureLog(b, n, func() error {
				read := 0
				for q := (AccessLogQuery{Limit: parley.MaxMessageLimit}); ; {
					page, err := s.AccessLog(ctx, q)
					if err != nil {
						return err
					}
					read += len(page.Entries)
					if q.Cursor = page.NextCursor; q.Cursor == "" {
						break
					}
				}
				if read != n {
					return fmt.Errorf("paged %d entries, want %d", read, n)
				}
				return nil
			})
		})
		b.Run(fmt.Sprintf("entries=%d/verify", n), func(b *testing.B) {
			c := parley.CallerFromContext(ctx)
			measureLog(b, n, func() error {
				v, err := s.verifyAccessLog(ctx, c.User.ID)
				if err == nil && (!v.Intact || v.Entries != int64(n)) {
					err = fmt.Errorf("verified %+v, want %d entries intact", v, n)
				}
				return err
			})
		})
	}
}

// measureLog runs fn, which reads a log of n entries, b.N times, and
// reports entries a second and the peak of the live heap above its level
// at the start.
func measureLog(b *testing.B, n int, fn func() error) {
	runtime.GC()
	base := liveHeap()
	peak, stop := watchLiveHeap()
	b.ResetTimer()
	for b.Loop() {
		if err := fn(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	stop()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(max(*peak-base, 0))/(1<<20), "peak-live-MiB")
}

// liveHeap returns the bytes the heap held live at the end of the last
// garbage collection.
func liveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// watchLiveHeap samples liveHeap every millisecond until stop is called,
// keeping the largest reading in *peak.
func watchLiveHeap() (peak *int64, stop func()) {
	peak = new(int64)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			*peak = max(*peak, liveHeap())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return peak, func() { close(done); wg.Wait() }
}

// A run of like reads longer than a page reads (groupPageEntries), such as
// an app polling for weeks makes, is not read to its end for one page: the
// page ends past that many entries, and the next goes on with the rest of
// the run, every entry counted once across the pages.
func TestAccessLogGroups_ALongRunIsReadAPageAtATime(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		const n = 2*groupPageEntries + 300
		ctx, _ := mustLoggedMember(t, db, "alice", n)
		s := New(db, nil, slog.New(slog.DiscardHandler), Options{})
		q, counted, pages := AccessLogQuery{}, 0, 0
		for {
			page, err := s.AccessLogGroups(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, g := range page.Groups {
				if g.Count > groupPageEntries+groupBatch {
					t.Errorf("page %d has a line of %d entries, more than a page reads", pages, g.Count)
				}
				counted += g.Count
			}
			if q.Cursor = page.NextCursor; q.Cursor == "" {
				break
			}
		}
		if counted != n || pages != 3 {
			t.Errorf("paged %d entries in %d pages, want %d in 3", counted, pages, n)
		}
	})
}
