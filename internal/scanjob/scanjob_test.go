package scanjob_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanresult"
)

func (e *env) runner(t testing.TB, lease time.Duration) *jobs.Runner {
	r := newRunner(t, e.store, lease)
	r.Handle(scanjob.JobKind, e.svc.Handle)
	r.Handle(scanjob.RematchKind, e.svc.HandleRematch)
	return r
}

func vulnIDs(t *testing.T, e *env, digest string) []string {
	t.Helper()
	_, rows, err := e.store.ListVulns(context.Background(), scanresult.VulnFilter{Digest: digest})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var ids []string
	for _, r := range rows {
		if !seen[r.VulnID] {
			seen[r.VulnID] = true
			ids = append(ids, r.VulnID)
		}
	}
	sort.Strings(ids)
	return ids
}

// TestScanGoBinaryEndToEnd: sync → request → worker → the row shows
// success and a vul_num that equals the distinct ids an independent
// evaluation of the Go vulnerability database finds.
func TestScanGoBinaryEndToEnd(t *testing.T) {
	reg := registrytest.New(t)
	// A config history as docker build writes it: an ENV step made no
	// layer, so the RUN step (with a build argument) is the second layer's.
	img := imagetest.WithConfigFile(t, vulnImage(t), func(cf *v1.ConfigFile) {
		cf.History = []v1.History{{CreatedBy: "/bin/sh -c #(nop) ADD file:os-release in /"},
			{CreatedBy: "/bin/sh -c #(nop)  ENV APP=vulnapp", EmptyLayer: true},
			{CreatedBy: "RUN |1 GITHUB_TOKEN=ghp_leak0123 /bin/sh -c cp vulnapp /usr/local/bin/ # buildkit"}}
	})
	d := push(t, reg, "team/app", "1.0", img)
	push(t, reg, "team/app", "same", img) // a second tag of the same manifest
	e := newEnv(t, reg, envConfig{})
	ctx := context.Background()

	rows := e.syncAll(t)
	a, b := rows["team/app:1.0"], rows["team/app:same"]
	tickets, err := e.svc.Request(ctx, project, []inventory.Image{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(tickets) != 1 || tickets[0].Digest != d.String() {
		t.Fatalf("two tags of one manifest gave tickets %+v, want one scan of %s", tickets, d)
	}
	// Asking again while queued joins the queued scan.
	again, err := e.svc.Request(ctx, project, []inventory.Image{b})
	if err != nil || len(again) != 1 || !again[0].Joined || again[0].Job.ID != tickets[0].Job.ID {
		t.Fatalf("second request = %+v, %v; want it joined to job %d", again, err, tickets[0].Job.ID)
	}
	for ref, r := range e.rows(t) {
		if r.ScanStatus != inventory.WaitingForScan {
			t.Fatalf("%s is %s after the request, want waiting_for_scan", ref, r.ScanStatus)
		}
	}

	e.runAll(t)

	got := vulnIDs(t, e, d.String())
	pkgs := map[string]string{"stdlib": goVersion()}
	for m, v := range vulnDeps {
		pkgs[m] = v
	}
	want := expectedGoVulns(t, goVulnDB(t), pkgs, runtime.GOOS, runtime.GOARCH)
	wantIDs := make([]string, 0, len(want))
	for id := range want {
		wantIDs = append(wantIDs, id)
	}
	sort.Strings(wantIDs)
	if !slices.Equal(got, wantIDs) {
		t.Fatalf("reported ids differ from the independent evaluation\n got %v\nwant %v", got, wantIDs)
	}
	if !slices.Contains(got, "GO-2022-1059") {
		t.Fatalf("golang.org/x/text v0.3.7 must report GO-2022-1059; got %v", got)
	}
	for ref, r := range e.rows(t) {
		if r.ScanStatus != inventory.ScanSuccess || int(r.VulNum) != len(wantIDs) || r.LatestScanTime == 0 || r.ScanFailedDesc != "" {
			t.Fatalf("%s after scan: status %s, vul_num %d (want %d), scan time %d, desc %q", ref, r.ScanStatus, r.VulNum, len(wantIDs), r.LatestScanTime, r.ScanFailedDesc)
		}
	}

	// The software list shows the modules at their versions, in the
	// binary's layer, with per-package counts.
	_, apps, err := e.store.ListApps(ctx, scanresult.AppFilter{Digest: d.String()})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	binLayer := m.Layers[1].Digest.String()
	found := map[string]scanresult.AppRow{}
	for _, a := range apps {
		found[a.Name] = a
	}
	for mod, v := range vulnDeps {
		a, ok := found[mod]
		if !ok || strings.TrimPrefix(a.Version, "v") != strings.TrimPrefix(v, "v") || a.LayerDigest != binLayer ||
			!strings.HasSuffix(a.Path, "usr/local/bin/vulnapp") {
			t.Fatalf("apps: %s = %+v (found %v), want version %s in layer %s", mod, a, ok, v, binLayer)
		}
	}
	if found["golang.org/x/text"].VulNum == 0 {
		t.Fatalf("x/text has no vulnerabilities in the apps list: %+v", found["golang.org/x/text"])
	}

	// The inventory keeps each layer's size and the step that made it.
	sb, err := e.store.GetSBOM(ctx, d.String())
	if err != nil {
		t.Fatal(err)
	}
	wantHistory := []scanresult.LayerHistory{{Size: m.Layers[0].Size, CreatedBy: "/bin/sh -c #(nop) ADD file:os-release in /"},
		{Size: m.Layers[1].Size, CreatedBy: "RUN |1 GITHUB_TOKEN=****** /bin/sh -c cp vulnapp /usr/local/bin/ # buildkit"}} // the build argument's value masked
	if !reflect.DeepEqual(sb.History, wantHistory) {
		t.Fatalf("layer history = %+v\nwant %+v", sb.History, wantHistory)
	}
	// One scan ran (the second request joined it): the project's history
	// has it, with the counts the rows show.
	hist, err := e.store.ScanHistory(ctx, project, d.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Status != inventory.ScanSuccess || int(hist[0].VulNum) != len(wantIDs) ||
		hist[0].ScanTime != e.rows(t)["team/app:1.0"].LatestScanTime {
		t.Fatalf("scan history = %+v, want one success with vul_num %d", hist, len(wantIDs))
	}

	// The GO-2022-1059 row: position, path, version, solution, url.
	_, vr, err := e.store.ListVulns(ctx, scanresult.VulnFilter{Digest: d.String(), VulnID: "2022-1059"})
	if err != nil || len(vr) != 1 {
		t.Fatalf("vul_id filter: %v %+v", err, vr)
	}
	v := vr[0]
	if v.AppName != "golang.org/x/text" || v.FixedVersion == "" || v.LayerDigest != binLayer || v.URL == "" ||
		v.Description == "" || v.Type != scanresult.AppVul || v.RepairNecessity == "" {
		t.Fatalf("GO-2022-1059 row = %+v", v)
	}
}

// TestRematchPullsNothing: after an import, every stored inventory is
// matched again; the registry sees no request while that happens, and
// vul_num follows the data.
func TestRematchPullsNothing(t *testing.T) {
	var requests atomic.Int64
	reg := registrytest.New(t, registrytest.WithMiddleware(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			h.ServeHTTP(w, r)
		})
	}))
	push(t, reg, "team/app", "1.0", vulnImage(t))
	// A second image with the same program and more: the re-match matches
	// the shared packages once and must still give each image its own
	// findings. Its windows program holds the same stdlib version built for
	// another platform: a package the re-match must match on its own.
	withMore, err := mutate.AppendLayers(vulnImage(t), imagetest.Layer(t,
		imagetest.Exe("app/winapp.exe", string(windowsBinary(t))),
		imagetest.Exe("usr/local/bin/vulnapp2", string(vulnBinary(t))),
	))
	if err != nil {
		t.Fatal(err)
	}
	push(t, reg, "team/app", "2.0", withMore)
	// Scanned against an empty database first: nothing to report.
	e := newEnv(t, reg, envConfig{noVulnData: true})
	ctx := context.Background()
	rows := e.syncAll(t)
	if _, err := e.svc.Request(ctx, project, []inventory.Image{rows["team/app:1.0"], rows["team/app:2.0"]}); err != nil {
		t.Fatal(err)
	}
	e.runAll(t)
	if r := e.rows(t)["team/app:1.0"]; r.ScanStatus != inventory.ScanSuccess || r.VulNum != 0 {
		t.Fatalf("before import: %s vul_num %d", r.ScanStatus, r.VulNum)
	}
	scanTime := e.rows(t)["team/app:1.0"].LatestScanTime

	if _, err := e.db.Import(ctx, goVulnDB(t)); err != nil {
		t.Fatal(err)
	}
	queued, err := e.svc.RematchIfStale(ctx)
	if err != nil || !queued {
		t.Fatalf("RematchIfStale after an import = %v, %v; want a queued re-match", queued, err)
	}
	before := requests.Load()
	e.runAll(t)
	if n := requests.Load() - before; n != 0 {
		t.Fatalf("the registry saw %d requests during the re-match, want 0", n)
	}
	r := e.rows(t)["team/app:1.0"]
	if r.VulNum == 0 || r.ScanStatus != inventory.ScanSuccess || r.LatestScanTime != scanTime {
		t.Fatalf("after re-match: status %s, vul_num %d, scan time %d (was %d)", r.ScanStatus, r.VulNum, r.LatestScanTime, scanTime)
	}
	if ids := vulnIDs(t, e, r.ManifestDigest); len(ids) != int(r.VulNum) || !slices.Contains(ids, "GO-2022-1059") {
		t.Fatalf("findings after re-match: %v (vul_num %d)", ids, r.VulNum)
	}
	if queued, err := e.svc.RematchIfStale(ctx); err != nil || queued {
		t.Fatalf("RematchIfStale right after a re-match = %v, %v; want nothing to do", queued, err)
	}

	// What the re-match stored is what the independent evaluation finds for
	// each binary's platform (windows-only records on the windows program's
	// stdlib, not on the linux one's), and what a fresh scan finds.
	pkgs := map[string]string{"stdlib": goVersion()}
	for m, v := range vulnDeps {
		pkgs[m] = v
	}
	native := expectedGoVulns(t, goVulnDB(t), pkgs, runtime.GOOS, runtime.GOARCH)
	windows := expectedGoVulns(t, goVulnDB(t), map[string]string{"stdlib": goVersion()}, "windows", "amd64")
	wantIDs := map[string][]string{"team/app:1.0": sortedKeys(native), "team/app:2.0": sortedKeys(native, windows)}
	rematched := map[string][]string{}
	for _, ref := range []string{"team/app:1.0", "team/app:2.0"} {
		rematched[ref] = vulnIDs(t, e, e.rows(t)[ref].ManifestDigest)
		if !slices.Equal(rematched[ref], wantIDs[ref]) {
			t.Fatalf("%s: the re-match stored %v\nthe independent evaluation finds %v", ref, rematched[ref], wantIDs[ref])
		}
	}
	rows = e.rows(t)
	if _, err := e.svc.Request(ctx, project, []inventory.Image{rows["team/app:1.0"], rows["team/app:2.0"]}); err != nil {
		t.Fatal(err)
	}
	e.runAll(t)
	for ref, want := range rematched {
		r := e.rows(t)[ref]
		if got := vulnIDs(t, e, r.ManifestDigest); !slices.Equal(got, want) || int(r.VulNum) != len(want) {
			t.Fatalf("%s: fresh scan finds %v (vul_num %d), the re-match stored %v", ref, got, r.VulNum, want)
		}
	}
}

// sortedKeys returns the keys of the sets, deduplicated and sorted.
func sortedKeys(sets ...map[string]bool) []string {
	var out []string
	for _, set := range sets {
		for k := range set {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestFailureMapping drives each failure through a real registry and
// checks the status and scan_failed_desc the rows end with.
func TestFailureMapping(t *testing.T) {
	ctx := context.Background()
	small := image(t, imagetest.Layer(t, imagetest.Reg("etc/os-release", "ID=test\n")))

	t.Run("wrong password", func(t *testing.T) {
		reg := registrytest.New(t, registrytest.WithBasicAuth("alice", "secret"))
		push(t, reg, "team/app", "1", small)
		e := newEnv(t, reg, envConfig{user: "alice", pass: "secret", noVulnData: true})
		rows := e.syncAll(t)
		// The password changes after the sync.
		reg2 := e.reg
		sealed, _ := e.box.Seal("wrong")
		reg2.PasswordSealed = sealed
		if _, err := e.store.UpdateRegistry(ctx, reg2); err != nil {
			t.Fatal(err)
		}
		checkOutcome(t, e, rows["team/app:1"], inventory.DownloadFailed, "authentication_failed", true)
	})
	t.Run("registry down", func(t *testing.T) {
		reg := registrytest.New(t)
		push(t, reg, "team/app", "1", small)
		e := newEnv(t, reg, envConfig{noVulnData: true})
		rows := e.syncAll(t)
		reg.Close()
		checkOutcome(t, e, rows["team/app:1"], inventory.DownloadFailed, "download_failed", true)
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		var stall atomic.Bool
		reg := registrytest.New(t, registrytest.WithMiddleware(func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if stall.Load() && strings.Contains(r.URL.Path, "/blobs/") {
					select {
					case <-release:
					case <-r.Context().Done():
					}
				}
				h.ServeHTTP(w, r)
			})
		}))
		t.Cleanup(func() { close(release) })
		push(t, reg, "team/app", "1", small)
		e := newEnv(t, reg, envConfig{noVulnData: true, timeout: 300 * time.Millisecond})
		rows := e.syncAll(t)
		stall.Store(true)
		checkOutcome(t, e, rows["team/app:1"], inventory.DownloadFailed, "response_timed_out", true)
	})
	t.Run("oversized", func(t *testing.T) {
		reg := registrytest.New(t)
		push(t, reg, "team/app", "1", small)
		e := newEnv(t, reg, envConfig{noVulnData: true, maxImageSize: 64})
		rows := e.syncAll(t)
		checkOutcome(t, e, rows["team/app:1"], inventory.ImageOversized, "image_oversized", false)
	})
}

func checkOutcome(t *testing.T, e *env, img inventory.Image, status inventory.ScanStatus, desc string, scannable bool) {
	t.Helper()
	if !img.Scannable {
		t.Fatalf("%s/%s:%s is not scannable before the scan", img.Namespace, img.Name, img.Tag)
	}
	if _, err := e.svc.Request(context.Background(), project, []inventory.Image{img}); err != nil {
		t.Fatal(err)
	}
	e.runAll(t)
	got, err := e.store.GetImage(context.Background(), project, img.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ScanStatus != status || got.ScanFailedDesc != desc || got.Scannable != scannable || got.LatestScanTime == 0 {
		t.Fatalf("after scan: status %s desc %q scannable %v time %d; want %s %q %v", got.ScanStatus, got.ScanFailedDesc,
			got.Scannable, got.LatestScanTime, status, desc, scannable)
	}
	if _, err := e.store.GetSBOM(context.Background(), got.ManifestDigest); err == nil {
		t.Fatal("a failed scan left an SBOM behind")
	}
	// The newest entry of the project's scan history is this failure.
	hist, err := e.store.ScanHistory(context.Background(), project, got.ManifestDigest)
	want := inventory.ScanResult{Status: status, FailedDesc: desc, ScanTime: got.LatestScanTime}
	if err != nil || len(hist) == 0 || !reflect.DeepEqual(hist[0], want) {
		t.Fatalf("scan history = %+v, %v; want %+v first", hist, err, want)
	}
}

// TestKilledWorkerResumes: a worker is stopped in the middle of a scan (its
// runner's context ends, as on SIGTERM); the job goes back to the queue and
// a restarted runner takes it at once and completes the scan. (A kill -9
// leaves the job to its lease instead: internal/jobs tests that.)
func TestKilledWorkerResumes(t *testing.T) {
	entered := make(chan struct{}, 1)
	var hold atomic.Bool
	reg := registrytest.New(t, registrytest.WithMiddleware(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if hold.Load() && strings.Contains(r.URL.Path, "/blobs/") {
				select {
				case entered <- struct{}{}:
				default:
				}
				<-r.Context().Done() // the first worker never gets its layers
				return
			}
			h.ServeHTTP(w, r)
		})
	}))
	push(t, reg, "team/app", "1", vulnImage(t))
	e := newEnv(t, reg, envConfig{})
	ctx := context.Background()
	rows := e.syncAll(t)
	tk, err := e.svc.Request(ctx, project, []inventory.Image{rows["team/app:1"]})
	if err != nil {
		t.Fatal(err)
	}
	hold.Store(true) // the sync read the config; from now on layers hang

	first := e.runner(t, time.Hour) // heartbeats never matter: it is killed first
	runCtx, kill := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); first.Run(runCtx) }()
	<-entered
	if r := e.rows(t)["team/app:1"]; r.ScanStatus != inventory.Scanning {
		t.Fatalf("while the first worker scans: %s", r.ScanStatus)
	}
	kill()
	<-done
	hold.Store(false)
	if j, _ := e.store.GetJob(ctx, tk[0].Job.ID); j.State != jobs.Queued {
		t.Fatalf("stopped worker's job is %s, want queued again", j.State)
	}

	// A restarted process takes it without waiting for a lease.
	second := e.runner(t, 0)
	if err := second.RunUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}
	j, err := e.store.GetJob(ctx, tk[0].Job.ID)
	if err != nil || j.State != jobs.Done || j.Attempts != 1 {
		t.Fatalf("job after restart: %+v, %v; want done, the stopped attempt not counted", j, err)
	}
	if r := e.rows(t)["team/app:1"]; r.ScanStatus != inventory.ScanSuccess || r.VulNum == 0 {
		t.Fatalf("after restart: %s vul_num %d", r.ScanStatus, r.VulNum)
	}
}

// TestSweepFailsOrphans: a row left "scanning" without a live job (the
// runner gave up on it) is failed by the sweep, not left forever.
func TestSweepFailsOrphans(t *testing.T) {
	reg := registrytest.New(t)
	push(t, reg, "team/app", "1", image(t, imagetest.Layer(t, imagetest.Reg("a", "a"))))
	e := newEnv(t, reg, envConfig{noVulnData: true})
	ctx := context.Background()
	rows := e.syncAll(t)
	tk, err := e.svc.Request(ctx, project, []inventory.Image{rows["team/app:1"]})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep with a live job failed %d scans (%v)", n, err)
	}
	// The runner gives up: the job ends failed without its handler.
	j, err := e.store.Claim(ctx, []string{scanjob.JobKind}, "dead", time.Now(), time.Minute)
	if err != nil || j.ID != tk[0].Job.ID {
		t.Fatalf("claim: %+v %v", j, err)
	}
	if err := e.store.SetScanStatus(ctx, j.ProjectID, tk[0].Digest, inventory.Scanning); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Finish(ctx, j.Lease(), "gave up", time.Now()); err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v; want 1", n, err)
	}
	if r := e.rows(t)["team/app:1"]; r.ScanStatus != inventory.ScanFailed || r.ScanFailedDesc != "unknown_error" {
		t.Fatalf("orphan after sweep: %s %q", r.ScanStatus, r.ScanFailedDesc)
	}
	// The failure is in the project's scan history, as a worker's would be.
	hist, err := e.store.ScanHistory(ctx, project, tk[0].Digest)
	if err != nil || len(hist) != 1 || hist[0].Status != inventory.ScanFailed || hist[0].FailedDesc != "unknown_error" {
		t.Fatalf("scan history after the sweep = %+v, %v", hist, err)
	}
}

// TestLocalImageScan: a local_image row is scanned from the file it was
// imported from.
func TestLocalImageScan(t *testing.T) {
	reg := registrytest.New(t)
	e := newEnv(t, reg, envConfig{})
	ctx := context.Background()
	img := vulnImage(t)
	path := filepath.Join(t.TempDir(), "app.tar")
	if err := writeTarball(path, img); err != nil {
		t.Fatal(err)
	}
	row := importLocal(t, e, path)
	if _, err := e.svc.Request(ctx, project, []inventory.Image{row}); err != nil {
		t.Fatal(err)
	}
	e.runAll(t)
	got, err := e.store.GetImage(ctx, project, row.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ScanStatus != inventory.ScanSuccess || got.VulNum == 0 {
		t.Fatalf("local image after scan: %s %q vul_num %d", got.ScanStatus, got.ScanFailedDesc, got.VulNum)
	}
	// The file is gone: the next scan cannot read it.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	checkOutcome(t, e, got, inventory.DownloadFailed, "download_failed", true)
}
