package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// trivyVersion is the trivy the benchmark installs with --install-trivy.
// It needs encoding/json/v2, which go1.26 builds only with
// GOEXPERIMENT=jsonv2.
const trivyVersion = "v0.74.0"

// runTrivy catalogues ref from the registry the way trivy generates an
// SBOM: `--format cyclonedx` turns its security scanners off, so no
// vulnerability database is fetched and the figure is catalogue only, as
// syft's is. Its cache is a fresh directory per run (no layer reused).
func runTrivy(ctx context.Context, self, trivy, addr, ref, dir string) (run, int, error) {
	out := filepath.Join(dir, "trivy.cdx.json")
	defer os.Remove(out)
	tmp, err := os.MkdirTemp(dir, "trivy-tmp-")
	if err != nil {
		return run{}, 0, err
	}
	defer os.RemoveAll(tmp)
	var errb bytes.Buffer
	env := append(os.Environ(), "TMPDIR="+tmp)
	ru, err := timed(ctx, self, dir, io.Discard, &errb, env, trivy, "image", "--quiet", "--insecure", "--image-src", "remote",
		"--cache-dir", filepath.Join(tmp, "cache"), "--skip-version-check", "--format", "cyclonedx", "--output", out, addr+"/"+ref)
	if err != nil {
		return ru, 0, fmt.Errorf("%w: %s", err, lastLines(errb.String(), 5))
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return ru, 0, err
	}
	var doc struct {
		Components []struct {
			Type string `json:"type"`
			PURL string `json:"purl"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return ru, 0, err
	}
	n := 0
	for _, c := range doc.Components {
		if c.Type == "library" && c.PURL != "" { // packages, not the OS or application entries
			n++
		}
	}
	return ru, n, nil
}

// prepareTrivy finds trivy (--trivy, then the cache's bin, then PATH),
// installing it first with --install-trivy. An empty path means trivy
// will not run; the note says why, or which trivy runs.
func prepareTrivy(ctx context.Context, o scanBenchOptions, progress func(string, ...any)) (string, string) {
	bin := filepath.Join(o.CacheDir, "bin")
	path := o.Trivy
	if path == "" {
		if _, err := os.Stat(filepath.Join(bin, "trivy")); err == nil {
			path = filepath.Join(bin, "trivy")
		}
	}
	if path == "" && o.InstallTrivy {
		progress("go install github.com/aquasecurity/trivy/cmd/trivy@%s (many minutes)", trivyVersion)
		cmd := exec.CommandContext(ctx, "go", "install", "github.com/aquasecurity/trivy/cmd/trivy@"+trivyVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=", "GOWORK=off", "GOEXPERIMENT=jsonv2")
		cmd.Dir = os.TempDir()
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Sprintf("not run: go install trivy@%s failed: %v: %s", trivyVersion, err, lastLines(string(out), 5))
		}
		path = filepath.Join(bin, "trivy")
	}
	if path == "" {
		if p, err := exec.LookPath("trivy"); err == nil {
			path = p
		}
	}
	if path == "" {
		return "", "not run: no trivy (pass --install-trivy or --trivy PATH)"
	}
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return "", fmt.Sprintf("not run: %s --version: %v", path, err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if v := strings.TrimSpace(strings.TrimPrefix(first, "Version:")); v != "" && v != "dev" {
		return path, "trivy " + v + " (" + path + ")"
	}
	return path, fmt.Sprintf("%s (`trivy --version` reports %q; --install-trivy installs %s)", path, first, trivyVersion)
}
