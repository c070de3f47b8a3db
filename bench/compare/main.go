// Command compare runs workload W1 against Parley and the floor — a minimal
// durable Go server on the same database drivers — alternating, several
// rounds each, in one session, and prints Parley's figures as ratios to
// the floor's. Machines shared with others are noisy: only figures taken
// side by side, in the same minutes, compare fairly.
//
//	go run ./bench/compare --floor DIR                  # SQLite: floor variant sqlite-group
//	go run ./bench/compare --floor DIR --engine postgres  # PostgreSQL: pg-group
//
// DIR is the floor's source (a Go module with its own README). Each timed
// run holds /tmp/cpu.lock, as the floor's own script does, so that two
// benchmarks never share the machine.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// floorFigures are the floor's JSON line's figures compare reads.
type floorFigures struct {
	Send          floorStats `json:"send"`
	HistoryConc   floorStats `json:"history_conc"`
	HistorySerial floorStats `json:"history_serial"`
	PeakRSSKiB    int64      `json:"peak_rss_kib"`
}

type floorStats struct {
	Rate  float64 `json:"rate"`
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
}

// w1Figures are bench/w1's JSON object's figures compare reads.
type w1Figures struct {
	Send    w1Dist `json:"send"`
	History struct {
		Concurrent w1Dist `json:"concurrent"`
		Serial     w1Dist `json:"one_at_a_time"`
	} `json:"history"`
	Inbox struct {
		MedianMs float64 `json:"median_ms"`
	} `json:"inbox"`
	Delivery struct {
		Latency w1Dist `json:"latency"`
	} `json:"delivery"`
	Resources struct {
		PeakMemoryBytes     *int64   `json:"peak_memory_bytes"`
		DiskBytesPerMessage *float64 `json:"disk_bytes_per_message"`
		IdleSeconds         *float64 `json:"idle_seconds"`
	} `json:"resources"`
}

type w1Dist struct {
	PerSec float64 `json:"per_sec"`
	P50    float64 `json:"p50_ms"`
	P99    float64 `json:"p99_ms"`
}

// round is one run of each.
type round struct {
	floor floorFigures
	w1    w1Figures
}

func main() {
	floorDir := flag.String("floor", os.Getenv("FLOOR"), "directory of the floor's source (FLOOR)")
	engine := flag.String("engine", "sqlite", "sqlite or postgres")
	rounds := flag.Int("rounds", 3, "runs of each, alternating")
	sends := flag.Int("sends", 20000, "messages in each send phase")
	pg := flag.String("pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "a PostgreSQL database compare may create and drop databases from (--engine postgres)")
	flag.Parse()
	if err := run(*floorDir, *engine, *rounds, *sends, *pg); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(floorDir, engine string, rounds, sends int, pg string) error {
	if floorDir == "" {
		return errors.New("give the floor's source directory with --floor or FLOOR")
	}
	variant := map[string]string{"sqlite": "sqlite-group", "postgres": "pg-group"}[engine]
	if variant == "" {
		return fmt.Errorf("--engine must be sqlite or postgres, not %q", engine)
	}
	tmp, err := os.MkdirTemp("", "parley-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	floorBin, w1Bin := filepath.Join(tmp, "floor"), filepath.Join(tmp, "w1")
	build := exec.Command("go", "build", "-o", floorBin, ".")
	build.Dir, build.Env, build.Stderr = floorDir, append(os.Environ(), "CGO_ENABLED=0"), os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build the floor: %w", err)
	}
	if err := command("go", "build", "-o", w1Bin, "./bench/w1").Run(); err != nil {
		return fmt.Errorf("build w1: %w", err)
	}
	// The databases are this run's own, named by its process: two runs at
	// once, one waiting for the lock, must not drop each other's.
	floorDB, w1DB := fmt.Sprintf("compare_floor_%d", os.Getpid()), fmt.Sprintf("compare_w1_%d", os.Getpid())
	if engine == "postgres" {
		defer dropDatabases(pg, floorDB, w1DB)
	}
	var results []round
	for i := range rounds {
		var r round
		fmt.Fprintf(os.Stderr, "round %d of %d: the floor (%s)\n", i+1, rounds, variant)
		floorArgs := []string{floorBin, "bench", "-variant", variant, "-n", fmt.Sprint(sends), "-history"}
		w1Args := []string{w1Bin, "--json", "--sends", fmt.Sprint(sends)}
		if engine == "postgres" {
			floorURL, err := freshDatabase(pg, floorDB)
			if err != nil {
				return err
			}
			w1URL, err := freshDatabase(pg, w1DB)
			if err != nil {
				return err
			}
			floorArgs = append(floorArgs, "-pg", floorURL)
			w1Args = append(w1Args, "--database", w1URL)
		}
		if err := locked(floorArgs, &r.floor); err != nil {
			return fmt.Errorf("the floor: %w", err)
		}
		fmt.Fprintf(os.Stderr, "round %d of %d: parley (bench/w1)\n", i+1, rounds)
		if err := locked(w1Args, &r.w1); err != nil {
			return fmt.Errorf("w1: %w", err)
		}
		results = append(results, r)
	}
	report(os.Stdout, engine, variant, results)
	return nil
}

// command runs name with args in the current directory, its progress on
// standard error.
func command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	return cmd
}

// locked runs args under /tmp/cpu.lock and decodes the last JSON value
// they print on standard output into v.
func locked(args []string, v any) error {
	var out bytes.Buffer
	cmd := command("flock", append([]string{"/tmp/cpu.lock"}, args...)...)
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return err
	}
	text := strings.TrimSpace(out.String())
	start := strings.LastIndex(text, "\n{")
	if start < 0 {
		start = strings.Index(text, "{")
	}
	if start < 0 {
		return fmt.Errorf("no JSON in its output:\n%s", text)
	}
	return json.Unmarshal([]byte(text[start:]), v)
}

// freshDatabase drops and creates the database name on the server admin
// names, and returns its URL.
func freshDatabase(admin, name string) (string, error) {
	cfg, err := onServer(admin, dropDatabase(name), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name), nil
}

// dropDatabases drops the databases names on the server admin names, as
// far as it can (a run killed before it leaves its two behind).
func dropDatabases(admin string, names ...string) {
	for _, name := range names {
		onServer(admin, dropDatabase(name))
	}
}

// dropDatabase is the statement that drops the database name, ending the
// connections to it.
func dropDatabase(name string) string {
	return "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)"
}

// onServer runs statements, in order, on the server admin names, and
// returns the configuration it connected with.
func onServer(admin string, statements ...string) (*pgx.ConnConfig, error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	for _, stmt := range statements {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return conn.Config(), nil
}

// report prints each round's figures and the medians of the ratios, beside
// issue 18's targets.
func report(w io.Writer, engine, variant string, results []round) {
	type figure struct {
		name, target string
		value        func(round) float64
		unit         string
	}
	figures := []figure{
		{"send rate, parley / floor", "≥ 0.8", func(r round) float64 { return r.w1.Send.PerSec / r.floor.Send.Rate }, "×"},
		{"send p99, parley", "≤ 5 ms", func(r round) float64 { return r.w1.Send.P99 }, "ms"},
		{"history rate at 8 workers, parley / floor", "≥ 0.8", func(r round) float64 {
			return r.w1.History.Concurrent.PerSec / r.floor.HistoryConc.Rate
		}, "×"},
		{"history p50 one at a time, parley / floor", "≤ 1.3", func(r round) float64 {
			return r.w1.History.Serial.P50 / r.floor.HistorySerial.P50Ms
		}, "×"},
		{"inbox p50, parley", "≤ 5 ms", func(r round) float64 { return r.w1.Inbox.MedianMs }, "ms"},
		{"delivery p99, parley", "≤ 5 ms", func(r round) float64 { return r.w1.Delivery.Latency.P99 }, "ms"},
		{"peak memory, parley", "≤ 48 MiB", func(r round) float64 { return mib(r.w1.Resources.PeakMemoryBytes) }, "MiB"},
		{"disk per message, parley", "≤ 300 B", func(r round) float64 { return deref(r.w1.Resources.DiskBytesPerMessage) }, "B"},
		{"idle after the sends, parley", "≤ 1 s", func(r round) float64 { return deref(r.w1.Resources.IdleSeconds) }, "s"},
	}
	fmt.Fprintf(w, "W1 side by side with the floor's %s, %s, %d rounds (median of the rounds; each round's in brackets)\n\n", variant, engine, len(results))
	fmt.Fprintf(w, "| figure | target | median | rounds |\n|---|---|---|---|\n")
	for _, f := range figures {
		var values []float64
		shown := make([]string, len(results))
		for i, r := range results {
			v := f.value(r)
			if math.IsNaN(v) {
				shown[i] = "n/a"
				continue
			}
			values = append(values, v)
			shown[i] = fmt.Sprintf("%.2f", v)
		}
		m := "n/a"
		if len(values) > 0 {
			m = fmt.Sprintf("%.2f %s", median(values), f.unit)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", f.name, f.target, m, strings.Join(shown, ", "))
	}
	fmt.Fprintf(w, "\n| raw | floor median | parley median |\n|---|---|---|\n")
	raw := func(name string, floor, parley func(round) float64) {
		fv, pv := make([]float64, len(results)), make([]float64, len(results))
		for i, r := range results {
			fv[i], pv[i] = floor(r), parley(r)
		}
		fmt.Fprintf(w, "| %s | %.1f | %.1f |\n", name, median(fv), median(pv))
	}
	raw("send msg/s", func(r round) float64 { return r.floor.Send.Rate }, func(r round) float64 { return r.w1.Send.PerSec })
	raw("send p99 ms", func(r round) float64 { return r.floor.Send.P99Ms }, func(r round) float64 { return r.w1.Send.P99 })
	raw("history reads/s at 8 workers", func(r round) float64 { return r.floor.HistoryConc.Rate }, func(r round) float64 { return r.w1.History.Concurrent.PerSec })
	raw("history p50 ms one at a time", func(r round) float64 { return r.floor.HistorySerial.P50Ms }, func(r round) float64 { return r.w1.History.Serial.P50 })
	raw("peak memory MiB", func(r round) float64 { return float64(r.floor.PeakRSSKiB) / 1024 }, func(r round) float64 { return mib(r.w1.Resources.PeakMemoryBytes) })
}

// median is the median of v, which holds at least one value.
func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// mib is b in MiB; NaN when w1 could not measure it.
func mib(b *int64) float64 {
	if b == nil {
		return math.NaN()
	}
	return float64(*b) / (1 << 20)
}

// deref is *f; NaN when w1 could not measure it (disk figures on
// PostgreSQL).
func deref(f *float64) float64 {
	if f == nil {
		return math.NaN()
	}
	return *f
}
