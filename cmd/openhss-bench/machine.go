package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// machine is what the figures were measured on.
type machine struct {
	Date     string `json:"date"` // UTC, RFC 3339
	Cores    int    `json:"cores"`
	CPU      string `json:"cpu,omitempty"`
	RAMBytes int64  `json:"ram_bytes,omitempty"`
	Go       string `json:"go"`
	OS       string `json:"os"` // GOOS/GOARCH and the distribution
	// Other work on the machine skews every figure: the 1-minute load
	// average at the start and at the end of the run says how busy it was.
	LoadStart float64 `json:"load1_start"`
	LoadEnd   float64 `json:"load1_end"`
}

// print writes m as the first lines of every report docs/benchmarks.md
// copies.
func (m machine) print(w io.Writer) {
	fmt.Fprintf(w, "date      %s\n", m.Date)
	fmt.Fprintf(w, "machine   %d cores (%s), %.1f GiB RAM, %s, %s\n", m.Cores, m.CPU, float64(m.RAMBytes)/(1<<30), m.OS, m.Go)
	fmt.Fprintf(w, "load avg  %.2f at start, %.2f at end (1 min)\n", m.LoadStart, m.LoadEnd)
}

func describeMachine(now time.Time) machine {
	m := machine{
		Date:  now.UTC().Format(time.RFC3339),
		Cores: runtime.NumCPU(),
		Go:    runtime.Version(),
		OS:    runtime.GOOS + "/" + runtime.GOARCH,
	}
	if kb, err := strconv.ParseInt(procField("/proc/meminfo", "MemTotal", ":"), 10, 64); err == nil {
		m.RAMBytes = kb * 1024
	}
	m.CPU = procField("/proc/cpuinfo", "model name", ":")
	if name := strings.Trim(procField("/etc/os-release", "PRETTY_NAME", "="), `"`); name != "" {
		m.OS += ", " + name
	}
	m.LoadStart = loadAverage()
	return m
}

// loadAverage is the 1-minute load average, 0 where /proc has none.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// procField returns the first word-trimmed value of key in a "key<sep>value"
// file, with a trailing " kB" removed; "" when absent.
func procField(path, key, sep string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSuffix(strings.TrimSpace(v), " kB")
		}
	}
	return ""
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// workDir is the directory a benchmark keeps its data in: dir, created if
// missing and kept, or, when dir is "", a new temporary directory that
// cleanup removes.
func workDir(dir, prefix string) (_ string, cleanup func(), _ error) {
	if dir == "" {
		tmp, err := os.MkdirTemp("", prefix)
		if err != nil {
			return "", nil, err
		}
		return tmp, func() { os.RemoveAll(tmp) }, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	return dir, func() {}, nil
}
