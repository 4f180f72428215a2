package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// openhssBinary returns path when set, else builds cmd/openhss into dir.
// The package is named by import path so that the build works from any
// directory of the module (the smoke test runs in cmd/openhss-bench).
func openhssBinary(ctx context.Context, path, dir string) (string, error) {
	if path != "" {
		return filepath.Abs(path)
	}
	out := filepath.Join(dir, "openhss")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/openhss/openhss/cmd/openhss")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build cmd/openhss (or give --openhss): %w: %s", err, lastLines(string(msg), 10))
	}
	return out, nil
}

// cli runs openhss commands against one data directory and database.
type cli struct {
	bin, data, db string
	// allow is passed as --registry-allow to the commands whose --help
	// offers the flag (the registry network policy, docs/api.md, may or
	// may not be in the binary under test).
	allow string
}

func (c cli) args(args ...string) []string {
	return append([]string{"--data", c.data, "--db", c.db}, args...)
}

// run runs one command with stdin and returns its standard output.
func (c cli) run(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.bin, c.args(args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("openhss %s: %w: %s", strings.Join(args, " "), err, lastLines(errb.String(), 5))
	}
	return out.String(), nil
}

// withAllow appends --registry-allow when the subcommand (the words of
// args before the first flag) takes it.
func (c cli) withAllow(ctx context.Context, args ...string) []string {
	if c.allow == "" {
		return args
	}
	var words []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		words = append(words, a)
	}
	help, _ := exec.CommandContext(ctx, c.bin, append(words, "--help")...).CombinedOutput()
	if !bytes.Contains(help, []byte("--registry-allow")) {
		return args
	}
	return append(args, "--registry-allow", c.allow)
}

// child is a running `openhss serve`.
type child struct {
	cmd     *exec.Cmd
	addr    string
	logPath string
	done    chan error

	mu          sync.Mutex
	errorLines  int
	firstErrors []string
}

// startServe starts `openhss serve` on a free loopback port, logging to
// logPath, and waits until it says it is ready.
func startServe(ctx context.Context, c cli, logPath string, extra ...string) (*child, error) {
	args := c.args(c.withAllow(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--log-level", "info"}, extra...)...)...)
	cmd := exec.Command(c.bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	ch := &child{cmd: cmd, logPath: logPath, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		defer logFile.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if strings.Contains(line, `msg="openhss ready"`) {
				if a := logValue(line, "addr"); a != "" {
					select {
					case ready <- a:
					default:
					}
				}
			}
			if strings.Contains(line, "level=ERROR") {
				ch.mu.Lock()
				ch.errorLines++
				if len(ch.firstErrors) < 5 {
					ch.firstErrors = append(ch.firstErrors, line)
				}
				ch.mu.Unlock()
			}
		}
		_, _ = io.Copy(logFile, stderr)
		ch.done <- cmd.Wait()
	}()
	select {
	case ch.addr = <-ready:
		return ch, nil
	case err := <-ch.done:
		return nil, fmt.Errorf("openhss serve exited before it was ready (%v); its log: %s", err, logPath)
	case <-time.After(60 * time.Second):
		ch.stop()
		return nil, fmt.Errorf("openhss serve not ready after 60 s; its log: %s", logPath)
	case <-ctx.Done():
		ch.stop()
		return nil, ctx.Err()
	}
}

// logValue is the value of key in a log/slog text line ("" when absent).
func logValue(line, key string) string {
	_, v, ok := strings.Cut(line, " "+key+"=")
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, " ")
	return strings.Trim(v, `"`)
}

// stop sends SIGTERM and waits for a graceful exit, killing the server
// after 30 s. It returns how the process ended.
func (c *child) stop() error {
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-c.done:
		return err
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		return errors.New("openhss serve did not stop within 30 s of SIGINT; killed")
	}
}

func (c *child) errorsLogged() (int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.errorLines, append([]string(nil), c.firstErrors...)
}

// memory is a process's resident set now and its peak (high-water mark).
type memory struct {
	RSS, HWM int64 // bytes
}

func procMemory(pid int) memory {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	kb := func(key string) int64 {
		v, _ := strconv.ParseInt(procField(path, key, ":"), 10, 64)
		return v * 1024
	}
	return memory{RSS: kb("VmRSS"), HWM: kb("VmHWM")}
}

// procCPU is the user and system CPU time a process has used (utime and
// stime of /proc/<pid>/stat, at the kernel's USER_HZ of 100).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100)
}
