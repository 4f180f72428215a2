package registry_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry/registrytest"
)

// requestCounter counts the requests a registry serves, per kind and per
// kind and path.
type requestCounter struct {
	mu     sync.Mutex
	kinds  map[string]int
	byPath map[string]int
}

const (
	reqCatalog      = "catalog"
	reqTags         = "tags list"
	reqManifestHead = "manifest HEAD"
	reqManifestGet  = "manifest GET"
	reqBlob         = "blob GET"
	reqPing         = "ping"
	reqOther        = "other"
)

func newRequestCounter() *requestCounter {
	return &requestCounter{kinds: map[string]int{}, byPath: map[string]int{}}
}

func (c *requestCounter) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := reqOther
		p := r.URL.Path
		switch {
		case p == "/v2/":
			kind = reqPing // go-containerregistry's, once per repository
		case p == "/v2/_catalog":
			kind = reqCatalog
		case strings.HasSuffix(p, "/tags/list"):
			kind = reqTags
		case strings.Contains(p, "/manifests/") && r.Method == http.MethodHead:
			kind = reqManifestHead
		case strings.Contains(p, "/manifests/") && r.Method == http.MethodGet:
			kind = reqManifestGet
		case strings.Contains(p, "/blobs/") && r.Method == http.MethodGet:
			kind = reqBlob
		}
		c.mu.Lock()
		c.kinds[kind]++
		c.byPath[kind+" "+p]++
		c.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// take returns the counts so far and starts again from zero.
func (c *requestCounter) take() (kinds, byPath map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kinds, byPath = c.kinds, c.byPath
	c.kinds, c.byPath = map[string]int{}, map[string]int{}
	return kinds, byPath
}

// TestResyncRequests: a re-sync of a registry that did not change reads
// no manifest body and no config blob again, only one manifest HEAD per
// tag besides the catalog and the tag lists (docs/benchmarks.md, Registry
// sync); a tag that moved is read again, and a new tag on an image the
// connection already has costs no config read.
func TestResyncRequests(t *testing.T) {
	const repos, tagsPer = 20, 5
	counter := newRequestCounter()
	r := registrytest.New(t, registrytest.WithMiddleware(counter.middleware))
	r.Populate(t, repos, tagsPer)
	r.PushIndex(t, "multi/app", "latest", day("2024-04-01"), amd64, arm64)
	const tags = repos*tagsPer + 1
	env := newSyncEnv(t)
	env.addRegistry(t, r.Addr(), "", "")
	counter.take()

	first := env.sync(t)
	if first[0].Err != nil || first[0].Changes.Added != tags {
		t.Fatalf("first sync: %+v", first[0])
	}
	kinds, _ := counter.take()
	t.Logf("first sync: %v", kinds)
	// The first sync does read every config (one per image manifest, the
	// index's two members included): else the counts below prove nothing.
	if kinds[reqBlob] < repos*tagsPer+2 {
		t.Fatalf("first sync read %d blobs, want at least %d", kinds[reqBlob], repos*tagsPer+2)
	}
	before := env.rows(t)

	again := env.sync(t)
	if again[0].Err != nil || again[0].Changes != (inventory.SyncResult{Unchanged: tags}) {
		t.Fatalf("re-sync: %+v", again[0])
	}
	kinds, _ = counter.take()
	t.Logf("re-sync of an unchanged registry: %v", kinds)
	if n := kinds[reqManifestHead] + kinds[reqManifestGet]; n > tags {
		t.Errorf("re-sync made %d manifest requests for %d tags, want at most one per tag", n, tags)
	}
	if kinds[reqManifestGet] != 0 || kinds[reqBlob] != 0 {
		t.Errorf("re-sync read %d manifests and %d blobs again, want none", kinds[reqManifestGet], kinds[reqBlob])
	}
	if kinds[reqCatalog] != 1 || kinds[reqTags] != repos+1 {
		t.Errorf("re-sync listed the catalog %d times and %d tag lists, want 1 and %d", kinds[reqCatalog], kinds[reqTags], repos+1)
	}
	if after := env.rows(t); !sameRows(before, after) {
		t.Errorf("re-sync changed rows:\nbefore %v\nafter  %v", before, after)
	}

	// ns0/repo0000:v1 moves to a new image; ns1/repo0001:alias is a new
	// tag on the image ns1/repo0001:v0 already is.
	img := r.PushImage(t, "ns0/repo0000", "v1", registrytest.ImageOptions{Created: day("2025-01-01"), Layers: []map[string]string{{"f": "moved"}}})
	r.MoveTag(t, "ns1/repo0001", "alias", "v0")
	changed := env.sync(t)
	if changed[0].Err != nil || changed[0].Changes != (inventory.SyncResult{Added: 1, Moved: 1, Unchanged: tags - 1}) {
		t.Fatalf("sync after changes: %+v", changed[0])
	}
	kinds, paths := counter.take()
	t.Logf("sync after one move and one new tag: %v", kinds)
	if kinds[reqBlob] != 1 {
		t.Errorf("sync read %d blobs, want 1 (the moved tag's config)", kinds[reqBlob])
	}
	moved := digestOf(t, img)
	if paths[reqManifestGet+" /v2/ns0/repo0000/manifests/"+moved] != 1 {
		t.Errorf("the moved tag's manifest was not read by digest")
	}
	if paths[reqManifestGet+" /v2/ns1/repo0001/manifests/alias"] != 1 {
		t.Errorf("the new tag's manifest was not read")
	}
	rows := env.rows(t)
	if got := rows["ns0/repo0000:v1"]; got.Digest != moved || got.LatestUpdateTime != day("2025-01-01").UnixMilli() || got.ID != before["ns0/repo0000:v1"].ID {
		t.Errorf("moved row %+v, want id %d at %s created 2025-01-01", got, before["ns0/repo0000:v1"].ID, moved)
	}
	alias, v0 := rows["ns1/repo0001:alias"], rows["ns1/repo0001:v0"]
	if alias.Digest != v0.Digest || alias.Size != v0.Size || alias.LatestUpdateTime != v0.LatestUpdateTime || !alias.Scannable {
		t.Errorf("new tag %+v, want the size, created time and digest of %+v", alias, v0)
	}
}

// sameRows reports whether two listings have the same rows with the same
// ids, digests and manifest fields.
func sameRows(a, b map[string]inventory.Image) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok || x.ID != y.ID || x.Digest != y.Digest || x.ManifestDigest != y.ManifestDigest || x.Size != y.Size ||
			x.LatestUpdateTime != y.LatestUpdateTime || x.Scannable != y.Scannable {
			return false
		}
	}
	return true
}

// noHeadDigest drops Docker-Content-Digest from the answers to manifest
// HEADs, as some registries do.
func noHeadDigest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/") {
			w = &dropHeader{ResponseWriter: w, name: "Docker-Content-Digest"}
		}
		next.ServeHTTP(w, r)
	})
}

type dropHeader struct {
	http.ResponseWriter
	name string
}

func (d *dropHeader) WriteHeader(code int) {
	d.Header().Del(d.name)
	d.ResponseWriter.WriteHeader(code)
}

func (d *dropHeader) Write(b []byte) (int, error) {
	d.Header().Del(d.name)
	return d.ResponseWriter.Write(b)
}

// TestResyncHeadWithoutDigest: a registry whose HEAD answers carry no
// digest is re-synced with a GET per tag instead, and nothing changes.
func TestResyncHeadWithoutDigest(t *testing.T) {
	counter := newRequestCounter()
	r := registrytest.New(t, registrytest.WithMiddleware(func(h http.Handler) http.Handler { return counter.middleware(noHeadDigest(h)) }))
	r.Populate(t, 3, 4)
	env := newSyncEnv(t)
	env.addRegistry(t, r.Addr(), "", "")
	if res := env.sync(t); res[0].Err != nil || res[0].Changes.Added != 12 {
		t.Fatalf("first sync: %+v", res[0])
	}
	before := env.rows(t)
	counter.take()
	res := env.sync(t)
	if res[0].Err != nil || res[0].Changes != (inventory.SyncResult{Unchanged: 12}) {
		t.Fatalf("re-sync: %+v", res[0])
	}
	kinds, _ := counter.take()
	t.Logf("re-sync: %v", kinds)
	if kinds[reqManifestHead] != 12 || kinds[reqManifestGet] != 12 || kinds[reqBlob] != 0 {
		t.Errorf("re-sync requests %v, want a HEAD then a GET per tag and no blob", kinds)
	}
	if after := env.rows(t); !sameRows(before, after) {
		t.Errorf("re-sync changed rows")
	}
}
