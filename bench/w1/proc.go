package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat.
const clockTicks = 100

// cpuTicks returns utime+stime of a process in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime %q %q", pid, f[11], f[12])
	}
	return ut + st, nil
}

// cpuSeconds returns utime+stime of a process in seconds.
func cpuSeconds(pid int) (float64, error) {
	t, err := cpuTicks(pid)
	return float64(t) / clockTicks, err
}

// peakRSS returns VmHWM of a process in bytes.
func peakRSS(pid int) (int64, error) { return statusKB(pid, "VmHWM") }

// rss returns VmRSS of a process in bytes.
func rss(pid int) (int64, error) { return statusKB(pid, "VmRSS") }

// statusKB returns a field of /proc/PID/status given in kB, in bytes.
func statusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("/proc/%d/status: odd %s line %q", pid, field, line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

// waitIdle polls the process's CPU time every idlePoll from start until it
// has not grown for idleQuiet polls, and returns the time from start to the
// last growth (0 when it never grew). It gives up after limit.
func waitIdle(pid int, start time.Time, limit time.Duration) (idle time.Duration, reached bool, err error) {
	prev, err := cpuTicks(pid)
	if err != nil {
		return 0, false, err
	}
	quiet := 0
	for next := start.Add(idlePoll); ; next = next.Add(idlePoll) {
		time.Sleep(time.Until(next))
		cur, err := cpuTicks(pid)
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
