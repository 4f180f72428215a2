package registrytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/openhss/openhss/internal/imagetest"
)

// Media types of artifacts that are not container images.
const (
	HelmConfigMediaType     types.MediaType = "application/vnd.cncf.helm.config.v1+json"
	HelmChartLayerMediaType types.MediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	CosignSignatureLayer    types.MediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	EmptyConfigMediaType    types.MediaType = "application/vnd.oci.empty.v1+json"
	SBOMArtifactType                        = "application/spdx+json"
)

// ImageOptions describe an image to build.
type ImageOptions struct {
	// Created is the config's created time; zero leaves it unset.
	Created time.Time
	// Layers are the image's layers, each a map of file path to content.
	// No layers gives one layer with a single file, so that every built
	// image has content.
	Layers []map[string]string
	// Platform defaults to linux/amd64.
	Platform *v1.Platform
	// OCI builds OCI media types instead of Docker schema 2 ones.
	OCI bool
}

// Image builds an image in memory.
func Image(t testing.TB, o ImageOptions) v1.Image {
	t.Helper()
	layers := o.Layers
	if len(layers) == 0 {
		layers = []map[string]string{{"etc/registrytest": "registrytest\n"}}
	}
	img := empty.Image
	if o.OCI {
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	}
	layerType := types.DockerLayer
	if o.OCI {
		layerType = types.OCILayer
	}
	for _, files := range layers {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(imagetest.Tar(t, imagetest.Files(files)...))), nil
		}, tarball.WithMediaType(layerType))
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	return imagetest.WithConfigFile(t, img, func(cf *v1.ConfigFile) {
		p := v1.Platform{OS: "linux", Architecture: "amd64"}
		if o.Platform != nil {
			p = *o.Platform
		}
		cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
		if !o.Created.IsZero() {
			cf.Created = v1.Time{Time: o.Created.UTC()}
		}
	})
}

// PushImage builds an image and pushes it as repo:tag.
func (r *Registry) PushImage(t testing.TB, repo, tag string, o ImageOptions) v1.Image {
	t.Helper()
	img := Image(t, o)
	if err := remote.Write(r.Repo(t, repo).Tag(tag), img, r.RemoteOptions()...); err != nil {
		t.Fatalf("push %s:%s: %v", repo, tag, err)
	}
	return img
}

// Index builds an OCI image index with one image per platform. Each
// member has a file naming its platform, so members have distinct digests.
func Index(t testing.TB, created time.Time, platforms ...v1.Platform) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		img := Image(t, ImageOptions{
			Created:  created,
			Layers:   []map[string]string{{"etc/platform": p.String() + "\n"}},
			Platform: &p,
			OCI:      true,
		})
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	return idx
}

// PushIndex pushes a multi-platform index (and its members) as repo:tag.
func (r *Registry) PushIndex(t testing.TB, repo, tag string, created time.Time, platforms ...v1.Platform) v1.ImageIndex {
	t.Helper()
	idx := Index(t, created, platforms...)
	if err := remote.WriteIndex(r.Repo(t, repo).Tag(tag), idx, r.RemoteOptions()...); err != nil {
		t.Fatalf("push index %s:%s: %v", repo, tag, err)
	}
	return idx
}

// Artifact is a manifest pushed from raw parts, for content that
// go-containerregistry's image builders cannot express.
type Artifact struct {
	Digest    v1.Hash
	MediaType types.MediaType
	Manifest  []byte
	// Size is the config plus layer sizes, as a registry row counts it.
	Size int64
}

// Descriptor describes the artifact's manifest, e.g. as a subject.
func (a Artifact) Descriptor() v1.Descriptor {
	return v1.Descriptor{MediaType: a.MediaType, Digest: a.Digest, Size: int64(len(a.Manifest))}
}

type artifactSpec struct {
	configType   types.MediaType
	config       []byte
	layers       []v1.Layer
	artifactType string
	subject      *v1.Descriptor
	annotations  map[string]string
}

func (r *Registry) pushArtifact(t testing.TB, repo, tag string, s artifactSpec) Artifact {
	t.Helper()
	ctx := context.Background()
	ref := r.Repo(t, repo)
	cfg := static.NewLayer(s.config, s.configType)
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        descriptorOf(t, cfg),
		ArtifactType:  s.artifactType,
		Subject:       s.subject,
		Annotations:   s.annotations,
	}
	size := m.Config.Size
	for _, l := range append([]v1.Layer{cfg}, s.layers...) {
		if err := remote.WriteLayer(ref, l, append(r.RemoteOptions(), remote.WithContext(ctx))...); err != nil {
			t.Fatalf("push blob to %s: %v", repo, err)
		}
	}
	for _, l := range s.layers {
		d := descriptorOf(t, l)
		m.Layers = append(m.Layers, d)
		size += d.Size
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	a := Artifact{MediaType: types.OCIManifestSchema1, Manifest: raw, Size: size}
	if a.Digest, _, err = v1.SHA256(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	var dst name.Reference = ref.Digest(a.Digest.String())
	if tag != "" {
		dst = ref.Tag(tag)
	}
	if err := remote.Put(dst, rawManifest{raw, a.MediaType}, r.RemoteOptions()...); err != nil {
		t.Fatalf("push manifest %s: %v", dst, err)
	}
	return a
}

// PushHelmChart pushes a Helm-chart-shaped OCI artifact as repo:tag.
func (r *Registry) PushHelmChart(t testing.TB, repo, tag string) Artifact {
	t.Helper()
	cfg := fmt.Appendf(nil, `{"apiVersion":"v2","name":%q,"version":%q}`, repo, tag)
	chart := []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + repo + tag) // opaque bytes: only the media type matters
	return r.pushArtifact(t, repo, tag, artifactSpec{
		configType: HelmConfigMediaType,
		config:     cfg,
		layers:     []v1.Layer{static.NewLayer(chart, HelmChartLayerMediaType)},
	})
}

// PushCosignSignature pushes a cosign-style signature of forDigest under
// cosign's tag "sha256-<hex>.sig" and returns that tag.
func (r *Registry) PushCosignSignature(t testing.TB, repo string, forDigest v1.Hash) (string, Artifact) {
	t.Helper()
	payload := fmt.Appendf(nil, `{"critical":{"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"}}`, forDigest)
	layer := static.NewLayer(payload, CosignSignatureLayer)
	tag := fmt.Sprintf("%s-%s.sig", forDigest.Algorithm, forDigest.Hex)
	// cosign gives its signature manifests an ordinary image config type, so
	// only the tag tells them apart from images.
	a := r.pushArtifact(t, repo, tag, artifactSpec{
		configType: types.OCIConfigJSON,
		config:     []byte(`{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}`),
		layers:     []v1.Layer{layer},
	})
	return tag, a
}

// PushReferrer pushes an SBOM-like artifact whose subject is the manifest
// subject, tagged repo:tag (empty tag: by digest only). Distribution has no
// referrers API, so go-containerregistry also maintains the fallback tag
// "sha256-<subject hex>" pointing at an index of referrers.
func (r *Registry) PushReferrer(t testing.TB, repo, tag string, subject v1.Descriptor) Artifact {
	t.Helper()
	sbom := fmt.Appendf(nil, `{"spdxVersion":"SPDX-2.3","name":%q}`, subject.Digest)
	return r.pushArtifact(t, repo, tag, artifactSpec{
		configType:   EmptyConfigMediaType,
		config:       []byte("{}"),
		layers:       []v1.Layer{static.NewLayer(sbom, types.MediaType(SBOMArtifactType))},
		artifactType: SBOMArtifactType,
		subject:      &subject,
	})
}

// Head returns the descriptor repo:tag points at.
func (r *Registry) Head(t testing.TB, repo, tag string) v1.Descriptor {
	t.Helper()
	d, err := remote.Head(r.Repo(t, repo).Tag(tag), r.RemoteOptions()...)
	if err != nil {
		t.Fatalf("head %s:%s: %v", repo, tag, err)
	}
	return *d
}

// DeleteTag deletes the manifest repo:tag points at. Distribution deletes
// manifests, not tags: every tag of that digest goes with it, so tests that
// delete one tag give it a manifest of its own.
func (r *Registry) DeleteTag(t testing.TB, repo, tag string) {
	t.Helper()
	d := r.Head(t, repo, tag)
	if err := remote.Delete(r.Repo(t, repo).Digest(d.Digest.String()), r.RemoteOptions()...); err != nil {
		t.Fatalf("delete %s:%s: %v", repo, tag, err)
	}
}

// MoveTag points repo:tag at the manifest repo:to points at.
func (r *Registry) MoveTag(t testing.TB, repo, tag, to string) {
	t.Helper()
	desc, err := remote.Get(r.Repo(t, repo).Tag(to), r.RemoteOptions()...)
	if err != nil {
		t.Fatalf("get %s:%s: %v", repo, to, err)
	}
	if err := remote.Tag(r.Repo(t, repo).Tag(tag), desc, r.RemoteOptions()...); err != nil {
		t.Fatalf("tag %s:%s: %v", repo, tag, err)
	}
}

// ManifestSize is config plus layer sizes of an image's manifest, computed
// from the manifest alone.
func ManifestSize(t testing.TB, img v1.Image) int64 {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	n := m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

func descriptorOf(t testing.TB, l v1.Layer) v1.Descriptor {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	n, _ := l.Size()
	mt, _ := l.MediaType()
	return v1.Descriptor{MediaType: mt, Digest: d, Size: n}
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }
