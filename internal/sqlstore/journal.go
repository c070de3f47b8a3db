package sqlstore

// The journal of reads (parley.Store.LogReads). An app's read must be in the
// access log before its data is returned, and a commit for each read costs
// as much as the read itself: a BEGIN, whole pages written to the WAL and a
// round trip through the writer. The journal instead appends a read's
// records as one line to a file with one write(2), which survives a crash of
// the server as a commit with synchronous=NORMAL does. The writer folds the
// pending lines into the log foldDelay after a line arrives, so that a busy
// stream of reads folds many lines in one transaction, and before anyone
// reads the log: a read of it asks the writer for a fold first, and a write
// that reads or appends to it folds the pending lines first, in its own
// transaction (foldInside), so that everyone finds them there, in order.
//
// The journal is a series of segment files next to the database,
// "<db>-access-journal.<n>", n the number of the segment's first line, and
// the lock file "<db>-access-journal.lock". A fold seals the segment being
// appended to once it holds segmentSize bytes, and removes sealed segments
// once it has committed their lines; a clean close removes the last one.
// Each line starts with its number, and the fold records the last number it
// folded (access_journal.folded) in its own transaction: lines up to it are
// skipped when the journal is read back at open, and the lines above it are
// folded then.
//
// Segments are sealed by size, not at every fold, because creating a file
// costs more than the writes of a hundred reads.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/parleyhq/parley"
)

// LogReads appends records to the journal of reads: on PostgreSQL, its
// table (pgjournal.go).
func (db *DB) LogReads(ctx context.Context, records []parley.AccessRecord) error {
	if noOne := func(r parley.AccessRecord) bool { return len(r.UserIDs) == 0 }; slices.ContainsFunc(records, noOne) {
		// Rare: the caller's slice is left as it is.
		records = slices.DeleteFunc(slices.Clone(records), noOne)
		if len(records) == 0 {
			return nil
		}
	}
	if db.pg != nil {
		return db.noteWrite(db.pg.logReads(ctx, records))
	}
	db.closeMu.RLock()
	defer db.closeMu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	schedule, err := db.journal.append(records)
	if schedule {
		time.AfterFunc(foldDelay, func() { db.foldJournal(context.Background()) })
	}
	return db.noteWrite(err)
}

// FoldJournal moves the reads journaled so far into the access log now, as
// a server does at its start with what a crash left. It does nothing on
// PostgreSQL, whose every write folds the rows it must come after, nor
// beside a server, whose journal it is (the database opened so holds no
// line of it).
func (db *DB) FoldJournal(ctx context.Context) error {
	if db.pg != nil {
		return nil
	}
	return db.foldJournal(ctx)
}

// foldJournal folds the reads journaled so far into the access log, unless
// a write has already, and reports a failure to.
func (db *DB) foldJournal(ctx context.Context) error {
	last := db.journal.lastPending()
	if last == 0 {
		return nil
	}
	// A batch folds first when a fold is due, so an empty write is enough.
	db.journal.markDue()
	err := db.queueWrite(ctx, noSyncWrite(ctx, func(parley.Tx) error { return nil }))
	if err != nil {
		return err
	}
	return db.journal.foldedThrough(last)
}

// foldWrite returns the write that folds the pending reads into the access
// log and the number of the last line it folds, or nil if none is pending
// or, unless force, no fold is due.
func (db *DB) foldWrite(force bool) (*writeReq, int64) {
	lines := db.journal.take(force)
	if len(lines) == 0 {
		return nil, 0
	}
	upTo := lines[len(lines)-1].n
	ctx := context.Background()
	fold := func(tx parley.Tx) error {
		t := tx.(*txn)
		rest, err := t.notFolded(ctx, lines)
		if err != nil || len(rest) == 0 {
			return err
		}
		return t.fold(ctx, rest)
	}
	return noSyncWrite(ctx, fold), upTo
}

// fold appends the records of journaled lines to the access log and
// records, in the same transaction, the last line folded.
func (t *txn) fold(ctx context.Context, lines []journalLine) error {
	var records []parley.AccessRecord
	for _, l := range lines {
		records = append(records, l.records...)
	}
	if err := t.appendAccess(ctx, records); err != nil {
		return err
	}
	_, err := t.exec(ctx, `UPDATE access_journal SET folded = $1`, lines[len(lines)-1].n)
	return mapError("record the journal folded", err)
}

// foldInside folds, in a write's transaction, the lines pending and not
// yet folded in it, so that what the write reads of the access log, or
// appends to it, comes after the reads journaled before it. The lines stay
// pending until the batch commits (foldedBy).
func (t *txn) foldInside(ctx context.Context) error {
	lines := t.journal.pendingLines()
	if len(lines) == 0 {
		return nil
	}
	rest, err := t.notFolded(ctx, lines)
	if err != nil || len(rest) == 0 {
		return err
	}
	t.journal.foldingInside()
	return t.fold(ctx, rest)
}

// notFolded returns those of lines that the database does not hold folded
// yet. The transaction knows what it folded already, even where a
// savepoint undid it, and what a batch folded whose end the journal did
// not learn of (foldedBy).
func (t *txn) notFolded(ctx context.Context, lines []journalLine) ([]journalLine, error) {
	folded, err := t.journalFolded(ctx)
	if err != nil {
		return nil, err
	}
	i, _ := slices.BinarySearchFunc(lines, folded+1, func(l journalLine, n int64) int { return cmp.Compare(l.n, n) })
	return lines[i:], nil
}

// journalFolded returns the number of the last journal line the database
// holds folded.
func (t *txn) journalFolded(ctx context.Context) (int64, error) {
	var folded int64
	err := t.queryRow(ctx, "journal folded", `SELECT folded FROM access_journal`, nil, &folded)
	return folded, mapError("find the journal folded", err)
}

// foldedBy ends a batch: it drops the lines the batch folded, by fold up
// to upTo, or inside its writes.
func (db *DB) foldedBy(fold *writeReq, upTo int64) {
	if db.journal.foldedInside() {
		t := &txn{stmts: &db.writeStmts, detached: true}
		if folded, err := t.journalFolded(context.Background()); err == nil {
			db.journal.folded(folded, nil)
		}
		// Otherwise the lines stay pending: the next fold, due or inside
		// a write, skips those the database holds already.
	}
	// Last, so that a failure of the batch's own fold is what the journal
	// reports.
	if fold != nil {
		db.journal.folded(upTo, fold.err)
	}
}

// segmentSize is the size at which a fold seals a segment.
const segmentSize = 4 << 20

// foldDelay is how long journaled reads may wait for a fold when no write
// comes first. Nothing waits on it: the log's readers fold what is pending.
const foldDelay = 10 * time.Millisecond

// journal holds the records of reads until the writer folds them into the
// access log.
type journal struct {
	prefix string // a segment's path is prefix followed by its first line's number
	// lock is held (flock) while the journal is open: it belongs to the
	// one server of the database. A parley command run beside it opens the
	// database without the journal (SQLiteOptions.Beside), and can neither log
	// reads nor fold the server's; lock is nil there.
	lock *os.File

	mu        sync.Mutex
	file      *os.File // the segment being appended to; nil until the next line
	size      int64    // bytes written to file
	sealAt    int64    // the size at which a fold seals file: segmentSize
	next      int64    // the number of the next line
	pending   []journalLine
	sealed    []segment // segments to remove once their lines are folded
	scheduled bool      // a fold is due within foldDelay
	due       bool      // a fold is due at the start of the next batch
	inside    bool      // a write of the batch being run folded lines
	failure   error     // why the last fold failed, if it did
}

// journalLine is one LogReads call's records, numbered.
type journalLine struct {
	n       int64
	records []parley.AccessRecord
}

// segment is a sealed segment file and the number of its last line.
type segment struct {
	path string
	last int64
}

// journalRecord is how a record is written in the journal: a format of its
// own, so that what is on disk does not change with the API's JSON of an
// entry. It has no grant terms (AccessEntry.Grant): only a change to a
// grant has them, and a change appends its entries in its own write.
type journalRecord struct {
	At           int64    `json:"at"` // microseconds since the Unix epoch
	ClientID     string   `json:"client_id"`
	AppName      string   `json:"app_name"`
	GrantID      string   `json:"grant_id"`
	Action       string   `json:"action"`
	ThreadID     string   `json:"thread_id,omitempty"`
	ByUserID     string   `json:"by_user_id,omitempty"`
	MessageIDs   []string `json:"message_ids,omitempty"`
	MessageCount int      `json:"message_count,omitempty"`
	FirstSeq     int64    `json:"first_seq,omitempty"`
	LastSeq      int64    `json:"last_seq,omitempty"`
	UserIDs      []string `json:"user_ids"`
	Key          []byte   `json:"key,omitempty"`
}

// openJournal locks the journal of the database at dbPath (lockJournal)
// and reads back its segments (load).
func openJournal(dbPath string, folded int64) (*journal, error) {
	j, err := lockJournal(dbPath)
	if err != nil {
		return nil, err
	}
	if err := j.load(folded); err != nil {
		return nil, err
	}
	return j, nil
}

// lockJournal takes the lock of the journal of the database at dbPath,
// which marks the database's one server: it fails with ErrInUse while
// another holds it. The journal is empty until load; close releases the
// lock.
func lockJournal(dbPath string) (*journal, error) {
	j := &journal{prefix: dbPath + "-access-journal.", sealAt: segmentSize}
	lockPath := j.prefix + "lock"
	lock, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: journal of reads: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("sqlstore: %s is %w", dbPath, ErrInUse)
		}
		return nil, fmt.Errorf("sqlstore: journal of reads: lock: %w", err)
	}
	j.lock = lock
	return j, nil
}

// load reads back the segments of a journal just locked and keeps the
// lines numbered above folded as pending. A line cut short at the end of a
// segment, by a crash or a failed write, was never acknowledged and is
// dropped; a damaged line anywhere else is an error. On an error the
// journal is closed, its lock released.
func (j *journal) load(folded int64) error {
	j.next = folded + 1
	lockPath := j.prefix + "lock"
	paths, err := filesNamed(j.prefix)
	if err != nil {
		j.close()
		return fmt.Errorf("sqlstore: journal of reads: %w", err)
	}
	paths = slices.DeleteFunc(paths, func(p string) bool { return p == lockPath })
	segments := make(map[string]int64, len(paths))
	for _, path := range paths {
		first, err := strconv.ParseInt(strings.TrimPrefix(path, j.prefix), 10, 64)
		if err != nil {
			j.close()
			return fmt.Errorf("sqlstore: journal of reads: %s is not a segment", path)
		}
		segments[path] = first
	}
	slices.SortFunc(paths, func(a, b string) int { return cmp.Compare(segments[a], segments[b]) })
	for _, path := range paths {
		last, err := j.readSegment(path, folded)
		if err != nil {
			j.close()
			return err
		}
		// A segment whose first write failed is empty, and its number
		// is no line's: the next segment must not take its name.
		j.next = max(j.next, segments[path]+1)
		j.sealed = append(j.sealed, segment{path, last})
	}
	return nil
}

// readSegment adds a segment's lines above folded to the pending ones and
// returns the number of its last line.
func (j *journal) readSegment(path string, folded int64) (last int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: journal of reads: %w", err)
	}
	r := bufio.NewReader(bytes.NewReader(data))
	for lineNo := 1; ; lineNo++ {
		raw, err := r.ReadBytes('\n')
		if err == io.EOF {
			return last, nil // nothing, or a line cut short
		}
		line, perr := parseJournalLine(raw)
		if perr != nil {
			if _, err := r.Peek(1); err == io.EOF {
				return last, nil // cut short by a failed write
			}
			return 0, fmt.Errorf("sqlstore: journal of reads: %s, line %d: %w", path, lineNo, perr)
		}
		last = line.n
		j.next = max(j.next, line.n+1)
		if line.n > folded {
			j.pending = append(j.pending, line)
		}
	}
}

func parseJournalLine(raw []byte) (journalLine, error) {
	num, body, ok := bytes.Cut(bytes.TrimSuffix(raw, []byte("\n")), []byte(" "))
	n, err := strconv.ParseInt(string(num), 10, 64)
	if !ok || err != nil {
		return journalLine{}, errors.New("no line number")
	}
	records, err := decodeRecords(body)
	return journalLine{n: n, records: records}, err
}

// encodeRecords encodes the records of one LogReads call as a line's body
// (journalRecord), on either engine.
func encodeRecords(records []parley.AccessRecord) ([]byte, error) {
	recs := make([]journalRecord, len(records))
	for i, r := range records {
		e := r.Entry
		recs[i] = journalRecord{
			At: micros(e.At), ClientID: e.ClientID, AppName: e.AppName, GrantID: e.GrantID, Action: e.Action,
			ThreadID: e.ThreadID, ByUserID: e.ByUserID, MessageIDs: e.MessageIDs, MessageCount: e.MessageCount,
			FirstSeq: e.FirstSeq, LastSeq: e.LastSeq, UserIDs: r.UserIDs, Key: r.Key,
		}
	}
	body, err := json.Marshal(recs)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: journal of reads: %w", err)
	}
	return body, nil
}

// decodeRecords decodes what encodeRecords encoded.
func decodeRecords(body []byte) ([]parley.AccessRecord, error) {
	var recs []journalRecord
	if err := json.Unmarshal(body, &recs); err != nil {
		return nil, err
	}
	records := make([]parley.AccessRecord, len(recs))
	for i, r := range recs {
		records[i] = parley.AccessRecord{UserIDs: r.UserIDs, Key: r.Key, Entry: parley.AccessEntry{
			At: fromMicros(r.At), ClientID: r.ClientID, AppName: r.AppName, GrantID: r.GrantID, Action: r.Action,
			ThreadID: r.ThreadID, ByUserID: r.ByUserID, MessageIDs: r.MessageIDs, MessageCount: r.MessageCount,
			FirstSeq: r.FirstSeq, LastSeq: r.LastSeq,
		}}
	}
	return records, nil
}

// append writes records to the journal as one line. It reports whether a
// fold should be scheduled: none was since the last one.
func (j *journal) append(records []parley.AccessRecord) (schedule bool, err error) {
	body, err := encodeRecords(records)
	if err != nil {
		return false, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.lock == nil {
		return false, errors.New("sqlstore: reads are logged only by the database's server, not beside it")
	}
	if j.file == nil {
		path := j.prefix + strconv.FormatInt(j.next, 10)
		if j.file, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600); err != nil {
			return false, fmt.Errorf("sqlstore: journal of reads: %w", err)
		}
		j.size = 0
	}
	line := make([]byte, 0, len(body)+24)
	line = strconv.AppendInt(line, j.next, 10)
	line = append(line, ' ')
	line = append(line, body...)
	line = append(line, '\n')
	if _, err := j.file.Write(line); err != nil {
		// Part of the line may be in the file: no line may follow it
		// there, and its number is spent.
		j.next++
		j.seal()
		return false, fmt.Errorf("sqlstore: journal of reads: %w", err)
	}
	j.size += int64(len(line))
	j.pending = append(j.pending, journalLine{j.next, records})
	j.next++
	schedule, j.scheduled = !j.scheduled, true
	return schedule, nil
}

// seal ends the segment being appended to; the next line starts another.
func (j *journal) seal() {
	if j.file == nil {
		return
	}
	j.file.Close()
	j.sealed = append(j.sealed, segment{j.file.Name(), j.next - 1})
	j.file = nil
}

// take returns the pending lines to fold, if a fold is due or force.
func (j *journal) take(force bool) []journalLine {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.due && !force {
		return nil
	}
	j.due, j.scheduled = false, false
	if len(j.pending) == 0 {
		return nil
	}
	return slices.Clip(j.pending)
}

// markDue makes a fold due at the start of the next batch.
func (j *journal) markDue() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.due = true
}

// pendingLines returns the lines not yet folded.
func (j *journal) pendingLines() []journalLine {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clip(j.pending)
}

// foldingInside notes that a write of the batch being run folds lines.
func (j *journal) foldingInside() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.inside = true
}

// foldedInside reports whether a write of the batch just run folded lines,
// and forgets it.
func (j *journal) foldedInside() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	inside := j.inside
	j.inside = false
	return inside
}

// folded ends a fold of the lines up to upTo, due or inside writes: it
// drops them, seals the current segment if it is full, and removes the
// sealed segments that held only folded lines; or, when the fold failed
// with err, keeps them for the next fold.
func (j *journal) folded(upTo int64, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failure = err; err != nil {
		return
	}
	i, _ := slices.BinarySearchFunc(j.pending, upTo+1, func(l journalLine, n int64) int { return cmp.Compare(l.n, n) })
	j.pending = slices.Clone(j.pending[i:])
	if len(j.pending) == 0 {
		// A fold scheduled may find nothing to fold, and not take:
		// the next line schedules one.
		j.scheduled = false
	}
	if j.size >= j.sealAt {
		j.seal()
	}
	j.sealed = slices.DeleteFunc(j.sealed, func(s segment) bool {
		return s.last <= upTo && os.Remove(s.path) == nil
	})
}

// lastPending returns the number of the last line not yet folded, 0 if none.
func (j *journal) lastPending() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.pending) == 0 {
		return 0
	}
	return j.pending[len(j.pending)-1].n
}

// foldedThrough reports whether the lines up to n are folded, and if not why.
func (j *journal) foldedThrough(n int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.pending) > 0 && j.pending[0].n <= n {
		if j.failure != nil {
			return fmt.Errorf("sqlstore: reads not yet in the access log: %w", j.failure)
		}
		return errors.New("sqlstore: reads not yet in the access log")
	}
	return nil
}

// close closes the segment being appended to and gives up the journal.
// When all its lines are folded, it removes every segment: the one being
// appended to and those sealed, among them one a crash cut short before
// its first line, which no fold would otherwise remove until a later
// line's.
func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var errs []error
	if j.file != nil {
		errs = append(errs, j.file.Close())
		if len(j.pending) == 0 {
			errs = append(errs, os.Remove(j.file.Name()))
		}
		j.file = nil
	}
	if len(j.pending) == 0 {
		for _, s := range j.sealed {
			errs = append(errs, os.Remove(s.path))
		}
		j.sealed = nil
	}
	if j.lock != nil {
		errs = append(errs, j.lock.Close())
		j.lock = nil
	}
	return errors.Join(errs...)
}
