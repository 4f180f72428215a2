// Package demo holds what `openhss quickstart` shows a new user: a registry
// running inside the process and a handful of sample images built on the
// spot, so the tour needs nothing but Go.
package demo

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Registry is an in-memory OCI registry on a loopback port. It is
// go-containerregistry's small registry: enough for a tour, not a product.
type Registry struct {
	Addr string // host:port
	srv  *http.Server
}

// StartRegistry starts a Registry on 127.0.0.1 with a free port.
func StartRegistry() (*Registry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo registry: %w", err)
	}
	srv := &http.Server{
		Handler:           registry.New(registry.Logger(log.New(io.Discard, "", 0))),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	return &Registry{Addr: ln.Addr().String(), srv: srv}, nil
}

// Close stops the registry.
func (r *Registry) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return r.srv.Shutdown(ctx)
}

// Sample is one image the tour pushes.
type Sample struct {
	Ref         string // "demo/web:1.1"
	Description string
}

// PushSamples builds the sample images and pushes them to the registry at
// addr. goApp, when not nil, is a Go binary (BuildVulnerableGoApp) shipped
// as the image demo/goapp:1.0.
func PushSamples(ctx context.Context, addr string, goApp []byte) ([]Sample, error) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }
	var out []Sample
	push := func(ref string, img v1.Image, desc string) error {
		r, err := name.ParseReference(addr+"/"+ref, name.Insecure)
		if err != nil {
			return err
		}
		if err := remote.Write(r, img, remote.WithContext(ctx)); err != nil {
			return fmt.Errorf("push %s: %w", ref, err)
		}
		out = append(out, Sample{Ref: ref, Description: desc})
		return nil
	}

	web10, err := image(day(2024, 1, 15), "linux", "amd64", map[string]string{
		"etc/os-release":      osRelease,
		"srv/www/index.html":  "<h1>hello from openhss demo 1.0</h1>\n",
		"usr/local/bin/serve": "#!/bin/sh\nexec httpd -f -p 8080 -h /srv/www\n",
	})
	if err != nil {
		return nil, err
	}
	web11, err := image(day(2024, 6, 1), "linux", "amd64", map[string]string{
		"etc/os-release":      osRelease,
		"srv/www/index.html":  "<h1>hello from openhss demo 1.1</h1>\n",
		"usr/local/bin/serve": "#!/bin/sh\nexec httpd -f -p 8080 -h /srv/www\n",
	})
	if err != nil {
		return nil, err
	}
	for _, s := range []struct {
		ref  string
		img  v1.Image
		desc string
	}{
		{"demo/web:1.0", web10, "an older tag of demo/web"},
		{"demo/web:1.1", web11, "the latest tag of demo/web"},
		{"demo/web:stable", web10, "a second tag on the same digest as demo/web:1.0"},
	} {
		if err := push(s.ref, s.img, s.desc); err != nil {
			return nil, err
		}
	}

	if goApp != nil {
		app, err := image(day(2024, 11, 5), "linux", "amd64", map[string]string{
			"etc/os-release":         osRelease,
			"usr/local/bin/demo-app": string(goApp),
		})
		if err != nil {
			return nil, err
		}
		// The step that made its layer, as a build records it: the
		// console's Layers tab shows it. (Only this sample's: the
		// others' digests stay as the docs show them; this one's
		// changes with the Go toolchain anyway.)
		if app, err = withHistory(app, "COPY demo-app /usr/local/bin/demo-app # openhss demo"); err != nil {
			return nil, err
		}
		if err := push("demo/goapp:1.0", app, "a Go program built with golang.org/x/text v0.3.7 (known vulnerable)"); err != nil {
			return nil, err
		}
	}

	// A deliberately insecure image, labelled as such: findings for the
	// malware and baseline analyzers.
	files, err := insecureFiles()
	if err != nil {
		return nil, err
	}
	insecure, err := image(day(2024, 12, 1), "linux", "amd64", files)
	if err != nil {
		return nil, err
	}
	cf, err := insecure.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Config.Labels = map[string]string{InsecureLabel: "deliberately insecure demo image: EICAR test file, root password 123456"}
	if insecure, err = mutate.ConfigFile(insecure, cf); err != nil {
		return nil, err
	}
	if err := push("demo/insecure:1.0", insecure, "DEMO, deliberately insecure: EICAR test file, root password 123456"); err != nil {
		return nil, err
	}

	// A multi-arch tag: one row describing linux/amd64, both members listed.
	amd, err := image(day(2024, 9, 10), "linux", "amd64", map[string]string{"etc/os-release": osRelease, "app/arch": "amd64\n"})
	if err != nil {
		return nil, err
	}
	arm, err := image(day(2024, 9, 10), "linux", "arm64", map[string]string{"etc/os-release": osRelease, "app/arch": "arm64\n"})
	if err != nil {
		return nil, err
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	ref, err := name.ParseReference(addr+"/tools/multiarch:2.0", name.Insecure)
	if err != nil {
		return nil, err
	}
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx)); err != nil {
		return nil, fmt.Errorf("push tools/multiarch:2.0: %w", err)
	}
	out = append(out, Sample{Ref: "tools/multiarch:2.0", Description: "a multi-arch index (linux/amd64 + linux/arm64)"})

	// A Helm chart stored as an OCI artifact: a row, but not scannable.
	chart, err := helmChart()
	if err != nil {
		return nil, err
	}
	if err := push("charts/demo-chart:0.1.0", chart, "a Helm chart (an artifact, not scannable)"); err != nil {
		return nil, err
	}
	return out, nil
}

const osRelease = `PRETTY_NAME="openhss demo"
NAME="openhss demo"
ID=openhss-demo
VERSION_ID="1"
`

// image builds a one-layer image holding files, created at created.
func image(created time.Time, os, arch string, files map[string]string) (v1.Image, error) {
	layer, err := tarLayer(files)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = os, arch
	cf.Created = v1.Time{Time: created}
	cf.Config.Cmd = []string{"/usr/local/bin/serve"}
	return mutate.ConfigFile(img, cf)
}

// withHistory gives the one-layer img a config history of one step.
func withHistory(img v1.Image, createdBy string) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.History = []v1.History{{Created: cf.Created, CreatedBy: createdBy}}
	return mutate.ConfigFile(img, cf)
}

func tarLayer(files map[string]string) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// Sorted, so the same files always make the same digest.
	for _, name := range slices.Sorted(maps.Keys(files)) {
		body := files[name]
		mode := int64(0o644)
		if bytes.HasPrefix([]byte(body), []byte("#!")) || bytes.HasPrefix([]byte(body), []byte("\x7fELF")) {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// helmChart is an OCI artifact shaped like `helm push` makes it.
func helmChart() (v1.Image, error) {
	cfg := static.NewLayer([]byte(`{"name":"demo-chart","version":"0.1.0","apiVersion":"v2"}`), "application/vnd.cncf.helm.config.v1+json")
	content := static.NewLayer([]byte("demo chart content"), "application/vnd.cncf.helm.chart.content.v1.tar+gzip")
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{Layer: content, MediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip"})
	if err != nil {
		return nil, err
	}
	raw, err := cfg.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	b, err := io.ReadAll(raw)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, errors.New("empty chart config")
	}
	return &configOverride{Image: mutate.ConfigMediaType(img, "application/vnd.cncf.helm.config.v1+json"), config: b}, nil
}

// configOverride swaps an image's config blob for arbitrary bytes, which is
// what artifacts such as Helm charts carry.
type configOverride struct {
	v1.Image
	config []byte
}

func (c *configOverride) RawConfigFile() ([]byte, error) { return c.config, nil }

func (c *configOverride) ConfigName() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(c.config))
	return h, err
}

func (c *configOverride) Manifest() (*v1.Manifest, error) {
	m, err := c.Image.Manifest()
	if err != nil {
		return nil, err
	}
	m = m.DeepCopy()
	h, err := c.ConfigName()
	if err != nil {
		return nil, err
	}
	m.Config.Digest = h
	m.Config.Size = int64(len(c.config))
	return m, nil
}

func (c *configOverride) RawManifest() ([]byte, error) {
	m, err := c.Manifest()
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

func (c *configOverride) Digest() (v1.Hash, error) {
	b, err := c.RawManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(b))
	return h, err
}

func (c *configOverride) Size() (int64, error) {
	b, err := c.RawManifest()
	return int64(len(b)), err
}
