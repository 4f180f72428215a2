package vulndb_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/openhss/openhss/internal/osvtestdata"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/vulndb"
)

// goVulnDBVersion is the golang.org/x/vulndb module version the tests read
// data/osv from (4,789 records).
const goVulnDBVersion = "v0.0.0-20261105234957-e22db6528018"

var goVulnDB struct {
	once sync.Once
	dir  string
	err  error
}

// goVulnDBDir downloads the Go vulnerability database module into the
// module cache (once per machine) and returns its data/osv directory.
func goVulnDBDir(tb testing.TB) string {
	tb.Helper()
	goVulnDB.once.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goVulnDB.err = err
			return
		}
		cmd := exec.Command(goBin, "mod", "download", "-json", "golang.org/x/vulndb@"+goVulnDBVersion)
		cmd.Dir = os.TempDir() // outside the module: never touches go.mod
		out, err := cmd.Output()
		if err != nil {
			goVulnDB.err = err
			return
		}
		var info struct{ Dir, Error string }
		if err := json.Unmarshal(out, &info); err != nil {
			goVulnDB.err = err
			return
		}
		goVulnDB.dir = filepath.Join(info.Dir, "data", "osv")
	})
	if goVulnDB.err != nil {
		if _, lookErr := exec.LookPath("go"); lookErr != nil {
			tb.Skipf("the go command is not available to fetch golang.org/x/vulndb: %v", lookErr)
		}
		tb.Fatalf("go mod download golang.org/x/vulndb@%s: %v", goVulnDBVersion, goVulnDB.err)
	}
	return goVulnDB.dir
}

func openDB(tb testing.TB) (*vulndb.DB, *sqlite.Store) {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "openhss.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	db, err := vulndb.New(vulndb.Options{Store: st, TempDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	return db, st
}

// New refuses a DB without its store, or with a negative batch size: the
// mistake shows at start, not as a nil dereference in the first import.
func TestNewRefusesMissingStore(t *testing.T) {
	_, st := openDB(t)
	for _, tc := range []struct {
		name string
		o    vulndb.Options
		ok   bool
	}{
		{"no store", vulndb.Options{}, false},
		{"negative batch", vulndb.Options{Store: st, BatchSize: -1}, false},
		{"store", vulndb.Options{Store: st}, true},
	} {
		db, err := vulndb.New(tc.o)
		if tc.ok != (err == nil) || tc.ok != (db != nil) {
			t.Errorf("%s: New = %v, %v; want ok=%v", tc.name, db, err, tc.ok)
		}
	}
}

func mustImport(tb testing.TB, db *vulndb.DB, src string) vulndb.ImportResult {
	tb.Helper()
	res, err := db.Import(context.Background(), src)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

func countJSON(tb testing.TB, dir string) int {
	tb.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return len(m)
}

// findingsByPackage maps package index → vuln id → finding.
func findingsByPackage(fs []scanresult.Finding) map[int]map[string]scanresult.Finding {
	out := map[int]map[string]scanresult.Finding{}
	for _, f := range fs {
		if out[f.Package] == nil {
			out[f.Package] = map[string]scanresult.Finding{}
		}
		out[f.Package][f.VulnID] = f
	}
	return out
}

// fact is a hand-checked (package, version, record) fact.
type fact struct {
	pkg       scanresult.Package
	vuln      string
	affected  bool
	wantFixed string // when affected
}

func checkFacts(t *testing.T, db *vulndb.DB, facts []fact) {
	t.Helper()
	pkgs := make([]scanresult.Package, len(facts))
	for i, f := range facts {
		pkgs[i] = f.pkg
	}
	fs, err := db.Match(context.Background(), pkgs)
	if err != nil {
		t.Fatal(err)
	}
	got := findingsByPackage(fs)
	for i, f := range facts {
		finding, ok := got[i][f.vuln]
		switch {
		case ok != f.affected:
			t.Errorf("%s %s %s: affected by %s = %v, want %v", f.pkg.Ecosystem, f.pkg.Name, f.pkg.Version, f.vuln, ok, f.affected)
		case ok && finding.FixedVersion != f.wantFixed:
			t.Errorf("%s %s %s: %s fixed version %q, want %q", f.pkg.Ecosystem, f.pkg.Name, f.pkg.Version, f.vuln, finding.FixedVersion, f.wantFixed)
		}
	}
}

func TestGoVulnDB(t *testing.T) {
	dir := goVulnDBDir(t)
	db, _ := openDB(t)
	ctx := context.Background()
	want := countJSON(t, dir)
	if want != 4789 {
		t.Fatalf("golang.org/x/vulndb@%s has %d records, want 4789", goVulnDBVersion, want)
	}
	res := mustImport(t, db, dir)
	if res.Records != want || res.Written != want || res.Invalid != 0 {
		t.Fatalf("import = %+v, want %d records written", res, want)
	}
	t.Logf("imported %d Go records in %v", res.Records, res.Duration)

	// Re-import is idempotent: nothing is newer, nothing is written.
	again := mustImport(t, db, dir)
	if again.Records != want || again.Written != 0 {
		t.Fatalf("re-import = %+v, want %d read and 0 written", again, want)
	}

	checkFacts(t, db, []fact{
		{scanresult.Package{Ecosystem: "Go", Name: "golang.org/x/text", Version: "v0.3.7"}, "GO-2022-1059", true, "0.3.8"},
		{scanresult.Package{Ecosystem: "Go", Name: "golang.org/x/text", Version: "v0.3.8"}, "GO-2022-1059", false, ""},
		// GO-2023-2185 was fixed in 1.20.11/1.21.4, and those fixes were
		// incomplete until 1.20.12/1.21.5 (a second affected entry): the
		// solution offered is the version that fixes both.
		{scanresult.Package{Ecosystem: "Go", Name: "stdlib", Version: "go1.21.3"}, "GO-2023-2185", true, "1.21.5"},
		{scanresult.Package{Ecosystem: "Go", Name: "stdlib", Version: "go1.20.10"}, "GO-2023-2185", true, "1.20.12"},
		{scanresult.Package{Ecosystem: "Go", Name: "stdlib", Version: "go1.20.11"}, "GO-2023-2185", true, "1.20.12"},
		{scanresult.Package{Ecosystem: "Go", Name: "stdlib", Version: "go1.21.4"}, "GO-2023-2185", true, "1.21.5"},
		{scanresult.Package{Ecosystem: "Go", Name: "stdlib", Version: "go1.21.5"}, "GO-2023-2185", false, ""},
		{scanresult.Package{Ecosystem: "Go", Name: "stdlib", Version: "go1.21rc2"}, "GO-2023-2185", true, "1.21.5"},
		{scanresult.Package{Ecosystem: "Go", Name: "stdlib", Version: "go1.19"}, "GO-2023-2185", true, "1.20.12"},
		// GO-2024-2442 is withdrawn; it named every teleport version.
		{scanresult.Package{Ecosystem: "Go", Name: "github.com/gravitational/teleport", Version: "v1.0.0"}, "GO-2024-2442", false, ""},
	})

	fs, err := db.Match(ctx, []scanresult.Package{{Ecosystem: "Go", Name: "golang.org/x/text", Version: "v0.3.7"}})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(fs, func(f scanresult.Finding) bool { return f.VulnID == "GO-2022-1059" })
	if i < 0 {
		t.Fatalf("no GO-2022-1059 in %+v", fs)
	}
	f := fs[i]
	if !slices.Contains(f.Aliases, "CVE-2022-32149") || f.URL != "https://pkg.go.dev/vuln/GO-2022-1059" ||
		!strings.Contains(f.Description, "Accept-Language") || f.RepairNecessity != string(vulndb.DelayRepair) || f.Severity != "unknown" {
		t.Errorf("GO-2022-1059 finding = %+v", f)
	}

	st, err := db.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != want || st.Withdrawn != 18 || len(st.Ecosystems) != 1 || st.Ecosystems[0].Ecosystem != "Go" ||
		st.Ecosystems[0].Records != want-18 || st.LastImport == nil || st.LastImport.Written != 0 || st.LastImport.Records != want {
		t.Errorf("status = %+v (last import %+v)", st, st.LastImport)
	}
}

func TestDebian12Facts(t *testing.T) {
	db, _ := openDB(t)
	dir := osvtestdata.Dir(t, "debian-12")
	res := mustImport(t, db, dir)
	if n := countJSON(t, dir); res.Records != n || n != 807 {
		t.Fatalf("import = %+v, want 807 records", res)
	}
	deb := func(source, version string) scanresult.Package {
		return scanresult.Package{Ecosystem: "Debian:12", Name: source, Version: version}
	}
	checkFacts(t, db, []fact{
		// openssl: bookworm released with 3.0.9-1, the fix for CVE-2023-2650.
		{deb("openssl", "3.0.8-1"), "DEBIAN-CVE-2023-2650", true, "3.0.9-1"},
		{deb("openssl", "3.0.9-1"), "DEBIAN-CVE-2023-2650", false, ""},
		{deb("openssl", "3.0.9-1"), "DEBIAN-CVE-2007-6755", true, ""}, // open: no fix in bookworm
		// glibc 2.36-9: open records match, old fixed ones do not.
		{deb("glibc", "2.36-9"), "DEBIAN-CVE-2019-1010022", true, ""},
		{deb("glibc", "2.36-9"), "DEBIAN-CVE-1999-0199", false, ""},
		{deb("glibc", "2.1-1"), "DEBIAN-CVE-1999-0199", true, "2.2-1"},
		// systemd 252.6-1 (bookworm) is past the 252.4-1 fix, still open for CVE-2023-31437.
		{deb("systemd", "252.3-2"), "DEBIAN-CVE-2022-4415", true, "252.4-1"},
		{deb("systemd", "252.6-1"), "DEBIAN-CVE-2022-4415", false, ""},
		{deb("systemd", "252.6-1"), "DEBIAN-CVE-2023-31437", true, ""},
		// libcap2 1:2.66-4 (bookworm) is the fix for CVE-2023-2603.
		{deb("libcap2", "1:2.66-3"), "DEBIAN-CVE-2023-2603", true, "1:2.66-4"},
		{deb("libcap2", "1:2.66-4"), "DEBIAN-CVE-2023-2603", false, ""},
		// ncurses 6.4-4 (bookworm) is past the 6.4-3 fix for CVE-2023-29491.
		{deb("ncurses", "6.4-2"), "DEBIAN-CVE-2023-29491", true, "6.4-3"},
		{deb("ncurses", "6.4-4"), "DEBIAN-CVE-2023-29491", false, ""},
		// gnutls28 3.7.9-2 (bookworm): past the 3.7.8-5 fix.
		{deb("gnutls28", "3.7.8-4"), "DEBIAN-CVE-2023-0361", true, "3.7.8-5"},
		{deb("gnutls28", "3.7.9-2"), "DEBIAN-CVE-2023-0361", false, ""},
		{deb("gnutls28", "3.7.9-2"), "DEBIAN-CVE-2011-3389", true, ""},
		// sqlite3 3.40.1-2 (bookworm) past the 3.40.0-2 fix.
		{deb("sqlite3", "3.40.1-2"), "DEBIAN-CVE-2022-46908", false, ""},
		{deb("sqlite3", "3.40.0-1"), "DEBIAN-CVE-2022-46908", true, "3.40.0-2"},
		{deb("tar", "1.34+dfsg-1.2"), "DEBIAN-CVE-2005-2541", true, ""},
		{deb("tar", "1.34+dfsg-1.2"), "DEBIAN-CVE-2021-20193", false, ""},
		{deb("perl", "5.36.0-7"), "DEBIAN-CVE-2023-31484", true, ""},
		{deb("coreutils", "9.1-1"), "DEBIAN-CVE-2016-2781", true, ""},
		{deb("apt", "2.6.1"), "DEBIAN-CVE-2011-3374", true, ""},
		// dpkg epochs: shadow is 1:4.13+dfsg1-1 in bookworm, past 1:4.4-4;
		// the same upstream version without the epoch sorts below it.
		{deb("shadow", "1:4.13+dfsg1-1"), "DEBIAN-CVE-2017-2616", false, ""},
		{deb("shadow", "4.13+dfsg1-1"), "DEBIAN-CVE-2017-2616", true, "1:4.4-4"},
		{deb("zlib", "1:1.2.13.dfsg-1"), "DEBIAN-CVE-2016-9841", false, ""},
		{deb("zlib", "1:1.2.8.dfsg-2"), "DEBIAN-CVE-2016-9841", true, "1:1.2.8.dfsg-4"},
		// Tildes: 1.46.6~rc1-1 fixes CVE-2022-1304; ~ sorts before the release.
		{deb("e2fsprogs", "1.46.5-2"), "DEBIAN-CVE-2022-1304", true, "1.46.6~rc1-1"},
		{deb("e2fsprogs", "1.46.6~rc1-1"), "DEBIAN-CVE-2022-1304", false, ""},
		{deb("e2fsprogs", "1.47.0-2"), "DEBIAN-CVE-2022-1304", false, ""},
		{deb("apt", "1.8.0~alpha3"), "DEBIAN-CVE-2019-3462", true, "1.8.0~alpha3.1"},
		{deb("apt", "1.8.0"), "DEBIAN-CVE-2019-3462", false, ""},
		// Binary → source: records name source packages.
		{scanresult.Package{Ecosystem: "Debian:12", Name: "gcc-12-base", Version: "12.2.0-14", SourceName: "gcc-12"}, "DEBIAN-CVE-2022-27943", true, ""},
		{scanresult.Package{Ecosystem: "Debian:12", Name: "libssl3", Version: "3.0.8-1", SourceName: "openssl"}, "DEBIAN-CVE-2023-2650", true, "3.0.9-1"},
		{scanresult.Package{Ecosystem: "Debian:12", Name: "libssl3", Version: "3.0.8-1"}, "DEBIAN-CVE-2023-2650", false, ""},
		// binNMU: the binary's "+b2" version is not the source version.
		{scanresult.Package{Ecosystem: "Debian:12", Name: "bash", Version: "5.1-2+b2", SourceName: "bash", SourceVersion: "5.1-2"}, "DEBIAN-CVE-2022-3715", true, "5.2-1"},
		// Release spellings meet; other releases do not.
		{scanresult.Package{Ecosystem: "Debian:12.5", Name: "openssl", Version: "3.0.8-1"}, "DEBIAN-CVE-2023-2650", true, "3.0.9-1"},
		{scanresult.Package{Ecosystem: "Debian:11", Name: "openssl", Version: "3.0.8-1"}, "DEBIAN-CVE-2023-2650", false, ""},
	})
}

func TestAlpineFacts(t *testing.T) {
	db, _ := openDB(t)
	mustImport(t, db, osvtestdata.Dir(t, "alpine"))
	apk := func(origin, version string) scanresult.Package {
		return scanresult.Package{Ecosystem: "Alpine:v3.20", Name: origin, Version: version}
	}
	checkFacts(t, db, []fact{
		{apk("openssl", "3.3.0-r2"), "ALPINE-CVE-2024-4741", true, "3.3.0-r3"},
		{apk("openssl", "3.3.0-r2"), "ALPINE-CVE-2024-4603", false, ""},
		{apk("openssl", "3.3.0-r2"), "ALPINE-CVE-2024-9143", true, "3.3.2-r1"},
		{apk("openssl", "3.3.2-r1"), "ALPINE-CVE-2024-9143", false, ""},
		// openssl 1.1.1 letter releases: 1.1.1j < 1.1.1k.
		{apk("openssl", "1.1.1j-r0"), "ALPINE-CVE-2021-3449", true, "1.1.1k-r0"},
		{apk("openssl", "1.1.1j-r0"), "ALPINE-CVE-2021-23841", false, ""},
		// -rN compares numerically: r28 < r29, r28 > r27, r2 < r25.
		{apk("busybox", "1.36.1-r28"), "ALPINE-CVE-2023-42364", true, "1.36.1-r29"},
		{apk("busybox", "1.36.1-r28"), "ALPINE-CVE-2023-42363", false, ""},
		{apk("busybox", "1.36.1-r2"), "ALPINE-CVE-2023-42366", true, "1.36.1-r25"},
		{apk("busybox", "1.36.1-r29"), "ALPINE-CVE-2023-42365", false, ""},
		// _p (patch) suffix: 6.4_p20240420 is past 6.4_p20230424.
		{apk("ncurses", "6.4_p20230401-r0"), "ALPINE-CVE-2023-29491", true, "6.4_p20230424-r0"},
		{apk("ncurses", "6.4_p20240420-r0"), "ALPINE-CVE-2023-29491", false, ""},
		// _pre sorts before the release.
		{apk("musl", "1.2.2_pre1-r0"), "ALPINE-CVE-2020-28928", true, "1.2.2_pre2-r0"},
		{apk("musl", "1.2.2-r0"), "ALPINE-CVE-2020-28928", false, ""},
		{apk("musl", "1.2.5-r0"), "ALPINE-CVE-2020-28928", false, ""},
		// _git snapshots.
		{apk("gcc", "13.2.1_git20230801-r0"), "ALPINE-CVE-2023-4039", true, "13.2.1_git20231014-r0"},
		{apk("gcc", "13.2.1_git20240309-r0"), "ALPINE-CVE-2023-4039", false, ""},
		{apk("xz", "5.6.1-r1"), "ALPINE-CVE-2024-3094", true, "5.6.1-r2"},
		{apk("xz", "5.6.1-r3"), "ALPINE-CVE-2024-3094", false, ""},
		{apk("util-linux", "2.39.3-r0"), "ALPINE-CVE-2024-28085", true, "2.40-r0"},
		{apk("util-linux", "2.40.1-r1"), "ALPINE-CVE-2024-28085", false, ""},
		{apk("linux-pam", "1.5.3-r7"), "ALPINE-CVE-2024-22365", true, "1.6.0-r0"},
		{apk("linux-pam", "1.6.0-r0"), "ALPINE-CVE-2024-22365", false, ""},
		{apk("perl", "5.38.0-r0"), "ALPINE-CVE-2023-47038", true, "5.38.1-r0"},
		{apk("perl", "5.38.2-r0"), "ALPINE-CVE-2023-47038", false, ""},
		// apk origin: libcrypto3 is built from openssl.
		{scanresult.Package{Ecosystem: "Alpine:v3.20", Name: "libcrypto3", Version: "3.3.0-r2", SourceName: "openssl"}, "ALPINE-CVE-2024-4741", true, "3.3.0-r3"},
		// os-release spelling "3.20.3" meets "Alpine:v3.20".
		{scanresult.Package{Ecosystem: "Alpine:3.20.3", Name: "xz", Version: "5.6.1-r1"}, "ALPINE-CVE-2024-3094", true, "5.6.1-r2"},
	})
}

func TestUbuntuSeverity(t *testing.T) {
	db, _ := openDB(t)
	mustImport(t, db, osvtestdata.Dir(t, "ubuntu-24.04"))
	fs, err := db.Match(context.Background(), []scanresult.Package{
		{Ecosystem: "Ubuntu:24.04", Name: "libssl3t64", Version: "3.0.13-0ubuntu3", SourceName: "openssl"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := findingsByPackage(fs)[0]
	f, ok := got["USN-6663-3"]
	if !ok {
		t.Fatalf("USN-6663-3 not reported: %+v", fs)
	}
	// usn_severity "None" says nothing about the risk: the unrated rule.
	if f.FixedVersion != "3.0.13-0ubuntu3.1" || f.RepairNecessity != string(vulndb.DelayRepair) || f.Score != 0 {
		t.Errorf("USN-6663-3 = %+v", f)
	}
	for id, f := range got {
		if f.Severity == "medium" && f.RepairNecessity != string(vulndb.DelayRepair) {
			t.Errorf("%s: medium → %s", id, f.RepairNecessity)
		}
		if f.Severity == "low" && f.RepairNecessity != string(vulndb.NotNeededRepair) {
			t.Errorf("%s: low → %s", id, f.RepairNecessity)
		}
	}
}
