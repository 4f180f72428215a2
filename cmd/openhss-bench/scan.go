package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/openhss/openhss/internal/dirlayer"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/netpolicy"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/vulndb"
)

// Targets the scan benchmark is judged against (docs/benchmarks.md, Scanner,
// Targets).
const (
	targetImportSeconds  = 5.0  // db import of the whole Go vulndb
	targetRematchSeconds = 10.0 // re-match of 1,000 stored inventories
	targetRSSShareOfSyft = 0.5  // openhss peak RSS ≤ half of syft's
	aimTimeShareOfSyft   = 0.25 // the aim: a quarter of syft's time
	targetBigRSSBytes    = 300 << 20
	syftVersion          = "v1.57.1"
	goVulnDBVersion      = "v0.0.0-20261105234957-e22db6528018"
)

// childEnv marks a process the benchmark started itself.
const childEnv = "OPENHSS_BENCH_CHILD"

// Old module versions the Go binaries link (vulnerable on purpose).
var oldGoDeps = []string{"golang.org/x/text v0.3.7", "golang.org/x/net v0.0.0-20211112202133-69e39bad7dc2"}

type scanBenchOptions struct {
	Rootfs       string // debootstrapped bookworm
	VulnData     string // OSV records, holds debian-12/ (the repository's testdata/osv)
	CacheDir     string // Go binaries, syft
	Dir          string // work directory (store, scratch); temporary when empty
	Runs         int
	GoBinaries   int
	SmallImages  int
	Workers      int
	Inventories  int
	BigImageMB   int // 0: no big image
	Syft         string
	InstallSyft  bool
	Trivy        string
	InstallTrivy bool
	CPUProfile   string // of the first re-match
	RematchRuns  int
	Postgres     string // also re-match on PostgreSQL at this URL
	Progress     io.Writer
}

func defaultScanBenchOptions() scanBenchOptions {
	rootfs := os.Getenv("OPENHSS_TEST_DEBOOTSTRAP")
	if rootfs == "" {
		rootfs = "/var/cache/openhss-test/bookworm-rootfs"
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	return scanBenchOptions{
		// The repository's own records: the benchmark is run from its root.
		Rootfs: rootfs, VulnData: filepath.Join("testdata", "osv"), CacheDir: filepath.Join(cache, "openhss-bench"),
		Runs: 3, GoBinaries: 20, SmallImages: 50, Workers: 2, Inventories: 1000, BigImageMB: 1024, RematchRuns: 3,
	}
}

type scanReport struct {
	Machine machine        `json:"machine"`
	Images  []imageResult  `json:"images"`
	Import  []importResult `json:"imports"`
	Rematch rematchResult  `json:"rematch"`
	// The same re-match on PostgreSQL, with --postgres.
	RematchPostgres *rematchResult  `json:"rematch_postgres,omitempty"`
	Throughput      throughputRes   `json:"throughput"`
	Syft            string          `json:"syft"` // version line, or why it did not run
	Trivy           string          `json:"trivy"`
	Notes           []string        `json:"notes,omitempty"`
	Targets         []targetOutcome `json:"targets"`
}

type imageResult struct {
	Name            string `json:"name"`
	Ref             string `json:"ref"`
	CompressedBytes int64  `json:"compressed_bytes"`
	Layers          int    `json:"layers"`
	OpenHSS         []run  `json:"openhss"`
	// The same scan with the analyzers (baseline, malware, secrets),
	// as `openhss serve` runs it now.
	WithAnalyzers []run    `json:"openhss_with_analyzers,omitempty"`
	Syft          []run    `json:"syft,omitempty"`
	Trivy         []run    `json:"trivy,omitempty"`
	TrivyPackages int      `json:"trivy_packages"` // trivy's CycloneDX library components
	TrivyMedian   *summary `json:"trivy_median,omitempty"`
	Packages      int      `json:"packages"`      // openhss
	SyftPackages  int      `json:"syft_packages"` // syft's artifacts
	VulNum        int32    `json:"vul_num"`
	Digest        string   `json:"digest"`
	OpenHSSMedian summary  `json:"openhss_median"`
	SyftMedian    *summary `json:"syft_median,omitempty"`
}

// run is one child process: wall time from start to exit, and its peak
// resident set (rusage ru_maxrss).
type run struct {
	WallSeconds float64 `json:"wall_seconds"`
	ScanSeconds float64 `json:"scan_seconds,omitempty"` // openhss: request → recorded, inside the child
	CPUSeconds  float64 `json:"cpu_seconds"`
	MaxRSSBytes int64   `json:"max_rss_bytes"`
	// openhss: the scan's own VmHWM at its end, a cross-check.
	SelfPeakRSSBytes int64 `json:"self_peak_rss_bytes,omitempty"`
}

type summary struct {
	WallSeconds float64 `json:"wall_seconds"` // median
	MaxRSSBytes int64   `json:"max_rss_bytes"`
}

type importResult struct {
	Source  string  `json:"source"`
	Records int     `json:"records"`
	Written int     `json:"written"`
	Seconds float64 `json:"seconds"`
}

type throughputRes struct {
	Images        int     `json:"images"`
	Workers       int     `json:"workers"`
	Seconds       float64 `json:"seconds"`
	PerMinute     float64 `json:"images_per_minute"`
	Failed        int     `json:"failed"`
	CompressedAvg int64   `json:"compressed_bytes_avg"`
}

type targetOutcome struct {
	What   string `json:"what"`
	Target string `json:"target"`
	Got    string `json:"got"`
	Met    *bool  `json:"met"` // nil: not measured
}

// countingHandler counts the requests the registry serves, so that the
// re-match can show it pulled nothing.
type countingHandler struct {
	next http.Handler
	n    *atomic.Int64
}

func (h countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.n.Add(1)
	h.next.ServeHTTP(w, r)
}

func runScanBench(ctx context.Context, o scanBenchOptions) (scanReport, error) {
	rep := scanReport{Machine: describeMachine(time.Now())}
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "%s  "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
		}
	}
	if _, err := os.Stat(filepath.Join(o.Rootfs, "var", "lib", "dpkg", "status")); err != nil {
		return rep, fmt.Errorf("--rootfs %s is not a debootstrapped root filesystem (build one with `debootstrap --variant=minbase bookworm DIR`): %w", o.Rootfs, err)
	}
	debianData := filepath.Join(o.VulnData, "debian-12")
	if _, err := os.Stat(debianData); err != nil {
		return rep, fmt.Errorf("--vulndata %s has no debian-12/ (run from the repository root, whose testdata/osv is the default, or pass --vulndata): %w", o.VulnData, err)
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "openhss-bench-scan-")
		if err != nil {
			return rep, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return rep, err
	}

	// Tools and data first: they need the network (module proxy) and time,
	// and must not overlap the measurements.
	syft, syftNote := prepareTool(ctx, o.CacheDir, syftTool(o), progress)
	rep.Syft = syftNote
	trivy, trivyNote := prepareTool(ctx, o.CacheDir, trivyTool(o), progress)
	rep.Trivy = trivyNote
	progress("Go vulnerability database %s", goVulnDBVersion)
	goVulns, err := downloadGoVulnDB(ctx)
	if err != nil {
		return rep, err
	}
	progress("building %d Go binaries with %s", o.GoBinaries, strings.Join(oldGoDeps, ", "))
	bins, err := buildGoBinaries(ctx, filepath.Join(o.CacheDir, "gobins"), o.GoBinaries)
	if err != nil {
		return rep, err
	}

	// The registry: go-containerregistry's in-memory one on loopback.
	var requests atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return rep, err
	}
	srv := &http.Server{Handler: countingHandler{next: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))), n: &requests}}
	go srv.Serve(ln)
	defer srv.Close()
	addr := ln.Addr().String()

	progress("packing %s into a layer", o.Rootfs)
	debLayer, _, err := dirlayer.Layer(filepath.Join(dir, "rootfs.tar.gz"), o.Rootfs)
	if err != nil {
		return rep, err
	}
	targets := []struct {
		name, ref string
		layers    []v1.Layer
	}{
		{name: "debootstrap bookworm minbase", ref: "bench/debian:bookworm", layers: []v1.Layer{debLayer}},
	}
	binLayer, err := filesLayer(dir, "gobins", binFiles(bins, len(bins)))
	if err != nil {
		return rep, err
	}
	targets = append(targets, struct {
		name, ref string
		layers    []v1.Layer
	}{name: fmt.Sprintf("%d Go binaries", len(bins)), ref: "bench/gobins:latest", layers: []v1.Layer{binLayer}})
	if o.BigImageMB > 0 {
		progress("building the %d MB image", o.BigImageMB)
		filler, err := randomLayer(dir, int64(o.BigImageMB)<<20-layerSize(debLayer))
		if err != nil {
			return rep, err
		}
		targets = append(targets, struct {
			name, ref string
			layers    []v1.Layer
		}{name: fmt.Sprintf("debootstrap + random files, %d MB", o.BigImageMB), ref: "bench/big:latest", layers: []v1.Layer{debLayer, filler}})
	}
	for _, tg := range targets {
		progress("pushing %s", tg.ref)
		img, err := imageOfLayers(tg.layers...)
		if err != nil {
			return rep, err
		}
		if err := push(ctx, addr, tg.ref, img); err != nil {
			return rep, err
		}
		rep.Images = append(rep.Images, imageResult{Name: tg.name, Ref: tg.ref, CompressedBytes: imageSize(img), Layers: len(tg.layers)})
	}
	// The small images of the throughput run: a dpkg database, os-release,
	// one Go binary and a file making each digest unique.
	status, err := os.ReadFile(filepath.Join(o.Rootfs, "var", "lib", "dpkg", "status"))
	if err != nil {
		return rep, err
	}
	osRelease, err := os.ReadFile(filepath.Join(o.Rootfs, "usr", "lib", "os-release"))
	if err != nil {
		return rep, err
	}
	var smallRefs []string
	var smallBytes int64
	progress("pushing %d small images", o.SmallImages)
	for i := range o.SmallImages {
		bin := bins[i%len(bins)]
		body, err := os.ReadFile(bin)
		if err != nil {
			return rep, err
		}
		l, err := filesLayer(dir, fmt.Sprintf("small-%02d", i), []memFile{
			{"etc/os-release", osRelease, 0o644}, {"var/lib/dpkg/status", status, 0o644},
			{"usr/local/bin/" + filepath.Base(bin), body, 0o755}, {"etc/hostname", []byte(fmt.Sprintf("small-%02d\n", i)), 0o644},
		})
		if err != nil {
			return rep, err
		}
		img, err := imageOfLayers(l)
		if err != nil {
			return rep, err
		}
		ref := fmt.Sprintf("bench/small-%02d:1", i)
		if err := push(ctx, addr, ref, img); err != nil {
			return rep, err
		}
		smallRefs = append(smallRefs, ref)
		smallBytes += imageSize(img)
	}

	// The store: vulnerability data, a registry connection, synced rows.
	dbPath := filepath.Join(dir, "openhss.db")
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return rep, err
	}
	defer st.Close()
	quiet := slog.New(slog.DiscardHandler)
	vdb := vulndb.New(st, vulndb.Options{Logger: quiet, TempDir: dir})
	for _, src := range []string{goVulns, goVulns, debianData} {
		progress("db import %s", src)
		start := time.Now()
		res, err := vdb.Import(ctx, src)
		if err != nil {
			return rep, err
		}
		rep.Import = append(rep.Import, importResult{Source: src, Records: res.Records, Written: res.Written, Seconds: time.Since(start).Seconds()})
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return rep, err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return rep, err
	}
	if _, err := st.EnsureProject(ctx, inventory.Project{ID: benchProject, Name: "bench"}); err != nil {
		return rep, err
	}
	sealed, err := box.Seal("")
	if err != nil {
		return rep, err
	}
	conn, err := st.CreateRegistry(ctx, inventory.Registry{
		ProjectID: benchProject, EnterpriseProjectID: defaultEnterprise, Name: "bench", Type: inventory.OtherRegistry,
		Protocol: "http", Addr: addr, PasswordSealed: sealed, Status: inventory.RegistryPending,
	})
	if err != nil {
		return rep, err
	}
	// The benchmark's registry is on loopback, which the network policy
	// denies: allow its address, as the quickstart does.
	regHost, _, err := net.SplitHostPort(addr)
	if err != nil {
		return rep, err
	}
	policy, err := netpolicy.New(netpolicy.Options{Allow: []string{regHost}})
	if err != nil {
		return rep, err
	}
	syncer := registry.NewSyncer(st, st, box, registry.NewLister(registry.WithLogger(quiet), registry.WithTransport(registry.NewTransport(policy))))
	syncer.Log = quiet
	progress("sync")
	if _, err := syncer.SyncRegistry(ctx, conn); err != nil {
		return rep, err
	}

	// Full scans, each in a child process; syft on the same image, same
	// registry, after it.
	self, err := os.Executable()
	if err != nil {
		return rep, err
	}
	// The test binary acts as this command when it sees childEnv (see
	// TestMain); the real binary ignores it.
	if err := os.Setenv(childEnv, "1"); err != nil {
		return rep, err
	}
	for i := range rep.Images {
		im := &rep.Images[i]
		for r := range o.Runs {
			progress("openhss scan %s, run %d/%d", im.Ref, r+1, o.Runs)
			res, ru, err := runOpenHSSChild(ctx, self, dbPath, im.Ref, dir, hex.EncodeToString(key), regHost, false)
			if err != nil {
				return rep, err
			}
			if res.Status != string(inventory.ScanSuccess) {
				return rep, fmt.Errorf("scan of %s ended %s (%s)", im.Ref, res.Status, res.FailedDesc)
			}
			ru.ScanSeconds, ru.SelfPeakRSSBytes = res.ScanSeconds, res.PeakRSSBytes
			im.OpenHSS = append(im.OpenHSS, ru)
			im.Packages, im.VulNum, im.Digest = res.Packages, res.VulNum, res.Digest
		}
		for r := range o.Runs {
			progress("openhss scan with analyzers %s, run %d/%d", im.Ref, r+1, o.Runs)
			res, ru, err := runOpenHSSChild(ctx, self, dbPath, im.Ref, dir, hex.EncodeToString(key), regHost, true)
			if err != nil {
				return rep, err
			}
			if res.Status != string(inventory.ScanSuccess) {
				return rep, fmt.Errorf("scan of %s with analyzers ended %s (%s)", im.Ref, res.Status, res.FailedDesc)
			}
			ru.ScanSeconds, ru.SelfPeakRSSBytes = res.ScanSeconds, res.PeakRSSBytes
			im.WithAnalyzers = append(im.WithAnalyzers, ru)
		}
		im.OpenHSSMedian = summarizeRuns(im.OpenHSS)
		measure := func(tool, path string, catalogue func(ctx context.Context, self, bin, addr, ref, dir string) (run, int, error)) (runs []run, pkgs int, median *summary) {
			for r := 0; path != "" && r < o.Runs; r++ {
				progress("%s %s, run %d/%d", tool, im.Ref, r+1, o.Runs)
				ru, n, err := catalogue(ctx, self, path, addr, im.Ref, dir)
				if err != nil {
					rep.Notes = append(rep.Notes, fmt.Sprintf("%s on %s failed: %v", tool, im.Ref, err))
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
		im.Trivy, im.TrivyPackages, im.TrivyMedian = measure("trivy", trivy, runTrivy)
		im.Syft, im.SyftPackages, im.SyftMedian = measure("syft", syft, runSyft)
	}

	// Re-match of stored inventories: the real SBOMs of the scans above,
	// copied under synthetic digests.
	svc := scanjob.New(st, scanner.New(scanner.Options{ScratchDir: dir, Logger: quiet}), vdb,
		scanjob.Options{Box: box, Transport: registry.NewTransport(policy), Log: quiet})
	var scanned []scanresult.SBOM
	for _, im := range rep.Images {
		sb, err := st.GetSBOM(ctx, im.Digest)
		if err != nil {
			return rep, fmt.Errorf("SBOM of %s: %w", im.Ref, err)
		}
		scanned = append(scanned, sb)
	}
	seedFrom := scanned[:min(2, len(scanned))] // the debootstrap and Go images
	rep.Rematch, err = measureRematch(ctx, rematchRun{store: st, svc: svc, sboms: seedFrom, n: o.Inventories, runs: o.RematchRuns,
		profile: o.CPUProfile, requests: &requests}, "sqlite", progress)
	if err != nil {
		return rep, err
	}
	if o.Postgres != "" {
		pg, err := rematchOnPostgres(ctx, o.Postgres, scanned, seedFrom, []string{goVulns, debianData}, o, dir, box, &requests, progress)
		if err != nil {
			return rep, fmt.Errorf("re-match on PostgreSQL: %w", err)
		}
		rep.RematchPostgres = &pg
	}

	// Throughput: every small image queued at once, N workers.
	progress("throughput: %d images, %d workers", len(smallRefs), o.Workers)
	rep.Throughput, err = measureThroughput(ctx, st, svc, smallRefs, o.Workers)
	if err != nil {
		return rep, err
	}
	rep.Throughput.CompressedAvg = smallBytes / int64(max(1, len(smallRefs)))
	rep.Machine.LoadEnd = loadAverage()
	rep.Targets = judge(rep)
	return rep, nil
}

// startCPUProfile profiles this process into path until the returned
// function is called; no-op when path is empty.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

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

// downloadGoVulnDB returns the data/osv directory of the pinned
// golang.org/x/vulndb module, through the module proxy.
func downloadGoVulnDB(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", "golang.org/x/vulndb@"+goVulnDBVersion)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download golang.org/x/vulndb: %w", err)
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", err
	}
	return filepath.Join(info.Dir, "data", "osv"), nil
}

const goBinSource = `package main

import (
	"fmt"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/text/language"
)

var variant = "0"

func main() {
	doc, _ := html.Parse(strings.NewReader("<p>hi</p>"))
	fmt.Println(variant, language.English, doc != nil)
}
`

// buildGoBinaries builds n distinct binaries (the variant is linked in
// with -X) of a program linking old golang.org/x modules, once: a complete
// set in dir is reused.
func buildGoBinaries(ctx context.Context, dir string, n int) ([]string, error) {
	paths := make([]string, n)
	complete := true
	for i := range n {
		paths[i] = filepath.Join(dir, fmt.Sprintf("app-%02d", i))
		if _, err := os.Stat(paths[i]); err != nil {
			complete = false
		}
	}
	if complete {
		return paths, nil
	}
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return nil, err
	}
	gomod := "module example.com/benchapp\n\ngo 1.17\n\nrequire (\n\t" + strings.Join(oldGoDeps, "\n\t") + "\n)\n"
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(gomod), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(goBinSource), 0o644); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOWORK=off")
	gocmd := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir, cmd.Env = src, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := gocmd("mod", "tidy"); err != nil {
		return nil, err
	}
	mod, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		return nil, err
	}
	for _, d := range oldGoDeps {
		if !strings.Contains(string(mod), d) {
			return nil, fmt.Errorf("go mod tidy moved %s:\n%s", d, mod)
		}
	}
	for i, p := range paths {
		if err := gocmd("build", "-trimpath", "-ldflags", fmt.Sprintf("-X main.variant=%d", i), "-o", p, "."); err != nil {
			return nil, err
		}
	}
	return paths, nil
}

type memFile struct {
	name string
	body []byte
	mode int64
}

func binFiles(paths []string, n int) []memFile {
	var out []memFile
	for _, p := range paths[:n] {
		body, err := os.ReadFile(p)
		if err != nil {
			continue // buildGoBinaries just wrote them
		}
		out = append(out, memFile{"usr/local/bin/" + filepath.Base(p), body, 0o755})
	}
	return out
}

// filesLayer writes files as a compressed layer file in dir.
func filesLayer(dir, name string, files []memFile) (v1.Layer, error) {
	src, err := os.MkdirTemp(dir, name+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(src)
	for _, f := range files {
		p := filepath.Join(src, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, f.body, os.FileMode(f.mode)); err != nil {
			return nil, err
		}
	}
	l, _, err := dirlayer.Layer(filepath.Join(dir, name+".tar.gz"), src)
	return l, err
}

// randomLayer is a layer of incompressible files totalling about size
// bytes. Random data does not compress, so the gzip stream stores it
// (level 0) and building stays quick; the layer is as big as asked.
func randomLayer(dir string, size int64) (v1.Layer, error) {
	path := filepath.Join(dir, "random.tar.gz")
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	zw, err := gzip.NewWriterLevel(f, gzip.NoCompression)
	if err != nil {
		return nil, errors.Join(err, f.Close())
	}
	tw := tar.NewWriter(zw)
	rng := mrand.NewChaCha8([32]byte{1})
	const chunk = 64 << 20
	buf := make([]byte, 1<<20)
	for i := 0; size > 0; i++ {
		n := min(size, chunk)
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("opt/data/blob-%03d.bin", i), Mode: 0o644, Size: n, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			return nil, errors.Join(err, f.Close())
		}
		for left := n; left > 0; {
			m := min(left, int64(len(buf)))
			_, _ = rng.Read(buf[:m])
			if _, err := tw.Write(buf[:m]); err != nil {
				return nil, errors.Join(err, f.Close())
			}
			left -= m
		}
		size -= n
	}
	if err := errors.Join(tw.Close(), zw.Close(), f.Close()); err != nil {
		return nil, err
	}
	return tarball.LayerFromFile(path)
}

func layerSize(l v1.Layer) int64 {
	n, err := l.Size()
	if err != nil {
		return 0
	}
	return n
}

func imageOfLayers(layers ...v1.Layer) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Date(2023, 6, 10, 0, 0, 0, 0, time.UTC)}
	return mutate.ConfigFile(img, cf)
}

func imageSize(img v1.Image) int64 {
	m, err := img.Manifest()
	if err != nil {
		return 0
	}
	n := m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

func push(ctx context.Context, addr, ref string, img v1.Image) error {
	tag, err := name.NewTag(addr+"/"+ref, name.Insecure)
	if err != nil {
		return err
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}

// measureThroughput queues a scan of every ref at once and runs workers
// until every row has a final status.
func measureThroughput(ctx context.Context, st *sqlite.Store, svc *scanjob.Service, refs []string, workers int) (throughputRes, error) {
	res := throughputRes{Images: len(refs), Workers: workers}
	var rows []inventory.Image
	for _, ref := range refs {
		img, err := findRow(ctx, st, ref)
		if err != nil {
			return res, err
		}
		rows = append(rows, img)
	}
	runner := jobs.NewRunner(st, slog.New(slog.DiscardHandler))
	runner.Workers = workers
	runner.Poll = 20 * time.Millisecond
	runner.Handle(scanjob.JobKind, svc.Handle)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	if _, err := svc.Request(ctx, benchProject, rows); err != nil {
		return res, err
	}
	done := make(chan struct{})
	go func() { runner.Run(rctx); close(done) }()
	final := []inventory.ScanStatus{inventory.ScanSuccess, inventory.ScanFailed, inventory.DownloadFailed, inventory.ImageOversized}
	for {
		left, failed := 0, 0
		for _, ref := range refs {
			img, err := findRow(ctx, st, ref)
			if err != nil {
				return res, err
			}
			switch {
			case !slices.Contains(final, img.ScanStatus):
				left++
			case img.ScanStatus != inventory.ScanSuccess:
				failed++
			}
		}
		if left == 0 {
			res.Seconds = time.Since(start).Seconds()
			res.Failed = failed
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop()
	<-done
	res.PerMinute = float64(res.Images) / res.Seconds * 60
	if res.Failed > 0 {
		return res, fmt.Errorf("%d of %d small images did not scan successfully", res.Failed, res.Images)
	}
	return res, nil
}

func judge(rep scanReport) []targetOutcome {
	yes, no := true, false
	b := func(ok bool) *bool {
		if ok {
			return &yes
		}
		return &no
	}
	var out []targetOutcome
	for i, im := range rep.Images {
		if i < 2 {
			if im.SyftMedian == nil {
				out = append(out, targetOutcome{What: im.Name + ": time and RSS against syft", Target: "faster than syft; RSS ≤ ½ syft's", Got: "syft not run"})
			} else {
				s, h := *im.SyftMedian, im.OpenHSSMedian
				out = append(out,
					targetOutcome{What: im.Name + ": full scan time vs syft catalogue", Target: "< syft",
						Got: fmt.Sprintf("%.2f s vs %.2f s (%.0f %%)", h.WallSeconds, s.WallSeconds, 100*h.WallSeconds/s.WallSeconds), Met: b(h.WallSeconds < s.WallSeconds)},
					targetOutcome{What: im.Name + ": aim, a quarter of syft's time", Target: fmt.Sprintf("≤ %.2f s", aimTimeShareOfSyft*s.WallSeconds),
						Got: fmt.Sprintf("%.2f s", h.WallSeconds), Met: b(h.WallSeconds <= aimTimeShareOfSyft*s.WallSeconds)},
					targetOutcome{What: im.Name + ": peak RSS vs syft", Target: fmt.Sprintf("≤ %.0f MiB (½ syft's)", targetRSSShareOfSyft*mib(s.MaxRSSBytes)),
						Got: fmt.Sprintf("%.0f MiB", mib(h.MaxRSSBytes)), Met: b(float64(h.MaxRSSBytes) <= targetRSSShareOfSyft*float64(s.MaxRSSBytes))})
			}
			if t := im.TrivyMedian; t != nil {
				h := im.OpenHSSMedian
				out = append(out, targetOutcome{What: im.Name + ": full scan time vs trivy catalogue", Target: "< trivy",
					Got: fmt.Sprintf("%.2f s vs %.2f s (%.0f %%)", h.WallSeconds, t.WallSeconds, 100*h.WallSeconds/t.WallSeconds), Met: b(h.WallSeconds < t.WallSeconds)})
			} else {
				out = append(out, targetOutcome{What: im.Name + ": time against trivy", Target: "faster than trivy", Got: "trivy not run"})
			}
			continue
		}
		out = append(out, targetOutcome{What: im.Name + ": peak RSS", Target: "≤ 300 MiB",
			Got: fmt.Sprintf("%.0f MiB", mib(im.OpenHSSMedian.MaxRSSBytes)), Met: b(im.OpenHSSMedian.MaxRSSBytes <= targetBigRSSBytes)})
	}
	for _, im := range rep.Import {
		if strings.Contains(im.Source, "vulndb") && im.Written > 0 {
			out = append(out, targetOutcome{What: "db import of the whole Go vulndb (empty store)", Target: fmt.Sprintf("≤ %.0f s", targetImportSeconds),
				Got: fmt.Sprintf("%.2f s", im.Seconds), Met: b(im.Seconds <= targetImportSeconds)})
			break
		}
	}
	for _, r := range []*rematchResult{&rep.Rematch, rep.RematchPostgres} {
		if r == nil {
			continue
		}
		out = append(out, targetOutcome{What: fmt.Sprintf("re-match of %d stored inventories (%s, median of %d)", r.Images, r.Store, len(r.Runs)),
			Target: fmt.Sprintf("≤ %.0f s for 1,000", targetRematchSeconds),
			Got:    fmt.Sprintf("%.2f s", r.Seconds), Met: b(r.Seconds <= targetRematchSeconds && r.Requests == 0)})
	}
	out = append(out, targetOutcome{What: fmt.Sprintf("throughput, %d workers, %d small images", rep.Throughput.Workers, rep.Throughput.Images), Target: "(reported)",
		Got: fmt.Sprintf("%.0f images/minute", rep.Throughput.PerMinute)})
	return out
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
