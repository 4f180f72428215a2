package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// VulnerableDeps are the deliberately old modules the demo Go program is
// built with; each has published advisories in the Go vulnerability
// database (golang.org/x/text v0.3.7: GO-2022-1059, among others).
var VulnerableDeps = []string{"golang.org/x/text@v0.3.7"}

const goAppMain = `package main

import (
	"fmt"

	"golang.org/x/text/language"
)

// A demo program for openhss's quickstart: it links an old golang.org/x/text
// on purpose, so that scanning its image finds real vulnerabilities.
func main() {
	tag, err := language.Parse("en-US")
	fmt.Println(tag, err)
}
`

// ErrNoGo is returned by BuildVulnerableGoApp when the go command is not on
// PATH (and no built binary is cached).
var ErrNoGo = errors.New("the go command is not on PATH")

// BuildVulnerableGoApp builds (once; the binary is cached in cacheDir) a small
// Go program that links VulnerableDeps, with the go command of the machine.
// A failure is one line: the go command's last line of output says why.
func BuildVulnerableGoApp(ctx context.Context, cacheDir string) ([]byte, error) {
	return BuildGoProgram(ctx, cacheDir, "vulnerable-go-app", goAppMain, VulnerableDeps...)
}

// BuildGoProgram builds (once; the binary is cached in cacheDir under name)
// the main package mainSrc, getting deps ("module@version") first, with the
// go command of the machine.
func BuildGoProgram(ctx context.Context, cacheDir, name, mainSrc string, deps ...string) ([]byte, error) {
	// The go command runs in a temporary source directory: a relative
	// cacheDir would name a path under it, not under ours.
	cacheDir, err := filepath.Abs(cacheDir)
	if err != nil {
		return nil, fmt.Errorf("demo program cache: %w", err)
	}
	bin := filepath.Join(cacheDir, name)
	if b, err := os.ReadFile(bin); err == nil && len(b) > 0 {
		return b, nil
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return nil, ErrNoGo
	}
	src, err := os.MkdirTemp("", "openhss-demo-app")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(src)
	gomod := "module example.com/openhss-demo-app\n\ngo 1.21\n"
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(gomod), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(mainSrc), 0o644); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, goCmd, args...)
		cmd.Dir = src
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %w: %s", args[0], err, lastLine(out))
		}
		return nil
	}
	if err := run(append([]string{"get"}, deps...)...); err != nil {
		return nil, err
	}
	// Build next to the cache in a directory of its own, so that two runs
	// on one data directory never rename each other's half-written file.
	tmp, err := os.MkdirTemp(cacheDir, "build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	built := filepath.Join(tmp, name)
	if err := run("build", "-trimpath", "-o", built, "."); err != nil {
		return nil, err
	}
	if err := os.Rename(built, bin); err != nil {
		return nil, err
	}
	return os.ReadFile(bin)
}

// lastLine is the last non-empty line of a command's output: the go
// command's reason for failing, without the lines leading to it.
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
