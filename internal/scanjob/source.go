package scanjob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/localimage"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/scanner"
)

// errNoSource is a job whose images name no place to read them from.
var errNoSource = errors.New("no source to read the image from")

// open returns the image of p.Digest from the first source that yields it.
// Later sources are only tried after a download failure of an earlier one:
// an oversized image is oversized wherever it is read.
func (s *Service) open(ctx context.Context, p payload) (v1.Image, error) {
	var errs []error
	for _, src := range p.Sources {
		img, err := s.openSource(ctx, src, p.Digest)
		if err == nil {
			return img, nil
		}
		var f *scanner.Failure
		if (errors.As(err, &f) && f.Status != inventory.DownloadFailed) || ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, errNoSource
	}
	// The first source's reason is the one shown: it is the row the
	// request named first.
	return nil, errs[0]
}

func (s *Service) openSource(ctx context.Context, src Source, digest string) (v1.Image, error) {
	switch {
	case src.LocalPath != "":
		l, err := localimage.Load(src.LocalPath, src.LocalRef)
		if err != nil {
			return nil, err
		}
		d, err := l.Image.Digest()
		if err != nil {
			return nil, err
		}
		if d.String() != digest {
			return nil, fmt.Errorf("%s now holds %s, not %s", src.LocalPath, d, digest)
		}
		return s.checkSize(l.Image)
	case src.RegistryID != 0:
		return s.openRemote(ctx, src, digest)
	}
	return nil, errNoSource
}

func (s *Service) openRemote(ctx context.Context, src Source, digest string) (v1.Image, error) {
	reg, err := s.scans.GetRegistry(ctx, src.ProjectID, src.RegistryID)
	if err != nil {
		return nil, fmt.Errorf("registry connection %d: %w", src.RegistryID, err)
	}
	addr, err := registry.ParseAddr(reg.Addr)
	if err != nil {
		return nil, err
	}
	var nopts []name.Option
	if reg.Protocol == "http" {
		nopts = append(nopts, name.Insecure)
	}
	// The connection's rules: an https connection is never downgraded to
	// http (go-containerregistry silently falls back for loopback and
	// private addresses), and its credentials go to its own host only.
	rt := registry.ForConnection(s.o.Transport, addr, reg.Protocol != "http")
	ref, err := name.NewDigest(addr+"/"+src.Repository+"@"+digest, nopts...)
	if err != nil {
		return nil, err
	}
	password := ""
	if len(reg.PasswordSealed) > 0 {
		if s.o.Box == nil {
			return nil, errors.New("no secret box to open the registry password")
		}
		if password, err = s.o.Box.Open(reg.PasswordSealed); err != nil {
			return nil, err
		}
	}
	auth := authn.Anonymous
	if reg.Username != "" || password != "" {
		auth = &authn.Basic{Username: reg.Username, Password: password}
	}
	// Retried below go-containerregistry, whose own retries skip refused
	// connections: a registry restarting must not fail the queued scans.
	rt = registry.NewRetryTransport(rt, s.o.Retry)
	img, err := remote.Image(ref, append([]remote.Option{
		remote.WithContext(ctx),
		remote.WithAuth(auth),
		remote.WithTransport(rt),
		remote.WithUserAgent("openhss"),
	}, registry.RemoteNoRetry()...)...)
	if err != nil {
		return nil, err
	}
	return s.checkSize(img)
}

// checkSize refuses an image whose manifest says it is larger than
// MaxImageSize, before any layer is read.
func (s *Service) checkSize(img v1.Image) (v1.Image, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		if l.Size < 0 {
			return nil, fmt.Errorf("layer %s has a negative size", l.Digest)
		}
		size += l.Size
	}
	if size > s.o.MaxImageSize {
		return nil, &scanner.Failure{Status: inventory.ImageOversized, Desc: scanner.DescImageOversized,
			Err: fmt.Errorf("compressed size %d exceeds the limit of %d bytes", size, s.o.MaxImageSize)}
	}
	return img, nil
}

// openFailure maps an error from opening an image (reading its manifest)
// to the HSS status: every such error is a download failure, an
// authentication one when the registry refused the credentials.
func openFailure(err error) *scanner.Failure {
	var f *scanner.Failure
	if errors.As(err, &f) {
		return f
	}
	return transferFailure(err, &scanner.Failure{Status: inventory.DownloadFailed, Desc: scanner.DescDownloadFailed, Err: err})
}

// transferFailure classifies err as a registry or transfer failure when it
// is one; otherwise it returns def.
func transferFailure(err error, def *scanner.Failure) *scanner.Failure {
	var te *transport.Error
	if errors.As(err, &te) {
		desc := scanner.DescDownloadFailed
		if te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden {
			desc = scanner.DescAuthenticationFailed
		}
		return &scanner.Failure{Status: inventory.DownloadFailed, Desc: desc, Err: err}
	}
	var (
		ne net.Error
		ue *url.Error
	)
	if errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, io.ErrUnexpectedEOF) {
		desc := scanner.DescDownloadFailed
		if ne != nil && ne.Timeout() {
			desc = scanner.DescResponseTimedOut
		}
		return &scanner.Failure{Status: inventory.DownloadFailed, Desc: desc, Err: err}
	}
	return def
}
