package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"sync"
	"text/tabwriter"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for ANALYZE
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/bench/internal/benchkit"
	"github.com/parleyhq/parley/bench/internal/seed"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sqlstore"
)

// accessPage is how many entries each access log request asks for: the
// largest page the API gives.
const accessPage = parley.MaxMessageLimit

// seedStore, with --seed-messages, writes o.seed straight through the
// store, before the server starts: into the PostgreSQL database of
// --database, or into the SQLite database of a new data directory, which
// it returns for the server to start on.
func seedStore(ctx context.Context, o options) (dataDir string, err error) {
	if o.seed.Messages == 0 {
		return "", nil
	}
	start := time.Now()
	var db *sqlstore.DB
	if o.database != "" {
		db, err = sqlstore.OpenPostgres(ctx, o.database)
	} else {
		if dataDir, err = os.MkdirTemp("", "parley-w1-data-"); err != nil {
			return "", err
		}
		db, err = sqlstore.OpenSQLite(ctx, config.Config{DataDir: dataDir}.DatabasePath())
	}
	if err == nil {
		err = seed.Fill(ctx, db, o.seed)
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil && o.database != "" {
		err = analyze(ctx, o.database)
	}
	if err != nil {
		if dataDir != "" {
			os.RemoveAll(dataDir)
		}
		return "", fmt.Errorf("seed the store: %w", err)
	}
	benchkit.Logf("seeded %d messages in %d threads of %d members in %.1f s", o.seed.Messages, o.seed.Threads, o.seed.Members, time.Since(start).Seconds())
	return dataDir, nil
}

// analyze has PostgreSQL gather the statistics of the seeded tables, as
// autovacuum would some time after a load like this: without them the
// planner takes a table that grew from nothing to a million rows within
// minutes for a small one, and reads the whole of a member's access log
// below the cursor for each page of it.
func analyze(ctx context.Context, database string) error {
	db, err := sql.Open("pgx", database)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "ANALYZE")
	return err
}

// AccessLogRun is one seeded member's access log read whole through the
// API, a page of accessPage at a time, and verified by the server.
type AccessLogRun struct {
	Entries int `json:"entries"`
	// PageSeconds is the time to read every page, w1's check of them
	// left out; PagedPerSec entries a second.
	PageSeconds float64 `json:"page_seconds"`
	PagedPerSec float64 `json:"paged_per_sec"`
	// CheckSeconds is the time w1 took to check the paged entries' chain
	// itself, page by page as they came (parley.ChainCheck, newest first);
	// CheckedPerSec entries a second.
	CheckSeconds  float64 `json:"check_seconds"`
	CheckedPerSec float64 `json:"checked_per_sec"`
	// VerifySeconds is the time of the verification request;
	// VerifiedPerSec entries a second.
	VerifySeconds  float64 `json:"verify_seconds"`
	VerifiedPerSec float64 `json:"verified_per_sec"`
	// VerifyRSSBytes is the server's resident memory (VmRSS) just before
	// the verification request, and VerifyPeakRSSBytes the most it read
	// while the request ran, sampled every few milliseconds; absent
	// without --pid.
	VerifyRSSBytes     *int64 `json:"verify_rss_bytes,omitempty"`
	VerifyPeakRSSBytes *int64 `json:"verify_peak_rss_bytes,omitempty"`
}

// accessLog signs in as each seeded member with an access log, reads the
// log whole, a page at a time, checking its chain as each page comes, then
// has the server verify the chain (GET /api/v1/me/access-log/verify),
// watching the server's memory meanwhile.
func (b *bench) accessLog(ctx context.Context) error {
	for i, n := range b.o.seed.AccessLogs() {
		if b.o.seed.Messages == 0 {
			break
		}
		name := seed.Username(i)
		s, err := b.base.SignIn(ctx, name, seed.Password)
		if err != nil {
			return fmt.Errorf("sign in %s: %w", name, err)
		}
		c := b.base.WithToken(s.Token)
		run := AccessLogRun{Entries: n}

		// The pages come newest first: the newest entry, which must be
		// the n-th, is the head the rest are checked down from.
		bar := benchkit.NewBar(n, "access log of "+name, "entries")
		var check *parley.ChainCheck
		var checking time.Duration
		read := 0
		start := time.Now()
		for cursor := ""; ; {
			var page struct {
				Entries    []*parley.AccessEntry `json:"entries"`
				NextCursor string                `json:"next_cursor"`
			}
			q := url.Values{"limit": {fmt.Sprint(accessPage)}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			if _, err := c.Do(ctx, "GET", "/api/v1/me/access-log?"+q.Encode(), nil, &page); err != nil {
				return fmt.Errorf("%s's access log after %d entries: %w", name, read, err)
			}
			t := time.Now()
			for _, e := range page.Entries {
				e.UserID = s.User.ID // the API leaves out whose log it is
				if check == nil {
					check = parley.NewChainCheckNewestFirst(parley.AccessHead{Seq: int64(n), Hash: e.Hash})
				}
				check.Add(e)
			}
			checking += time.Since(t)
			read += len(page.Entries)
			bar.Add(len(page.Entries))
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		run.PageSeconds = time.Since(start).Seconds() - checking.Seconds()
		run.CheckSeconds = checking.Seconds()
		bar.Finish()
		if read != n || check == nil {
			return fmt.Errorf("%s's access log: %d entries, want %d", name, read, n)
		}
		if br := check.End(); br != nil {
			return fmt.Errorf("%s's access log as paged breaks at %d: %s", name, br.Seq, br.Reason)
		}

		var v struct {
			Entries int  `json:"entries"`
			Intact  bool `json:"intact"`
		}
		var stop func() (before, peak int64)
		if b.pid != 0 {
			stop = watchRSS(b.pid)
		}
		start = time.Now()
		_, err = c.Do(ctx, "GET", "/api/v1/me/access-log/verify", nil, &v)
		run.VerifySeconds = time.Since(start).Seconds()
		if stop != nil {
			before, peak := stop()
			run.VerifyRSSBytes, run.VerifyPeakRSSBytes = &before, &peak
		}
		if err != nil {
			return fmt.Errorf("verify %s's access log: %w", name, err)
		}
		if v.Entries != n || !v.Intact {
			return fmt.Errorf("verify %s's access log: %d entries, intact %v; want %d intact", name, v.Entries, v.Intact, n)
		}
		run.PagedPerSec, run.CheckedPerSec = float64(n)/run.PageSeconds, float64(n)/run.CheckSeconds
		run.VerifiedPerSec = float64(n) / run.VerifySeconds
		b.res.AccessLog = append(b.res.AccessLog, run)
	}
	return nil
}

// watchRSS reads the resident memory of process pid now and then every
// 2 ms until stop is called, which returns the first reading and the
// largest. A reading that fails counts as none.
func watchRSS(pid int) (stop func() (before, peak int64)) {
	before, _ := benchkit.RSS(pid)
	peak := before
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if rss, err := benchkit.RSS(pid); err == nil {
				peak = max(peak, rss)
			}
		}
	})
	return func() (int64, int64) {
		close(done)
		wg.Wait()
		if rss, err := benchkit.RSS(pid); err == nil {
			peak = max(peak, rss)
		}
		return before, peak
	}
}

// saveResults writes r to path as JSON.
func saveResults(path string, r *Results) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// readResults reads a file saveResults wrote.
func readResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--baseline: %w", err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("--baseline %s: %w", path, err)
	}
	return &r, nil
}

// printBeside prints r's send and history figures beside base's, with
// their ratios (r / base).
func printBeside(w io.Writer, base, r *Results) {
	fmt.Fprintf(w, "\nbeside the baseline (%s messages seeded there, %s here)\n\n", num(float64(base.Run.Seed.Messages), 0), num(float64(r.Run.Seed.Messages), 0))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tBASELINE\tTHIS RUN\tRATIO")
	row := func(figure string, a, b float64, digits int) {
		ratio := "n/a"
		if a != 0 {
			ratio = num(b/a, 2)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", figure, num(a, digits), num(b, digits), ratio)
	}
	row("send msg/s", base.Send.PerSec, r.Send.PerSec, 0)
	row("send p50 ms", base.Send.P50, r.Send.P50, 2)
	row("send p99 ms", base.Send.P99, r.Send.P99, 2)
	row("history req/s, workers", base.History.Concurrent.PerSec, r.History.Concurrent.PerSec, 0)
	row("history p50 ms, workers", base.History.Concurrent.P50, r.History.Concurrent.P50, 2)
	row("history p99 ms, workers", base.History.Concurrent.P99, r.History.Concurrent.P99, 2)
	row("history p50 ms, one at a time", base.History.Serial.P50, r.History.Serial.P50, 2)
	row("history p99 ms, one at a time", base.History.Serial.P99, r.History.Serial.P99, 2)
	tw.Flush()
}

// printAccessLog prints the figures of the access log phase, if it ran.
func printAccessLog(w io.Writer, r *Results) {
	if len(r.AccessLog) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ACCESS LOG ENTRIES\tPAGED (%d a page)\tPAGED /s\tCHECKED BY W1 /s\tVERIFIED BY THE SERVER\tVERIFIED /s\tSERVER RSS BEFORE / PEAK\n", accessPage)
	for _, a := range r.AccessLog {
		rss := "n/a"
		if a.VerifyRSSBytes != nil && a.VerifyPeakRSSBytes != nil {
			rss = num(float64(*a.VerifyRSSBytes)/(1<<20), 1) + " / " + num(float64(*a.VerifyPeakRSSBytes)/(1<<20), 1) + " MiB"
		}
		fmt.Fprintf(tw, "%s\t%s s\t%s\t%s\t%s s\t%s\t%s\n", num(float64(a.Entries), 0), num(a.PageSeconds, 2), num(a.PagedPerSec, 0), num(a.CheckedPerSec, 0), num(a.VerifySeconds, 2), num(a.VerifiedPerSec, 0), rss)
	}
	tw.Flush()
}
