package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// readRecord is an app's read of two messages by members a and b.
func readRecord(a, b string, ids ...string) parley.AccessRecord {
	return parley.AccessRecord{
		Entry: parley.AccessEntry{At: parley.Now(), ClientID: "client", AppName: "Films", GrantID: "grant",
			Action: "messages.read", ThreadID: "thread", MessageIDs: ids, MessageCount: len(ids), FirstSeq: 1, LastSeq: 2},
		UserIDs: []string{a, b},
	}
}

// mustUsers stores members and returns their IDs.
func mustUsers(t *testing.T, db *sqlstore.DB, names ...string) []string {
	t.Helper()
	var ids []string
	err := db.Write(context.Background(), func(tx parley.Tx) error {
		for _, name := range names {
			u := newUser(name)
			ids = append(ids, u.ID)
			if err := tx.CreateUser(context.Background(), u, "hash"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// logOf returns a member's whole access log, oldest first, and fails the
// test unless its chain verifies.
func logOf(t *testing.T, db *sqlstore.DB, userID string) []*parley.AccessEntry {
	t.Helper()
	ctx := context.Background()
	var entries []*parley.AccessEntry
	var head []parley.AccessHead
	err := db.Read(ctx, func(tx parley.Tx) (err error) {
		if entries, err = tx.FindAccessEntries(ctx, parley.AccessFilter{UserID: userID, Ascending: true, Limit: 1000}); err != nil {
			return err
		}
		head, err = tx.FindAccessHeads(ctx, []string{userID})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	check := parley.NewChainCheck(head[0])
	for _, e := range entries {
		check.Add(e)
	}
	if b := check.End(); b != nil {
		t.Fatalf("the chain breaks at %d: %s", b.Seq, b.Reason)
	}
	return entries
}

// A read logged a moment ago is in the log for whoever reads it next, and
// before what any later write appends.
func TestLogReads_InTheLogBeforeAnyLaterReadOrWrite(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testLogReads_InTheLogBeforeAnyLaterReadOrWrite)
}

func testLogReads_InTheLogBeforeAnyLaterReadOrWrite(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	ids := mustUsers(t, db, "alice", "bob")
	if err := db.LogReads(ctx, []parley.AccessRecord{readRecord(ids[0], ids[1], "m1", "m2")}); err != nil {
		t.Fatal(err)
	}
	log := logOf(t, db, ids[1])
	if len(log) != 1 || log[0].Action != "messages.read" || strings.Join(log[0].MessageIDs, " ") != "m1 m2" ||
		log[0].FirstSeq != 1 || log[0].LastSeq != 2 {
		t.Fatalf("bob's log right after the read: %+v", log)
	}

	// A record that names no member is in no one's log, and fails nothing
	// logged with it.
	noOne := readRecord(ids[0], ids[1])
	noOne.UserIDs = nil
	if err := db.LogReads(ctx, []parley.AccessRecord{noOne}); err != nil {
		t.Fatalf("a record that names no member: %v", err)
	}
	if err := db.LogReads(ctx, []parley.AccessRecord{readRecord(ids[0], ids[1]), noOne}); err != nil {
		t.Fatal(err)
	}
	revoked := parley.AccessRecord{Entry: parley.AccessEntry{At: parley.Now(), Action: parley.ActionGrantRevoked}, UserIDs: ids[:1]}
	if err := db.Write(ctx, func(tx parley.Tx) error { return tx.AppendAccess(ctx, []parley.AccessRecord{revoked}) }); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range logOf(t, db, ids[0]) {
		got = append(got, e.Action)
	}
	if strings.Join(got, " ") != "messages.read messages.read grant.revoked" {
		t.Fatalf("alice's log: %v; the reads must come before the later write", got)
	}
}

// Reads journaled by a server that crashed before folding them are folded
// when the database opens again, each once.
func TestLogReads_FoldedAfterACrash(t *testing.T) {
	t.Parallel()
	db, path := mustOpen(t)
	ids := mustUsers(t, db, "alice", "bob")
	db.Close()
	if err := sqlstore.JournalReads(path, []parley.AccessRecord{readRecord(ids[0], ids[1], "m1")}); err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.JournalReads(path, []parley.AccessRecord{readRecord(ids[0], ids[1], "m2")}); err != nil {
		t.Fatal(err)
	}
	segments := journalSegments(path)
	if len(segments) != 2 {
		t.Fatalf("segments %v", segments)
	}
	kept := map[string][]byte{}
	for _, s := range segments {
		kept[s], _ = os.ReadFile(s)
	}

	db = reopen(t, path)
	if log := logOf(t, db, ids[1]); len(log) != 2 || log[0].MessageIDs[0] != "m1" || log[1].MessageIDs[0] != "m2" {
		t.Fatalf("bob's log after the restart: %+v", log)
	}
	db.Close()
	if left := journalSegments(path); len(left) != 0 {
		t.Errorf("folded segments left behind: %v", left)
	}

	// A crash after the fold committed, before its segments were removed.
	for s, data := range kept {
		if err := os.WriteFile(s, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db = reopen(t, path)
	if log := logOf(t, db, ids[1]); len(log) != 2 {
		t.Fatalf("bob's log after a second restart has %d entries; want the same 2", len(log))
	}
}

// On PostgreSQL, a read LogReads acknowledged is on disk before its data
// goes out: a crash of PostgreSQL itself, its machine up, loses no record
// of it (a journal row committed without waiting for the disk would be
// only in the server's memory).
func TestLogReads_SurviveACrashOfPostgreSQL(t *testing.T) {
	t.Parallel()
	server := sqlstoretest.NewOwnPostgres(t)
	ctx := context.Background()
	db, err := sqlstore.OpenPostgres(ctx, server.URL)
	if err != nil {
		t.Fatal(err)
	}
	ids := mustUsers(t, db, "alice", "bob")
	server.HoldWALWriter()
	if err := db.LogReads(ctx, []parley.AccessRecord{readRecord(ids[0], ids[1], "m1")}); err != nil {
		t.Fatal(err)
	}
	server.Crash()
	db.Close()
	server.Start()
	if db, err = sqlstore.OpenPostgres(ctx, server.URL); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if log := logOf(t, db, ids[1]); len(log) != 1 || log[0].MessageIDs[0] != "m1" {
		t.Fatalf("bob's log after PostgreSQL crashed: %+v; want the read acknowledged before", log)
	}
}

// A line cut short at the end of the journal was never acknowledged, and
// is dropped; a damaged line before others is an error.
func TestLogReads_DamagedJournal(t *testing.T) {
	t.Parallel()
	path, ids, segment, whole := crashedWithARead(t)
	appendTo(t, segment, `2 [{"at":17`)
	db := reopen(t, path)
	if log := logOf(t, db, ids[0]); len(log) != 1 {
		t.Fatalf("alice's log after a line cut short: %d entries; want 1", len(log))
	}
	db.Close()

	bad := path + "-access-journal.7"
	if err := os.WriteFile(bad, append([]byte("7 [{\"at\":\n"), whole...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlstore.OpenSQLite(context.Background(), path); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("open with a damaged line = %v; want an error naming %s", err, bad)
	}
}

// crashedWithARead returns a closed database whose server crashed with a
// read of alice's and bob's (of m1) journaled, not folded; their IDs; and
// the journal's one segment and what it holds.
func crashedWithARead(t *testing.T) (path string, ids []string, segment string, data []byte) {
	t.Helper()
	db, path := mustOpen(t)
	ids = mustUsers(t, db, "alice", "bob")
	db.Close()
	if err := sqlstore.JournalReads(path, []parley.AccessRecord{readRecord(ids[0], ids[1], "m1")}); err != nil {
		t.Fatal(err)
	}
	segments := journalSegments(path)
	if len(segments) != 1 {
		t.Fatalf("segments %v", segments)
	}
	data, err := os.ReadFile(segments[0])
	if err != nil {
		t.Fatal(err)
	}
	return path, ids, segments[0], data
}

func reopen(t *testing.T, path string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// Reads that nobody reads or writes after are folded all the same, in the
// background, moments after they were logged.
func TestLogReads_FoldedInTheBackground(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ids := mustUsers(t, db, "alice", "bob")
		for i := range 3 {
			if err := db.LogReads(ctx, []parley.AccessRecord{readRecord(ids[0], ids[1], fmt.Sprint(i))}); err != nil {
				t.Fatal(err)
			}
		}
		waitFolded(t, db)
		if n := len(logOf(t, db, ids[0])); n != 3 {
			t.Errorf("alice's log holds %d entries, want the 3 reads", n)
		}
	})
}

// waitFolded waits until no logged read waits to be folded into the
// access log, without reading the log, and fails the test after 10 s.
func waitFolded(t *testing.T, db *sqlstore.DB) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		n, err := sqlstore.UnfoldedReads(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d logged reads still wait to be folded", n)
		}
	}
}

// A parley command run beside the server opens the same database: the
// server's journal of reads stays the server's. A second server may not.
func TestLogReads_JournalBelongsToTheServer(t *testing.T) {
	t.Parallel()
	db, path := mustOpen(t)
	ctx := context.Background()
	ids := mustUsers(t, db, "alice", "bob")
	if err := db.LogReads(ctx, []parley.AccessRecord{readRecord(ids[0], ids[1], "m1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlstore.OpenSQLite(ctx, path); err == nil || !strings.Contains(err.Error(), "in use by a running server") {
		t.Fatalf("a second server's open = %v; want a refusal", err)
	}
	other, err := sqlstore.OpenSQLiteWith(ctx, path, sqlstore.SQLiteOptions{Schema: sqlstore.Current, Beside: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.LogReads(ctx, []parley.AccessRecord{readRecord(ids[0], ids[1], "m2")}); err == nil {
		t.Error("a second process logged reads into the server's journal")
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if log := logOf(t, db, ids[1]); len(log) != 1 || log[0].MessageIDs[0] != "m1" {
		t.Fatalf("bob's log: %+v; want the server's one read, once", log)
	}
}

// Full segments are sealed, and removed once their lines are folded; a
// clean close removes the last one.
func TestLogReads_SegmentsRemovedOnceFolded(t *testing.T) {
	t.Parallel()
	db, path, ids := openSealingEveryLine(t)
	ctx := context.Background()
	for i := range 5 {
		if err := db.LogReads(ctx, []parley.AccessRecord{readRecord(ids[0], ids[1], "m1")}); err != nil {
			t.Fatal(err)
		}
		if log := logOf(t, db, ids[1]); len(log) != i+1 {
			t.Fatalf("after read %d, bob's log has %d entries", i+1, len(log))
		}
		if left := journalSegments(path); len(left) != 0 {
			t.Fatalf("after read %d, segments %v are left", i+1, left)
		}
	}
	sqlstore.SealSegmentsAt(db, 1<<20)
	if err := db.LogReads(ctx, []parley.AccessRecord{readRecord(ids[0], ids[1], "m1")}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if left := journalSegments(path); len(left) != 0 {
		t.Fatalf("after a clean close, segments %v are left", left)
	}
}

// A segment a crash cut short before its first line, holding nothing, is
// gone after the next clean close, though no read came to be folded.
func TestLogReads_ASegmentCutShortIsRemovedAtClose(t *testing.T) {
	t.Parallel()
	db, path := mustOpen(t)
	db.Close()
	torn := path + "-access-journal.2"
	if err := os.WriteFile(torn, []byte(`2 [{"at":17965889`), 0o600); err != nil {
		t.Fatal(err)
	}
	reopen(t, path).Close()
	if left := journalSegments(path); len(left) != 0 {
		t.Fatalf("after a clean close, segments %v are left", left)
	}
}

// openSealingEveryLine opens a store whose journal seals its segment at
// every line, with two members, alice and bob.
func openSealingEveryLine(t *testing.T) (db *sqlstore.DB, path string, ids []string) {
	t.Helper()
	db, path = mustOpen(t)
	sqlstore.SealSegmentsAt(db, 1)
	return db, path, mustUsers(t, db, "alice", "bob")
}

// journalSegments lists the segments of the journal of the database at
// path that are on disk.
func journalSegments(path string) []string {
	left, _ := filepath.Glob(path + "-access-journal.[0-9]*")
	return left
}

// A write that reads the access log finds the reads journaled before it,
// and a write that failed after folding them, in its own transaction,
// leaves them to the next fold: each is in the log once.
func TestLogReads_FoldedInsideWrites(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testLogReads_FoldedInsideWrites)
}

func testLogReads_FoldedInsideWrites(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	ids := mustUsers(t, db, "alice", "bob")
	if err := db.LogReads(ctx, []parley.AccessRecord{readRecord(ids[0], ids[1], "m1")}); err != nil {
		t.Fatal(err)
	}
	failed := errors.New("the write fails after appending")
	err := db.Write(ctx, func(tx parley.Tx) error {
		revoked := parley.AccessRecord{Entry: parley.AccessEntry{At: parley.Now(), Action: parley.ActionGrantRevoked}, UserIDs: ids[:1]}
		if err := tx.AppendAccess(ctx, []parley.AccessRecord{revoked}); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("the failing write: %v", err)
	}
	if err := db.LogReads(ctx, []parley.AccessRecord{readRecord(ids[0], ids[1], "m2")}); err != nil {
		t.Fatal(err)
	}
	var head parley.AccessHead
	err = db.Write(ctx, func(tx parley.Tx) error {
		heads, err := tx.FindAccessHeads(ctx, ids[1:])
		head = heads[0]
		return err
	})
	if err != nil || head.Seq != 2 {
		t.Fatalf("bob's head as a write reads it: %+v (%v), want both reads in", head, err)
	}
	var got []string
	for _, e := range logOf(t, db, ids[0]) {
		got = append(got, e.Action+" "+strings.Join(e.MessageIDs, " "))
	}
	if strings.Join(got, ", ") != "messages.read m1, messages.read m2" {
		t.Fatalf("alice's log: %v; want each read once, and nothing of the failed write", got)
	}
}

// Reads folded inside the writes that follow them, before their own fold
// comes due, still let the journal seal its full segments and remove them
// once folded: the journal does not grow without bound.
func TestLogReads_SegmentsSealedWhenWritesFoldThem(t *testing.T) {
	t.Parallel()
	db, path, ids := openSealingEveryLine(t)
	ctx := context.Background()
	for range 20 {
		if err := db.LogReads(ctx, []parley.AccessRecord{readRecord(ids[0], ids[1], "m1")}); err != nil {
			t.Fatal(err)
		}
		err := db.Write(ctx, func(tx parley.Tx) error {
			r := parley.AccessRecord{Entry: parley.AccessEntry{At: parley.Now(), Action: parley.ActionGrantRevoked}, UserIDs: ids[:1]}
			return tx.AppendAccess(ctx, []parley.AccessRecord{r})
		})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(25 * time.Millisecond) // the fold the read scheduled comes due and finds nothing
	}
	if n := len(logOf(t, db, ids[1])); n != 20 {
		t.Fatalf("bob's log has %d entries, want 20", n)
	}
	if left := journalSegments(path); len(left) != 0 {
		t.Fatalf("every line folded and segments sealed at 1 byte, yet segments %v are left", left)
	}
}

// Records with one Key log one access: the first is logged and the others
// are dropped, in one call or in later ones, and in appends within writes
// as in LogReads, for parley.AccessKeyKept after the first, each record
// held to its own time; an append after that finds the Key forgotten, as
// does one after a write that kept it and failed. Records without a Key
// are all logged.
func TestLogReads_OneEntryPerKey(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ids := mustUsers(t, db, "alice", "bob")
		at := parley.Now()
		keyed := func(key string, at time.Time, id string) parley.AccessRecord {
			r := readRecord(ids[0], ids[1], id)
			r.Entry.At = at
			if key != "" {
				r.Key = []byte(key)
			}
			return r
		}
		mustLog := func(records ...parley.AccessRecord) {
			t.Helper()
			if err := db.LogReads(ctx, records); err != nil {
				t.Fatal(err)
			}
		}
		mustLog(keyed("k1", at, "first"), keyed("k1", at, "again-in-the-call"), keyed("", at, "no-key"), keyed("", at, "no-key"))
		mustLog(keyed("k1", at.Add(time.Second), "again-later"), keyed("k2", at, "another-key"))
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.AppendAccess(ctx, []parley.AccessRecord{keyed("k2", at, "again-in-a-write"), keyed("k3", at, "a-third")})
		})
		// A Key kept by a write that failed was never kept.
		failed := errors.New("the write fails")
		err := db.Write(ctx, func(tx parley.Tx) error {
			if err := tx.AppendAccess(ctx, []parley.AccessRecord{keyed("k4", at, "rolled-back")}); err != nil {
				return err
			}
			return failed
		})
		if !errors.Is(err, failed) {
			t.Fatalf("the failing write: %v", err)
		}
		mustLog(keyed("k4", at, "after-the-rollback"))
		// Each record is held to its own time, whatever the others'.
		mustLog(keyed("", at.Add(parley.AccessKeyKept+time.Second), "later"),
			keyed("k1", at.Add(parley.AccessKeyKept-time.Second), "within-the-time-kept"))
		// Records of one append with one Key are one access: the next is
		// appended on its own (read, the log is folded on SQLite).
		logOf(t, db, ids[0])
		mustLog(keyed("k1", at.Add(parley.AccessKeyKept+time.Second), "after-the-time-kept"))
		want := "first, no-key, no-key, another-key, a-third, after-the-rollback, later, after-the-time-kept"
		for _, id := range ids {
			var got []string
			for _, e := range logOf(t, db, id) {
				got = append(got, e.MessageIDs...)
			}
			if strings.Join(got, ", ") != want {
				t.Errorf("%s's log holds %q, want %q", id, strings.Join(got, ", "), want)
			}
		}
	})
}

// An append forgets Keys kept from over parley.AccessKeyKept before its
// records, some at a time, so that the Keys kept do not grow without end
// and no append deletes a whole busy spell's at once.
func TestLogReads_OldKeysForgottenSomeAtATime(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ids := mustUsers(t, db, "alice", "bob")
		at := parley.Now()
		appendKeyed := func(at time.Time, keys ...string) {
			t.Helper()
			var records []parley.AccessRecord
			for _, k := range keys {
				r := readRecord(ids[0], ids[1], k)
				r.Entry.At, r.Key = at, []byte(k)
				records = append(records, r)
			}
			mustWrite(t, db, func(tx parley.Tx) error { return tx.AppendAccess(ctx, records) })
		}
		kept := func() int {
			t.Helper()
			n, err := sqlstore.AccessKeysKept(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		var busy []string
		for i := range 300 {
			busy = append(busy, fmt.Sprint("k", i))
		}
		appendKeyed(at, busy...)
		appendKeyed(at.Add(parley.AccessKeyKept-time.Second), "within")
		if n := kept(); n != 301 {
			t.Fatalf("%d keys kept within their time, want 301", n)
		}
		later := at.Add(parley.AccessKeyKept + time.Second)
		appendKeyed(later, "after")
		if n := kept(); n != 301-256+1 {
			t.Fatalf("%d keys kept after an append past their time, want %d", n, 301-256+1)
		}
		appendKeyed(later, "after again")
		if n := kept(); n != 3 {
			t.Fatalf("%d keys kept after two appends past their time, want the 3 still within it", n)
		}
	})
}
