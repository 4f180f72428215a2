package hssapi_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/tasks"
)

// TestScanTaskRateLimit: a scan task with rate_limit 2 (images per hour)
// queues the scans of its third-party (Harbor) images at begin, +30 min,
// +60 min, +90 min, and that of its SWR (SwrEnterprise) image at once; a task without a
// rate that wants one of the delayed digests gets it at once (docs/api.md,
// "Tasks"). The spacing is read from the jobs' not_before through claims
// at chosen times: nothing sleeps.
func TestScanTaskRateLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	row := func(typ inventory.ImageType, ns, name, tag string) inventory.Image {
		t.Helper()
		rows, err := e.store.ImagesByRef(ctx, projA, typ, ns, name, tag)
		if err != nil || len(rows) != 1 {
			t.Fatalf("row %s/%s:%s = %+v, %v", ns, name, tag, rows, err)
		}
		return rows[0]
	}
	var (
		h1  = row(inventory.PrivateImage, "library", "nginx", "1.25") // Harbor
		h2  = row(inventory.PrivateImage, "team", "a_b", "v1")
		ent = row(inventory.InstanceImage, "corp", "api", "2.0") // SwrEnterprise
		h3  = row(inventory.PrivateImage, "team", "axb", "v1")
		h4  = row(inventory.PrivateImage, "team", "50%off", "v1")
	)
	create := func(rate int, rows ...inventory.Image) tasks.Task {
		t.Helper()
		var info []map[string]any
		for _, r := range rows {
			info = append(info, map[string]any{"id": r.ID})
		}
		r := e.do(t, reqSpec{Method: http.MethodPost, Target: "/v5/" + projA + "/image/image-scan/tasks",
			Body: jsonBody(t, map[string]any{"image_info": info, "rate_limit": rate})})
		if r.Status != http.StatusOK {
			t.Fatalf("create scan task: %d %s", r.Status, r.Raw)
		}
		list, _, err := e.store.ListTasks(ctx, tasks.Filter{ProjectID: projA, Type: tasks.Scan, Limit: 1})
		if err != nil || len(list) != 1 || list[0].RateLimit != int32(rate) {
			t.Fatalf("created task: %+v, %v", list, err)
		}
		return list[0]
	}
	task := create(2, h1, ent, h2, h3, h4)
	begin := time.UnixMilli(task.BeginTime)
	claim := func(at time.Time, want inventory.Image, notBefore int64) {
		t.Helper()
		j, err := e.store.Claim(ctx, []string{scanjob.JobKind}, "probe", at, 24*time.Hour)
		if want.ID == 0 {
			if !errors.Is(err, jobs.ErrNoJob) {
				t.Fatalf("claim at begin%+v = %s (not before %d), %v; want nothing ready", at.Sub(begin), j.Key, j.NotBefore, err)
			}
			return
		}
		if err != nil || j.Key != inventory.ScanJobKey(projA, want.ManifestDigest) || j.NotBefore != notBefore {
			t.Fatalf("claim at begin%+v = %s (not before %d), %v; want %s/%s:%s not before %d",
				at.Sub(begin), j.Key, j.NotBefore, err, want.Namespace, want.Name, want.Tag, notBefore)
		}
	}
	ms := func(d time.Duration) int64 { return begin.Add(d).UnixMilli() }
	none := inventory.Image{}
	// The SWR image at once, before the task's first slot.
	claim(begin.Add(-time.Millisecond), ent, 0)
	claim(begin.Add(-time.Millisecond), none, 0)
	// The Harbor images one per 30 minutes.
	claim(begin, h1, ms(0))
	claim(begin.Add(30*time.Minute-time.Millisecond), none, 0)
	claim(begin.Add(30*time.Minute), h2, ms(30*time.Minute))
	claim(begin.Add(time.Hour-time.Millisecond), none, 0)
	claim(begin.Add(time.Hour), h3, ms(time.Hour))
	claim(begin.Add(time.Hour), none, 0)
	// A task without a rate that wants the last one gets it now.
	create(0, h4)
	claim(begin.Add(time.Hour), h4, 0)
}

// TestScanAllTaskRateLimit: a scan-all task (is_all) with rate_limit 2
// spaces the scans its job queues the same way, counting across its
// batches (a batch of one digest here): its Harbor digests, in the order
// the job queues them, are not claimed before begin + i*30 min.
func TestScanAllTaskRateLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r := e.do(t, reqSpec{Method: http.MethodPost, Target: "/v5/" + projA + "/image/image-scan/tasks",
		Body: jsonBody(t, map[string]any{"is_all": true, "query_info": map[string]any{"image_type": "private_image"}, "rate_limit": 2})})
	if r.Status != http.StatusOK {
		t.Fatalf("create scan task: %d %s", r.Status, r.Raw)
	}
	list, _, err := e.store.ListTasks(ctx, tasks.Filter{ProjectID: projA, Type: tasks.Scan, Limit: 1})
	if err != nil || len(list) != 1 {
		t.Fatalf("created task: %+v, %v", list, err)
	}
	begin := time.UnixMilli(list[0].BeginTime)
	// The scan-all job, run by a scan-all queue of its own over the same store
	// (batches of one digest).
	j, err := e.store.Claim(ctx, []string{scanjob.ScanAllKind}, "probe", e.clock(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	all := newScanAll(t, newScanService(t, e.store, e.box, registry.NewTransport(loopbackPolicy(t)), quiet), e.store, 0, 1)
	if err := all.Handle(ctx, j); err != nil {
		t.Fatal(err)
	}
	if j, err := e.store.Claim(ctx, []string{scanjob.JobKind}, "probe", begin.Add(-time.Millisecond), 24*time.Hour); !errors.Is(err, jobs.ErrNoJob) {
		t.Fatalf("a Harbor image's scan was ready before the task began: %s, %v", j.Key, err)
	}
	n := 0
	prev := ""
	for ; ; n++ {
		at := begin.Add(time.Duration(n) * 30 * time.Minute)
		if j, err := e.store.Claim(ctx, []string{scanjob.JobKind}, "probe", at.Add(-time.Millisecond), 24*time.Hour); !errors.Is(err, jobs.ErrNoJob) {
			t.Fatalf("scan %d ready before begin+%s: %s not before %d, %v", n, at.Sub(begin), j.Key, j.NotBefore, err)
		}
		j, err := e.store.Claim(ctx, []string{scanjob.JobKind}, "probe", at, 24*time.Hour)
		if errors.Is(err, jobs.ErrNoJob) {
			break
		}
		if err != nil || j.NotBefore != at.UnixMilli() || j.Key <= prev {
			t.Fatalf("scan %d = %s not before %d, %v; want not before %d, after %s", n, j.Key, j.NotBefore, err, at.UnixMilli(), prev)
		}
		prev = j.Key
	}
	if n < 3 {
		t.Fatalf("the scan-all task queued %d scans; the seed has more Harbor digests", n)
	}
}
