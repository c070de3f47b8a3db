package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/parleyhq/parley/bench/internal/benchkit"
)

// waitIdle polls the process's CPU time every idlePoll from start until it
// has not grown for idleQuiet polls, and returns the time from start to the
// last growth (0 when it never grew). It gives up after limit.
func waitIdle(pid int, start time.Time, limit time.Duration) (idle time.Duration, reached bool, err error) {
	prev, err := benchkit.CPUTicks(pid)
	if err != nil {
		return 0, false, err
	}
	quiet := 0
	for next := start.Add(idlePoll); ; next = next.Add(idlePoll) {
		time.Sleep(time.Until(next))
		cur, err := benchkit.CPUTicks(pid)
		if err != nil {
			return 0, false, err
		}
		now := time.Now()
		if cur != prev {
			prev, quiet, idle = cur, 0, now.Sub(start)
		} else if quiet++; quiet >= idleQuiet {
			return idle, true, nil
		}
		if now.Sub(start) > limit {
			return now.Sub(start), false, nil
		}
	}
}

// dirSize returns the total size of the regular files under dir, and each
// file's size by its path relative to dir.
func dirSize(dir string) (int64, map[string]int64, error) {
	var total int64
	files := map[string]int64{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[rel] = info.Size()
		total += info.Size()
		return nil
	})
	return total, files, err
}

// machineInfo describes where w1 runs.
func machineInfo() Machine {
	m := Machine{
		CPUs:   runtime.NumCPU(),
		OSArch: runtime.GOOS + "/" + runtime.GOARCH,
		Go:     runtime.Version(),
		Date:   time.Now().Format(time.RFC3339),
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
