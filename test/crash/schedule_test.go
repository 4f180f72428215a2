package crash

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/registry/registrytest"
)

// scheduleFlags make due scheduled work start within a fraction of a
// second, and leave the periodic sync out of the way.
var scheduleFlags = []string{"--schedule-tick", "100ms", "--sync-interval", "0"}

// TestKillDuringScheduledScan kills `openhss serve` (SIGKILL) while the
// cycle task a scan policy started is pulling its images, on SQLite and
// PostgreSQL, and restarts it: the run is neither lost nor started twice.
// One cycle task exists, it finishes over every image, and one cycle-scan
// job ran it. On PostgreSQL two servers then share the database for a
// while: still no second run within the cycle.
func TestKillDuringScheduledScan(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			e, ak, sk := newEngine(t, kind)
			g := newGate()
			reg := registrytest.New(t, registrytest.WithMiddleware(g.wrap))
			const images = 3
			for i := range images {
				reg.PushImage(t, fmt.Sprintf("team/cycle%d", i), "1.0", registrytest.ImageOptions{
					Layers: []map[string]string{{"etc/cycle": fmt.Sprintln("cycle", i)}}})
			}
			scratch := t.TempDir()
			s := e.serve(t, scratch, scheduleFlags...)
			s.call(t, ak, sk, http.MethodPost, "/image/registries", map[string]any{
				"registry_name": "local", "registry_type": "Other", "api_version": "V2", "protocol": "http",
				"registry_addr": reg.Addr(),
			}, nil)
			s.call(t, ak, sk, http.MethodPost, "/image/synchronize", map[string]any{"image_type": "private_image"}, nil)
			if !poll(60*time.Second, func() bool {
				return e.count(t, `SELECT COUNT(*) FROM images WHERE project_id = ?`, project) == images
			}) {
				t.Fatal("the sync did not list the images")
			}
			var pol struct {
				RegistryList []struct {
					RegistryID   string `json:"registry_id"`
					RegistryName string `json:"registry_name"`
					RegistryType string `json:"registry_type"`
				} `json:"registry_list"`
			}
			s.call(t, ak, sk, http.MethodGet, "/image/scanner-policies?type=cycle", nil, &pol)
			if len(pol.RegistryList) != 1 {
				t.Fatalf("policy lists %d registries, want 1", len(pol.RegistryList))
			}
			r := pol.RegistryList[0]
			g.set(func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/blobs/") }, nil)
			s.call(t, ak, sk, http.MethodPut, "/image/scanner-policies", map[string]any{
				"enabled": true, "scan_cycle": 7, "scan_scope": 0x7fffffff, "rate_limit": 0, "time_scope": 0,
				"registry_info": []map[string]string{{"registry_id": r.RegistryID, "registry_name": r.RegistryName,
					"registry_type": r.RegistryType}},
			}, nil)
			g.waitHit(t, "a scheduled scan's pull")
			s.kill()
			g.clear()

			s = e.serve(t, scratch, scheduleFlags...)
			ended := func() bool {
				return e.count(t, `SELECT COUNT(*) FROM tasks WHERE task_type = 'cycle' AND state = 'finished'`) >= 1 &&
					e.count(t, `SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')`) == 0
			}
			if !poll(90*time.Second, ended) {
				t.Fatalf("90 s after the restart the cycle task has not finished: %q",
					e.strings(t, `SELECT state || ' ' || CAST(total_num AS TEXT) FROM tasks WHERE task_type = 'cycle'`))
			}
			var other *proc
			if kind == "postgres" {
				other = e.serve(t, t.TempDir(), scheduleFlags...)
			}
			time.Sleep(time.Second) // ten ticks of each server: none may start a run
			if n := e.count(t, `SELECT COUNT(*) FROM tasks WHERE task_type = 'cycle'`); n != 1 {
				t.Fatalf("%d cycle tasks, want 1", n)
			}
			if got := e.strings(t, `SELECT state || ' ' || CAST(total_num AS TEXT) || ' ' || CAST(success_num AS TEXT) FROM tasks
				WHERE task_type = 'cycle'`); len(got) != 1 || got[0] != fmt.Sprintf("finished %d %d", images, images) {
				t.Errorf("cycle task %q: want finished over %d images, all scanned", got, images)
			}
			if n := e.count(t, `SELECT COUNT(*) FROM jobs WHERE kind = 'cycle-scan'`); n != 1 {
				t.Errorf("%d cycle-scan jobs, want 1", n)
			}
			if other != nil {
				other.stop(t)
			}
			s.stop(t)
		})
	}
}
