package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
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

// trivyTool builds trivy with GOEXPERIMENT=jsonv2: it imports
// encoding/json/v2.
func trivyTool(o scanBenchOptions) referenceTool {
	return referenceTool{name: "trivy", module: "github.com/aquasecurity/trivy/cmd/trivy", version: trivyVersion, path: o.Trivy,
		install: o.InstallTrivy, installEnv: []string{"GOEXPERIMENT=jsonv2"}, versionArgs: []string{"--version"},
		reported: func(out string) string {
			first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
			if v := strings.TrimSpace(strings.TrimPrefix(first, "Version:")); strings.HasPrefix(v, "v") || strings.HasPrefix(v, "0.") {
				return v
			}
			return "" // "dev" from go install
		}}
}
