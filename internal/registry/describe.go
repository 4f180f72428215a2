package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/openhss/openhss/internal/inventory"
)

// maxConfigSize bounds the config blobs read; real ones are a few KB.
const maxConfigSize = 8 << 20

// resolved is what a tag pointing at one manifest digest becomes.
type resolved struct {
	// attachment: the manifest has an OCI subject; it is not a row.
	attachment bool
	// row is the ManifestDigest of the row: the digest itself, or the
	// chosen member of an index.
	row string
	// manifests are this manifest and, for an index, its members.
	manifests []inventory.Manifest
}

// cached is one digest's resolution, shared by every tag (of any
// repository) that points at it, so that each digest is fetched once per
// listing even when many tags resolve it at the same time.
type cached struct {
	done chan struct{}
	res  *resolved
	err  error
}

// fetched is a manifest already read (by tag), saving a fetch by digest.
type fetched struct {
	raw       []byte
	mediaType types.MediaType
}

func (s *listing) resolve(ctx context.Context, repo name.Repository, digest string, f *fetched) (*resolved, error) {
	s.mu.Lock()
	c, ok := s.cache[digest]
	if !ok {
		c = &cached{done: make(chan struct{})}
		s.cache[digest] = c
	}
	s.mu.Unlock()
	if ok {
		select {
		case <-c.done:
			return c.res, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c.res, c.err = s.describe(ctx, repo, digest, f)
	if c.err != nil {
		// Let a later tag (perhaps in a repository it may read) try again.
		s.mu.Lock()
		delete(s.cache, digest)
		s.mu.Unlock()
	}
	close(c.done)
	return c.res, c.err
}

// manifestDoc is the union of the manifest formats this package reads.
type manifestDoc struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     types.MediaType   `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *v1.Descriptor    `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Manifests     []v1.Descriptor   `json:"manifests"`
	Subject       *v1.Descriptor    `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

func (s *listing) describe(ctx context.Context, repo name.Repository, digest string, f *fetched) (*resolved, error) {
	if f == nil {
		raw, mt, _, err := s.manifest(ctx, repo.Digest(digest))
		if err != nil {
			return nil, err
		}
		f = &fetched{raw, mt}
	}
	return describeManifest(ctx, digest, f.mediaType, f.raw, func(ctx context.Context, d v1.Descriptor) ([]byte, error) {
		return s.blob(ctx, repo.Digest(d.Digest.String()))
	}, func(ctx context.Context, d v1.Descriptor) (*resolved, error) {
		return s.resolve(ctx, repo, d.Digest.String(), nil)
	})
}

// manifest GETs a manifest by tag or digest. go-containerregistry checks
// the body against the digest the registry claims (or the one asked for).
func (s *listing) manifest(ctx context.Context, ref name.Reference) (raw []byte, mt types.MediaType, digest string, err error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return nil, "", "", err
	}
	defer release()
	desc, err := s.puller.Get(ctx, ref)
	if err != nil {
		return nil, "", "", err
	}
	return desc.Manifest, desc.MediaType, desc.Digest.String(), nil
}

func (s *listing) blob(ctx context.Context, ref name.Digest) ([]byte, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	l, err := s.puller.Layer(ctx, ref)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed() // verifies the digest while reading
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxConfigSize {
		return nil, fmt.Errorf("config blob %s is larger than %d bytes", ref.DigestStr(), maxConfigSize)
	}
	return b, nil
}

// describeManifest turns one manifest into rows' terms. config reads a
// config blob; member resolves a member of an index.
//
// Rules (docs/api.md, Synchronization): a manifest with an OCI subject is an attachment (no
// row); an index describes its linux/amd64 member, else its first, and
// lists every member with its platform (buildx attestation members and
// nested indexes are not members); an image manifest whose config is not a
// container image config, or that declares an artifactType, is an artifact
// row with Scannable=false; Docker schema 1 and unknown media types are
// rows with Scannable=false and no size, so the tag still shows up.
func describeManifest(ctx context.Context, digest string, mediaType types.MediaType, raw []byte,
	config func(context.Context, v1.Descriptor) ([]byte, error),
	member func(context.Context, v1.Descriptor) (*resolved, error),
) (*resolved, error) {
	var doc manifestDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", digest, err)
	}
	if mediaType == "" || mediaType == "application/json" || mediaType == "text/plain" {
		mediaType = doc.MediaType
	}
	if doc.Subject != nil {
		return &resolved{attachment: true}, nil
	}
	switch {
	case mediaType.IsIndex():
		return describeIndex(ctx, digest, mediaType, doc, member)
	case mediaType == types.OCIManifestSchema1 || mediaType == types.DockerManifestSchema2:
		m, err := describeImage(ctx, digest, mediaType, doc, config)
		if err != nil {
			return nil, err
		}
		return &resolved{row: digest, manifests: []inventory.Manifest{m}}, nil
	default:
		m := inventory.Manifest{Digest: digest, MediaType: string(mediaType), ArtifactType: string(mediaType)}
		return &resolved{row: digest, manifests: []inventory.Manifest{m}}, nil
	}
}

func describeImage(ctx context.Context, digest string, mediaType types.MediaType, doc manifestDoc,
	config func(context.Context, v1.Descriptor) ([]byte, error),
) (inventory.Manifest, error) {
	m := inventory.Manifest{Digest: digest, MediaType: string(mediaType)}
	if doc.Config != nil {
		m.Size = doc.Config.Size
	}
	for _, l := range doc.Layers {
		m.Size += l.Size
	}
	switch {
	case doc.Config == nil:
		m.ArtifactType = string(mediaType)
		return m, nil
	case doc.ArtifactType != "":
		m.ArtifactType = doc.ArtifactType
		return m, nil
	case !isImageConfig(doc.Config.MediaType):
		m.ArtifactType = string(doc.Config.MediaType)
		return m, nil
	}
	b, err := config(ctx, *doc.Config)
	if err != nil {
		return m, fmt.Errorf("config of %s: %w", digest, err)
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(b, &cf); err != nil {
		return m, fmt.Errorf("config of %s: %w", digest, err)
	}
	m.Created = inventory.Millis(cf.Created.Time)
	m.Platform = PlatformString(cf.OS, cf.Architecture, cf.Variant)
	m.Scannable = true
	return m, nil
}

func describeIndex(ctx context.Context, digest string, mediaType types.MediaType, doc manifestDoc,
	member func(context.Context, v1.Descriptor) (*resolved, error),
) (*resolved, error) {
	var descs []v1.Descriptor
	for _, d := range doc.Manifests {
		if d.MediaType.IsIndex() || d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue
		}
		descs = append(descs, d)
	}
	members := make([]*resolved, len(descs))
	g, gctx := errgroup.WithContext(ctx)
	for i, d := range descs {
		g.Go(func() error {
			r, err := member(gctx, d)
			if err != nil {
				return fmt.Errorf("member %s of %s: %w", d.Digest, digest, err)
			}
			members[i] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	idx := inventory.Manifest{Digest: digest, MediaType: string(mediaType), ArtifactType: doc.ArtifactType}
	out := &resolved{row: digest}
	chosen := -1
	var rest []inventory.Manifest
	for i, r := range members {
		if r.attachment || len(r.manifests) == 0 {
			continue
		}
		m := r.manifests[0]
		p := m.Platform
		if descs[i].Platform != nil && descs[i].Platform.OS != "" {
			p = PlatformString(descs[i].Platform.OS, descs[i].Platform.Architecture, descs[i].Platform.Variant)
		}
		idx.Members = append(idx.Members, inventory.Association{Digest: m.Digest, Platform: p})
		rest = append(rest, m)
	}
	for i, a := range idx.Members {
		if a.Platform == "linux/amd64" {
			chosen = i
			break
		}
	}
	if chosen < 0 && len(idx.Members) > 0 {
		chosen = 0
	}
	if chosen >= 0 {
		out.row = idx.Members[chosen].Digest
		idx.Scannable = rest[chosen].Scannable
	}
	out.manifests = append([]inventory.Manifest{idx}, rest...)
	return out, nil
}

// PlatformString formats a platform as HSS shows it: "os/arch[/variant]".
func PlatformString(os, arch, variant string) string {
	if os == "" && arch == "" {
		return ""
	}
	s := os + "/" + arch
	if variant != "" {
		s += "/" + variant
	}
	return s
}

func isImageConfig(mt types.MediaType) bool {
	return mt == types.OCIConfigJSON || mt == types.DockerConfigJSON
}
