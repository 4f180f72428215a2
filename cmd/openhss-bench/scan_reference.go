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

// runSyft catalogues ref from the registry with syft's defaults and
// returns the run and the number of packages it found.
func runSyft(ctx context.Context, self, syft, addr, ref, dir string) (run, int, error) {
	out := filepath.Join(dir, "syft.json")
	defer os.Remove(out)
	tmp, err := os.MkdirTemp(dir, "syft-tmp-")
	if err != nil {
		return run{}, 0, err
	}
	defer os.RemoveAll(tmp)
	var errb bytes.Buffer
	env := append(os.Environ(), "SYFT_REGISTRY_INSECURE_USE_HTTP=true", "SYFT_CHECK_FOR_APP_UPDATE=false", "TMPDIR="+tmp)
	ru, err := timed(ctx, self, dir, io.Discard, &errb, env, syft, "scan", "registry:"+addr+"/"+ref, "-o", "syft-json="+out, "-q")
	if err != nil {
		return ru, 0, fmt.Errorf("%w: %s", err, strings.TrimSpace(errb.String()))
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return ru, 0, err
	}
	var doc struct {
		Artifacts []json.RawMessage `json:"artifacts"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return ru, 0, err
	}
	return ru, len(doc.Artifacts), nil
}

// referenceTool is a scanner the benchmark measures openhss against.
type referenceTool struct {
	name, module, version string
	path                  string   // given on the command line
	install               bool     // go install module@version when missing
	installEnv            []string // beyond GOBIN, GOFLAGS and GOWORK
	versionArgs           []string
	// reported finds the version in the tool's answer to versionArgs ("":
	// none, as in builds made by go install).
	reported func(out string) string
}

// prepareTool finds t (its path flag, then the cache's bin, then PATH),
// installing it first when asked to. An empty path means it will not run;
// the note says why, or which build runs.
func prepareTool(ctx context.Context, cacheDir string, t referenceTool, progress func(string, ...any)) (string, string) {
	bin := filepath.Join(cacheDir, "bin")
	path := t.path
	if path == "" {
		if _, err := os.Stat(filepath.Join(bin, t.name)); err == nil {
			path = filepath.Join(bin, t.name)
		}
	}
	if path == "" && t.install {
		progress("go install %s@%s (minutes)", t.module, t.version)
		cmd := exec.CommandContext(ctx, "go", "install", t.module+"@"+t.version)
		cmd.Env = append(append(os.Environ(), "GOBIN="+bin, "GOFLAGS=", "GOWORK=off"), t.installEnv...)
		cmd.Dir = os.TempDir()
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Sprintf("not run: go install %s@%s failed: %v: %s", t.name, t.version, err, lastLines(string(out), 5))
		}
		path = filepath.Join(bin, t.name)
	}
	if path == "" {
		if p, err := exec.LookPath(t.name); err == nil {
			path = p
		}
	}
	if path == "" {
		return "", fmt.Sprintf("not run: no %s (pass --install-%s or --%s PATH)", t.name, t.name, t.name)
	}
	out, err := exec.CommandContext(ctx, path, t.versionArgs...).Output()
	if err != nil {
		return "", fmt.Sprintf("not run: %s %s: %v", path, strings.Join(t.versionArgs, " "), err)
	}
	if v := t.reported(string(out)); v != "" {
		return path, t.name + " " + v + " (" + path + ")"
	}
	// `go install` builds carry no version: say which one was installed.
	return path, fmt.Sprintf("%s (reports no version; --install-%s installs %s)", path, t.name, t.version)
}

func syftTool(o scanBenchOptions) referenceTool {
	return referenceTool{name: "syft", module: "github.com/anchore/syft/cmd/syft", version: syftVersion, path: o.Syft,
		install: o.InstallSyft, versionArgs: []string{"version"},
		reported: func(out string) string {
			for _, l := range strings.Split(out, "\n") {
				if v, ok := strings.CutPrefix(l, "Version:"); ok && strings.HasPrefix(strings.TrimSpace(v), "v") {
					return strings.TrimSpace(v)
				}
			}
			return ""
		}}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
