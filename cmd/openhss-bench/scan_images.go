package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
)

// Old module versions the Go binaries link (vulnerable on purpose).
var oldGoDeps = []string{"golang.org/x/text v0.3.7", "golang.org/x/net v0.0.0-20211112202133-69e39bad7dc2"}

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

// benchRegistry is go-containerregistry's in-memory registry on loopback,
// counting the requests it serves.
type benchRegistry struct {
	addr     string
	requests *atomic.Int64
	srv      *http.Server
}

func startRegistry() (*benchRegistry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	requests := new(atomic.Int64)
	srv := &http.Server{Handler: countingHandler{next: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))), n: requests}}
	go srv.Serve(ln)
	return &benchRegistry{addr: ln.Addr().String(), requests: requests, srv: srv}, nil
}

// benchTarget is one image of the full-scan measurements.
type benchTarget struct {
	name, ref string
	layers    []v1.Layer
}

// pushTargets pushes the images the full scans measure: the debootstrap
// root filesystem, the Go binaries, and (with --big-image-mb) the root
// filesystem with random files up to that size.
func (b *scanBench) pushTargets(ctx context.Context, addr string, bins []string) ([]imageResult, error) {
	b.progress("packing %s into a layer", b.o.Rootfs)
	debLayer, _, err := dirlayer.Layer(filepath.Join(b.dir, "rootfs.tar.gz"), b.o.Rootfs)
	if err != nil {
		return nil, err
	}
	targets := []benchTarget{{name: "debootstrap bookworm minbase", ref: "bench/debian:bookworm", layers: []v1.Layer{debLayer}}}
	binLayer, err := filesLayer(b.dir, "gobins", binFiles(bins, len(bins)))
	if err != nil {
		return nil, err
	}
	targets = append(targets, benchTarget{name: fmt.Sprintf("%d Go binaries", len(bins)), ref: "bench/gobins:latest", layers: []v1.Layer{binLayer}})
	if b.o.BigImageMB > 0 {
		b.progress("building the %d MB image", b.o.BigImageMB)
		filler, err := randomLayer(b.dir, int64(b.o.BigImageMB)<<20-layerSize(debLayer))
		if err != nil {
			return nil, err
		}
		targets = append(targets, benchTarget{name: fmt.Sprintf("debootstrap + random files, %d MB", b.o.BigImageMB), ref: "bench/big:latest", layers: []v1.Layer{debLayer, filler}})
	}
	var images []imageResult
	for _, tg := range targets {
		b.progress("pushing %s", tg.ref)
		img, err := imageOfLayers(tg.layers...)
		if err != nil {
			return images, err
		}
		if err := push(ctx, addr, tg.ref, img); err != nil {
			return images, err
		}
		images = append(images, imageResult{Name: tg.name, Ref: tg.ref, CompressedBytes: imageSize(img), Layers: len(tg.layers)})
	}
	return images, nil
}

// pushSmallImages pushes the small images of the throughput run: a dpkg
// database, os-release, one Go binary and a file making each digest
// unique. It returns their refs and their total compressed size.
func (b *scanBench) pushSmallImages(ctx context.Context, addr string, bins []string) ([]string, int64, error) {
	status, err := os.ReadFile(filepath.Join(b.o.Rootfs, "var", "lib", "dpkg", "status"))
	if err != nil {
		return nil, 0, err
	}
	osRelease, err := os.ReadFile(filepath.Join(b.o.Rootfs, "usr", "lib", "os-release"))
	if err != nil {
		return nil, 0, err
	}
	var refs []string
	var total int64
	b.progress("pushing %d small images", b.o.SmallImages)
	for i := range b.o.SmallImages {
		bin := bins[i%len(bins)]
		body, err := os.ReadFile(bin)
		if err != nil {
			return nil, 0, err
		}
		l, err := filesLayer(b.dir, fmt.Sprintf("small-%02d", i), []memFile{
			{"etc/os-release", osRelease, 0o644}, {"var/lib/dpkg/status", status, 0o644},
			{"usr/local/bin/" + filepath.Base(bin), body, 0o755}, {"etc/hostname", []byte(fmt.Sprintf("small-%02d\n", i)), 0o644},
		})
		if err != nil {
			return nil, 0, err
		}
		img, err := imageOfLayers(l)
		if err != nil {
			return nil, 0, err
		}
		ref := fmt.Sprintf("bench/small-%02d:1", i)
		if err := push(ctx, addr, ref, img); err != nil {
			return nil, 0, err
		}
		refs = append(refs, ref)
		total += imageSize(img)
	}
	return refs, total, nil
}
