package hssapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/tasks"
)

// TestScanTaskTimeout: the timeout sweep (openhss serve --task-timeout)
// ends a scan task running past the bound as timed out: ListImageScanTask
// shows task_status -2 and its unscanned images as failed ("task timed
// out"), task_status=finished lists it, and its queued scans that no other
// running task waits for are cancelled (their rows unscan again), as a
// stop does. A younger task is left running, its scan queued. The sweep's
// clock is the test's: nothing sleeps.
func TestScanTaskTimeout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rows := scannableRows(t, e)
	v5 := "/v5/" + projA + "/image/"
	create := func(ids ...int64) string {
		t.Helper()
		var info []map[string]any
		for _, id := range ids {
			info = append(info, map[string]any{"id": id})
		}
		r := e.do(t, reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks",
			Body: jsonBody(t, map[string]any{"image_info": info})})
		if r.Status != http.StatusOK {
			t.Fatalf("create scan task: %d %s", r.Status, r.Raw)
		}
		list, _, err := e.store.ListTasks(ctx, tasks.Filter{ProjectID: projA, Type: tasks.Scan, Limit: 1})
		if err != nil || len(list) != 1 {
			t.Fatalf("created task: %+v, %v", list, err)
		}
		return list[0].ID
	}
	old := create(rows[0].ID, rows[1].ID)
	e.advance(23 * time.Hour)
	young := create(rows[0].ID)

	scans := newScanService(t, e.store, e.box, registry.NewTransport(loopbackPolicy(t)), slog.New(slog.DiscardHandler))
	sweep, err := tasks.NewTimeouts(tasks.TimeoutOptions{Store: e.store, Timeout: 24 * time.Hour,
		CancelScans: scans.Cancel, Now: func() time.Time { return e.clock().Add(90 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := sweep.Sweep(ctx)
	if err != nil || len(expired) != 1 || expired[0].Task.ID != old {
		t.Fatalf("Sweep = %+v, %v; want the old task", expired, err)
	}
	if again, err := sweep.Sweep(ctx); err != nil || len(again) != 0 {
		t.Fatalf("second Sweep = %+v, %v; want nothing", again, err)
	}

	list := func(query string) []any {
		t.Helper()
		r := e.do(t, reqSpec{Target: v5 + "tasks?type=image_scan" + query})
		if r.Status != http.StatusOK {
			t.Fatalf("list tasks: %d %s", r.Status, r.Raw)
		}
		return r.JSON["data_list"].([]any)
	}
	got := list("&task_id=" + old)
	if len(got) != 1 {
		t.Fatalf("timed-out task listed %d times", len(got))
	}
	info := got[0].(map[string]any)
	failed := info["failed_images"].([]any)
	if num(t, info["task_status"]) != -2 || num(t, info["failed_num"]) != 2 || info["failed_reason"] != "task timed out" ||
		len(failed) != 2 || failed[0].(map[string]any)["failed_reason"] != "task timed out" || num(t, info["end_time"]) == 0 {
		t.Fatalf("timed-out task listed as %v", info)
	}
	for _, tc := range []struct {
		status string
		want   []string
	}{{"finished", []string{old}}, {"scanning", []string{young}}} {
		var ids []string
		for _, x := range list("&task_status=" + tc.status) {
			ids = append(ids, x.(map[string]any)["task_id"].(string))
		}
		if len(ids) != len(tc.want) || ids[0] != tc.want[0] {
			t.Fatalf("task_status=%s lists %v; want %v", tc.status, ids, tc.want)
		}
	}
	// rows[1]'s scan is cancelled, rows[0]'s stays queued for the young task.
	for i, want := range []inventory.ScanStatus{inventory.WaitingForScan, inventory.Unscan} {
		imgs, err := e.store.ImagesByDigest(ctx, projA, rows[i].ManifestDigest)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range imgs {
			if x.ScanStatus != want {
				t.Fatalf("row %d of %s: %s, want %s", x.ID, x.ManifestDigest, x.ScanStatus, want)
			}
		}
	}
	if n := liveScanJobs(t, e); n != 1 {
		t.Fatalf("%d scans still queued; want the young task's one", n)
	}
}
