package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/parleyhq/parley/bench/internal/benchkit"
	"github.com/parleyhq/parley/bench/internal/seed"
)

// Results are every figure of one W1 run; they are also printed as JSON.
type Results struct {
	Machine  Machine       `json:"machine"`
	Run      RunInfo       `json:"run"`
	Accounts benchkit.Dist `json:"accounts"`
	Setup    Setup         `json:"setup"`
	Send     benchkit.Dist `json:"send"`
	Verify   Verify        `json:"verify"`
	History  History       `json:"history"`
	Inbox    Inbox         `json:"inbox"`
	Delivery Delivery      `json:"delivery"`
	// AccessLog is the paging and verification of the seeded access
	// logs, longest first (--seed-messages with --seed-access).
	AccessLog []AccessLogRun `json:"access_log,omitempty"`
	// Resources are null where w1 could not measure them (--url without
	// --pid or --data).
	Resources Resources `json:"resources"`
	Targets   []Target  `json:"targets"`
}

type Machine struct {
	CPUs   int    `json:"cpus"`
	OSArch string `json:"os_arch"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	Date   string `json:"date"`
}

type RunInfo struct {
	URL           string `json:"url"`
	PID           int    `json:"pid,omitempty"`
	DataDir       string `json:"data_dir,omitempty"`
	ServerStarted bool   `json:"server_started"`
	KeptDataDir   string `json:"kept_data_dir,omitempty"`
	Sends         int    `json:"sends"`
	Workers       int    `json:"workers"`
	// Webhook is set when one webhook endpoint was subscribed to
	// message.created during the run; WebhookDeliveries is how many
	// deliveries its receiver got.
	Webhook           bool  `json:"webhook"`
	WebhookDeliveries int64 `json:"webhook_deliveries"`
	// Seed is the bulk data written into the store before the server
	// started (--seed-messages).
	Seed seed.Shape `json:"seed"`
}

type Setup struct {
	Seconds     float64 `json:"seconds"`
	Friendships int     `json:"friendships"`
	Threads     int     `json:"threads"`
}

// Verify is the check after the send phase: the threads' last_seq add up to
// the number of sends, and each thread has its share.
type Verify struct {
	LastSeqTotal int64 `json:"last_seq_total"`
	Expected     int64 `json:"expected"`
}

type History struct {
	Concurrent benchkit.Dist `json:"concurrent"`
	Serial     benchkit.Dist `json:"one_at_a_time"`
}

type Inbox struct {
	Ms       []float64 `json:"ms"`
	MedianMs float64   `json:"median_ms"`
	Threads  int       `json:"threads"`
}

type Delivery struct {
	// Latency is from send start to the message.created event's arrival;
	// Latency.Count is the events received.
	Latency benchkit.Dist `json:"latency"`
	Sent    int           `json:"sent"`
	Missing int           `json:"missing"`
	// Ack is the send requests' own latency, one at a time 50 ms apart.
	Ack benchkit.Dist `json:"ack"`
}

type Resources struct {
	PeakMemoryBytes        *int64           `json:"peak_memory_bytes"`
	PeakAfterAccountsBytes *int64           `json:"peak_memory_after_accounts_bytes,omitempty"`
	RSSBytes               *int64           `json:"rss_end_bytes,omitempty"`
	CPUSeconds             *float64         `json:"cpu_seconds"`
	SendCPUSeconds         *float64         `json:"send_phase_cpu_seconds"`
	HistoryCPUSeconds      *float64         `json:"history_phase_cpu_seconds"`
	DiskBytes              *int64           `json:"disk_bytes"`
	DiskFiles              map[string]int64 `json:"disk_files,omitempty"`
	MessagesStored         int64            `json:"messages_stored"`
	DiskBytesPerMessage    *float64         `json:"disk_bytes_per_message"`
	IdleSeconds            *float64         `json:"idle_seconds"`
	IdleReached            bool             `json:"idle_reached"`
	DiskAfterShutdownBytes *int64           `json:"disk_after_shutdown_bytes,omitempty"`
	DiskAfterShutdownFiles map[string]int64 `json:"disk_after_shutdown_files,omitempty"`
}

// Target is one of W1's targets and whether this run met it.
type Target struct {
	Name   string   `json:"name"`
	Target string   `json:"target"`
	Value  *float64 `json:"value"`
	Unit   string   `json:"unit"`
	Met    bool     `json:"met"`
}

func ptr[T any](v T) *T { return &v }

// evaluate fills in Targets.
func (r *Results) evaluate() {
	atLeast := func(name string, v *float64, want float64, unit string) Target {
		return Target{Name: name, Target: "≥ " + num(want, 0) + " " + unit, Value: v, Unit: unit, Met: v != nil && *v >= want}
	}
	atMost := func(name string, v *float64, want float64, unit string) Target {
		return Target{Name: name, Target: "≤ " + num(want, 0) + " " + unit, Value: v, Unit: unit, Met: v != nil && *v <= want}
	}
	var mem *float64
	if r.Resources.PeakMemoryBytes != nil {
		mem = ptr(float64(*r.Resources.PeakMemoryBytes) / (1 << 20))
	}
	delivery := atMost("delivery p99", ptr(r.Delivery.Latency.P99), 10, "ms")
	if r.Delivery.Missing > 0 || r.Delivery.Latency.Count == 0 {
		delivery.Met = false
	}
	r.Targets = []Target{
		atLeast("send throughput", ptr(r.Send.PerSec), 5000, "msg/s"),
		atMost("send p99", ptr(r.Send.P99), 10, "ms"),
		atLeast("history throughput, 8 workers", ptr(r.History.Concurrent.PerSec), 5000, "req/s"),
		atMost("inbox median", ptr(r.Inbox.MedianMs), 10, "ms"),
		delivery,
		atMost("peak memory", mem, 100, "MiB"),
	}
}

func (r *Results) target(name string) Target {
	for _, t := range r.Targets {
		if t.Name == name {
			return t
		}
	}
	return Target{}
}

// printTable writes the figures as a readable table.
func printTable(w io.Writer, r *Results) {
	m := r.Machine
	fmt.Fprintf(w, "\nW1 on Parley — %s\n", m.Date)
	fmt.Fprintf(w, "machine:  %d CPUs, %s, kernel %s, %s\n", m.CPUs, m.OSArch, orNA(m.Kernel), m.Go)
	who := "given by --url"
	if r.Run.ServerStarted {
		who = "started by w1"
	}
	pid := "pid unknown"
	if r.Run.PID != 0 {
		pid = "pid " + strconv.Itoa(r.Run.PID)
	}
	fmt.Fprintf(w, "server:   %s (%s, %s)\n", r.Run.URL, who, pid)
	fmt.Fprintf(w, "workload: %s sends, %d workers, %d threads, %d members\n", num(float64(r.Run.Sends), 0), r.Run.Workers, numThreads, numUsers)
	if r.Run.Webhook {
		fmt.Fprintf(w, "webhook:  one endpoint subscribed to message.created, %d deliveries received\n", r.Run.WebhookDeliveries)
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(phase, figure, value string, t ...Target) {
		target, met := "", ""
		if phase == "PHASE" {
			target, met = "W1 TARGET", "MET"
		} else if len(t) > 0 {
			target, met = t[0].Target, "no"
			if t[0].Met {
				met = "yes"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", phase, figure, value, target, met)
	}
	row("PHASE", "FIGURE", "VALUE")
	row("accounts", "100 accounts, 4 concurrent", fmt.Sprintf("%s s (create + sign-in p50 %s ms)", num(r.Accounts.Seconds, 2), num(r.Accounts.P50, 1)))
	row("setup", "friendships, threads", fmt.Sprintf("%d, %d in %s s", r.Setup.Friendships, r.Setup.Threads, num(r.Setup.Seconds, 2)))
	row("send", "throughput", fmt.Sprintf("%s msg/s (%s in %s s)", num(r.Send.PerSec, 0), num(float64(r.Send.Count), 0), num(r.Send.Seconds, 2)), r.target("send throughput"))
	row("send", "latency p50 / p95 / p99", trio(r.Send.P50, r.Send.P95, r.Send.P99)+fmt.Sprintf(" (max %s)", num(r.Send.Max, 1)), r.target("send p99"))
	row("send", "verified: sum of last_seq", fmt.Sprintf("%s = sends", num(float64(r.Verify.LastSeqTotal), 0)))
	hc, hs := r.History.Concurrent, r.History.Serial
	row("history", fmt.Sprintf("%d workers, %s reads", r.Run.Workers, num(float64(hc.Count), 0)), fmt.Sprintf("%s req/s", num(hc.PerSec, 0)), r.target("history throughput, 8 workers"))
	row("history", fmt.Sprintf("%d workers p50 / p99", r.Run.Workers), duo(hc.P50, hc.P99))
	row("history", fmt.Sprintf("one at a time p50 / p99 (%d)", hs.Count), duo(hs.P50, hs.P99)+fmt.Sprintf(" (%s req/s)", num(hs.PerSec, 0)))
	runs := make([]string, len(r.Inbox.Ms))
	for i, v := range r.Inbox.Ms {
		runs[i] = num(v, 2)
	}
	row("inbox", fmt.Sprintf("u000, %d threads, each run", r.Inbox.Threads), strings.Join(runs, ", ")+" ms")
	row("inbox", "median", num(r.Inbox.MedianMs, 2)+" ms", r.target("inbox median"))
	d := r.Delivery
	row("delivery", "p50 / p95 / p99", trio(d.Latency.P50, d.Latency.P95, d.Latency.P99)+fmt.Sprintf(" (max %s)", num(d.Latency.Max, 1)), r.target("delivery p99"))
	row("delivery", "events received", fmt.Sprintf("%d of %d", d.Latency.Count, d.Sent))
	row("delivery", "send ack p50 / p99, one at a time", duo(d.Ack.P50, d.Ack.P99))
	res := r.Resources
	var mem string
	if res.PeakMemoryBytes != nil {
		mem = num(float64(*res.PeakMemoryBytes)/(1<<20), 1) + " MiB"
	}
	row("resources", "peak memory (VmHWM)", orNA(mem), r.target("peak memory"))
	if res.PeakAfterAccountsBytes != nil {
		row("resources", "  VmHWM already after phase 1", num(float64(*res.PeakAfterAccountsBytes)/(1<<20), 1)+" MiB")
	}
	if res.RSSBytes != nil {
		row("resources", "  resident at the end (VmRSS)", num(float64(*res.RSSBytes)/(1<<20), 1)+" MiB")
	}
	var cpu string
	if res.CPUSeconds != nil {
		cpu = num(*res.CPUSeconds, 2) + " s"
		if res.SendCPUSeconds != nil {
			cpu += fmt.Sprintf(" (send phase %s s, %s µs a send", num(*res.SendCPUSeconds, 2),
				num(*res.SendCPUSeconds*1e6/float64(max(1, r.Run.Sends)), 0))
		}
		if res.HistoryCPUSeconds != nil {
			cpu += fmt.Sprintf("; history at %d workers %s s, %s µs a read", r.Run.Workers, num(*res.HistoryCPUSeconds, 2),
				num(*res.HistoryCPUSeconds*1e6/historyReads, 0))
		}
		if res.SendCPUSeconds != nil {
			cpu += ")"
		}
	}
	row("resources", "CPU seconds, whole run", orNA(cpu))
	var disk, perMsg string
	if res.DiskBytes != nil {
		disk = num(float64(*res.DiskBytes), 0) + " B"
		perMsg = fmt.Sprintf("%s B (%s messages)", num(*res.DiskBytesPerMessage, 0), num(float64(res.MessagesStored), 0))
	}
	row("resources", "disk after the run", orNA(disk))
	fileRows(row, res.DiskFiles)
	row("resources", "disk per message", orNA(perMsg))
	if res.DiskAfterShutdownBytes != nil {
		row("resources", "disk after SIGTERM shutdown", num(float64(*res.DiskAfterShutdownBytes), 0)+" B")
		fileRows(row, res.DiskAfterShutdownFiles)
	}
	var idle string
	if res.IdleSeconds != nil {
		idle = num(*res.IdleSeconds, 2) + " s (polled every 0.1 s)"
		if !res.IdleReached {
			idle = "> " + idle + " (still busy; gave up)"
		}
	}
	row("resources", "idle after the send phase", orNA(idle))
	tw.Flush()

	met := 0
	for _, t := range r.Targets {
		if t.Met {
			met++
		}
	}
	fmt.Fprintf(w, "\ntargets met: %d of %d", met, len(r.Targets))
	if r.Run.KeptDataDir != "" {
		fmt.Fprintf(w, "; data kept in %s", r.Run.KeptDataDir)
	}
	fmt.Fprintln(w, "\nnumbers from a shared 2-core machine are noisy: compare ratios within one run")
}

func trio(a, b, c float64) string {
	return fmt.Sprintf("%s / %s / %s ms", num(a, 2), num(b, 2), num(c, 2))
}

func duo(a, b float64) string { return fmt.Sprintf("%s / %s ms", num(a, 2), num(b, 2)) }

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

// fileRows adds a row per file of a data directory.
func fileRows(row func(phase, figure, value string, t ...Target), m map[string]int64) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		row("resources", "  "+k, num(float64(m[k]), 0)+" B")
	}
}

// num formats v with prec decimals and thousands separators.
func num(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if hasFrac {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}
