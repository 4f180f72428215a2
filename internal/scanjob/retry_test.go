package scanjob_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry/registrytest"
)

// TestScanRidesOutRegistryRestart: a registry that restarts while scans
// are queued (its port refuses connections, or it answers 503 or 429 for
// a while) must not turn them into download_failed: the pulls are retried
// and the scan succeeds. A registry that stays down, or a permanent
// answer, still fails the scan, after a bounded number of tries.
func TestScanRidesOutRegistryRestart(t *testing.T) {
	small := image(t, imagetest.Layer(t, imagetest.Reg("etc/os-release", "ID=test\n")))
	type flap struct {
		status     int    // answer of the failing requests (0: refuse connections instead)
		retryAfter string // Retry-After of those answers
		n          int64  // requests failed (-1: all); for refusals, the wait after which the port opens
		path       string // only requests whose path contains this fail ("" for all)
	}
	for _, tc := range []struct {
		name       string
		flap       flap
		wantStatus inventory.ScanStatus
		wantDesc   string
		// waits the scan's requests made: at least minWaits, at most maxWaits.
		minWaits, maxWaits int64
	}{
		{name: "503 three times", flap: flap{status: 503, n: 3}, wantStatus: inventory.ScanSuccess, minWaits: 3, maxWaits: 3},
		{name: "429 with Retry-After", flap: flap{status: 429, retryAfter: "1", n: 3}, wantStatus: inventory.ScanSuccess, minWaits: 3, maxWaits: 3},
		{name: "503 on a layer", flap: flap{status: 503, n: 2, path: "/blobs/"}, wantStatus: inventory.ScanSuccess, minWaits: 2, maxWaits: 2},
		// The https and the http probe of the "http" connection may both
		// meet the closed port.
		{name: "connection refused for two waits", flap: flap{n: 2}, wantStatus: inventory.ScanSuccess, minWaits: 2, maxWaits: 4},
		{name: "503 for good", flap: flap{status: 503, n: -1}, wantStatus: inventory.DownloadFailed, wantDesc: "download_failed",
			minWaits: 5, maxWaits: 5},
		{name: "connection refused for good", flap: flap{n: -1}, wantStatus: inventory.DownloadFailed, wantDesc: "download_failed",
			minWaits: 10, maxWaits: 10},
		{name: "404 is not retried", flap: flap{status: 404, n: -1, path: "/manifests/"}, wantStatus: inventory.DownloadFailed,
			wantDesc: "download_failed"},
		{name: "401 is not retried", flap: flap{status: 401, n: -1, path: "/manifests/"}, wantStatus: inventory.DownloadFailed,
			wantDesc: "authentication_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var armed atomic.Bool
			var failed atomic.Int64
			reg := registrytest.New(t, registrytest.WithMiddleware(func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					f := tc.flap
					if armed.Load() && f.status != 0 && strings.Contains(r.URL.Path, f.path) {
						if n := failed.Add(1); f.n < 0 || n <= f.n {
							if f.retryAfter != "" {
								w.Header().Set("Retry-After", f.retryAfter)
							}
							w.Header().Set("Content-Type", "application/json")
							w.WriteHeader(f.status)
							_, _ = w.Write([]byte(`{"errors":[{"code":"UNAVAILABLE","message":"restarting"}]}`))
							return
						}
					}
					h.ServeHTTP(w, r)
				})
			}))
			push(t, reg, "team/app", "1", small)
			proxy := registrytest.NewProxy(t, reg.Addr())
			e := newEnv(t, reg, envConfig{noVulnData: true, addr: proxy.Addr(), onWait: func(n int64) {
				if tc.flap.status == 0 && n == tc.flap.n {
					proxy.Up()
				}
			}})
			img := e.syncAll(t)["team/app:1"]
			if !img.Scannable {
				t.Fatalf("row before the scan = %+v", img)
			}
			// The registry restarts once the scan is queued.
			armed.Store(true)
			if tc.flap.status == 0 {
				proxy.Down()
			}
			if _, err := e.svc.Request(context.Background(), project, []inventory.Image{img}); err != nil {
				t.Fatal(err)
			}
			e.runAll(t)
			got, err := e.store.GetImage(context.Background(), project, img.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.ScanStatus != tc.wantStatus || got.ScanFailedDesc != tc.wantDesc {
				t.Errorf("after the scan: %s %q, want %s %q", got.ScanStatus, got.ScanFailedDesc, tc.wantStatus, tc.wantDesc)
			}
			if w := e.waits.Load(); w < tc.minWaits || w > tc.maxWaits {
				t.Errorf("retry waits = %d, want %d..%d", w, tc.minWaits, tc.maxWaits)
			}
			if tc.flap.status != 0 && tc.flap.n < 0 && tc.maxWaits == 0 && failed.Load() != 1 {
				t.Errorf("the permanent answer was asked for %d times, want once", failed.Load())
			}
		})
	}
}
