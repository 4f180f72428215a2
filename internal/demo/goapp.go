package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// BuildVulnerableGoApp builds (once; the binary is cached in cacheDir) a small
// Go program that links VulnerableDeps, with the go command of the machine.
func BuildVulnerableGoApp(ctx context.Context, cacheDir string) ([]byte, error) {
	return BuildGoProgram(ctx, cacheDir, "vulnerable-go-app", goAppMain, VulnerableDeps...)
}

// BuildGoProgram builds (once; the binary is cached in cacheDir under name)
// the main package mainSrc, getting deps ("module@version") first, with the
// go command of the machine.
func BuildGoProgram(ctx context.Context, cacheDir, name, mainSrc string, deps ...string) ([]byte, error) {
	bin := filepath.Join(cacheDir, name)
	if b, err := os.ReadFile(bin); err == nil && len(b) > 0 {
		return b, nil
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return nil, errors.New("the go command is needed to build the demo program: install Go or put it on PATH")
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
			return fmt.Errorf("go %v: %w\n%s", args, err, out)
		}
		return nil
	}
	if err := run(append([]string{"get"}, deps...)...); err != nil {
		return nil, err
	}
	tmp := bin + ".tmp"
	if err := run("build", "-trimpath", "-o", tmp, "."); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, bin); err != nil {
		return nil, err
	}
	return os.ReadFile(bin)
}
