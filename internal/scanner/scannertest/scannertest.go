// Package scannertest helps the scanner's analyzer tests: one scan call, the
// cached Debian root filesystem as a layer, and crypt(3) hashes. Images and
// layers are built with internal/imagetest. Import it from tests only.
package scannertest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/go-crypt/crypt/algorithm/shacrypt"

	"github.com/openhss/openhss/internal/dirlayer"
	"github.com/openhss/openhss/internal/scanner"
)

// Scan scans img with a fresh scanner running analyzers.
func Scan(t testing.TB, img v1.Image, analyzers ...scanner.Analyzer) (*scanner.Report, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return New(t, scanner.Options{ScratchDir: t.TempDir(), Analyzers: analyzers}).Scan(ctx, img)
}

// New returns scanner.New(o), failing t when New refuses o.
func New(t testing.TB, o scanner.Options) *scanner.Scanner {
	t.Helper()
	s, err := scanner.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// RootfsEnv names the directory of a root filesystem built by
// `debootstrap --variant=minbase bookworm DIR`, as .ci/run sets it.
const (
	RootfsEnv     = "OPENHSS_TEST_DEBOOTSTRAP"
	DefaultRootfs = "/var/cache/openhss-test/bookworm-rootfs"
)

// DebianLayer is a real Debian bookworm minbase root filesystem as one
// layer, or skips the test when none was built on this machine.
func DebianLayer(t testing.TB) v1.Layer {
	t.Helper()
	rootfs := os.Getenv(RootfsEnv)
	if rootfs == "" {
		rootfs = DefaultRootfs
	}
	if _, err := os.Stat(filepath.Join(rootfs, "etc/debian_version")); err != nil {
		t.Skipf("no Debian root filesystem at %s: build one with `debootstrap --variant=minbase bookworm DIR` and set %s=DIR",
			rootfs, RootfsEnv)
	}
	l, _, err := dirlayer.Layer(filepath.Join(t.TempDir(), "debian.tar.gz"), rootfs)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// SHA512Crypt hashes pw as glibc's crypt(3) does for "$6$" (5000 rounds,
// written out; random salt), with the crypt library the baseline analyzer
// verifies hashes with.
func SHA512Crypt(t testing.TB, pw string) string {
	t.Helper()
	h, err := shacrypt.New(shacrypt.WithSHA512(), shacrypt.WithIterations(5000))
	if err != nil {
		t.Fatal(err)
	}
	d, err := h.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	return d.Encode()
}
