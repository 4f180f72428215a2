package registry

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Defaults of the Lister's caps. A connection's registry is the tenant's:
// it decides how much it sends. These bound what one sync reads, holds and
// asks for, so that one registry cannot take the server's memory or flood
// it with requests. A registry over a cap fails the sync as a whole (see
// LimitError).
const (
	// DefaultMaxRepositories: repositories one connection lists.
	DefaultMaxRepositories = 10_000
	// DefaultMaxTags: tags of one repository.
	DefaultMaxTags = 10_000
	// DefaultMaxTotalTags: tags of all the repositories of one connection.
	DefaultMaxTotalTags = 100_000
	// DefaultMaxResponseBytes: the body of one catalog page, tag list page
	// or manifest. The OCI distribution spec asks registries to accept
	// manifests of at least 4 MiB; a page of 1000 repository names of the
	// longest allowed length is about 256 KiB.
	DefaultMaxResponseBytes = 4 << 20
)

// catalogScanFactor: with a namespace, the catalog entries read to find
// the namespace's repositories are bounded at this many times
// MaxRepositories (the catalog API cannot be asked for one namespace).
const catalogScanFactor = 10

// LimitError is a registry that holds more than a cap of the Lister allows.
// The sync fails with it and changes no row: listing only the first N
// repositories or tags would make the sync delete the rest.
type LimitError struct {
	msg string
	// Repository is the repository over the cap, when it is one
	// repository's (for the log; the message leaves it out).
	Repository string
}

func (e *LimitError) Error() string { return e.msg }

func limitErrorf(format string, args ...any) *LimitError {
	return &LimitError{msg: fmt.Sprintf(format, args...)}
}

// limitTransport bounds the bodies of every response except blobs (config
// blobs have their own bound; layers are not read by the Lister). A body
// over the limit fails the read rather than ending early, so that a
// truncated page is never taken for a whole one.
type limitTransport struct {
	next http.RoundTripper
	max  int64
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || t.max <= 0 || strings.Contains(req.URL.Path, "/blobs/") {
		return resp, err
	}
	what := responseKind(req.URL.Path)
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, limitErrorf("the registry's %s is larger than %d bytes", what, t.max)
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: t.max,
		err: limitErrorf("the registry's %s is larger than %d bytes", what, t.max)}
	return resp, nil
}

func responseKind(path string) string {
	switch {
	case strings.HasSuffix(path, "/_catalog"):
		return "catalog page"
	case strings.HasSuffix(path, "/tags/list"):
		return "tag list page"
	case strings.Contains(path, "/manifests/"):
		return "manifest"
	}
	return "response"
}

// limitedBody fails with err once more than left bytes were read.
type limitedBody struct {
	io.ReadCloser
	left int64
	err  error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.err
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, b.err
	}
	return n, err
}
