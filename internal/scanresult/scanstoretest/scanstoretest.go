// Package scanstoretest is the shared suite of the scan side of a store:
// scanresult.Store and the scan status, source and bookkeeping methods the
// scan service and the scan APIs use (store.Scans). Every store runs it, so
// the embedded and the scale-out store keep one set of semantics.
package scanstoretest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/inventory/storetest"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/scanresult"
)

// Store is what the suite needs: the inventory to create rows with, the
// job queue OrphanedScans looks at, and the scan methods under test (the
// method set of store.Scans, repeated here because the store package
// imports the stores this suite tests).
type Store interface {
	inventory.Store
	jobs.Store
	scanresult.Store
	scanresult.AnalysisStore
	scanresult.PathWhitelistStore
	scanresult.FindingsAggregator
	scanresult.ScanHistoryStore
	SetScanResult(ctx context.Context, digest string, r inventory.ScanResult) error
	SetScanStatus(ctx context.Context, projectID, digest string, status inventory.ScanStatus) error
	QueueScans(ctx context.Context, projectID string, js []jobs.Job, digests []string) ([]jobs.Job, []bool, error)
	RestoreScanStatus(ctx context.Context, projectID, digest string) error
	SetScannable(ctx context.Context, projectID, digest string, scannable bool) error
	ImagesByDigest(ctx context.Context, projectID, digest string) ([]inventory.Image, error)
	ImagesByRef(ctx context.Context, projectID string, t inventory.ImageType, namespace, name, tag string) ([]inventory.Image, error)
	SetLocalSource(ctx context.Context, imageID int64, path, ref string) error
	LocalSource(ctx context.Context, imageID int64) (path, ref string, err error)
	OrphanedScans(ctx context.Context, kind string) ([]inventory.ScanRequest, error)
	AdoptSharedScope(ctx context.Context, projectID, digest string, since int64, scope scanresult.Scope) (bool, error)
	ScanMeta(ctx context.Context, key string) (int64, error)
	SetScanMeta(ctx context.Context, key string, value int64) error
}

// Run runs the suite; open must return a new, empty store each call (the
// suite closes it).
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"SaveGetClear", testSaveGetClear},
		{"SaveRollsBack", testSaveRollsBack},
		{"ListVulns", testListVulns},
		{"CountFindings", testCountFindings},
		{"TopImagesAndVulns", testTopImagesAndVulns},
		{"ListApps", testListApps},
		{"ReplaceFindings", testReplaceFindings},
		{"ReplaceFindingsBatch", testReplaceFindingsBatch},
		{"ReplaceFindingsMany", testReplaceFindingsMany},
		{"ScanStatus", testScanStatus},
		{"ScanStatePerProject", testScanStatePerProject},
		{"ScanRestore", testScanRestore},
		{"QueueScans", testQueueScans},
		{"Scannable", testScannable},
		{"ImagesByDigestAndRef", testImagesBy},
		{"LocalSource", testLocalSource},
		{"OrphanedScans", testOrphanedScans},
		{"ScanMeta", testScanMeta},
		{"ConcurrentWriters", testConcurrentWriters},
		{"AnalysisSaveGetClear", testAnalysisSaveGetClear},
		{"ScopedSave", testScopedSave},
		{"ReplaceMalware", testReplaceMalware},
		{"Signatures", testSignatures},
		{"PathWhitelist", testPathWhitelist},
		{"FindingsAggregation", testFindingsAggregation},
		{"SeverityLevel", testSeverityLevel},
		{"LayerHistory", testLayerHistory},
		{"ScanHistory", testScanHistory},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() {
				if err := st.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			tc.fn(t, &env{t: t, ctx: context.Background(), st: st})
		})
	}
}

type env struct {
	t   *testing.T
	ctx context.Context
	st  Store
}

var digest = storetest.Digest

func image(d string) inventory.Manifest {
	return inventory.Manifest{Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json",
		Size: 100, Created: 1000, Platform: "linux/amd64", Scannable: true}
}

func tag(t, d string) inventory.TagRef { return inventory.TagRef{Tag: t, Digest: d, ManifestDigest: d} }

// world is two projects, two connections of p1 and one of p2, holding
// lib/app:1 (digest a) in all three, lib/app:2 (digest b) in the first.
type world struct {
	a, b       string
	r1, r2, r3 inventory.Registry
}

func (e *env) world() world {
	e.t.Helper()
	w := world{a: digest("a"), b: digest("b")}
	for _, p := range []string{"p1", "p2"} {
		if _, err := e.st.EnsureProject(e.ctx, inventory.Project{ID: p}); err != nil {
			e.t.Fatal(err)
		}
	}
	reg := func(project, addr string) inventory.Registry {
		r, err := e.st.CreateRegistry(e.ctx, inventory.Registry{ProjectID: project, EnterpriseProjectID: "0", Name: addr,
			Type: inventory.Harbor, Protocol: "https", Addr: addr})
		if err != nil {
			e.t.Fatal(err)
		}
		return r
	}
	w.r1, w.r2, w.r3 = reg("p1", "one.example"), reg("p1", "two.example"), reg("p2", "one.example")
	e.sync(w.r1, inventory.RepoSnapshot{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{tag("1", w.a), tag("2", w.b)}})
	e.sync(w.r2, inventory.RepoSnapshot{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{tag("1", w.a)}})
	e.sync(w.r3, inventory.RepoSnapshot{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{tag("1", w.a)}})
	return w
}

func (e *env) sync(r inventory.Registry, repos ...inventory.RepoSnapshot) {
	e.t.Helper()
	var ms []inventory.Manifest
	for _, repo := range repos {
		for _, t := range repo.Tags {
			ms = append(ms, image(t.ManifestDigest))
		}
	}
	if _, err := e.st.ApplySync(e.ctx, inventory.Snapshot{RegistryID: r.ID, SeenAt: 1, Manifests: ms, Repositories: repos}); err != nil {
		e.t.Fatalf("ApplySync: %v", err)
	}
}

// rows returns every private row of the project whose manifest is d.
func (e *env) rows(project, d string) []inventory.Image {
	e.t.Helper()
	p, err := e.st.ListImages(e.ctx, inventory.Filter{ProjectID: project, Type: inventory.PrivateImage, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []inventory.Image
	for _, img := range p.Images {
		if img.ManifestDigest == d {
			out = append(out, img)
		}
	}
	return out
}

// checkRows fails unless every row of d in both projects shows status,
// desc and vul.
func (e *env) checkRows(d string, status inventory.ScanStatus, desc string, vul int32) {
	e.t.Helper()
	n := 0
	for _, p := range []string{"p1", "p2"} {
		for _, img := range e.rows(p, d) {
			n++
			if img.ScanStatus != status || img.ScanFailedDesc != desc || img.VulNum != vul {
				e.t.Fatalf("row %d (%s) = %s %q vul %d; want %s %q vul %d", img.ID, p, img.ScanStatus, img.ScanFailedDesc, img.VulNum,
					status, desc, vul)
			}
		}
	}
	if n == 0 {
		e.t.Fatalf("no rows of %s", d)
	}
}

// clearAll records a failed scan of d through both projects.
func (e *env) clearAll(d string, r inventory.ScanResult) error {
	for _, p := range []string{"p1", "p2"} {
		if err := e.st.ClearScan(e.ctx, p, d, r); err != nil {
			return err
		}
	}
	return nil
}

// statusAll sets status on the rows of d of both projects.
func (e *env) statusAll(d string, status inventory.ScanStatus) error {
	for _, p := range []string{"p1", "p2"} {
		if err := e.st.SetScanStatus(e.ctx, p, d, status); err != nil {
			return err
		}
	}
	return nil
}

// waitingAll marks the rows of d of both projects waiting.
func (e *env) waitingAll(d string) error {
	for _, p := range []string{"p1", "p2"} {
		if err := e.markWaiting(p, d); err != nil {
			return err
		}
	}
	return nil
}

// sbom is an inventory of d: a dpkg package, a Go module in two binaries
// built for different platforms and an npm package.
func sbom(d string) scanresult.SBOM {
	return scanresult.SBOM{
		Digest: d, Layers: []string{digest("l1"), digest("l2")}, OSID: "debian", OSVersion: "12",
		OSName: "Debian GNU/Linux 12 (bookworm)", ScannedAt: 5000,
		Packages: []scanresult.Package{
			{Name: "openssl", Version: "3.0.11-1", Ecosystem: "Debian:12", SourceName: "openssl", SourceVersion: "3.0.11-1",
				Type: "dpkg", Path: "var/lib/dpkg/status", LayerDigest: digest("l1"), PURL: "pkg:deb/debian/openssl@3.0.11-1"},
			{Name: "golang.org/x/net", Version: "v0.1.0", Ecosystem: "Go", Type: "go-module", Path: "usr/bin/b",
				LayerDigest: digest("l2"), PURL: "pkg:golang/golang.org/x/net@v0.1.0", Platform: "linux/amd64"},
			{Name: "golang.org/x/net", Version: "v0.1.0", Ecosystem: "Go", Type: "go-module", Path: "usr/bin/a",
				LayerDigest: digest("l2"), PURL: "pkg:golang/golang.org/x/net@v0.1.0", Platform: "windows/arm64"},
			{Name: "left-pad", Version: "1.0.0", Ecosystem: "npm", Type: "npm", Path: "app/node_modules/left-pad/package.json",
				LayerDigest: digest("l2")},
		},
	}
}

// findings of sbom(): two on x/net at usr/bin/b, one on each x/net
// binary, one on openssl, one repeated.
func findings() []scanresult.Finding {
	return []scanresult.Finding{
		{Package: 1, VulnID: "GO-2023-0002", RepairNecessity: "delay_repair", Severity: "MEDIUM", Score: 5.3, Description: "two",
			URL: "https://osv.dev/GO-2023-0002", Aliases: []string{"CVE-2023-2"}},
		{Package: 1, VulnID: "GO-2023-0001", RepairNecessity: "immediate_repair", Severity: "HIGH", Score: 7.5, FixedVersion: "v0.7.0",
			Description: "one", URL: "https://osv.dev/GO-2023-0001", Aliases: []string{"CVE-2023-1", `GHSA-"x"`}},
		{Package: 2, VulnID: "GO-2023-0001", RepairNecessity: "immediate_repair", Severity: "HIGH", Score: 7.5, FixedVersion: "v0.7.0",
			Description: "one"},
		{Package: 0, VulnID: "DEBIAN-CVE-2023-5678", RepairNecessity: "not_needed_repair", Description: "three"},
		{Package: 2, VulnID: "GO-2023-0001", RepairNecessity: "immediate_repair", Description: "repeated"},
	}
}

func (e *env) save(sb scanresult.SBOM, fs []scanresult.Finding) {
	e.t.Helper()
	r := inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: sb.ScannedAt, VulNum: scanresult.DistinctVulns(fs)}
	if err := e.st.SaveScan(e.ctx, sb, fs, r); err != nil {
		e.t.Fatalf("SaveScan: %v", err)
	}
}

// replace is a re-match's write of one inventory.
func (e *env) replace(d string, fs []scanresult.Finding, vulNum int32) error {
	return e.st.ReplaceFindings(e.ctx, []scanresult.FindingsUpdate{{Digest: d, Findings: fs, VulNum: vulNum}})
}

func (e *env) vulns(f scanresult.VulnFilter) (int64, []scanresult.VulnRow) {
	e.t.Helper()
	total, rows, err := e.st.ListVulns(e.ctx, f)
	if err != nil {
		e.t.Fatalf("ListVulns(%+v): %v", f, err)
	}
	if rows == nil {
		e.t.Fatalf("ListVulns(%+v) returned nil rows, want an empty slice", f)
	}
	return total, rows
}

func (e *env) apps(f scanresult.AppFilter) (int64, []scanresult.AppRow) {
	e.t.Helper()
	total, rows, err := e.st.ListApps(e.ctx, f)
	if err != nil {
		e.t.Fatalf("ListApps(%+v): %v", f, err)
	}
	if rows == nil {
		e.t.Fatalf("ListApps(%+v) returned nil rows, want an empty slice", f)
	}
	return total, rows
}

func equalSBOM(a, b scanresult.SBOM) bool {
	return a.Digest == b.Digest && slices.Equal(a.Layers, b.Layers) && a.OSID == b.OSID && a.OSVersion == b.OSVersion &&
		a.OSName == b.OSName && a.ScannedAt == b.ScannedAt && slices.Equal(a.Packages, b.Packages)
}

func testSaveGetClear(t *testing.T, e *env) {
	w := e.world()
	if _, err := e.st.GetSBOM(e.ctx, w.a); !errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("GetSBOM before any scan: %v, want ErrNotFound", err)
	}
	if ds, err := e.st.SBOMDigests(e.ctx); err != nil || len(ds) != 0 {
		t.Fatalf("SBOMDigests of an empty store = %v, %v", ds, err)
	}
	sb := sbom(w.a)
	e.save(sb, findings())
	got, err := e.st.GetSBOM(e.ctx, w.a)
	if err != nil || !equalSBOM(got, sb) {
		t.Fatalf("GetSBOM = %+v, %v\nwant %+v", got, err, sb)
	}
	e.checkRows(w.a, inventory.ScanSuccess, "", 3)
	e.checkRows(w.b, inventory.Unscan, "", 0)

	// An SBOM without packages or layers reads back empty, not nil layers.
	empty := scanresult.SBOM{Digest: w.b, ScannedAt: 7}
	e.save(empty, nil)
	got, err = e.st.GetSBOM(e.ctx, w.b)
	if err != nil || len(got.Packages) != 0 || got.Layers == nil || len(got.Layers) != 0 || got.ScannedAt != 7 {
		t.Fatalf("empty SBOM = %+v, %v", got, err)
	}
	if ds, err := e.st.SBOMDigests(e.ctx); err != nil || !slices.Equal(ds, slices.Sorted(slices.Values([]string{w.a, w.b}))) {
		t.Fatalf("SBOMDigests = %v, %v", ds, err)
	}

	// A re-scan replaces the inventory and its findings.
	sb2 := sbom(w.a)
	sb2.Packages = sb2.Packages[:1]
	sb2.ScannedAt = 6000
	e.save(sb2, findings()[3:4])
	got, err = e.st.GetSBOM(e.ctx, w.a)
	if err != nil || !equalSBOM(got, sb2) {
		t.Fatalf("GetSBOM after re-scan = %+v, %v", got, err)
	}
	if total, rows := e.vulns(scanresult.VulnFilter{Digest: w.a}); total != 1 || rows[0].VulnID != "DEBIAN-CVE-2023-5678" {
		t.Fatalf("findings after re-scan: %d %+v", total, rows)
	}
	e.checkRows(w.a, inventory.ScanSuccess, "", 1)

	// A failed scan leaves nothing behind.
	if err := e.clearAll(w.a, inventory.ScanResult{Status: inventory.DownloadFailed, FailedDesc: "response_timed_out", ScanTime: 7000}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.GetSBOM(e.ctx, w.a); !errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("GetSBOM after ClearScan: %v", err)
	}
	if total, _ := e.vulns(scanresult.VulnFilter{Digest: w.a}); total != 0 {
		t.Fatalf("%d findings after ClearScan", total)
	}
	if total, _ := e.apps(scanresult.AppFilter{Digest: w.a}); total != 0 {
		t.Fatalf("%d packages after ClearScan", total)
	}
	if ds, _ := e.st.SBOMDigests(e.ctx); !slices.Equal(ds, []string{w.b}) {
		t.Fatalf("SBOMDigests after ClearScan = %v", ds)
	}
	e.checkRows(w.a, inventory.DownloadFailed, "response_timed_out", 0)
	if img := e.rows("p1", w.a)[0]; img.LatestScanTime != 7000 {
		t.Fatalf("latest scan time %d, want 7000", img.LatestScanTime)
	}

	// A result for a digest no row has yet waits on the manifest for the
	// sync that brings it.
	c := digest("c")
	e.save(sbom(c), findings()[:1])
	e.sync(w.r2, inventory.RepoSnapshot{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{tag("1", w.a), tag("3", c)}})
	if rows := e.rows("p1", c); len(rows) != 1 || rows[0].ScanStatus != inventory.ScanSuccess || rows[0].VulNum != 1 {
		t.Fatalf("row synced after its scan: %+v", rows)
	}
}

// testSaveRollsBack: a finding naming a package the SBOM lacks fails the
// whole save; the previous scan stays as it was.
func testSaveRollsBack(t *testing.T, e *env) {
	w := e.world()
	sb := sbom(w.a)
	e.save(sb, findings())
	bad := sbom(w.a)
	bad.Packages = bad.Packages[:1]
	bad.ScannedAt = 9999
	err := e.st.SaveScan(e.ctx, bad, findings(), inventory.ScanResult{Status: inventory.ScanSuccess, VulNum: 9})
	if err == nil {
		t.Fatal("SaveScan accepted a finding on a package the SBOM does not have")
	}
	if got, err := e.st.GetSBOM(e.ctx, w.a); err != nil || !equalSBOM(got, sb) {
		t.Fatalf("SBOM after failed save = %+v, %v", got, err)
	}
	if total, _ := e.vulns(scanresult.VulnFilter{Digest: w.a}); total != 4 {
		t.Fatalf("%d findings after failed save, want 4", total)
	}
	e.checkRows(w.a, inventory.ScanSuccess, "", 3)
	if err := e.replace(w.a, []scanresult.Finding{{Package: 17, VulnID: "X"}}, 1); err == nil {
		t.Fatal("ReplaceFindings accepted a finding on a package the SBOM does not have")
	}
	if total, _ := e.vulns(scanresult.VulnFilter{Digest: w.a}); total != 4 {
		t.Fatalf("%d findings after failed re-match, want 4", total)
	}
}

func vulnKeys(rows []scanresult.VulnRow) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.VulnID+"@"+r.AppPath)
	}
	return out
}

func testListVulns(t *testing.T, e *env) {
	w := e.world()
	e.save(sbom(w.a), findings())
	// Most urgent first, then id, package name, path; the repeat is gone.
	all := []string{"GO-2023-0001@usr/bin/a", "GO-2023-0001@usr/bin/b", "GO-2023-0002@usr/bin/b", "DEBIAN-CVE-2023-5678@var/lib/dpkg/status"}
	total, rows := e.vulns(scanresult.VulnFilter{Digest: w.a})
	if total != 4 || !slices.Equal(vulnKeys(rows), all) {
		t.Fatalf("all findings: %d %v\nwant %v", total, vulnKeys(rows), all)
	}
	want := scanresult.VulnRow{VulnID: "GO-2023-0001", RepairNecessity: "immediate_repair", Severity: "HIGH", Description: "one",
		LayerDigest: digest("l2"), AppName: "golang.org/x/net", AppPath: "usr/bin/a", Version: "v0.1.0", FixedVersion: "v0.7.0",
		Type: scanresult.AppVul, Aliases: []string{}}
	if !reflect.DeepEqual(rows[0], want) {
		t.Fatalf("first row = %+v\nwant %+v", rows[0], want)
	}
	// The aliases come back as matched, quotes and all.
	if got := rows[1].Aliases; !slices.Equal(got, []string{"CVE-2023-1", `GHSA-"x"`}) {
		t.Fatalf("aliases of %s = %q", vulnKeys(rows)[1], got)
	}
	if rows[3].Type != scanresult.LinuxVul || rows[3].AppName != "openssl" {
		t.Fatalf("dpkg finding = %+v", rows[3])
	}
	yes, no := true, false
	for _, tc := range []struct {
		name  string
		f     scanresult.VulnFilter
		total int64
		want  []string
	}{
		{"page", scanresult.VulnFilter{Offset: 1, Limit: 2}, 4, all[1:3]},
		{"past the end", scanresult.VulnFilter{Offset: 10, Limit: 2}, 4, []string{}},
		{"necessity", scanresult.VulnFilter{RepairNecessity: "delay_repair"}, 1, all[2:3]},
		{"necessity is exact", scanresult.VulnFilter{RepairNecessity: "delay"}, 0, []string{}},
		{"id substring", scanresult.VulnFilter{VulnID: "2023-000"}, 3, all[:3]},
		{"id is case-sensitive", scanresult.VulnFilter{VulnID: "go-2023"}, 0, []string{}},
		{"app substring", scanresult.VulnFilter{AppName: "x/n"}, 3, all[:3]},
		{"app is literal", scanresult.VulnFilter{AppName: "%"}, 0, []string{}},
		{"type linux", scanresult.VulnFilter{Type: scanresult.LinuxVul}, 1, all[3:]},
		{"type app", scanresult.VulnFilter{Type: scanresult.AppVul, Limit: 1}, 3, all[:1]},
		{"combined", scanresult.VulnFilter{VulnID: "0001", AppName: "net", RepairNecessity: "immediate_repair"}, 2, all[:2]},
		{"unstorable", scanresult.VulnFilter{AppName: "\xff\x00"}, 0, []string{}},
		// Labels are matched in any case ("HIGH" is high); an empty label
		// is unknown.
		{"severity high", scanresult.VulnFilter{SeverityClass: scanresult.ClassHigh}, 2, all[:2]},
		{"severity medium", scanresult.VulnFilter{SeverityClass: scanresult.ClassMedium}, 1, all[2:3]},
		{"severity unknown", scanresult.VulnFilter{SeverityClass: scanresult.ClassUnknown}, 1, all[3:]},
		{"severity critical", scanresult.VulnFilter{SeverityClass: scanresult.ClassCritical}, 0, []string{}},
		{"not a severity class", scanresult.VulnFilter{SeverityClass: "HIGH"}, 0, []string{}},
		{"fixable", scanresult.VulnFilter{Fixable: &yes}, 2, all[:2]},
		{"not fixable", scanresult.VulnFilter{Fixable: &no}, 2, all[2:]},
		{"severity and fixable", scanresult.VulnFilter{SeverityClass: scanresult.ClassMedium, Fixable: &yes}, 0, []string{}},
		{"layer", scanresult.VulnFilter{LayerDigest: digest("l1")}, 1, all[3:]},
		{"layer and severity", scanresult.VulnFilter{LayerDigest: digest("l2"), SeverityClass: scanresult.ClassHigh}, 2, all[:2]},
		{"layer is exact", scanresult.VulnFilter{LayerDigest: digest("l")}, 0, []string{}},
		{"severity, fixable and page", scanresult.VulnFilter{SeverityClass: scanresult.ClassHigh, Fixable: &yes, Offset: 1, Limit: 1}, 2, all[1:2]},
		{"other digest", scanresult.VulnFilter{Digest: w.b}, 0, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			if f.Digest == "" {
				f.Digest = w.a
			}
			total, rows := e.vulns(f)
			if total != tc.total || !slices.Equal(vulnKeys(rows), tc.want) {
				t.Fatalf("%+v: %d %v; want %d %v", f, total, vulnKeys(rows), tc.total, tc.want)
			}
		})
	}
}

func testCountFindings(t *testing.T, e *env) {
	w := e.world()
	count := func(project string, eps []string) []scanresult.SeverityCount {
		t.Helper()
		got, err := e.st.CountFindings(e.ctx, project, eps)
		if err != nil {
			t.Fatalf("CountFindings(%s, %v): %v", project, eps, err)
		}
		if got == nil {
			t.Fatalf("CountFindings(%s, %v) = nil, want an empty slice", project, eps)
		}
		return got
	}
	if got := count("p1", nil); len(got) != 0 {
		t.Fatalf("before any scan: %+v", got)
	}
	e.save(sbom(w.a), findings())
	// The repeated finding is stored once; a is shown by two rows of p1
	// and counted once.
	want := []scanresult.SeverityCount{{Severity: "", Findings: 1}, {Severity: "HIGH", Findings: 2, Fixable: 2},
		{Severity: "MEDIUM", Findings: 1}}
	for _, tc := range []struct {
		name    string
		project string
		eps     []string
		want    []scanresult.SeverityCount
	}{
		{"every enterprise project", "p1", nil, want},
		{"granted the rows' one", "p1", []string{"0", "ep9"}, want},
		{"another project showing the same manifest", "p2", nil, want},
		{"an enterprise project without rows", "p1", []string{"ep9"}, nil},
		{"no enterprise project", "p1", []string{}, nil},
		{"a project without rows", "p3", nil, nil},
		{"unstorable", "p1\x00", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := count(tc.project, tc.eps)
			if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func appKeys(rows []scanresult.AppRow) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%s@%s=%d", r.Name, r.Path, r.VulNum))
	}
	return out
}

func testListApps(t *testing.T, e *env) {
	w := e.world()
	e.save(sbom(w.a), findings())
	all := []string{"golang.org/x/net@usr/bin/a=1", "golang.org/x/net@usr/bin/b=2", "left-pad@app/node_modules/left-pad/package.json=0",
		"openssl@var/lib/dpkg/status=1"}
	total, rows := e.apps(scanresult.AppFilter{Digest: w.a})
	if total != 4 || !slices.Equal(appKeys(rows), all) {
		t.Fatalf("apps: %d %v\nwant %v", total, appKeys(rows), all)
	}
	want := scanresult.AppRow{Name: "openssl", Type: "dpkg", Version: "3.0.11-1", Path: "var/lib/dpkg/status", LayerDigest: digest("l1"), VulNum: 1}
	if rows[3] != want {
		t.Fatalf("openssl row = %+v, want %+v", rows[3], want)
	}
	for _, tc := range []struct {
		f     scanresult.AppFilter
		total int64
		want  []string
	}{
		{scanresult.AppFilter{Offset: 2, Limit: 1}, 4, all[2:3]},
		{scanresult.AppFilter{AppName: "pad"}, 1, all[2:3]},
		{scanresult.AppFilter{AppName: "PAD"}, 0, []string{}},
		{scanresult.AppFilter{AppName: "\xff"}, 0, []string{}},
		{scanresult.AppFilter{AppName: "golang", Offset: 1}, 2, all[1:2]},
		{scanresult.AppFilter{LayerDigest: digest("l1")}, 1, all[3:]},
		{scanresult.AppFilter{LayerDigest: digest("l2"), Offset: 1, Limit: 1}, 3, all[1:2]},
		{scanresult.AppFilter{LayerDigest: digest("l")}, 0, []string{}}, // exact
	} {
		f := tc.f
		f.Digest = w.a
		total, rows := e.apps(f)
		if total != tc.total || !slices.Equal(appKeys(rows), tc.want) {
			t.Fatalf("%+v: %d %v; want %d %v", f, total, appKeys(rows), tc.total, tc.want)
		}
	}
}

func testReplaceFindings(t *testing.T, e *env) {
	w := e.world()
	e.save(sbom(w.a), findings())
	repl := []scanresult.Finding{{Package: 3, VulnID: "GHSA-left-pad", RepairNecessity: "delay_repair"}}
	if err := e.replace(w.a, repl, 1); err != nil {
		t.Fatal(err)
	}
	if total, rows := e.vulns(scanresult.VulnFilter{Digest: w.a}); total != 1 || rows[0].AppName != "left-pad" || rows[0].Type != scanresult.AppVul {
		t.Fatalf("after re-match: %d %+v", total, rows)
	}
	e.checkRows(w.a, inventory.ScanSuccess, "", 1)
	// The inventory is untouched.
	if got, err := e.st.GetSBOM(e.ctx, w.a); err != nil || !equalSBOM(got, sbom(w.a)) {
		t.Fatalf("SBOM after re-match = %+v, %v", got, err)
	}
	// A re-scan in progress keeps its status; the count follows only
	// where the last scan succeeded.
	if err := e.statusAll(w.a, inventory.Scanning); err != nil {
		t.Fatal(err)
	}
	if err := e.replace(w.a, nil, 0); err != nil {
		t.Fatal(err)
	}
	e.checkRows(w.a, inventory.Scanning, "", 1)
	if total, _ := e.vulns(scanresult.VulnFilter{Digest: w.a}); total != 0 {
		t.Fatalf("%d findings after an empty re-match", total)
	}
	// Without an SBOM (the scan failed since the caller read it) there is
	// nothing to match: no error, nothing written.
	if err := e.clearAll(w.a, inventory.ScanResult{Status: inventory.ScanFailed, FailedDesc: "unknown_error"}); err != nil {
		t.Fatal(err)
	}
	if err := e.replace(w.a, repl, 1); err != nil {
		t.Fatal(err)
	}
	if total, _ := e.vulns(scanresult.VulnFilter{Digest: w.a}); total != 0 {
		t.Fatalf("re-match without an SBOM wrote %d findings", total)
	}
	e.checkRows(w.a, inventory.ScanFailed, "unknown_error", 0)
}

// testReplaceFindingsBatch: one call updates several inventories, skips
// a digest without an SBOM, and commits all or nothing.
func testReplaceFindingsBatch(t *testing.T, e *env) {
	w := e.world()
	e.save(sbom(w.a), findings())
	e.save(sbom(w.b), findings()[:1])
	never := digest("never-scanned")
	onA := []scanresult.Finding{{Package: 3, VulnID: "GHSA-left-pad", RepairNecessity: "delay_repair"}}
	onB := []scanresult.Finding{
		{Package: 0, VulnID: "DEBIAN-CVE-2024-1", RepairNecessity: "immediate_repair"},
		{Package: 0, VulnID: "DEBIAN-CVE-2024-2", RepairNecessity: "delay_repair"},
		{Package: 0, VulnID: "DEBIAN-CVE-2024-2", RepairNecessity: "delay_repair"}, // repeated: stored once
	}
	err := e.st.ReplaceFindings(e.ctx, []scanresult.FindingsUpdate{
		{Digest: w.b, Findings: onB, VulNum: 2},
		{Digest: never, Findings: onA, VulNum: 1},
		{Digest: w.a, Findings: onA, VulNum: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if total, rows := e.vulns(scanresult.VulnFilter{Digest: w.a}); total != 1 || !slices.Equal(vulnKeys(rows), []string{"GHSA-left-pad@app/node_modules/left-pad/package.json"}) {
		t.Fatalf("findings of a: %d %v", total, vulnKeys(rows))
	}
	if total, rows := e.vulns(scanresult.VulnFilter{Digest: w.b}); total != 2 ||
		!slices.Equal(vulnKeys(rows), []string{"DEBIAN-CVE-2024-1@var/lib/dpkg/status", "DEBIAN-CVE-2024-2@var/lib/dpkg/status"}) ||
		rows[0].Type != scanresult.LinuxVul {
		t.Fatalf("findings of b: %d %+v", total, rows)
	}
	e.checkRows(w.a, inventory.ScanSuccess, "", 1)
	e.checkRows(w.b, inventory.ScanSuccess, "", 2)
	if total, _ := e.vulns(scanresult.VulnFilter{Digest: never}); total != 0 {
		t.Fatalf("a digest without an SBOM got %d findings", total)
	}
	if ds, err := e.st.SBOMDigests(e.ctx); err != nil || len(ds) != 2 {
		t.Fatalf("SBOMDigests after the batch = %v, %v", ds, err)
	}

	// One bad update fails the whole call: a, first and valid, keeps what
	// it had.
	err = e.st.ReplaceFindings(e.ctx, []scanresult.FindingsUpdate{
		{Digest: w.a, Findings: nil, VulNum: 0},
		{Digest: w.b, Findings: []scanresult.Finding{{Package: 17, VulnID: "X"}}, VulNum: 1},
	})
	if err == nil {
		t.Fatal("ReplaceFindings accepted a finding on a package the SBOM does not have")
	}
	// So does a digest given twice.
	err = e.st.ReplaceFindings(e.ctx, []scanresult.FindingsUpdate{{Digest: w.a}, {Digest: w.b}, {Digest: w.a, Findings: onA, VulNum: 1}})
	if err == nil {
		t.Fatal("ReplaceFindings accepted a digest twice")
	}
	if total, _ := e.vulns(scanresult.VulnFilter{Digest: w.a}); total != 1 {
		t.Fatalf("%d findings of a after failed batches, want 1", total)
	}
	if total, _ := e.vulns(scanresult.VulnFilter{Digest: w.b}); total != 2 {
		t.Fatalf("%d findings of b after failed batches, want 2", total)
	}
	e.checkRows(w.a, inventory.ScanSuccess, "", 1)
	e.checkRows(w.b, inventory.ScanSuccess, "", 2)

	if err := e.st.ReplaceFindings(e.ctx, nil); err != nil {
		t.Fatalf("an empty batch: %v", err)
	}
}

// testReplaceFindingsMany: a batch of many inventories with hundreds of
// findings each (more than any store writes per statement) stores every
// finding on its own inventory, and apps count them per package.
func testReplaceFindingsMany(t *testing.T, e *env) {
	const (
		images   = 7
		packages = 90
	)
	var updates []scanresult.FindingsUpdate
	for i := range images {
		d := digest(fmt.Sprintf("many-%d", i))
		sb := scanresult.SBOM{Digest: d, Layers: []string{digest("l")}, ScannedAt: 1}
		for p := range packages {
			typ := []string{"dpkg", "go-module"}[p%2]
			sb.Packages = append(sb.Packages, scanresult.Package{Name: fmt.Sprintf("pkg-%03d", p), Version: "1", Type: typ,
				Path: fmt.Sprintf("p/%03d", p), LayerDigest: digest("l")})
		}
		e.save(sb, nil)
		// Image i has 1+i%3 findings on every package.
		u := scanresult.FindingsUpdate{Digest: d}
		for p := range packages {
			for v := range 1 + i%3 {
				u.Findings = append(u.Findings, scanresult.Finding{Package: p, VulnID: fmt.Sprintf("V-%d-%d", i, v),
					RepairNecessity: "delay_repair", Description: fmt.Sprintf("%d on %d", v, p), Aliases: []string{fmt.Sprintf("CVE-%d", v)}})
			}
		}
		u.VulNum = scanresult.DistinctVulns(u.Findings)
		updates = append(updates, u)
	}
	if err := e.st.ReplaceFindings(e.ctx, updates); err != nil {
		t.Fatal(err)
	}
	for i, u := range updates {
		per := 1 + i%3
		total, rows := e.vulns(scanresult.VulnFilter{Digest: u.Digest})
		if total != int64(packages*per) || len(rows) != packages*per {
			t.Fatalf("image %d: %d findings (%d rows), want %d", i, total, len(rows), packages*per)
		}
		linux := 0
		for _, r := range rows {
			if !strings.HasPrefix(r.VulnID, fmt.Sprintf("V-%d-", i)) {
				t.Fatalf("image %d holds %s", i, r.VulnID)
			}
			if r.Type == scanresult.LinuxVul {
				linux++
			}
		}
		if linux != packages/2*per {
			t.Fatalf("image %d: %d linux_vul findings, want %d", i, linux, packages/2*per)
		}
		_, apps := e.apps(scanresult.AppFilter{Digest: u.Digest})
		for _, a := range apps {
			if a.VulNum != int32(per) {
				t.Fatalf("image %d: %s has %d vulnerabilities, want %d", i, a.Name, a.VulNum, per)
			}
		}
	}
}

func testScanStatus(t *testing.T, e *env) {
	w := e.world()
	e.save(sbom(w.a), findings())
	for _, step := range []struct {
		do     func() error
		status inventory.ScanStatus
	}{
		// Waiting and scanning keep the last known counts.
		{func() error { return e.waitingAll(w.a) }, inventory.WaitingForScan},
		{func() error { return e.statusAll(w.a, inventory.Scanning) }, inventory.Scanning},
		// A request joining a running scan does not make it look queued.
		{func() error { return e.waitingAll(w.a) }, inventory.Scanning},
		{func() error { return e.statusAll(w.a, inventory.WaitingForScan) }, inventory.WaitingForScan},
	} {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		e.checkRows(w.a, step.status, "", 3)
	}
	if img := e.rows("p1", w.a)[0]; img.LatestScanTime != 5000 {
		t.Fatalf("latest scan time %d after status changes, want 5000", img.LatestScanTime)
	}
	// A status change clears the last failure's description.
	if err := e.st.ClearScan(e.ctx, "p1", w.b, inventory.ScanResult{Status: inventory.ScanFailed, FailedDesc: "unknown_error"}); err != nil {
		t.Fatal(err)
	}
	if err := e.markWaiting("p1", w.b); err != nil {
		t.Fatal(err)
	}
	if rows := e.rows("p1", w.b); rows[0].ScanStatus != inventory.WaitingForScan || rows[0].ScanFailedDesc != "" {
		t.Fatalf("waiting after a failure: %s %q", rows[0].ScanStatus, rows[0].ScanFailedDesc)
	}
	// A waiting state is the project's own: it is not kept for rows a
	// later sync brings, which another project's scan would never finish.
	c := digest("c")
	if err := e.markWaiting("p1", c); err != nil {
		t.Fatal(err)
	}
	e.sync(w.r3, inventory.RepoSnapshot{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{tag("1", w.a), tag("9", c)}})
	if rows := e.rows("p2", c); len(rows) != 1 || rows[0].ScanStatus != inventory.Unscan {
		t.Fatalf("row synced while another project's scan waits: %+v", rows)
	}
}

// testScanStatePerProject: a waiting or running state, a failure and an
// oversized verdict through one project change that project's rows only;
// a success is shared by digest, and the shared inventory stays while a
// row of another project still shows it.
func testScanStatePerProject(t *testing.T, e *env) {
	w := e.world()
	e.save(sbom(w.a), findings())
	p1 := e.rows("p1", w.a)
	stored, _ := e.vulns(scanresult.VulnFilter{Digest: w.a})
	check := func(project string, status inventory.ScanStatus, desc string, vul int32) {
		t.Helper()
		for _, img := range e.rows(project, w.a) {
			if img.ScanStatus != status || img.ScanFailedDesc != desc || img.VulNum != vul {
				t.Fatalf("%s row %d = %s %q vul %d; want %s %q vul %d", project, img.ID, img.ScanStatus, img.ScanFailedDesc,
					img.VulNum, status, desc, vul)
			}
		}
	}
	if err := e.markWaiting("p2", w.a); err != nil {
		t.Fatal(err)
	}
	check("p2", inventory.WaitingForScan, "", 3)
	check("p1", inventory.ScanSuccess, "", 3)
	if err := e.st.SetScanStatus(e.ctx, "p2", w.a, inventory.Scanning); err != nil {
		t.Fatal(err)
	}
	check("p1", inventory.ScanSuccess, "", 3)
	if err := e.st.SetScannable(e.ctx, "p2", w.a, false); err != nil {
		t.Fatal(err)
	}
	if err := e.st.ClearScan(e.ctx, "p2", w.a, inventory.ScanResult{Status: inventory.DownloadFailed, FailedDesc: "authentication_failed", ScanTime: 9000}); err != nil {
		t.Fatal(err)
	}
	check("p2", inventory.DownloadFailed, "authentication_failed", 0)
	check("p1", inventory.ScanSuccess, "", 3)
	for _, img := range e.rows("p1", w.a) {
		if !img.Scannable || img.LatestScanTime != 5000 {
			t.Fatalf("p1 row %d after p2's failure: scannable %v, scan time %d", img.ID, img.Scannable, img.LatestScanTime)
		}
	}
	if rows := e.rows("p2", w.a); rows[0].Scannable {
		t.Fatal("p2's oversized verdict did not reach its own row")
	}
	if got, err := e.st.GetSBOM(e.ctx, w.a); err != nil || !equalSBOM(got, sbom(w.a)) {
		t.Fatalf("p1's inventory after p2's failure: %+v, %v", got, err)
	}
	if total, _ := e.vulns(scanresult.VulnFilter{Digest: w.a}); total != stored || total == 0 {
		t.Fatalf("p1's findings after p2's failure: %d, want %d", total, stored)
	}
	// A row synced later copies the shared success, not p2's failure.
	e.sync(w.r2, inventory.RepoSnapshot{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{tag("1", w.a), tag("copy", w.a)}})
	check("p1", inventory.ScanSuccess, "", 3)
	if len(e.rows("p1", w.a)) != len(p1)+1 {
		t.Fatalf("the sync did not add a row: %d rows", len(e.rows("p1", w.a)))
	}
	// A re-match counts on the rows that show the shared success only.
	if err := e.replace(w.a, findings()[3:4], 1); err != nil {
		t.Fatal(err)
	}
	check("p1", inventory.ScanSuccess, "", 1)
	check("p2", inventory.DownloadFailed, "authentication_failed", 0)
	// A project adopts a success recorded since its request, not an older one.
	if ok, err := e.st.AdoptSharedScope(e.ctx, "p2", w.a, 5001, scanresult.ScopeAll); err != nil || ok {
		t.Fatalf("AdoptSharedScope of an older success = %v, %v", ok, err)
	}
	check("p2", inventory.DownloadFailed, "authentication_failed", 0)
	if ok, err := e.st.AdoptSharedScope(e.ctx, "p2", w.a, 5000, scanresult.ScopeAll); err != nil || !ok {
		t.Fatalf("AdoptSharedScope = %v, %v", ok, err)
	}
	check("p2", inventory.ScanSuccess, "", 1)
	// Once no row shows it, a failure removes the shared inventory, and
	// rows synced later start unscanned.
	for _, p := range []string{"p1", "p2"} {
		if err := e.st.ClearScan(e.ctx, p, w.a, inventory.ScanResult{Status: inventory.ScanFailed, FailedDesc: "unknown_error"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.st.GetSBOM(e.ctx, w.a); !errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("GetSBOM after every project's failure: %v", err)
	}
	if ok, err := e.st.AdoptSharedScope(e.ctx, "p1", w.a, 0, scanresult.ScopeAll); err != nil || ok {
		t.Fatalf("AdoptSharedScope without a shared result = %v, %v", ok, err)
	}
	e.sync(w.r3, inventory.RepoSnapshot{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{tag("1", w.a), tag("new", w.a)}})
	for _, img := range e.rows("p2", w.a) {
		if img.Tag == "new" && img.ScanStatus != inventory.Unscan {
			t.Fatalf("row synced after every failure: %s", img.ScanStatus)
		}
	}
}

func testScannable(t *testing.T, e *env) {
	w := e.world()
	if err := e.st.SetScannable(e.ctx, "p1", w.a, false); err != nil {
		t.Fatal(err)
	}
	for _, img := range e.rows("p1", w.a) {
		if img.Scannable {
			t.Fatalf("row %d still scannable", img.ID)
		}
	}
	if img := e.rows("p2", w.a)[0]; !img.Scannable {
		t.Fatal("another project's row lost scannable")
	}
	if img := e.rows("p1", w.b)[0]; !img.Scannable {
		t.Fatal("another digest's row lost scannable")
	}
	if err := e.st.SetScannable(e.ctx, "p1", w.a, true); err != nil {
		t.Fatal(err)
	}
	if img := e.rows("p1", w.a)[0]; !img.Scannable {
		t.Fatal("row not scannable again")
	}
	// Unknown digests are not an error.
	if err := e.st.SetScannable(e.ctx, "p1", digest("nothing"), false); err != nil {
		t.Fatal(err)
	}
}

// imageIDs are the ids of imgs in ascending order.
func imageIDs(imgs []inventory.Image) []int64 {
	out := []int64{}
	for _, img := range imgs {
		out = append(out, img.ID)
	}
	slices.Sort(out)
	return out
}

func testImagesBy(t *testing.T, e *env) {
	w := e.world()
	idx, amd, arm := digest("index"), digest("amd64"), digest("arm64")
	armM := image(arm)
	armM.Platform = "linux/arm64"
	if _, err := e.st.ApplySync(e.ctx, inventory.Snapshot{RegistryID: w.r2.ID, SeenAt: 2, Manifests: []inventory.Manifest{
		image(w.a), image(amd), armM,
		{Digest: idx, MediaType: "application/vnd.oci.image.index.v1+json", Members: []inventory.Association{
			{Digest: amd, Platform: "linux/amd64"}, {Digest: arm, Platform: "linux/arm64"}}},
	}, Repositories: []inventory.RepoSnapshot{
		{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{tag("1", w.a)}},
		{Namespace: "lib", Name: "multi", Tags: []inventory.TagRef{{Tag: "1", Digest: idx, ManifestDigest: amd}, tag("amd", amd)}},
	}}); err != nil {
		t.Fatal(err)
	}
	p1a := e.rows("p1", w.a)
	byDigest := func(project, d string) []int64 {
		t.Helper()
		imgs, err := e.st.ImagesByDigest(e.ctx, project, d)
		if err != nil {
			t.Fatal(err)
		}
		out := []int64{}
		for _, img := range imgs {
			out = append(out, img.ID) // in the store's order, which is by id
		}
		return out
	}
	if got, want := byDigest("p1", w.a), imageIDs(p1a); len(want) != 2 || !slices.Equal(got, want) {
		t.Fatalf("ImagesByDigest(p1, a) = %v, want %v", got, want)
	}
	if got := byDigest("p2", w.a); len(got) != 1 || slices.Contains(imageIDs(p1a), got[0]) {
		t.Fatalf("ImagesByDigest(p2, a) = %v", got)
	}
	multi := map[string]int64{}
	for _, img := range e.rows("p1", amd) {
		multi[img.Name+":"+img.Tag] = img.ID
	}
	// The index's digest names the row tagged with it; the member's
	// digest names every row describing it.
	if got := byDigest("p1", idx); !slices.Equal(got, []int64{multi["multi:1"]}) {
		t.Fatalf("ImagesByDigest(index) = %v, want %v", got, multi["multi:1"])
	}
	if got, want := byDigest("p1", amd), []int64{multi["multi:1"], multi["multi:amd"]}; !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("ImagesByDigest(member) = %v, want %v", got, want)
	}
	if got := byDigest("p1", arm); len(got) != 0 {
		t.Fatalf("ImagesByDigest(undescribed member) = %v", got)
	}
	if got := byDigest("p1", digest("nothing")); len(got) != 0 {
		t.Fatalf("ImagesByDigest(unknown) = %v", got)
	}
	if got := byDigest("p1", "sha256:\xff"); len(got) != 0 {
		t.Fatalf("ImagesByDigest(unstorable) = %v", got)
	}

	byRef := func(project string, typ inventory.ImageType, ns, name, tg string) []inventory.Image {
		t.Helper()
		imgs, err := e.st.ImagesByRef(e.ctx, project, typ, ns, name, tg)
		if err != nil {
			t.Fatal(err)
		}
		return imgs
	}
	got := byRef("p1", inventory.PrivateImage, "lib", "app", "1")
	if len(got) != 2 || got[0].ID > got[1].ID || !slices.Equal(imageIDs(got), imageIDs(p1a)) || got[0].RegistryID != w.r1.ID || got[1].RegistryID != w.r2.ID || got[0].Digest != w.a {
		t.Fatalf("ImagesByRef(lib/app:1) = %+v", got)
	}
	if got := byRef("p1", inventory.PrivateImage, "lib", "multi", "1"); len(got) != 1 || len(got[0].Associations) != 2 {
		t.Fatalf("ImagesByRef(lib/multi:1) = %+v", got)
	}
	for _, miss := range [][4]string{{"lib", "app", "3"}, {"li", "app", "1"}, {"lib", "ap", "1"}, {"lib", "app", "\xff"}} {
		if got := byRef("p1", inventory.PrivateImage, miss[0], miss[1], miss[2]); len(got) != 0 {
			t.Fatalf("ImagesByRef(%v) = %+v", miss, got)
		}
	}
	if got := byRef("p1", inventory.SharedImage, "lib", "app", "1"); len(got) != 0 {
		t.Fatalf("ImagesByRef of another type = %+v", got)
	}
}

func testLocalSource(t *testing.T, e *env) {
	if _, err := e.st.EnsureProject(e.ctx, inventory.Project{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	d := digest("local")
	img, err := e.st.PutLocalImage(e.ctx, inventory.Image{ProjectID: "p1", Namespace: "local", Name: "tool", Tag: "1", Digest: d},
		[]inventory.Manifest{image(d)})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.st.LocalSource(e.ctx, img.ID); !errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("LocalSource before SetLocalSource: %v", err)
	}
	// File names are bytes: one that is not UTF-8 still reads back.
	for _, src := range [][2]string{{"/srv/images/tool.tar", "example.com/local/tool:1"}, {"/srv/\xffimages/oci", ""}} {
		if err := e.st.SetLocalSource(e.ctx, img.ID, src[0], src[1]); err != nil {
			t.Fatal(err)
		}
		path, ref, err := e.st.LocalSource(e.ctx, img.ID)
		if err != nil || path != src[0] || ref != src[1] {
			t.Fatalf("LocalSource = %q %q %v; want %q %q", path, ref, err, src[0], src[1])
		}
	}
}

func testOrphanedScans(t *testing.T, e *env) {
	w := e.world()
	c, d := digest("c"), digest("d")
	e.sync(w.r1, inventory.RepoSnapshot{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{tag("1", w.a), tag("2", w.b),
		tag("3", c), tag("4", d)}})
	orphans := func() []inventory.ScanRequest {
		t.Helper()
		got, err := e.st.OrphanedScans(e.ctx, "scan")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := orphans(); len(got) != 0 {
		t.Fatalf("orphans of a store without scans: %v", got)
	}
	reqs := []inventory.ScanRequest{{ProjectID: "p1", Digest: w.a}, {ProjectID: "p2", Digest: w.a}, {ProjectID: "p1", Digest: w.b}, {ProjectID: "p1", Digest: c}, {ProjectID: "p1", Digest: d}}
	for _, r := range reqs {
		if err := e.markWaiting(r.ProjectID, r.Digest); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.SetScanStatus(e.ctx, "p2", w.a, inventory.Scanning); err != nil {
		t.Fatal(err)
	}
	enqueue := func(kind, project, key string) jobs.Job {
		t.Helper()
		j, _, err := e.st.Enqueue(e.ctx, jobs.Job{Kind: kind, Key: key, ProjectID: project})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	claim := func(want jobs.Job) {
		t.Helper()
		c, err := e.st.Claim(e.ctx, []string{"scan"}, "w", time.Now(), time.Hour)
		if err != nil || c.ID != want.ID {
			t.Fatalf("claim = %+v, %v; want job %d", c, err, want.ID)
		}
	}
	// p1's job of c ended without its handler (the runner gave up).
	j := enqueue("scan", "p1", inventory.ScanJobKey("p1", c))
	claim(j)
	if err := e.st.Finish(e.ctx, jobs.Lease{ID: j.ID, Owner: "w", Attempt: 1}, "gave up", time.Now()); err != nil {
		t.Fatal(err)
	}
	claim(enqueue("scan", "p2", inventory.ScanJobKey("p2", w.a))) // running: alive for p2 only
	enqueue("scan", "p1", w.b)                                    // queued before per-project keys: alive
	enqueue("sync", "p1", inventory.ScanJobKey("p1", d))          // another kind's job does not count
	want := []inventory.ScanRequest{{ProjectID: "p1", Digest: w.a}, {ProjectID: "p1", Digest: c}, {ProjectID: "p1", Digest: d}}
	slices.SortFunc(want, func(x, y inventory.ScanRequest) int {
		return strings.Compare(x.ProjectID+" "+x.Digest, y.ProjectID+" "+y.Digest)
	})
	if got := orphans(); !slices.Equal(got, want) {
		t.Fatalf("orphans = %v, want %v", got, want)
	}
}

func testScanMeta(t *testing.T, e *env) {
	if v, err := e.st.ScanMeta(e.ctx, "rematched_import_ms"); err != nil || v != 0 {
		t.Fatalf("unset meta = %d, %v", v, err)
	}
	for _, v := range []int64{1_800_000_000_000, 7} {
		if err := e.st.SetScanMeta(e.ctx, "rematched_import_ms", v); err != nil {
			t.Fatal(err)
		}
		if got, err := e.st.ScanMeta(e.ctx, "rematched_import_ms"); err != nil || got != v {
			t.Fatalf("meta = %d, %v; want %d", got, err, v)
		}
	}
	if v, err := e.st.ScanMeta(e.ctx, "other"); err != nil || v != 0 {
		t.Fatalf("other key = %d, %v", v, err)
	}
}

// testConcurrentWriters runs scans, re-matches, status changes and syncs
// moving the scanned tags at once. Whatever the interleaving, every call
// succeeds and the end state is one whole scan: findings that belong to
// the stored inventory, and a vul_num on the rows that matches them.
func testConcurrentWriters(t *testing.T, e *env) {
	w := e.world()
	const rounds = 15
	var (
		wg   sync.WaitGroup
		errs = make(chan error, 8*rounds)
	)
	run := func(fn func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// Scans of a with 1 to 4 packages, one finding per package.
	scan := func(i int) error {
		sb := sbom(w.a)
		sb.Packages = sb.Packages[:1+i%4]
		var fs []scanresult.Finding
		for p := range sb.Packages {
			fs = append(fs, scanresult.Finding{Package: p, VulnID: fmt.Sprintf("V-%d", p), RepairNecessity: "delay_repair"})
		}
		return e.st.SaveScan(e.ctx, sb, fs, inventory.ScanResult{Status: inventory.ScanSuccess, VulNum: int32(len(fs))})
	}
	run(scan)
	run(scan)
	run(func(i int) error {
		// A re-match finding one vulnerability on package 0 (every
		// inventory has it).
		return e.replace(w.a, []scanresult.Finding{{Package: 0, VulnID: "V-0", RepairNecessity: "delay_repair"}}, 1)
	})
	run(func(i int) error { return e.waitingAll(w.a) })
	// Syncs of both p1 connections flip tag 2 between a and b.
	for _, r := range []inventory.Registry{w.r1, w.r2} {
		run(func(i int) error {
			d := []string{w.a, w.b}[i%2]
			_, err := e.st.ApplySync(e.ctx, inventory.Snapshot{RegistryID: r.ID, SeenAt: int64(i), Manifests: []inventory.Manifest{image(w.a), image(d)},
				Repositories: []inventory.RepoSnapshot{{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{tag("1", w.a), tag("2", d)}}}})
			return err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	// End in a known status: one last scan.
	if err := scan(2); err != nil {
		t.Fatal(err)
	}
	sb, err := e.st.GetSBOM(e.ctx, w.a)
	if err != nil || len(sb.Packages) != 3 {
		t.Fatalf("final SBOM: %d packages, %v", len(sb.Packages), err)
	}
	total, rows := e.vulns(scanresult.VulnFilter{Digest: w.a})
	if total != 3 || !slices.Equal(vulnKeys(rows), []string{"V-0@" + sb.Packages[0].Path, "V-1@" + sb.Packages[1].Path, "V-2@" + sb.Packages[2].Path}) {
		t.Fatalf("final findings: %d %v", total, vulnKeys(rows))
	}
	e.checkRows(w.a, inventory.ScanSuccess, "", 3)
}

// testScanRestore: a scan cancelled while queued or running puts the
// project's rows back to the status they had before it was asked for,
// failure description included, counts untouched; a row never scanned
// goes back to unscan. Other projects' rows are not touched.
func testScanRestore(t *testing.T, e *env) {
	w := e.world()
	e.save(sbom(w.a), findings())
	c := digest("c")
	e.sync(w.r1, inventory.RepoSnapshot{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{tag("1", w.a), tag("2", w.b), tag("3", c)}})
	if err := e.st.ClearScan(e.ctx, "p1", w.b, inventory.ScanResult{Status: inventory.DownloadFailed, FailedDesc: "authentication_failed", ScanTime: 7000}); err != nil {
		t.Fatal(err)
	}
	type state struct {
		status inventory.ScanStatus
		desc   string
		vul    int32
		at     int64
	}
	of := func(project, d string) state {
		t.Helper()
		rows := e.rows(project, d)
		if len(rows) == 0 {
			t.Fatalf("no %s rows of %s", project, d)
		}
		r := rows[0]
		return state{r.ScanStatus, r.ScanFailedDesc, r.VulNum, r.LatestScanTime}
	}
	before := map[string]state{w.a: of("p1", w.a), w.b: of("p1", w.b), c: of("p1", c)}
	p2 := of("p2", w.a)
	if before[w.a].status != inventory.ScanSuccess || before[w.b].status != inventory.DownloadFailed || before[c].status != inventory.Unscan {
		t.Fatalf("set-up: %+v", before)
	}
	for _, d := range []string{w.a, w.b, c} {
		if err := e.markWaiting("p1", d); err != nil {
			t.Fatal(err)
		}
		// Marked again (a second task asks) and then running: the status
		// to go back to is still the one before the first request.
		if err := e.markWaiting("p1", d); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.SetScanStatus(e.ctx, "p1", w.b, inventory.Scanning); err != nil {
		t.Fatal(err)
	}
	if got := of("p1", w.a); got.status != inventory.WaitingForScan {
		t.Fatalf("waiting row = %+v", got)
	}
	for _, d := range []string{w.a, w.b, c} {
		if err := e.st.RestoreScanStatus(e.ctx, "p1", d); err != nil {
			t.Fatal(err)
		}
		if got := of("p1", d); got != before[d] {
			t.Fatalf("restored %s = %+v; want %+v", d, got, before[d])
		}
	}
	if got := of("p2", w.a); got != p2 {
		t.Fatalf("p2's row = %+v; want %+v untouched", got, p2)
	}
	// A settled row is left alone: restoring twice changes nothing.
	if err := e.st.RestoreScanStatus(e.ctx, "p1", w.a); err != nil {
		t.Fatal(err)
	}
	if got := of("p1", w.a); got != before[w.a] {
		t.Fatalf("restored twice = %+v", got)
	}
}

// testTopImagesAndVulns: the web console's top images (severity level
// first, then vul_num) and top vulnerabilities (by rows showing them),
// each within one project and its granted enterprise projects.
func testTopImagesAndVulns(t *testing.T, e *env) {
	w := e.world()
	images := func(project string, eps []string, n int) []string {
		t.Helper()
		got, err := e.st.TopImages(e.ctx, project, eps, n)
		if err != nil || got == nil {
			t.Fatalf("TopImages(%s, %v, %d) = %v, %v; want a slice", project, eps, n, got, err)
		}
		out := []string{}
		for i, g := range got {
			// Between rows of one level, vul_num then id (the strings
			// below do not show the id).
			if i > 0 && got[i-1].SeverityLevel == g.SeverityLevel && (got[i-1].VulNum < g.VulNum ||
				got[i-1].VulNum == g.VulNum && got[i-1].ID >= g.ID) {
				t.Errorf("TopImages(%s, %v, %d): row %d (vul %d) after row %d (vul %d)", project, eps, n,
					g.ID, g.VulNum, got[i-1].ID, got[i-1].VulNum)
			}
			out = append(out, fmt.Sprintf("%s/%s:%s=%s/%d", g.Namespace, g.Name, g.Tag, g.SeverityLevel, g.VulNum))
		}
		return out
	}
	vulns := func(project string, eps []string, n int) []string {
		t.Helper()
		got, err := e.st.TopVulns(e.ctx, project, eps, n)
		if err != nil || got == nil {
			t.Fatalf("TopVulns(%s, %v, %d) = %v, %v; want a slice", project, eps, n, got, err)
		}
		out := []string{}
		for _, g := range got {
			if g.Aliases == nil {
				t.Fatalf("TopVulns: %s has nil aliases", g.VulnID)
			}
			out = append(out, fmt.Sprintf("%s%v%s=%d", g.VulnID, g.Aliases, g.Severity, g.Images))
		}
		return out
	}
	if got := images("p1", nil, 5); len(got) != 0 {
		t.Fatalf("top images before any scan: %v", got)
	}
	if got := vulns("p1", nil, 5); len(got) != 0 {
		t.Fatalf("top vulnerabilities before any scan: %v", got)
	}
	e.save(sbom(w.a), findings())
	// b has more vulnerabilities than a, none High: a's rows come first.
	e.save(sbom(w.b), append(findings()[:1],
		scanresult.Finding{Package: 0, VulnID: "DEBIAN-CVE-2023-7", RepairNecessity: "delay_repair", Severity: "LOW"},
		scanresult.Finding{Package: 0, VulnID: "DEBIAN-CVE-2023-8", RepairNecessity: "delay_repair", Severity: "LOW"},
		scanresult.Finding{Package: 0, VulnID: "DEBIAN-CVE-2023-9", RepairNecessity: "delay_repair", Severity: "LOW"}))
	p1Images := []string{"lib/app:1=High/3", "lib/app:1=High/3", "lib/app:2=Medium/4"}
	p1Vulns := []string{"GO-2023-0002[CVE-2023-2]MEDIUM=3", "DEBIAN-CVE-2023-5678[]=2", `GO-2023-0001[CVE-2023-1 GHSA-"x"]HIGH=2`,
		"DEBIAN-CVE-2023-7[]LOW=1", "DEBIAN-CVE-2023-8[]LOW=1"}
	p2Vulns := []string{"DEBIAN-CVE-2023-5678[]=1", `GO-2023-0001[CVE-2023-1 GHSA-"x"]HIGH=1`, "GO-2023-0002[CVE-2023-2]MEDIUM=1"}
	for _, tc := range []struct {
		name          string
		project       string
		eps           []string
		n             int
		images, vulns []string
	}{
		{"every enterprise project", "p1", nil, 5, p1Images, p1Vulns},
		{"granted the rows' one", "p1", []string{"0", "ep9"}, 5, p1Images, p1Vulns},
		{"the first", "p1", nil, 1, p1Images[:1], p1Vulns[:1]},
		// p2 shows a only: b's row and p1's counts are not its.
		{"another project", "p2", nil, 5, []string{"lib/app:1=High/3"}, p2Vulns},
		{"an enterprise project without rows", "p1", []string{"ep9"}, 5, nil, nil},
		{"no enterprise project", "p1", []string{}, 5, nil, nil},
		{"a project without rows", "p3", nil, 5, nil, nil},
		{"unstorable", "p1\x00", nil, 5, nil, nil},
		{"none asked", "p1", nil, 0, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := images(tc.project, tc.eps, tc.n); !slices.Equal(got, tc.images) && (len(got) > 0 || len(tc.images) > 0) {
				t.Errorf("TopImages = %q\nwant %q", got, tc.images)
			}
			if got := vulns(tc.project, tc.eps, tc.n); !slices.Equal(got, tc.vulns) && (len(got) > 0 || len(tc.vulns) > 0) {
				t.Errorf("TopVulns = %q\nwant %q", got, tc.vulns)
			}
		})
	}

	// The second connection moved to enterprise project ep9, with a row
	// of more High vulnerabilities than a's: a level's rows of several
	// enterprise projects, merged by vul_num then id.
	r2 := w.r2
	r2.EnterpriseProjectID = "ep9"
	if _, err := e.st.UpdateRegistry(e.ctx, r2); err != nil {
		t.Fatal(err)
	}
	c := digest("c")
	e.sync(w.r2, inventory.RepoSnapshot{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{tag("1", w.a)}},
		inventory.RepoSnapshot{Namespace: "lib", Name: "web", Tags: []inventory.TagRef{tag("1", c)}})
	e.save(sbom(c), append(findings(),
		scanresult.Finding{Package: 0, VulnID: "DEBIAN-CVE-2023-10", RepairNecessity: "immediate_repair", Severity: "HIGH"}))
	for _, tc := range []struct {
		name   string
		eps    []string
		n      int
		images []string
	}{
		{"every enterprise project", nil, 5, []string{"lib/web:1=High/4", "lib/app:1=High/3", "lib/app:1=High/3", "lib/app:2=Medium/4"}},
		{"both granted", []string{"ep9", "0"}, 5, []string{"lib/web:1=High/4", "lib/app:1=High/3", "lib/app:1=High/3", "lib/app:2=Medium/4"}},
		{"the first two", nil, 2, []string{"lib/web:1=High/4", "lib/app:1=High/3"}},
		{"the first three", nil, 3, []string{"lib/web:1=High/4", "lib/app:1=High/3", "lib/app:1=High/3"}},
		{"the first enterprise project", []string{"0"}, 5, []string{"lib/app:1=High/3", "lib/app:2=Medium/4"}},
		{"the moved one", []string{"ep9"}, 5, []string{"lib/web:1=High/4", "lib/app:1=High/3"}},
	} {
		t.Run("two enterprise projects, "+tc.name, func(t *testing.T) {
			if got := images("p1", tc.eps, tc.n); !slices.Equal(got, tc.images) {
				t.Errorf("TopImages = %q\nwant %q", got, tc.images)
			}
		})
	}
}

// testQueueScans: QueueScans enqueues each job as Enqueue does (a live job
// of the same key joined, not duplicated) and marks the project's rows of
// the digests waiting, unless being scanned, in the same transaction:
// another project's rows and other digests are untouched, and a failed
// batch queues nothing and marks nothing.
func testQueueScans(t *testing.T, e *env) {
	w := e.world()
	c := digest("c") // no row: a job, nothing to mark
	job := func(d string) jobs.Job {
		return jobs.Job{Kind: "scan", Key: "p1/" + d, ProjectID: "p1", Payload: []byte(`{}`), State: jobs.Queued}
	}
	if err := e.st.SetScanStatus(e.ctx, "p1", w.b, inventory.Scanning); err != nil {
		t.Fatal(err)
	}
	// A bad job fails the batch before anything is written.
	if _, _, err := e.st.QueueScans(e.ctx, "p1", []jobs.Job{job(w.a), {Key: "p1/x"}}, []string{w.a, ""}); err == nil {
		t.Fatal("a job without a kind was queued")
	}
	if rows := e.rows("p1", w.a); rows[0].ScanStatus == inventory.WaitingForScan {
		t.Fatalf("a failed batch marked %s waiting", w.a)
	}
	got, joined, err := e.st.QueueScans(e.ctx, "p1", []jobs.Job{job(w.a), job(w.b), job(c)}, []string{w.a, w.b, c})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].ID == 0 || got[1].ID == 0 || got[2].ID == 0 || joined[0] || joined[1] || joined[2] {
		t.Fatalf("queued %+v joined %v; want three new jobs", got, joined)
	}
	for i, d := range []string{w.a, w.b, c} {
		live, err := e.st.GetJob(e.ctx, got[i].ID)
		if err != nil || live.Key != "p1/"+d || live.State != jobs.Queued {
			t.Fatalf("job of %s: %+v, %v", d, live, err)
		}
	}
	for _, img := range e.rows("p1", w.a) {
		if img.ScanStatus != inventory.WaitingForScan {
			t.Fatalf("p1 row %d of a: %s, want waiting", img.ID, img.ScanStatus)
		}
	}
	for _, img := range e.rows("p1", w.b) {
		if img.ScanStatus != inventory.Scanning {
			t.Fatalf("p1 row %d of b: %s, want still scanning", img.ID, img.ScanStatus)
		}
	}
	for _, img := range e.rows("p2", w.a) {
		if img.ScanStatus == inventory.WaitingForScan {
			t.Fatalf("p2 row %d of a marked waiting by p1's request", img.ID)
		}
	}
	// Asked again: the live jobs are joined, none added.
	again, joined, err := e.st.QueueScans(e.ctx, "p1", []jobs.Job{job(w.a), job(c)}, []string{w.a, c})
	if err != nil || again[0].ID != got[0].ID || again[1].ID != got[2].ID || !joined[0] || !joined[1] {
		t.Fatalf("asked again: %+v joined %v, %v; want jobs %d and %d joined", again, joined, err, got[0].ID, got[2].ID)
	}
}

// markWaiting marks project's rows of d waiting for a scan, as a request
// does (QueueScans), without queueing a job.
func (e *env) markWaiting(project, d string) error {
	_, _, err := e.st.QueueScans(e.ctx, project, nil, []string{d})
	return err
}
