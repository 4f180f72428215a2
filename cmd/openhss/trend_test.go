package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/trend"
)

// TestServeTakesTrendSnapshots: serve with workers takes the day's
// snapshot of a project's enterprise project by itself (the Overview's
// trend), with nobody asking.
func TestServeTakesTrendSnapshots(t *testing.T) {
	g := &globals{data: t.TempDir(), logLevel: "error"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := g.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.store.EnsureProject(ctx, inventory.Project{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.CreateRegistry(ctx, inventory.Registry{ProjectID: "p1", EnterpriseProjectID: "ep1", Name: "r",
		Type: inventory.Harbor, Protocol: "https", Addr: "reg.example"}); err != nil {
		t.Fatal(err)
	}
	// One image in the scope, so that the snapshot shows serve counted it.
	d := "sha256:" + strings.Repeat("ab", 32)
	if _, err := a.store.PutLocalImage(ctx, inventory.Image{ProjectID: "p1", EnterpriseProjectID: "ep1",
		Type: inventory.LocalImage, Namespace: "n", Name: "x", Tag: "1", Digest: d},
		[]inventory.Manifest{{Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 1,
			Platform: "linux/amd64", Scannable: true}}); err != nil {
		t.Fatal(err)
	}
	o := &serveOptions{workers: 1, region: "local-1"}
	svc, err := a.services(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- a.serveWith(ctx, ln, o, svc, nil) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatal("serve took no trend snapshot within 30 s")
		}
		today := trend.Day(time.Now())
		got, err := a.store.TrendPoints(ctx, "p1", []string{"ep1"}, today-1, today)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 {
			if got[0].Images != 1 || got[0].Unscanned != 1 {
				t.Fatalf("snapshot %+v, want the one unscanned image", got[0])
			}
			break
		}
		time.Sleep(20 * time.Millisecond) // the first pass has not run yet
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// TestServeTrendRefresh: --trend-refresh reaches the snapshotter serve
// builds: with an interval, a pass after it recounts today's snapshot; with
// 0, today's snapshot stays as first taken. A negative value is refused
// before anything opens.
func TestServeTrendRefresh(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refresh time.Duration
		want    int64 // images in today's point after the second pass
	}{
		{"refreshed", time.Millisecond, 2},
		{"never", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &globals{data: t.TempDir(), logLevel: "error"}
			ctx := t.Context()
			a, err := g.open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if _, err := a.store.EnsureProject(ctx, inventory.Project{ID: "p1"}); err != nil {
				t.Fatal(err)
			}
			image := func(tag string) {
				t.Helper()
				d := "sha256:" + strings.Repeat(tag, 64)
				if _, err := a.store.PutLocalImage(ctx, inventory.Image{ProjectID: "p1", EnterpriseProjectID: "ep1",
					Type: inventory.LocalImage, Namespace: "n", Name: "x", Tag: tag, Digest: d},
					[]inventory.Manifest{{Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 1,
						Platform: "linux/amd64", Scannable: true}}); err != nil {
					t.Fatal(err)
				}
			}
			image("1")
			svc, err := a.services(&serveOptions{workers: 1, region: "local-1", trendRefresh: tc.refresh})
			if err != nil {
				t.Fatal(err)
			}
			if _, n, err := svc.trend.Take(ctx); err != nil || n != 1 {
				t.Fatalf("first pass: %d stored, %v", n, err)
			}
			image("2")
			time.Sleep(5 * time.Millisecond) // past the 1 ms interval
			if _, _, err := svc.trend.Take(ctx); err != nil {
				t.Fatal(err)
			}
			today := trend.Day(time.Now())
			got, err := a.store.TrendPoints(ctx, "p1", []string{"ep1"}, today, today)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Images != tc.want {
				t.Fatalf("today's point %+v, want %d images", got, tc.want)
			}
		})
	}
	t.Run("negative refused", func(t *testing.T) {
		_, err := run(t, "", "serve", "--data", t.TempDir(), "--trend-refresh=-1s")
		if err == nil || !strings.Contains(err.Error(), "--trend-refresh -1s: must be 0 (never) or positive") {
			t.Fatalf("err %v, want the --trend-refresh refusal", err)
		}
	})
}
