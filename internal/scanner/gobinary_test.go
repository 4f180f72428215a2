package scanner_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/scanner"
)

// buildGoBinary builds a tiny program that depends on golang.org/x/text
// v0.3.7 with the local toolchain (modules come from the module proxy).
func buildGoBinary(t testing.TB) (binary, goVersion string) {
	t.Helper()
	goBin := goTool(t)
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/oldtext\n\ngo 1.21\n\nrequire golang.org/x/text v0.3.7\n")
	write("main.go", "package main\n\nimport (\n\t\"fmt\"\n\n\t\"golang.org/x/text/language\"\n)\n\nfunc main() { fmt.Println(language.English) }\n")
	out := filepath.Join(dir, "oldtext")
	cmd := exec.Command(goBin, "build", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cannot build the test binary (no module proxy?): %v\n%s", err, b)
	}
	v, err := exec.Command(goBin, "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	return out, strings.TrimPrefix(strings.Fields(string(v))[0], "go")
}

func TestGoBinary(t *testing.T) {
	bin, want := buildGoBinary(t)
	sb := newSandbox(t)
	img := imageOf(t,
		layerOf(t, realFile("usr/local/bin/oldtext", bin), exe("usr/bin/script", "#!/bin/sh\necho hi\n"),
			sized("usr/lib/libfake.so.1", strings.Repeat("\x7fELF not go", 1000), 0o644)),
	)
	rep, err := scan(t, sb.scanner(t, scanner.Options{}), img)
	if err != nil {
		t.Fatal(err)
	}
	text, ok := find(rep.Packages, "golang.org/x/text")
	if !ok || text.Version != "0.3.7" || text.Ecosystem != "Go" || text.Type != "go-module" || text.Path != "/usr/local/bin/oldtext" {
		t.Errorf("x/text = %+v (all: %v)", text, names(rep.Packages))
	}
	std, ok := find(rep.Packages, "stdlib")
	if !ok || std.Version != want || std.Ecosystem != "Go" || std.Type != "go-stdlib" {
		t.Errorf("stdlib = %+v, want version %s", std, want)
	}
	if rep.UnpackedBytes == 0 {
		t.Error("no bytes counted")
	}
	sb.check(t)
}

// buildTinyGo cross-compiles a program without imports for goos/goarch:
// no module is fetched, and only the runtime is compiled for the target.
func buildTinyGo(t testing.TB, goos, goarch string) string {
	t.Helper()
	goBin := goTool(t)
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":  "module example.com/tiny\n\ngo 1.21\n",
		"main.go": "package main\n\nfunc main() {}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "tiny-"+goos+"-"+goarch)
	cmd := exec.Command(goBin, "build", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build for %s/%s: %v\n%s", goos, goarch, err, b)
	}
	return out
}

// TestGoBinaryPlatform: every package of a Go binary carries the GOOS/GOARCH
// it was built for, read from its build information, to the matcher.
func TestGoBinaryPlatform(t *testing.T) {
	targets := []struct{ goos, goarch, path string }{
		{"windows", "amd64", "app/tiny.exe"},
		{"linux", "ppc64le", "usr/local/bin/tiny"},
	}
	var files []file
	for _, tc := range targets {
		files = append(files, realFile(tc.path, buildTinyGo(t, tc.goos, tc.goarch)))
	}
	sb := newSandbox(t)
	rep, err := scan(t, sb.scanner(t, scanner.Options{}), imageOf(t, layerOf(t, files...)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range targets {
		want := tc.goos + "/" + tc.goarch
		var got []string
		for _, p := range rep.Packages {
			if p.Path != "/"+tc.path {
				continue
			}
			got = append(got, p.Name)
			if p.Platform != want {
				t.Errorf("%s in %s: Platform %q, want %q", p.Name, p.Path, p.Platform, want)
			}
		}
		if !slices.Contains(got, "stdlib") || !slices.Contains(got, "example.com/tiny") {
			t.Errorf("%s: packages %v, want stdlib and example.com/tiny", tc.path, got)
		}
	}
	sb.check(t)
}

// goTool is the go command: the one on PATH, else $GOROOT/bin/go.
func goTool(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	t.Skip("no go command on PATH and GOROOT unset")
	return ""
}
