package scanner_test

import (
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/scanner"
)

const (
	alpineOSRelease = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n"
	ubuntuOSRelease = "PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nVERSION=\"24.04.1 LTS (Noble Numbat)\"\n" +
		"VERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=noble\n"
	// hostOSRelease is what a file on the host says: no scan may read it.
	hostOSRelease = "ID=hostos\nVERSION_ID=99\nPRETTY_NAME='Host OS'\n"
	dpkgOne       = "Package: a\nStatus: install ok installed\nVersion: 1\n\n"
	apkOne        = "P:a\nV:1-r0\no:a\n\n"
)

// The distribution comes from /etc/os-release, else /usr/lib/os-release,
// following symlinks inside the image root only; the OS packages' ecosystem
// follows it.
func TestOSRelease(t *testing.T) {
	host := filepath.Join(t.TempDir(), "os-release")
	if err := os.WriteFile(host, []byte(hostOSRelease), 0o644); err != nil {
		t.Fatal(err)
	}
	up := strings.Repeat("../", 12)
	cases := []struct {
		name                  string
		files                 []file
		id, version, ecosytem string // want
	}{
		{"only /etc", []file{reg("etc/os-release", bookwormOSRelease), reg("var/lib/dpkg/status", dpkgOne)},
			"debian", "12", "Debian:12"},
		{"only /usr/lib, no /etc at all", []file{reg("usr/lib/os-release", bookwormOSRelease), reg("var/lib/dpkg/status", dpkgOne)},
			"debian", "12", "Debian:12"},
		{"only /usr/lib, /etc without it", []file{dir("etc"), reg("usr/lib/os-release", bookwormOSRelease), reg("var/lib/dpkg/status", dpkgOne)},
			"debian", "12", "Debian:12"},
		{"Debian layout: relative symlink /etc -> /usr/lib", []file{reg("usr/lib/os-release", bookwormOSRelease),
			symlink("etc/os-release", "../usr/lib/os-release"), reg("var/lib/dpkg/status", dpkgOne)},
			"debian", "12", "Debian:12"},
		{"absolute symlink /etc -> /usr/lib", []file{reg("usr/lib/os-release", bookwormOSRelease),
			symlink("etc/os-release", "/usr/lib/os-release"), reg("var/lib/dpkg/status", dpkgOne)},
			"debian", "12", "Debian:12"},
		{"/etc preferred over /usr/lib", []file{reg("usr/lib/os-release", bookwormOSRelease),
			reg("etc/os-release", ubuntuOSRelease), reg("var/lib/dpkg/status", dpkgOne)},
			"ubuntu", "24.04", "Ubuntu:24.04"},
		{"Alpine", []file{reg("etc/os-release", alpineOSRelease), reg("lib/apk/db/installed", apkOne)},
			"alpine", "3.20.3", "Alpine:v3.20"},
		{"Ubuntu through the symlink", []file{reg("usr/lib/os-release", ubuntuOSRelease),
			symlink("etc/os-release", "../usr/lib/os-release"), reg("var/lib/dpkg/status", dpkgOne)},
			"ubuntu", "24.04", "Ubuntu:24.04"},
		{"absolute symlink to a host file, /usr/lib fallback", []file{symlink("etc/os-release", host),
			reg("usr/lib/os-release", bookwormOSRelease), reg("var/lib/dpkg/status", dpkgOne)},
			"debian", "12", "Debian:12"},
		{"relative symlink climbing to a host file, /usr/lib fallback", []file{symlink("etc/os-release", up+strings.TrimPrefix(host, "/")),
			reg("usr/lib/os-release", bookwormOSRelease), reg("var/lib/dpkg/status", dpkgOne)},
			"debian", "12", "Debian:12"},
		{"symlink to a host file and nothing else", []file{symlink("etc/os-release", host), reg("var/lib/dpkg/status", dpkgOne)},
			"", "", "Linux"},
		{"/usr/lib symlink to a host file", []file{symlink("usr/lib/os-release", up+strings.TrimPrefix(host, "/")),
			symlink("etc/os-release", "../usr/lib/os-release"), reg("lib/apk/db/installed", apkOne)},
			"", "", "Alpine"},
		{"dangling /etc symlink, /usr/lib fallback", []file{symlink("etc/os-release", "os-release.d/none"),
			reg("usr/lib/os-release", bookwormOSRelease), reg("var/lib/dpkg/status", dpkgOne)},
			"debian", "12", "Debian:12"},
		{"/etc symlink loop, /usr/lib fallback", []file{symlink("etc/os-release", "os-release2"), symlink("etc/os-release2", "os-release"),
			reg("usr/lib/os-release", bookwormOSRelease), reg("var/lib/dpkg/status", dpkgOne)},
			"debian", "12", "Debian:12"},
		{"/etc/os-release a directory, /usr/lib fallback", []file{dir("etc/os-release"), reg("etc/os-release/x", ubuntuOSRelease),
			reg("usr/lib/os-release", bookwormOSRelease), reg("var/lib/dpkg/status", dpkgOne)},
			"debian", "12", "Debian:12"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := scan(t, scannertest.New(t, scanner.Options{ScratchDir: t.TempDir()}), imageOf(t, layerOf(t, tc.files...)))
			if err != nil {
				t.Fatal(err)
			}
			if rep.OSID != tc.id || rep.OSVersion != tc.version {
				t.Errorf("OS = %s %s, want %s %s", rep.OSID, rep.OSVersion, tc.id, tc.version)
			}
			if len(rep.Packages) != 1 {
				t.Fatalf("packages %+v, want one", rep.Packages)
			}
			p := rep.Packages[0]
			if p.Ecosystem != tc.ecosytem {
				t.Errorf("ecosystem %q, want %q", p.Ecosystem, tc.ecosytem)
			}
			if strings.Contains(p.PURL, "hostos") || rep.OSName == "Host OS" {
				t.Errorf("the host's os-release was read: %s %s", rep.OSName, p.PURL)
			}
		})
	}
}
