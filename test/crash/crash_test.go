package crash

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/registry/registrytest"
)

// harness is one engine's run: the database, the registry behind its gate,
// and what the registry holds.
type harness struct {
	e      *engine
	ak, sk string
	g      *gate
	reg    *registrytest.Registry

	mu     sync.Mutex
	pushed []string        // "team/appNN:1.0" in the registry
	layers map[string]bool // digests of the images' layers
}

const firstImages, morePerSync = 24, 6

// push adds n images of their own content (a layer of half a MiB of text
// for the analyzers to read), each its own manifest digest.
func (h *harness) push(t *testing.T, n int) {
	t.Helper()
	h.mu.Lock()
	start := len(h.pushed)
	h.mu.Unlock()
	filler := strings.Repeat("openhss crash test line of ordinary text\n", 512<<10/40)
	for i := start; i < start+n; i++ {
		repo := fmt.Sprintf("team/app%02d", i)
		img := h.reg.PushImage(t, repo, "1.0", registrytest.ImageOptions{
			Created: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour),
			Layers:  []map[string]string{{"etc/app": fmt.Sprintln("app", i), "opt/app/data.txt": filler}},
		})
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		h.mu.Lock()
		for _, l := range ls {
			d, err := l.Digest()
			if err != nil {
				t.Fatal(err)
			}
			h.layers[d.String()] = true
		}
		h.pushed = append(h.pushed, repo+":1.0")
		h.mu.Unlock()
	}
}

func (h *harness) repos() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.pushed)
}

// point is one place to kill serve at. run starts serve (on scratch),
// brings it to the point and kills it (SIGKILL); the harness then restarts
// serve and checks the invariants, and after, when set, checks more.
type point struct {
	name  string
	run   func(t *testing.T, h *harness, scratch string)
	after func(t *testing.T, h *harness)
}

// TestKillRestart kills `openhss serve` with SIGKILL at ten points of its
// work, on SQLite and PostgreSQL, against a real registry, restarts it and
// requires, once the work has ended (bounded wait): every image of the
// registry listed, no job queued or running, the registry connection not
// syncing, every scan ended (success, or a failure with a reason), no
// openhss-scan-* directory left in the scratch root, and db status
// consistent with the records.
func TestKillRestart(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			e, ak, sk := newEngine(t, kind)
			h := &harness{e: e, ak: ak, sk: sk, g: newGate(), layers: map[string]bool{}}
			h.reg = registrytest.New(t, registrytest.WithMiddleware(h.g.wrap))
			h.push(t, firstImages)
			for _, p := range killPoints {
				t.Run(p.name, func(t *testing.T) {
					scratch := t.TempDir()
					p.run(t, h, scratch)
					h.g.clear()
					s := e.serve(t, scratch)
					h.check(t, s, scratch)
					if p.after != nil {
						p.after(t, h)
					}
					s.stop(t)
				})
			}
		})
	}
}

var killPoints = []point{
	{name: "sync-job-claimed", run: func(t *testing.T, h *harness, scratch string) {
		// The first registry request of a sync: its job was just claimed.
		s := h.e.serve(t, scratch)
		s.call(t, h.ak, h.sk, http.MethodPost, "/image/registries", map[string]any{
			"registry_name": "local", "registry_type": "Other", "api_version": "V2", "protocol": "http",
			"registry_addr": h.reg.Addr(), "namespace": "team",
		}, nil)
		h.g.set(func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/v2/") }, nil)
		s.call(t, h.ak, h.sk, http.MethodPost, "/image/synchronize", map[string]any{"image_type": "private_image"}, nil)
		h.g.waitHit(t, "a sync request")
		s.kill()
	}},
	{name: "sync-listing", run: func(t *testing.T, h *harness, scratch string) {
		// Half the repositories' tags listed, the next listing held.
		h.push(t, morePerSync)
		s := h.e.serve(t, scratch)
		var mu sync.Mutex
		seen, half := 0, h.repos()/2
		h.g.set(func(r *http.Request) bool {
			if !tagsPath.MatchString(r.URL.Path) {
				return false
			}
			mu.Lock()
			defer mu.Unlock()
			seen++
			return seen > half
		}, nil)
		s.call(t, h.ak, h.sk, http.MethodPost, "/image/synchronize", map[string]any{"image_type": "private_image"}, nil)
		h.g.waitHit(t, "the tag listings of half the repositories")
		s.kill()
	}},
	{name: "sync-writes", run: func(t *testing.T, h *harness, scratch string) {
		// Every repository's manifest read: the sync applies what it
		// listed to the store next.
		h.push(t, morePerSync)
		s := h.e.serve(t, scratch)
		var mu sync.Mutex
		repos, all := map[string]bool{}, h.repos()
		h.g.set(nil, func(r *http.Request) bool {
			m := manifestPath.FindStringSubmatch(r.URL.Path)
			if m == nil {
				return false
			}
			mu.Lock()
			defer mu.Unlock()
			repos[m[1]] = true
			return len(repos) == all
		})
		s.call(t, h.ak, h.sk, http.MethodPost, "/image/synchronize", map[string]any{"image_type": "private_image"}, nil)
		h.g.waitHit(t, "a manifest read of every repository")
		s.kill()
	}},
	{name: "batch-scan-enqueue", run: func(t *testing.T, h *harness, scratch string) {
		// Scans queued one by one; killed as soon as the first exists.
		s := h.e.serve(t, scratch)
		h.g.set(isBlob, nil) // no scan gets past its pull meanwhile
		since := time.Now().UnixMilli()
		go s.try(h.ak, h.sk, http.MethodPost, "/image/batch-scan", map[string]any{"image_type": "private_image", "operate_all": true}, nil)
		if !poll(time.Minute, func() bool {
			return h.e.count(t, `SELECT COUNT(*) FROM jobs WHERE kind = 'scan' AND created_at >= ?`, since) > 0
		}) {
			t.Fatal("no scan job was queued within a minute")
		}
		s.kill()
		t.Logf("killed with %d of %d scans queued", h.e.count(t, `SELECT COUNT(*) FROM jobs WHERE kind = 'scan' AND created_at >= ?`, since), h.repos())
	}},
	{name: "scan-pull", run: func(t *testing.T, h *harness, scratch string) {
		s := h.e.serve(t, scratch)
		h.g.set(isBlob, nil)
		s.call(t, h.ak, h.sk, http.MethodPost, "/image/batch-scan", map[string]any{"image_type": "private_image", "operate_all": true}, nil)
		h.g.waitHit(t, "a scan's blob read")
		s.kill()
	}},
	{name: "scan-analysis", run: func(t *testing.T, h *harness, scratch string) {
		// A layer just read whole: the scan unpacks and analyzes it.
		s := h.e.serve(t, scratch)
		h.g.set(nil, func(r *http.Request) bool {
			m := blobPath.FindStringSubmatch(r.URL.Path)
			if m == nil || r.Method != http.MethodGet {
				return false
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.layers[m[2]]
		})
		s.call(t, h.ak, h.sk, http.MethodPost, "/image/batch-scan", map[string]any{"image_type": "private_image", "operate_all": true}, nil)
		h.g.waitHit(t, "a layer read by a scan")
		s.kill()
	}},
	{name: "scan-result-writes", run: func(t *testing.T, h *harness, scratch string) {
		// The first results of a batch written, the rest being written.
		s := h.e.serve(t, scratch)
		since := time.Now().UnixMilli()
		s.call(t, h.ak, h.sk, http.MethodPost, "/image/batch-scan", map[string]any{"image_type": "private_image", "operate_all": true}, nil)
		if !poll(time.Minute, func() bool {
			return h.e.count(t, `SELECT COUNT(*) FROM images WHERE scan_status = 'success' AND latest_scan_time >= ?`, since) > 0
		}) {
			t.Fatal("no scan result was written within a minute")
		}
		s.kill()
	}},
	{name: "idle-with-queued-jobs", run: func(t *testing.T, h *harness, scratch string) {
		// An API-only server queues work nobody runs (operate_all queues
		// one scan-all job, whose worker would queue the scans); killed idle.
		s := h.e.serve(t, scratch, "--workers", "0")
		s.call(t, h.ak, h.sk, http.MethodPost, "/image/batch-scan", map[string]any{"image_type": "private_image", "operate_all": true}, nil)
		if n := h.e.count(t, `SELECT COUNT(*) FROM jobs WHERE kind IN ('scan', 'scan-all') AND state = 'queued'`); n == 0 {
			t.Fatal("batch-scan queued no job")
		}
		s.kill()
	}},
	{name: "db-import", run: func(t *testing.T, h *harness, scratch string) {
		// `db import` mid-way while serve scans; both killed.
		src := goVulnDBDir(t)
		s := h.e.serve(t, scratch)
		s.call(t, h.ak, h.sk, http.MethodPost, "/image/batch-scan", map[string]any{"image_type": "private_image", "operate_all": true}, nil)
		imp := h.e.start(t, "db import", scratch, "db", "import", src)
		if !poll(2*time.Minute, func() bool {
			select {
			case <-imp.done:
				return true
			default:
			}
			return h.e.count(t, `SELECT COUNT(*) FROM vulns`) > 0
		}) {
			t.Fatal("db import wrote nothing within two minutes")
		}
		imp.kill()
		s.kill()
		if imp.err == nil {
			t.Fatal("db import completed before it was killed")
		}
	}, after: func(t *testing.T, h *harness) {
		// Completed by the same import again.
		src := goVulnDBDir(t)
		clean := cleanStatus(t)
		h.e.run(t, "db", "import", src)
		st := h.e.dbStatus(t)
		if st.Records != clean.Records || len(st.Unfinished) != 0 || st.LastImport == nil || st.LastImport.State != "complete" {
			t.Errorf("after re-import: %d records (clean: %d), last import %+v, unfinished %+v", st.Records, clean.Records, st.LastImport, st.Unfinished)
		}
	}},
	{name: "killed-twice-quickly", run: func(t *testing.T, h *harness, scratch string) {
		// Killed mid-pull, restarted and killed again as soon as ready.
		s := h.e.serve(t, scratch)
		h.g.set(isBlob, nil)
		s.call(t, h.ak, h.sk, http.MethodPost, "/image/batch-scan", map[string]any{"image_type": "private_image", "operate_all": true}, nil)
		h.g.waitHit(t, "a scan's blob read")
		s.kill()
		h.g.clear()
		h.e.serve(t, scratch).kill()
	}},
}

func isBlob(r *http.Request) bool {
	return r.Method == http.MethodGet && blobPath.MatchString(r.URL.Path)
}

// check waits (bounded) until the restarted server s has ended all work,
// then checks the invariants, reporting each broken one.
func (h *harness) check(t *testing.T, s *proc, scratch string) {
	t.Helper()
	e := h.e
	busy := func() (jobs, syncing, scanning int) {
		jobs = e.count(t, `SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')`)
		syncing = e.count(t, `SELECT COUNT(*) FROM registries WHERE status IN ('pending', 'syncing')`)
		scanning = e.count(t, `SELECT COUNT(*) FROM images WHERE scan_status IN ('waiting_for_scan', 'scanning')`)
		return
	}
	if !poll(90*time.Second, func() bool {
		j, sy, sc := busy()
		return j == 0 && sy == 0 && sc == 0
	}) {
		j, sy, sc := busy()
		t.Errorf("90 s after the restart: %d jobs queued or running, %d registry connections pending or syncing, %d images waiting or scanning",
			j, sy, sc)
	}

	// Every image of the registry is listed, and nothing else.
	h.mu.Lock()
	want := slices.Sorted(slices.Values(h.pushed))
	h.mu.Unlock()
	got := e.strings(t, `SELECT namespace || '/' || name || ':' || tag FROM images WHERE project_id = '`+project+`' ORDER BY 1`)
	if !slices.Equal(got, want) {
		t.Errorf("listed images differ from the registry's:\n got %d %v\nwant %d %v", len(got), got, len(want), want)
	}
	if bad := e.strings(t, `SELECT status || ' ' || fail_reason FROM registries WHERE status <> 'success'`); len(bad) > 0 {
		t.Errorf("registry connections not synced: %q", bad)
	}
	if bad := e.strings(t, `SELECT namespace || '/' || name || ' ' || scan_status FROM images
		WHERE scan_status NOT IN ('unscan', 'success', 'waiting_for_scan', 'scanning') AND scan_failed_desc = ''`); len(bad) > 0 {
		t.Errorf("failed scans without a reason: %q", bad)
	}
	if bad := e.strings(t, `SELECT namespace || '/' || name || ' ' || scan_failed_desc FROM images WHERE scan_status NOT IN ('unscan', 'success')`); len(bad) > 0 {
		t.Logf("images whose scan failed (with a reason): %q", bad)
	}
	if failed := e.strings(t, `SELECT kind || ': ' || error FROM jobs WHERE state = 'failed'`); len(failed) > 0 {
		t.Logf("failed jobs so far: %q", failed)
	}

	left, err := filepath.Glob(filepath.Join(scratch, "openhss-scan-*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		var sizes []string
		for _, d := range left {
			sizes = append(sizes, fmt.Sprintf("%s (%s)", filepath.Base(d), duSize(d)))
		}
		t.Errorf("scratch left behind in %s after the restart: %v", scratch, sizes)
	}

	st := e.dbStatus(t)
	if n := e.count(t, `SELECT COUNT(*) FROM vulns`); st.Records != n {
		t.Errorf("db status counts %d records, the table holds %d", st.Records, n)
	}
	sum := 0
	for _, u := range st.Unfinished {
		if u.State == "running" {
			t.Errorf("db status says an import is running, but no import process is: %+v", u)
		}
		sum += u.Written
	}
	if st.LastImport == nil && sum != st.Records {
		t.Errorf("db status: the unfinished imports wrote %d records, %d are stored", sum, st.Records)
	}
}

// duSize is the total size of the files under dir.
func duSize(dir string) string {
	var n int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return fmt.Sprintf("%d bytes", n)
}
