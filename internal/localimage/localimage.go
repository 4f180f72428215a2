// Package localimage imports images from disk as local_image rows: an OCI
// image layout directory, or a tarball made by `docker save` (or
// go-containerregistry's tarball.Write).
package localimage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry"
)

// Loaded is an image read from disk.
type Loaded struct {
	// Image is the single-platform image a row describes: the image
	// itself, or the linux/amd64 member of Index (else its first).
	Image v1.Image
	// Index is set when the source is a multi-platform index.
	Index v1.ImageIndex
	// RefName is the name the source gives the image, if any: a docker
	// archive's RepoTag, or an OCI layout's image name annotation.
	RefName string
	// Tag is set instead when the source names only a tag (an OCI
	// layout's ref.name is often just "1.0").
	Tag string
}

// OCI layout annotations that name an image.
const (
	annotationRefName       = "org.opencontainers.image.ref.name"
	annotationContainerdRef = "io.containerd.image.name"
)

// Load reads an OCI layout directory or a docker-archive tarball. When the
// source holds several images, want (a reference "ns/repo:tag", or just a
// tag for an OCI layout) picks one; otherwise the first is taken.
func Load(path, want string) (*Loaded, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("localimage: %w", err)
	}
	if fi.IsDir() {
		return loadLayout(path, want)
	}
	return loadTarball(path, want)
}

func loadLayout(path, want string) (*Loaded, error) {
	idx, err := layout.ImageIndexFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("localimage: %s is not an OCI image layout: %w", path, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("localimage: %s: %w", path, err)
	}
	if len(im.Manifests) == 0 {
		return nil, fmt.Errorf("localimage: %s: the layout holds no image", path)
	}
	chosen := im.Manifests[0]
	if want != "" {
		for _, d := range im.Manifests {
			if refMatches(want, d.Annotations[annotationRefName]) || refMatches(want, d.Annotations[annotationContainerdRef]) {
				chosen = d
				break
			}
		}
	}
	out := &Loaded{RefName: chosen.Annotations[annotationContainerdRef]}
	if rn := chosen.Annotations[annotationRefName]; out.RefName == "" && rn != "" {
		if strings.ContainsAny(rn, "/:") {
			out.RefName = rn
		} else {
			out.Tag = rn
		}
	}
	switch {
	case chosen.MediaType.IsIndex():
		if out.Index, err = idx.ImageIndex(chosen.Digest); err != nil {
			return nil, fmt.Errorf("localimage: %s: %w", path, err)
		}
		if out.Image, err = member(out.Index); err != nil {
			return nil, fmt.Errorf("localimage: %s: %w", path, err)
		}
	case chosen.MediaType.IsImage():
		if out.Image, err = idx.Image(chosen.Digest); err != nil {
			return nil, fmt.Errorf("localimage: %s: %w", path, err)
		}
	default:
		return nil, fmt.Errorf("localimage: %s: unsupported manifest media type %q", path, chosen.MediaType)
	}
	return out, nil
}

// member picks the linux/amd64 image of an index, else its first image.
func member(idx v1.ImageIndex) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var first *v1.Descriptor
	for i, d := range im.Manifests {
		if !d.MediaType.IsImage() || d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue
		}
		if first == nil {
			first = &im.Manifests[i]
		}
		if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == "amd64" {
			return idx.Image(d.Digest)
		}
	}
	if first == nil {
		return nil, errors.New("the index has no image")
	}
	return idx.Image(first.Digest)
}

func loadTarball(path, want string) (*Loaded, error) {
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		return nil, fmt.Errorf("localimage: %s is not a docker archive: %w", path, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("localimage: %s: the archive holds no image", path)
	}
	chosen, refName := 0, ""
	if len(m[0].RepoTags) > 0 {
		refName = m[0].RepoTags[0]
	}
	if want != "" {
	find:
		for i, d := range m {
			for _, rt := range d.RepoTags {
				if refMatches(want, rt) {
					chosen, refName = i, rt
					break find
				}
			}
		}
	}
	var tag *name.Tag
	if refName != "" {
		t, err := name.NewTag(refName)
		if err != nil {
			return nil, fmt.Errorf("localimage: %s: repo tag %q: %w", path, refName, err)
		}
		tag = &t
	} else if len(m) > 1 {
		return nil, fmt.Errorf("localimage: %s: image %d of %d has no repo tag to select it by", path, chosen+1, len(m))
	}
	img, err := tarball.ImageFromPath(path, tag)
	if err != nil {
		return nil, fmt.Errorf("localimage: %s: %w", path, err)
	}
	return &Loaded{Image: img, RefName: refName}, nil
}

// refMatches reports whether a reference the user gave names the same
// image as one found in the source, comparing them as Docker would
// ("alpine" = "docker.io/library/alpine:latest"). A bare tag matches the
// tag of an OCI layout ref.name, which is often just the tag.
func refMatches(want, got string) bool {
	if got == "" {
		return false
	}
	if want == got {
		return true
	}
	w, err1 := name.ParseReference(want, name.WeakValidation)
	g, err2 := name.ParseReference(got, name.WeakValidation)
	return err1 == nil && err2 == nil && w.Name() == g.Name()
}

// Import loads the image at path and records it as a local_image row of
// the project. ref ("NS/REPO:TAG", optional) names the row and selects the
// image in a multi-image source; without it the source's own name is
// used, else the file name with tag "latest". Namespace and name split
// the repository path as registry rows do (registry.SplitRepository),
// after dropping a registry host.
//
// Digest is the manifest digest the image has in its source; for a docker
// archive, which has no manifest of its own, it is the digest of the
// manifest go-containerregistry derives (gzip-compressed layers), which is
// also what pushing the archive with go-containerregistry would produce.
// Size likewise counts the config and compressed layers.
func Import(ctx context.Context, store inventory.Images, projectID, ep, path, ref string) (inventory.Image, error) {
	l, err := Load(path, ref)
	if err != nil {
		return inventory.Image{}, err
	}
	nameRef := ref
	if nameRef == "" {
		nameRef = l.RefName
	}
	ns, repo, tag, err := rowName(nameRef, path, l.Tag)
	if err != nil {
		return inventory.Image{}, err
	}
	img, ms, err := Describe(l)
	if err != nil {
		return inventory.Image{}, fmt.Errorf("localimage: %s: %w", path, err)
	}
	if ep == "" {
		ep = inventory.DefaultEnterpriseProject
	}
	img.ProjectID, img.EnterpriseProjectID = projectID, ep
	img.Namespace, img.Name, img.Tag = ns, repo, tag
	out, err := store.PutLocalImage(ctx, img, ms)
	if err != nil {
		return inventory.Image{}, fmt.Errorf("localimage: %w", err)
	}
	if rec, ok := store.(SourceRecorder); ok {
		abs, err := filepath.Abs(path)
		if err != nil {
			return inventory.Image{}, fmt.Errorf("localimage: %w", err)
		}
		if err := rec.SetLocalSource(ctx, out.ID, abs, ref); err != nil {
			return inventory.Image{}, fmt.Errorf("localimage: %w", err)
		}
	}
	return out, nil
}

// SourceRecorder is a store that remembers where a local image was
// imported from, so that a scan can read the file again. Import records
// the absolute path when its store is one.
type SourceRecorder interface {
	SetLocalSource(ctx context.Context, imageID int64, path, ref string) error
}

// Describe computes the row fields and manifests of a loaded image, with
// the same rules as registry rows.
func Describe(l *Loaded) (inventory.Image, []inventory.Manifest, error) {
	m, err := describeImage(l.Image)
	if err != nil {
		return inventory.Image{}, nil, err
	}
	img := inventory.Image{
		Type: inventory.LocalImage, Digest: m.Digest, ManifestDigest: m.Digest,
		Size: m.Size, LatestUpdateTime: m.Created, Scannable: m.Scannable,
		ScanStatus: inventory.Unscan,
	}
	ms := []inventory.Manifest{m}
	if l.Index != nil {
		d, err := l.Index.Digest()
		if err != nil {
			return inventory.Image{}, nil, err
		}
		mt, err := l.Index.MediaType()
		if err != nil {
			return inventory.Image{}, nil, err
		}
		im, err := l.Index.IndexManifest()
		if err != nil {
			return inventory.Image{}, nil, err
		}
		idx := inventory.Manifest{Digest: d.String(), MediaType: string(mt), Scannable: m.Scannable}
		for _, desc := range im.Manifests {
			if !desc.MediaType.IsImage() || desc.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
				continue
			}
			p := ""
			if desc.Platform != nil {
				p = registry.PlatformString(desc.Platform.OS, desc.Platform.Architecture, desc.Platform.Variant)
			}
			if p == "" && desc.Digest.String() == m.Digest {
				p = m.Platform
			}
			idx.Members = append(idx.Members, inventory.Association{Digest: desc.Digest.String(), Platform: p})
		}
		img.Digest = idx.Digest
		img.Associations = idx.Members
		ms = append([]inventory.Manifest{idx}, ms...)
	}
	return img, ms, nil
}

func describeImage(img v1.Image) (inventory.Manifest, error) {
	d, err := img.Digest()
	if err != nil {
		return inventory.Manifest{}, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return inventory.Manifest{}, err
	}
	man, err := img.Manifest()
	if err != nil {
		return inventory.Manifest{}, err
	}
	m := inventory.Manifest{Digest: d.String(), MediaType: string(mt), Size: man.Config.Size}
	for _, l := range man.Layers {
		m.Size += l.Size
	}
	if ct := man.Config.MediaType; man.ArtifactType != "" || (ct != types.OCIConfigJSON && ct != types.DockerConfigJSON) {
		m.ArtifactType = cmpOr(man.ArtifactType, string(ct))
		return m, nil
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return inventory.Manifest{}, err
	}
	m.Created = inventory.Millis(cf.Created.Time)
	m.Platform = registry.PlatformString(cf.OS, cf.Architecture, cf.Variant)
	m.Scannable = true
	return m, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// rowName derives namespace, name and tag from a reference, else from the
// file name (with tag, else "latest").
func rowName(ref, path, tag string) (ns, repo, t string, err error) {
	if ref == "" {
		base := filepath.Base(filepath.Clean(path))
		for _, ext := range []string{".tar.gz", ".tgz", ".tar", ".oci"} {
			base = strings.TrimSuffix(base, ext)
		}
		base = strings.ToLower(base)
		if _, err := name.NewRepository(base); err != nil {
			return "", "", "", fmt.Errorf("localimage: cannot name the image after %q; give --name NS/REPO:TAG", filepath.Base(path))
		}
		if tag == "" {
			tag = "latest"
		}
		if _, err := name.NewTag(base + ":" + tag); err != nil {
			tag = "latest"
		}
		return "", base, tag, nil
	}
	r, err := name.NewTag(ref, name.WeakValidation)
	if err != nil {
		return "", "", "", fmt.Errorf("localimage: image name %q: %w", ref, err)
	}
	repoPath := ref
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		repoPath = ref[:i]
	}
	// Drop a registry host, as Docker recognizes one: a first segment with
	// a dot or a port, or "localhost".
	if first, rest, ok := strings.Cut(repoPath, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		repoPath = rest
	}
	ns, repo = registry.SplitRepository(repoPath)
	return ns, repo, r.TagStr(), nil
}
