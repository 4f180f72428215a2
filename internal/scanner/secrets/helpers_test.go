package secrets_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/openhss/openhss/internal/dirlayer"
	"github.com/openhss/openhss/internal/scanner"
)

// file is one tar entry of a test layer.
type file struct {
	name, body string
	typ        byte // tar.TypeReg when zero
	link       string
	mode       int64
}

func reg(name, body string) file       { return file{name: name, body: body} }
func whiteout(dir, victim string) file { return reg(strings.TrimPrefix(dir+"/.wh."+victim, "/"), "") }

func layerOf(t testing.TB, files ...file) v1.Layer {
	t.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Typeflag: f.typ, Linkname: f.link, Mode: f.mode, ModTime: time.Unix(1700000000, 0)}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, f.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return gzipLayer(t, raw.Bytes())
}

func gzipLayer(t testing.TB, raw []byte) v1.Layer {
	t.Helper()
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	b := gz.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func imageOf(t testing.TB, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t testing.TB, l v1.Layer) string {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func scanWith(t testing.TB, img v1.Image, analyzers ...scanner.Analyzer) (*scanner.Report, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return scanner.New(scanner.Options{ScratchDir: t.TempDir(), Analyzers: analyzers}).Scan(ctx, img)
}

// rootfsEnv names the directory of a root filesystem built by
// `debootstrap --variant=minbase bookworm DIR`, as .ci/run sets it.
const (
	rootfsEnv     = "OPENHSS_TEST_DEBOOTSTRAP"
	defaultRootfs = "/var/cache/openhss-test/bookworm-rootfs"
)

// debianLayer is a real Debian bookworm minbase root filesystem as one
// layer, or skips the test when none was built on this machine.
func debianLayer(t testing.TB) v1.Layer {
	t.Helper()
	rootfs := os.Getenv(rootfsEnv)
	if rootfs == "" {
		rootfs = defaultRootfs
	}
	if _, err := os.Stat(filepath.Join(rootfs, "etc/debian_version")); err != nil {
		t.Skipf("no Debian root filesystem at %s: build one with `debootstrap --variant=minbase bookworm DIR` and set %s=DIR",
			rootfs, rootfsEnv)
	}
	l, _, err := dirlayer.Layer(filepath.Join(t.TempDir(), "debian.tar.gz"), rootfs)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
