package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"

	"github.com/openhss/openhss/internal/inventory"
)

func summarizeRuns(runs []run) summary {
	walls := make([]float64, len(runs))
	var s summary
	for i, r := range runs {
		walls[i] = r.WallSeconds
		s.MaxRSSBytes = max(s.MaxRSSBytes, r.MaxRSSBytes)
	}
	sort.Float64s(walls)
	s.WallSeconds = walls[len(walls)/2]
	return s
}

// runOpenHSSChild runs one full scan in a child process and returns its
// result with the process's wall time, CPU time and peak RSS.
func runOpenHSSChild(ctx context.Context, self, dbPath, ref, dir, key, registryAllow string, analyzers bool) (childResult, run, error) {
	var res childResult
	scratch, err := os.MkdirTemp(dir, "scratch-")
	if err != nil {
		return res, run{}, err
	}
	defer os.RemoveAll(scratch)
	var out, errb bytes.Buffer
	args := []string{"scan-child", "--db", dbPath, "--ref", ref, "--scratch", scratch, "--key", key, "--registry-allow", registryAllow}
	if analyzers {
		args = append(args, "--analyzers")
	}
	ru, err := timed(ctx, self, dir, &out, &errb, os.Environ(), self, args...)
	if err != nil {
		return res, ru, fmt.Errorf("scan-child %s: %w\n%s", ref, err, errb.String())
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return res, ru, fmt.Errorf("scan-child %s: %w: %q", ref, err, out.String())
	}
	return res, ru, nil
}

// timed runs name with args under the measure command (see
// newMeasureCmd) and returns its wall time, CPU time and peak RSS.
func timed(ctx context.Context, self, dir string, stdout, stderr io.Writer, env []string, name string, args ...string) (run, error) {
	out, err := os.CreateTemp(dir, "measure-*.json")
	if err != nil {
		return run{}, err
	}
	out.Close()
	defer os.Remove(out.Name())
	cmd := exec.CommandContext(ctx, self, append([]string{"measure", "--out", out.Name(), "--", name}, args...)...)
	cmd.Stdout, cmd.Stderr, cmd.Env = stdout, stderr, env
	if err := cmd.Run(); err != nil {
		return run{}, err
	}
	raw, err := os.ReadFile(out.Name())
	if err != nil {
		return run{}, err
	}
	var m measured
	if err := json.Unmarshal(raw, &m); err != nil {
		return run{}, fmt.Errorf("measure: %w", err)
	}
	r := run{WallSeconds: m.WallSeconds, CPUSeconds: m.CPUSeconds, MaxRSSBytes: m.MaxRSSBytes}
	if m.ExitCode != 0 {
		return r, fmt.Errorf("%s exited with %d", name, m.ExitCode)
	}
	return r, nil
}

// measureFullScans scans every pushed image o.Runs times without and with
// the analyzers, each scan in a child process, then catalogues it with the
// reference tools (trivy, syft) against the same registry.
func (b *scanBench) measureFullScans(ctx context.Context, env *scanStore, addr string, in scanInputs, rep *scanReport) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	// The test binary acts as this command when it sees childEnv (see
	// TestMain); the real binary ignores it.
	if err := os.Setenv(childEnv, "1"); err != nil {
		return err
	}
	for i := range rep.Images {
		im := &rep.Images[i]
		var res childResult
		im.OpenHSS, res, err = b.openHSSRuns(ctx, self, env, im.Ref, false)
		if err != nil {
			return err
		}
		if len(im.OpenHSS) > 0 {
			im.Packages, im.VulNum, im.Digest = res.Packages, res.VulNum, res.Digest
		}
		if im.WithAnalyzers, _, err = b.openHSSRuns(ctx, self, env, im.Ref, true); err != nil {
			return err
		}
		im.OpenHSSMedian = summarizeRuns(im.OpenHSS)
		im.Trivy, im.TrivyPackages, im.TrivyMedian = b.catalogue(ctx, rep, self, addr, im.Ref, "trivy", in.trivy, runTrivy)
		im.Syft, im.SyftPackages, im.SyftMedian = b.catalogue(ctx, rep, self, addr, im.Ref, "syft", in.syft, runSyft)
	}
	return nil
}

// openHSSRuns scans ref o.Runs times in child processes and returns the
// runs and the last scan's result; a scan that does not succeed is an
// error.
func (b *scanBench) openHSSRuns(ctx context.Context, self string, env *scanStore, ref string, analyzers bool) ([]run, childResult, error) {
	what, with := "openhss scan", ""
	if analyzers {
		what, with = "openhss scan with analyzers", " with analyzers"
	}
	var runs []run
	var last childResult
	for r := range b.o.Runs {
		b.progress("%s %s, run %d/%d", what, ref, r+1, b.o.Runs)
		res, ru, err := runOpenHSSChild(ctx, self, env.dbPath, ref, b.dir, hex.EncodeToString(env.key), env.regHost, analyzers)
		if err != nil {
			return runs, last, err
		}
		if res.Status != string(inventory.ScanSuccess) {
			return runs, last, fmt.Errorf("scan of %s%s ended %s (%s)", ref, with, res.Status, res.FailedDesc)
		}
		ru.ScanSeconds, ru.SelfPeakRSSBytes = res.ScanSeconds, res.PeakRSSBytes
		runs, last = append(runs, ru), res
	}
	return runs, last, nil
}

// catalogue runs the reference tool at path ("" when it does not run) on
// ref o.Runs times. A failure ends its runs with a note in rep, not the
// benchmark.
func (b *scanBench) catalogue(ctx context.Context, rep *scanReport, self, addr, ref, tool, path string,
	runTool func(ctx context.Context, self, bin, addr, ref, dir string) (run, int, error)) (runs []run, pkgs int, median *summary) {
	for r := 0; path != "" && r < b.o.Runs; r++ {
		b.progress("%s %s, run %d/%d", tool, ref, r+1, b.o.Runs)
		ru, n, err := runTool(ctx, self, path, addr, ref, b.dir)
		if err != nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s on %s failed: %v", tool, ref, err))
			break
		}
		runs, pkgs = append(runs, ru), n
	}
	if len(runs) > 0 {
		s := summarizeRuns(runs)
		median = &s
	}
	return runs, pkgs, median
}
