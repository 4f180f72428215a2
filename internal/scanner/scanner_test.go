package scanner_test

import (
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"slices"
	"testing"

	"github.com/openhss/openhss/internal/scanner"
)

func TestDebianImage(t *testing.T) {
	status, n := debianStatus(t)
	base := layerOf(t,
		reg("usr/lib/os-release", bookwormOSRelease),
		symlink("etc/os-release", "../usr/lib/os-release"),
		reg("var/lib/dpkg/status", status),
	)
	rep, err := scan(t, scannertest.New(t, scanner.Options{ScratchDir: t.TempDir()}), imageOf(t, base))
	if err != nil {
		t.Fatal(err)
	}
	if rep.OSID != "debian" || rep.OSVersion != "12" {
		t.Errorf("OS = %s %s", rep.OSID, rep.OSVersion)
	}
	if len(rep.Packages) != n {
		t.Fatalf("%d packages, want %d", len(rep.Packages), n)
	}
	for _, tc := range []struct{ name, version, src, srcVersion string }{
		{"libc6", "2.36-9+deb12u14", "glibc", ""},
		{"bash", "5.2.15-2+b13", "bash", "5.2.15-2"},
		{"zlib1g", "1:1.2.13.dfsg-1", "zlib", ""},
		{"tar", "1.34+dfsg-1.2+deb12u1", "", ""},
	} {
		p, ok := find(rep.Packages, tc.name)
		if !ok {
			t.Errorf("%s missing", tc.name)
			continue
		}
		if p.Version != tc.version || p.SourceName != tc.src || p.SourceVersion != tc.srcVersion ||
			p.Ecosystem != "Debian:12" || p.Type != "dpkg" || p.Path != "/var/lib/dpkg/status" ||
			p.LayerDigest != digestOf(t, base) {
			t.Errorf("%s = %+v", tc.name, p)
		}
	}
}

func TestAlpineImage(t *testing.T) {
	installed := ""
	for _, p := range []struct{ name, version, origin string }{
		{"musl", "1.2.5-r0", "musl"},
		{"busybox", "1.36.1-r29", "busybox"},
		{"libcrypto3", "3.3.1-r0", "openssl"},
		{"libssl3", "3.3.1-r0", "openssl"},
		{"zlib", "1.3.1-r1", "zlib"},
		{"apk-tools", "2.14.4-r0", "apk-tools"},
		{"ssl_client", "1.36.1-r29", "busybox"},
		{"scanelf", "1.3.7-r2", "pax-utils"},
	} {
		installed += "C:Q1abc=\nP:" + p.name + "\nV:" + p.version + "\nA:x86_64\no:" + p.origin + "\nm:Natanael Copa\nL:MIT\n\n"
	}
	img := imageOf(t, layerOf(t,
		reg("etc/os-release", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n"),
		reg("lib/apk/db/installed", installed),
	))
	rep, err := scan(t, scannertest.New(t, scanner.Options{ScratchDir: t.TempDir()}), img)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Packages) != 8 {
		t.Fatalf("packages %v", names(rep.Packages))
	}
	for name, src := range map[string]string{"libssl3": "openssl", "musl": "", "scanelf": "pax-utils"} {
		p, _ := find(rep.Packages, name)
		if p.Ecosystem != "Alpine:v3.20" || p.SourceName != src || p.Type != "apk" || p.Path != "/lib/apk/db/installed" {
			t.Errorf("%s = %+v", name, p)
		}
	}
}

func TestDistrolessStatusD(t *testing.T) {
	img := imageOf(t, layerOf(t,
		reg("etc/os-release", bookwormOSRelease),
		reg("var/lib/dpkg/status.d/libc6", "Package: libc6\nVersion: 2.36-9+deb12u14\nArchitecture: amd64\nSource: glibc\n"),
		reg("var/lib/dpkg/status.d/libc6.md5sums", "d41d8cd98f00b204e9800998ecf8427e  usr/lib/x\n"),
		reg("var/lib/dpkg/status.d/libssl3", "Package: libssl3\nVersion: 3.0.9-1\nArchitecture: amd64\nSource: openssl\n"),
	))
	rep, err := scan(t, scannertest.New(t, scanner.Options{ScratchDir: t.TempDir()}), img)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(rep.Packages); !slices.Equal(got, []string{"libc6@2.36-9+deb12u14", "libssl3@3.0.9-1"}) {
		t.Fatalf("packages %v", got)
	}
	p, _ := find(rep.Packages, "libssl3")
	if p.SourceName != "openssl" || p.Ecosystem != "Debian:12" || p.Path != "/var/lib/dpkg/status.d/libssl3" {
		t.Errorf("libssl3 = %+v", p)
	}
}

func TestLanguagePackages(t *testing.T) {
	img := imageOf(t, layerOf(t,
		reg("app/node_modules/lodash/package.json", `{"name":"lodash","version":"4.17.20"}`),
		reg("usr/lib/python3/dist-packages/requests-2.25.0.dist-info/METADATA",
			"Metadata-Version: 2.1\nName: requests\nVersion: 2.25.0\nSummary: HTTP\n"),
	))
	rep, err := scan(t, scannertest.New(t, scanner.Options{ScratchDir: t.TempDir()}), img)
	if err != nil {
		t.Fatal(err)
	}
	npm, ok1 := find(rep.Packages, "lodash")
	py, ok2 := find(rep.Packages, "requests")
	if !ok1 || npm.Ecosystem != "npm" || npm.Version != "4.17.20" || npm.Type != "npm" || npm.Path != "/app/node_modules/lodash/package.json" {
		t.Errorf("lodash = %+v", npm)
	}
	if !ok2 || py.Ecosystem != "PyPI" || py.Version != "2.25.0" || py.Type != "python" {
		t.Errorf("requests = %+v", py)
	}
}

func TestWhiteoutsAndLayers(t *testing.T) {
	status := func(pkgs ...string) string {
		s := ""
		for _, p := range pkgs {
			s += "Package: " + p + "\nStatus: install ok installed\nVersion: 1.0\n\n"
		}
		return s
	}
	pkgJSON := func(name string) string { return `{"name":"` + name + `","version":"1.0.0"}` }
	l1 := layerOf(t,
		reg("etc/os-release", bookwormOSRelease),
		reg("var/lib/dpkg/status", status("lower")),
		reg("srv/node_modules/gone/package.json", pkgJSON("gone")),
		reg("srv/node_modules/deep/x/node_modules/y/package.json", pkgJSON("deep")),
		reg("opt/a/node_modules/kept/package.json", pkgJSON("kept")),
		reg("opt/b/node_modules/deleted/package.json", pkgJSON("deleted")),
		reg("usr/share/db/var/lib/dpkg/status", status("elsewhere")),
	)
	l2 := layerOf(t,
		reg("var/lib/dpkg/status", status("upper")), // rewritten
		opaque("srv/node_modules"),                  // hides gone and deep
		reg("srv/node_modules/fresh/package.json", pkgJSON("fresh")),
		whiteout("opt/b", "node_modules"), // a whole directory
		whiteout("", "usr"),               // a top-level directory
	)
	l3 := layerOf(t,
		reg("opt/b/node_modules/again/package.json", pkgJSON("again")), // recreated after the whiteout
	)
	rep, err := scan(t, scannertest.New(t, scanner.Options{ScratchDir: t.TempDir()}), imageOf(t, l1, l2, l3))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"again@1.0.0", "fresh@1.0.0", "kept@1.0.0", "upper@1.0"}
	if got := names(rep.Packages); !slices.Equal(got, want) {
		t.Fatalf("packages %v, want %v", got, want)
	}
	for name, layer := range map[string]string{"upper": digestOf(t, l2), "kept": digestOf(t, l1), "fresh": digestOf(t, l2), "again": digestOf(t, l3)} {
		if p, _ := find(rep.Packages, name); p.LayerDigest != layer {
			t.Errorf("%s in layer %s, want %s", name, p.LayerDigest, layer)
		}
	}
	if !slices.Equal(rep.Layers, []string{digestOf(t, l1), digestOf(t, l2), digestOf(t, l3)}) {
		t.Errorf("layers %v", rep.Layers)
	}
}

// A whiteout and a new file in the same layer: the new file stays,
// whatever order the tar has them in.
func TestWhiteoutSameLayer(t *testing.T) {
	pkgJSON := `{"name":"p","version":"2.0.0"}`
	for _, order := range [][]file{
		{whiteout("app", "node_modules"), reg("app/node_modules/p/package.json", pkgJSON)},
		{reg("app/node_modules/p/package.json", pkgJSON), opaque("app")},
	} {
		l1 := layerOf(t, reg("app/node_modules/p/package.json", `{"name":"p","version":"1.0.0"}`),
			reg("app/node_modules/q/package.json", `{"name":"q","version":"1.0.0"}`))
		rep, err := scan(t, scannertest.New(t, scanner.Options{ScratchDir: t.TempDir()}), imageOf(t, l1, layerOf(t, order...)))
		if err != nil {
			t.Fatal(err)
		}
		if got := names(rep.Packages); !slices.Equal(got, []string{"p@2.0.0"}) {
			t.Errorf("packages %v", got)
		}
	}
}

// Merged /usr: a later layer writing through the lib -> usr/lib symlink
// lands in usr/lib, and a file reached through a symlink is read.
func TestSymlinkedDirectories(t *testing.T) {
	l1 := layerOf(t, dir("usr/lib"), symlink("lib", "usr/lib"), reg("usr/lib/os-release", bookwormOSRelease),
		symlink("etc/os-release", "/lib/os-release"))
	l2 := layerOf(t, reg("lib/apk/db/installed", "P:musl\nV:1.2.5-r0\no:musl\n\n"))
	rep, err := scan(t, scannertest.New(t, scanner.Options{ScratchDir: t.TempDir()}), imageOf(t, l1, l2))
	if err != nil {
		t.Fatal(err)
	}
	if rep.OSVersion != "12" {
		t.Errorf("os %s %s", rep.OSID, rep.OSVersion)
	}
	p, ok := find(rep.Packages, "musl")
	if !ok || p.Path != "/usr/lib/apk/db/installed" || p.LayerDigest != digestOf(t, l2) {
		t.Errorf("packages %+v", rep.Packages)
	}
}

// New refuses a nil analyzer and negative limits: each would fail every
// scan (a nil dereference, or every image oversized) instead of the start.
func TestNewRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    scanner.Options
		ok   bool
	}{
		{"nil analyzer", scanner.Options{Analyzers: []scanner.Analyzer{nil}}, false},
		{"negative image size", scanner.Options{MaxImageSize: -1}, false},
		{"negative files", scanner.Options{MaxFiles: -1}, false},
		{"negative scratch limit", scanner.Options{ScratchLimit: -1}, false},
		{"zero value", scanner.Options{}, true},
	} {
		s, err := scanner.New(tc.o)
		if tc.ok != (err == nil) || tc.ok != (s != nil) {
			t.Errorf("%s: New = %v, %v; want ok=%v", tc.name, s, err, tc.ok)
		}
	}
}
