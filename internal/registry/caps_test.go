package registry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
)

// hostile is a registry made of generated listings: endless catalog pages
// or tag lists, each bounded on the server side so that a client without
// caps (the code before them) ends too instead of eating the machine.
type hostile struct {
	catalogPages  int // pages of pageSize repositories with a Link to the next (0: one empty page)
	pageSize      int // repositories per catalog page
	tagPages      int // pages of tagSize tags of every repository
	tagSize       int
	endlessBody   int64 // >0: the catalog is one page of this many bytes, never closed
	catalogCalls  atomic.Int64
	tagCalls      atomic.Int64
	manifestCalls atomic.Int64
	sent          atomic.Int64 // body bytes written
}

func (h *hostile) start(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// page returns the page number asked for by "?page=N" (first page: 0).
func page(r *http.Request) int {
	var n int
	fmt.Sscan(r.URL.Query().Get("page"), &n)
	return n
}

func (h *hostile) write(w io.Writer, s string) {
	n, _ := io.WriteString(w, s)
	h.sent.Add(int64(n))
}

func (h *hostile) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/v2/":
		h.write(w, "{}")
	case r.URL.Path == "/v2/_catalog" && h.endlessBody > 0:
		h.catalogCalls.Add(1)
		h.write(w, `{"repositories":[`)
		for i := 0; h.sent.Load() < h.endlessBody; i++ {
			n, err := fmt.Fprintf(w, `"repo%09d",`, i)
			h.sent.Add(int64(n))
			if err != nil {
				return // the client hung up
			}
		}
	case r.URL.Path == "/v2/_catalog":
		h.catalogCalls.Add(1)
		p := page(r)
		if p+1 < h.catalogPages {
			w.Header().Set("Link", fmt.Sprintf(`</v2/_catalog?n=%d&page=%d>; rel="next"`, h.pageSize, p+1))
		}
		h.write(w, `{"repositories":[`+names("repo", p, h.pageSize, h.catalogPages)+`]}`)
	case strings.HasSuffix(r.URL.Path, "/tags/list"):
		h.tagCalls.Add(1)
		repo := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v2/"), "/tags/list")
		p := page(r)
		if p+1 < h.tagPages {
			w.Header().Set("Link", fmt.Sprintf(`</v2/%s/tags/list?n=%d&page=%d>; rel="next"`, repo, h.tagSize, p+1))
		}
		h.write(w, fmt.Sprintf(`{"name":%q,"tags":[%s]}`, repo, names("t", p, h.tagSize, h.tagPages)))
	case strings.Contains(r.URL.Path, "/manifests/"):
		// Every tag is deleted by the time it is read: cheap for a client
		// that gets this far.
		h.manifestCalls.Add(1)
		w.WriteHeader(http.StatusNotFound)
		h.write(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"gone"}]}`)
	default:
		http.NotFound(w, r)
	}
}

// names is page p of a generated listing, as JSON strings.
func names(prefix string, p, size, pages int) string {
	if p >= pages {
		return ""
	}
	out := make([]string, size)
	for i := range out {
		out[i] = fmt.Sprintf(`"%s%07d"`, prefix, p*size+i)
	}
	return strings.Join(out, ",")
}

// countingTransport counts the requests made and the response body bytes
// read by its client.
type countingTransport struct {
	next  http.RoundTripper
	calls atomic.Int64
	read  atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.calls.Add(1)
	resp, err := t.next.RoundTrip(r)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &t.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// TestListCaps: a tenant's registry that answers with more than the caps
// allow fails the listing with ErrLimit and a clear reason, after work
// (bytes read, requests made) bounded by the caps, not by what the
// registry offers.
func TestListCaps(t *testing.T) {
	for _, tc := range []struct {
		name       string
		h          *hostile
		opts       registry.ListerOptions
		wantReason string
		check      func(t *testing.T, h *hostile, read int64)
	}{{
		// One catalog page that never ends: the default 4 MiB body cap.
		// The server stops at 64 MiB, so that code without the cap ends.
		name:       "endless catalog body",
		h:          &hostile{endlessBody: 64 << 20},
		wantReason: fmt.Sprintf("catalog page is larger than %d bytes", registry.DefaultMaxResponseBytes),
		check: func(t *testing.T, h *hostile, read int64) {
			if read > registry.DefaultMaxResponseBytes+64<<10 {
				t.Errorf("client read %d body bytes, want at most about %d", read, registry.DefaultMaxResponseBytes)
			}
			if h.catalogCalls.Load() != 1 {
				t.Errorf("catalog asked %d times, want once", h.catalogCalls.Load())
			}
		},
	}, {
		// 100 pages of 100 repositories (10,000) against a cap of 250.
		name:       "more repositories than the cap",
		h:          &hostile{catalogPages: 100, pageSize: 100},
		opts:       registry.ListerOptions{MaxRepositories: 250, PageSize: 100},
		wantReason: "the registry lists more than 250 repositories",
		check: func(t *testing.T, h *hostile, read int64) {
			// Pages 1-3 (300 > 250); the third page's repositories are
			// never listed.
			if got := h.catalogCalls.Load(); got != 3 {
				t.Errorf("catalog pages asked = %d, want 3", got)
			}
			if got := h.tagCalls.Load(); got > 200 {
				t.Errorf("tag lists asked = %d, want at most 200", got)
			}
		},
	}, {
		// One repository with 100 pages of 100 tags against a cap of 250.
		name:       "more tags than the cap",
		h:          &hostile{catalogPages: 1, pageSize: 1, tagPages: 100, tagSize: 100},
		opts:       registry.ListerOptions{MaxTags: 250, PageSize: 100},
		wantReason: "a repository has more than 250 tags",
		check: func(t *testing.T, h *hostile, read int64) {
			if got := h.tagCalls.Load(); got != 3 {
				t.Errorf("tag list pages asked = %d, want 3", got)
			}
			if got := h.manifestCalls.Load(); got != 0 {
				t.Errorf("manifests asked = %d, want none", got)
			}
		},
	}, {
		// 20 repositories of 100 tags each against a total of 250.
		name:       "more tags in all than the cap",
		h:          &hostile{catalogPages: 1, pageSize: 20, tagPages: 5, tagSize: 20},
		opts:       registry.ListerOptions{MaxTotalTags: 250, Concurrency: 1},
		wantReason: "the registry has more than 250 tags in all",
		check: func(t *testing.T, h *hostile, read int64) {
			// With one request at a time: 2 repositories (200 tags) pass,
			// the third goes over; each repository is 5 pages of 20.
			if got := h.tagCalls.Load(); got > 3*5 {
				t.Errorf("tag list pages asked = %d, want at most 15", got)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			addr := tc.h.start(t)
			ct := &countingTransport{next: registrytestTransport()}
			o := tc.opts
			o.Transport = ct
			l := fastLister(t, o)
			_, err := l.List(context.Background(), inventory.Registry{ID: 1, Addr: addr, Protocol: "http"}, "")
			if !errors.Is(err, registry.ErrLimit) {
				t.Fatalf("err = %v, want ErrLimit (server sent %d bytes, %d catalog pages, %d tag lists, %d manifests)",
					err, tc.h.sent.Load(), tc.h.catalogCalls.Load(), tc.h.tagCalls.Load(), tc.h.manifestCalls.Load())
			}
			reason := registry.FailReason(err)
			if !strings.Contains(reason, tc.wantReason) || !strings.Contains(reason, "nothing was changed") {
				t.Errorf("fail reason = %q, want it to say %q", reason, tc.wantReason)
			}
			tc.check(t, tc.h, ct.read.Load())
		})
	}
}

// TestSyncOverCapChangesNothing: a registry that grows past the cap after
// a good sync fails the next sync with a stored reason, and keeps every
// row: a listing cut at the cap would have deleted the rest.
func TestSyncOverCapChangesNothing(t *testing.T) {
	env := newSyncEnv(t)
	r := registrytest.New(t)
	for _, repo := range []string{"a/one", "a/two", "a/three"} {
		r.PushImage(t, repo, "v1", registrytest.ImageOptions{})
	}
	reg := env.addRegistry(t, r.Addr(), "", "")
	capped := newSyncer(t, registry.SyncerOptions{Store: env.store, Queue: env.store, Box: env.box,
		Lister: fastLister(t, registry.ListerOptions{MaxRepositories: 3}), Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	if res, err := capped.SyncRegistry(ctx, reg); err != nil || res.Err != nil {
		t.Fatalf("first sync: %v %v", err, res.Err)
	}
	if got := len(env.rows(t)); got != 3 {
		t.Fatalf("rows after first sync = %d, want 3", got)
	}

	r.PushImage(t, "a/four", "v1", registrytest.ImageOptions{})
	res, err := capped.SyncRegistry(ctx, reg)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.Err, registry.ErrLimit) {
		t.Fatalf("second sync: err = %v, want ErrLimit", res.Err)
	}
	got, err := env.store.GetRegistry(ctx, project, reg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != inventory.RegistryFailed || !strings.Contains(got.FailReason, "more than 3 repositories") {
		t.Errorf("connection = %s %q, want failed with the cap in the reason", got.Status, got.FailReason)
	}
	if rows := env.rows(t); len(rows) != 3 {
		t.Errorf("rows after the refused sync = %d, want the 3 of before", len(rows))
	}
}
