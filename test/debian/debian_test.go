// Package debian_test is the end-to-end proof on a real Debian system: a
// root filesystem built by `debootstrap --variant=minbase bookworm`, packed
// into an image, pushed to a real registry, synced, scanned by the scan
// service into a real SQLite store and matched against the real Debian 12
// records of testdata/osv. What must be reported is worked out here
// independently, from the root filesystem's own dpkg database and the
// record files, with dpkg's version rules written out in this file.
package debian_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/openhss/openhss/internal/dirlayer"
	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/netpolicy"
	"github.com/openhss/openhss/internal/osvtestdata"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/vulndb"
)

// rootfsEnv names the directory holding the debootstrapped root filesystem.
const rootfsEnv = "OPENHSS_TEST_DEBOOTSTRAP"

const project = "p-debian"

func TestDebootstrapBookwormEndToEnd(t *testing.T) {
	rootfs := os.Getenv(rootfsEnv)
	if rootfs == "" {
		t.Skipf("%s is not set: set it to a root filesystem built with `debootstrap --variant=minbase bookworm DIR` "+
			"(as root; about a minute and 200 MB), e.g. %s=/var/cache/openhss-test/bookworm-rootfs. .ci/run builds and sets it.",
			rootfsEnv, rootfsEnv)
	}
	statusFile := filepath.Join(rootfs, "var", "lib", "dpkg", "status")
	installed, err := readDpkgStatus(statusFile)
	if err != nil {
		t.Fatalf("%s=%s is not a usable debootstrap root filesystem: %v", rootfsEnv, rootfs, err)
	}
	if len(installed) < 50 {
		t.Fatalf("%s lists %d installed packages; a minbase bookworm has about 88: incomplete debootstrap?", statusFile, len(installed))
	}
	dataDir := osvtestdata.Dir(t, "debian-12")
	records := readRecords(t, dataDir)
	crossCheckWithDpkg(t, installed, records)

	// What must be reported, and what must not, from the files alone.
	sources := installedSources(installed)
	var wantOpen, wantFixedBelow, mustNot, openElsewhere []string
	for _, r := range records {
		vs, ok := sources[r.pkg]
		if !ok {
			if r.fixed == "" {
				openElsewhere = append(openElsewhere, r.id+" ("+r.pkg+")")
			}
			continue
		}
		switch {
		case r.fixed == "":
			wantOpen = append(wantOpen, r.id)
		case affectsAny(r, vs):
			wantFixedBelow = append(wantFixedBelow, r.id)
		default:
			mustNot = append(mustNot, r.id)
		}
	}
	if len(wantOpen) == 0 || len(mustNot) == 0 {
		t.Fatalf("the data gives %d open and %d fixed-and-past records for the installed source packages: nothing to prove", len(wantOpen), len(mustNot))
	}
	t.Logf("%d installed packages, %d source packages; of %d affected entries: %d open (no fix) on installed sources, "+
		"%d fixed above the installed version, %d fixed at or below it; open on sources not installed: %v",
		len(installed), len(sources), len(records), len(wantOpen), len(wantFixedBelow), len(mustNot), openElsewhere)

	// The image: one layer of the whole tree, as a container build makes it.
	ctx := context.Background()
	layer, st, err := dirlayer.Layer(filepath.Join(t.TempDir(), "rootfs.tar.gz"), rootfs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("layer: %d files (%d MB), %d dirs, %d symlinks, %d hard links, %d special files left out",
		st.Files, st.Bytes>>20, st.Dirs, st.Symlinks, st.Hardlinks, st.Skipped)
	img := imageOf(t, layer)
	reg := registrytest.New(t)
	if err := remote.Write(reg.Repo(t, "debian/bookworm").Tag("minbase"), img, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}

	e := newEnv(t, reg)
	if _, err := e.db.Import(ctx, dataDir); err != nil {
		t.Fatal(err)
	}
	if _, err := e.syncer.SyncRegistry(ctx, e.reg); err != nil {
		t.Fatal(err)
	}
	row := e.row(t, "debian/bookworm:minbase")
	if _, err := e.svc.Request(ctx, project, []inventory.Image{row}); err != nil {
		t.Fatal(err)
	}
	runner, err := jobs.NewRunner(jobs.RunnerOptions{Store: e.store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	runner.Handle(scanjob.JobKind, e.svc.Handle)
	if err := runner.RunUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}

	row = e.row(t, "debian/bookworm:minbase")
	if row.ScanStatus != inventory.ScanSuccess {
		t.Fatalf("scan ended %s (%s), want success", row.ScanStatus, row.ScanFailedDesc)
	}
	_, rows, err := e.store.ListVulns(ctx, scanresult.VulnFilter{Digest: digest.String()})
	if err != nil {
		t.Fatal(err)
	}
	reported := map[string][]scanresult.VulnRow{}
	for _, r := range rows {
		reported[r.VulnID] = append(reported[r.VulnID], r)
	}

	for _, id := range wantOpen {
		rs, ok := reported[id]
		if !ok {
			t.Errorf("%s (no fix in bookworm, source package %s installed) is not reported", id, recordByID(records, id).pkg)
			continue
		}
		for _, r := range rs {
			if r.FixedVersion != "" || r.Type != scanresult.LinuxVul {
				t.Errorf("%s on %s: solution %q, type %s; want no fixed version and linux_vul", id, r.AppName, r.FixedVersion, r.Type)
			}
		}
	}
	for _, id := range wantFixedBelow {
		if _, ok := reported[id]; !ok {
			r := recordByID(records, id)
			t.Errorf("%s is fixed in %s %s, above the installed %v, and is not reported", id, r.pkg, r.fixed, sources[r.pkg])
		}
	}
	for _, id := range mustNot {
		if rs, ok := reported[id]; ok {
			r := recordByID(records, id)
			t.Errorf("%s is fixed in %s %s and the installed %v is at or past it, yet it is reported on %s %s",
				id, r.pkg, r.fixed, sources[r.pkg], rs[0].AppName, rs[0].Version)
		}
	}
	// Nothing else: every reported id comes from a record of an installed
	// source package that the evaluation above says affects it.
	want := append(append([]string{}, wantOpen...), wantFixedBelow...)
	for id := range reported {
		if !slices.Contains(want, id) && !slices.Contains(mustNot, id) {
			t.Errorf("%s is reported but no record names an installed source package for it", id)
		}
	}
	if int(row.VulNum) != len(want) {
		t.Errorf("vul_num %d, want %d (%d open + %d fixed above the installed version)", row.VulNum, len(want), len(wantOpen), len(wantFixedBelow))
	}

	// The software list holds every installed binary package at its version.
	_, apps, err := e.store.ListApps(ctx, scanresult.AppFilter{Digest: digest.String()})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, a := range apps {
		if a.Type == "dpkg" {
			have[a.Name] = a.Version
		}
	}
	for _, p := range installed {
		if have[p.name] != p.version {
			t.Errorf("software list: %s at %q, want %q", p.name, have[p.name], p.version)
		}
	}
}

// pkg is one installed binary package of a dpkg status file.
type pkg struct {
	name, version string
	source        string // Source: name, or the package's own name
	sourceVersion string // Source: (version), or the package's version
}

// readDpkgStatus returns the packages whose Status is "install ok
// installed".
func readDpkgStatus(path string) ([]pkg, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []pkg
	for _, para := range strings.Split(string(raw), "\n\n") {
		fields := map[string]string{}
		sc := bufio.NewScanner(strings.NewReader(para))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if line == "" || line[0] == ' ' || line[0] == '\t' {
				continue // continuation lines of Description, Conffiles
			}
			if k, v, ok := strings.Cut(line, ":"); ok {
				fields[k] = strings.TrimSpace(v)
			}
		}
		if fields["Package"] == "" || fields["Status"] != "install ok installed" {
			continue
		}
		p := pkg{name: fields["Package"], version: fields["Version"], source: fields["Package"], sourceVersion: fields["Version"]}
		if s := fields["Source"]; s != "" {
			name, ver, hasVer := strings.Cut(s, " ")
			p.source = name
			if hasVer {
				p.sourceVersion = strings.Trim(strings.TrimSpace(ver), "()")
			}
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errors.New("no installed package")
	}
	return out, nil
}

// installedSources maps each source package to the distinct source
// versions its installed binaries come from.
func installedSources(pkgs []pkg) map[string][]string {
	out := map[string][]string{}
	for _, p := range pkgs {
		if !slices.Contains(out[p.source], p.sourceVersion) {
			out[p.source] = append(out[p.source], p.sourceVersion)
		}
	}
	return out
}

// record is what this test needs of a Debian 12 OSV record: every one of
// them names a single source package with an ECOSYSTEM range of
// introduced "0" and, unless the issue is open, one fixed version;
// readRecords refuses any other shape rather than guess.
type record struct {
	id, pkg    string
	introduced string
	fixed      string // "" when no fix is published
}

func readRecords(t *testing.T, dir string) []record {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no records in %s: %v", dir, err)
	}
	var out []record
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			ID        string `json:"id"`
			Withdrawn string `json:"withdrawn"`
			Affected  []struct {
				Package  struct{ Ecosystem, Name string } `json:"package"`
				Versions []string                         `json:"versions"`
				Ranges   []struct {
					Type   string              `json:"type"`
					Events []map[string]string `json:"events"`
				} `json:"ranges"`
			} `json:"affected"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if rec.Withdrawn != "" {
			continue
		}
		for _, a := range rec.Affected {
			if a.Package.Ecosystem != "Debian:12" || len(a.Versions) > 0 || len(a.Ranges) != 1 || a.Ranges[0].Type != "ECOSYSTEM" {
				t.Fatalf("%s: an affected entry of a shape this test does not evaluate: %+v", rec.ID, a)
			}
			r := record{id: rec.ID, pkg: a.Package.Name}
			for _, ev := range a.Ranges[0].Events {
				for k, v := range ev {
					switch k {
					case "introduced":
						r.introduced = v
					case "fixed":
						r.fixed = v
					default:
						t.Fatalf("%s: event %q this test does not evaluate", rec.ID, k)
					}
				}
			}
			if r.introduced == "" {
				t.Fatalf("%s: range without introduced", rec.ID)
			}
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func recordByID(rs []record, id string) record {
	for _, r := range rs {
		if r.id == id {
			return r
		}
	}
	return record{}
}

// affectsAny: is one of the installed source versions in [introduced,
// fixed)?
func affectsAny(r record, versions []string) bool {
	for _, v := range versions {
		if (r.introduced == "0" || compareDebian(v, r.introduced) >= 0) && (r.fixed == "" || compareDebian(v, r.fixed) < 0) {
			return true
		}
	}
	return false
}

// compareDebian compares two Debian versions ([epoch:]upstream[-revision])
// as dpkg does (deb-version(7)): <0, 0, >0.
func compareDebian(a, b string) int {
	ea, ua, ra := splitDebian(a)
	eb, ub, rb := splitDebian(b)
	if ea != eb {
		if ea < eb {
			return -1
		}
		return 1
	}
	if c := compareFragment(ua, ub); c != 0 {
		return c
	}
	return compareFragment(ra, rb)
}

func splitDebian(v string) (epoch int, upstream, revision string) {
	if e, rest, ok := strings.Cut(v, ":"); ok {
		fmt.Sscanf(e, "%d", &epoch)
		v = rest
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

// compareFragment is dpkg's verrevcmp: alternating non-digit runs
// (compared by order) and digit runs (compared numerically).
func compareFragment(a, b string) int {
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	order := func(s string, i int) int {
		if i >= len(s) {
			return 0
		}
		c := s[i]
		switch {
		case isDigit(c):
			return 0
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			return int(c)
		case c == '~':
			return -1
		}
		return int(c) + 256
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			if oa, ob := order(a, i), order(b, j); oa != ob {
				return oa - ob
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		first := 0
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if first == 0 {
				first = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if first != 0 {
			return first
		}
	}
	return 0
}

// crossCheckWithDpkg holds this file's comparator to dpkg itself, where
// the machine has dpkg, on every comparison the test makes.
func crossCheckWithDpkg(t *testing.T, installed []pkg, records []record) {
	t.Helper()
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Logf("dpkg is not installed: the version comparator is not cross-checked")
		return
	}
	sources := installedSources(installed)
	n := 0
	for _, r := range records {
		for _, v := range sources[r.pkg] {
			if r.fixed == "" {
				continue
			}
			lt := exec.Command(dpkg, "--compare-versions", v, "lt", r.fixed).Run() == nil
			if got := compareDebian(v, r.fixed) < 0; got != lt {
				t.Fatalf("comparator says %s < %s is %v, dpkg says %v", v, r.fixed, got, lt)
			}
			n++
		}
	}
	t.Logf("version comparator agrees with dpkg on %d comparisons", n)
}

// TestCompareDebian pins the comparator on dpkg's documented orderings,
// so that the end-to-end test's expectations stand on their own.
func TestCompareDebian(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0~rc1", "1.0", -1},
		{"1.0", "1.0+deb12u1", -1},
		{"1:0.9", "2.0", 1},
		{"2.36-9+deb12u4", "2.36-9", 1},
		{"3.0.9-1", "3.0.11-1~deb12u2", -1},
		{"1.0-1", "1.0-1ubuntu1", -1},
		{"1.0a", "1.0", 1},
		{"01.2", "1.2", 0},
		{"1.2-10", "1.2-9", 1},
		{"7.88.1-10+deb12u5", "7.88.1-10+deb12u12", -1},
	}
	for _, tc := range tests {
		if got := sign(compareDebian(tc.a, tc.b)); got != tc.want {
			t.Errorf("compare(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := sign(compareDebian(tc.b, tc.a)); got != -tc.want {
			t.Errorf("compare(%s, %s) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// imageOf is a linux/amd64 image of one layer.
func imageOf(t *testing.T, l v1.Layer) v1.Image {
	t.Helper()
	return imagetest.WithConfigFile(t, imagetest.Image(t, l), func(cf *v1.ConfigFile) {
		cf.Created = v1.Time{Time: time.Date(2023, 6, 10, 0, 0, 0, 0, time.UTC)}
		cf.Config.Cmd = []string{"/bin/bash"}
	})
}

// env is one openhss over a fresh SQLite file, with a registry connection
// to reg.
type env struct {
	store  *sqlite.Store
	db     *vulndb.DB
	svc    *scanjob.Service
	syncer *registry.Syncer
	reg    inventory.Registry
}

func newEnv(t *testing.T, reg *registrytest.Registry) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "openhss.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secret.NewBox(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnsureProject(ctx, inventory.Project{ID: project, Name: project}); err != nil {
		t.Fatal(err)
	}
	sealed, err := box.Seal("")
	if err != nil {
		t.Fatal(err)
	}
	r, err := st.CreateRegistry(ctx, inventory.Registry{
		ProjectID: project, EnterpriseProjectID: "0", Name: "local", Type: inventory.OtherRegistry, Protocol: "http",
		Addr: reg.Addr(), PasswordSealed: sealed, Status: inventory.RegistryPending,
	})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	db, err := vulndb.New(vulndb.Options{Store: st, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	sc := scannertest.New(t, scanner.Options{ScratchDir: t.TempDir()})
	// registrytest listens on 127.0.0.1, which the default network policy
	// denies.
	loopback, err := netpolicy.New(netpolicy.Options{Allow: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	rt := registry.NewTransport(loopback)
	lister, err := registry.NewLister(registry.ListerOptions{Transport: rt, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	syncer, err := registry.NewSyncer(registry.SyncerOptions{Store: st, Queue: st, Box: box, Lister: lister, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := scanjob.New(scanjob.Options{Store: st, Scanner: sc, Matcher: db, Box: box, Transport: rt, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return &env{store: st, db: db, reg: r, syncer: syncer, svc: svc}
}

// row returns the private_image row "namespace/name:tag".
func (e *env) row(t *testing.T, ref string) inventory.Image {
	t.Helper()
	page, err := e.store.ListImages(context.Background(), inventory.Filter{ProjectID: project, Type: inventory.PrivateImage, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range page.Images {
		if img.Namespace+"/"+img.Name+":"+img.Tag == ref {
			return img
		}
	}
	t.Fatalf("no row %s after sync (%d rows)", ref, len(page.Images))
	return inventory.Image{}
}
