package sdkcompat

import (
	"maps"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hss "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"

	"github.com/openhss/openhss/internal/registry/registrytest"
)

// endedTask waits until the newest task of the type and task_type has
// ended (task_status 100) and returns it.
func endedTask(t *testing.T, c *hss.HssClient, typ, taskType string) model.ImageScanTaskInfo {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := c.ListImageScanTask(&model.ListImageScanTaskRequest{Type: typ, TaskType: ptr(taskType), Limit: ptr(int32(10))})
		if err != nil {
			t.Fatalf("ListImageScanTask %s: %v", typ, err)
		}
		if resp.DataList != nil && len(*resp.DataList) > 0 {
			task := (*resp.DataList)[0]
			if task.TaskStatus != nil && *task.TaskStatus == 100 {
				return task
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s %s task ended: %s", typ, taskType, dump(resp))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTasksConformance drives CreateImageSynchronizeTask,
// ListImageScanTask and ListAssociateRegistries through the official SDK
// against a real `openhss serve`, with a sync and a scan asked through
// the deprecated routes showing up as tasks.
func TestTasksConformance(t *testing.T) {
	bin := buildBinary(t)
	srv := startServer(t, bin)
	const project = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	ak, sk := srv.credential(t, project, "all")
	c := srv.client(t, ak, sk, project)

	reg := registrytest.New(t)
	reg.PushImage(t, "team/app", "1.0", registrytest.ImageOptions{Created: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)})
	for name, addr := range map[string]string{"good": reg.Addr(), "bad": closedAddr(t)} {
		if _, err := c.AddRegistry(&model.AddRegistryRequest{Body: &model.AddRegistryRequestBody{
			RegistryName: name, RegistryType: "Other", ApiVersion: "V2", Protocol: "http", RegistryAddr: addr,
		}}); err != nil {
			t.Fatalf("AddRegistry %s: %v", name, err)
		}
	}

	if _, err := c.CreateImageSynchronizeTask(&model.CreateImageSynchronizeTaskRequest{
		Body: &model.CreateImageSynchronizeTaskRequestInfo{SyncAllRegistries: true}}); err != nil {
		t.Fatalf("CreateImageSynchronizeTask: %v", err)
	}
	task := endedTask(t, c, "image_sync", "manualSync")
	if *task.TotalNum != 2 || *task.SuccessNum != 1 || *task.FailedNum != 1 || *task.EndTime == 0 || *task.TaskId == "" {
		t.Fatalf("sync task = %s", dump(task))
	}
	regs, err := c.ListAssociateRegistries(&model.ListAssociateRegistriesRequest{TaskId: *task.TaskId})
	if err != nil || regs.TotalNum == nil || *regs.TotalNum != 2 {
		t.Fatalf("ListAssociateRegistries: %s, %v", dump(regs), err)
	}
	for _, r := range *regs.DataList {
		want := map[string]string{"good": "finished", "bad": "failed"}[*r.RegistryName]
		if *r.SyncStatus != want || *r.RegistryType != "Other" || (want == "failed") != (*r.FailedReason != "") {
			t.Fatalf("registry %s = %s", *r.RegistryName, dump(r))
		}
	}
	failed, err := c.ListAssociateRegistries(&model.ListAssociateRegistriesRequest{TaskId: *task.TaskId, SyncStatus: ptr("failed")})
	if err != nil || *failed.TotalNum != 1 || *(*failed.DataList)[0].RegistryName != "bad" {
		t.Fatalf("ListAssociateRegistries sync_status=failed: %s, %v", dump(failed), err)
	}

	// The deprecated pair make tasks too.
	if _, err := runImageSynchronize(c, &model.RunImageSynchronizeRequest{Body: &model.RunImageSynchronizeRequestInfo{ImageType: "private_image"}}); err != nil {
		t.Fatalf("RunImageSynchronize: %v", err)
	}
	resp, err := c.ListImageScanTask(&model.ListImageScanTaskRequest{Type: "image_sync"})
	if err != nil || *resp.TotalNum != 2 {
		t.Fatalf("sync tasks after RunImageSynchronize: %s, %v", dump(resp), err)
	}
	if _, err := batchScanSwrImage(c, &model.BatchScanSwrImageRequest{Body: &model.BatchScanPrivateImageRequestInfo{
		ImageType:     "private_image",
		ImageInfoList: &[]model.BatchScanSwrImageInfo{{Namespace: ptr("team"), ImageName: ptr("app"), ImageVersion: ptr("1.0")}},
	}}); err != nil {
		t.Fatalf("BatchScanSwrImage: %v", err)
	}
	scan := endedTask(t, c, "image_scan", "manual")
	if *scan.TotalNum != 1 || *scan.SuccessNum+*scan.FailedNum != 1 || *scan.ImageType != "registry" ||
		len(*scan.FailedImages) != int(*scan.FailedNum) {
		t.Fatalf("scan task = %s", dump(scan))
	}

	t.Run("bad input", func(t *testing.T) {
		_, err := c.ListImageScanTask(&model.ListImageScanTaskRequest{Type: "scan"})
		wantSDKError(t, err, 400, "HSS.0001")
		_, err = c.ListImageScanTask(&model.ListImageScanTaskRequest{Type: "image_sync", TaskType: ptr("manual")})
		wantSDKError(t, err, 400, "HSS.0001")
		_, err = c.ListAssociateRegistries(&model.ListAssociateRegistriesRequest{TaskId: "NOSUCHTASK"})
		wantSDKError(t, err, 404, "HSS.0011")
		_, err = c.ListAssociateRegistries(&model.ListAssociateRegistriesRequest{TaskId: *scan.TaskId})
		wantSDKError(t, err, 404, "HSS.0011")
		_, err = c.CreateImageSynchronizeTask(&model.CreateImageSynchronizeTaskRequest{Body: &model.CreateImageSynchronizeTaskRequestInfo{
			RegistryInfo: &[]model.CreateImageSynchronizeTaskRequestInfoRegistryInfo{{RegistryId: ptr("999999")}}}})
		wantSDKError(t, err, 404, "HSS.0011")
		resp, err := c.ListImageScanTask(&model.ListImageScanTaskRequest{Type: "image_sync"})
		if err != nil || *resp.TotalNum != 2 {
			t.Fatalf("a refused request changed the tasks: %s, %v", dump(resp), err)
		}
	})

	// Another project sees none of them.
	akB, skB := srv.credential(t, "ffeeddccbbaa99887766554433221100", "all")
	cb := srv.client(t, akB, skB, "ffeeddccbbaa99887766554433221100")
	if resp, err := cb.ListImageScanTask(&model.ListImageScanTaskRequest{Type: "image_sync"}); err != nil || *resp.TotalNum != 0 {
		t.Fatalf("project B's sync tasks: %s, %v", dump(resp), err)
	}
	_, err = cb.ListAssociateRegistries(&model.ListAssociateRegistriesRequest{TaskId: *task.TaskId})
	wantSDKError(t, err, 404, "HSS.0011")
}

// TestScanTaskConformance drives CreateManualImageScanTask and
// StopImageScanTask through the official SDK. One worker takes the first
// image of a task and is held at its layer download (a gate in the
// registry); the other images wait in the queue. Stopping the task ends
// it (-1) at once, the queued images are never pulled, the running scan
// stops at its next heartbeat, and every row shows the status it had
// before: a success stays a success with its counts, the others unscan.
func TestScanTaskConformance(t *testing.T) {
	var hold atomic.Bool
	release := make(chan struct{})
	var mu sync.Mutex
	pulled := map[string]int{} // repository -> manifest and blob requests while held
	reg := registrytest.New(t, registrytest.WithMiddleware(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if hold.Load() {
				if repo, _, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/manifests/"); ok {
					mu.Lock()
					pulled[repo]++
					mu.Unlock()
				}
				if repo, _, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/blobs/"); ok {
					mu.Lock()
					pulled[repo]++
					mu.Unlock()
					<-release
				}
			}
			h.ServeHTTP(w, r)
		})
	}))
	for i, repo := range []string{"team/app", "team/b", "team/c", "team/done"} {
		reg.PushImage(t, repo, "1.0", registrytest.ImageOptions{Created: time.Date(2025, 3, 1+i, 0, 0, 0, 0, time.UTC)})
	}
	bin := buildBinary(t)
	// One worker, so that one scan runs and the rest queue; a short lease,
	// so that the running scan's next heartbeat comes within a second.
	srv := startServer(t, bin, "--workers", "1", "--job-lease", "3s")
	// Registered last, so run first: the held downloads end before the
	// server and the registry stop (each waits for its requests).
	t.Cleanup(func() { close(release) })
	const project = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	ak, sk := srv.credential(t, project, "all")
	c := srv.client(t, ak, sk, project)
	if _, err := c.AddRegistry(&model.AddRegistryRequest{Body: &model.AddRegistryRequestBody{
		RegistryName: "held", RegistryType: "Other", ApiVersion: "V2", Protocol: "http", RegistryAddr: reg.Addr(),
	}}); err != nil {
		t.Fatalf("AddRegistry: %v", err)
	}
	if _, err := c.CreateImageSynchronizeTask(&model.CreateImageSynchronizeTaskRequest{
		Body: &model.CreateImageSynchronizeTaskRequestInfo{SyncAllRegistries: true}}); err != nil {
		t.Fatalf("CreateImageSynchronizeTask: %v", err)
	}
	endedTask(t, c, "image_sync", "manualSync")
	rowsByName := func() map[string]model.RegistryImagesInfo {
		t.Helper()
		out := map[string]model.RegistryImagesInfo{}
		for _, r := range registryImages(t, c, model.ListRegistryImagesRequest{}) {
			out[*r.ImageName] = r
		}
		return out
	}
	rows := rowsByName()
	if len(rows) != 4 {
		t.Fatalf("rows = %s", dump(rows))
	}
	// team/done is scanned before the gate closes: its success must
	// survive the stopped task.
	if _, err := c.CreateManualImageScanTask(&model.CreateManualImageScanTaskRequest{Body: &model.CreateManualImageScanTaskReqInfo{
		ImageInfo: &[]model.CreateManualImageScanTaskReqInfoImageInfo{{Id: rows["done"].Id}}}}); err != nil {
		t.Fatalf("CreateManualImageScanTask: %v", err)
	}
	endedTask(t, c, "image_scan", "manual")
	done := rowsByName()["done"]
	if *done.ScanStatus != "success" || *done.LatestScanTime == 0 {
		t.Fatalf("team/done after its scan: %s", dump(done))
	}
	hold.Store(true)

	_, err := c.CreateManualImageScanTask(&model.CreateManualImageScanTaskRequest{Body: &model.CreateManualImageScanTaskReqInfo{
		ImageInfo: &[]model.CreateManualImageScanTaskReqInfoImageInfo{{Id: ptr(*rows["app"].Id + 1000)}}}})
	wantSDKError(t, err, 404, "HSS.0011")
	if _, err := c.CreateManualImageScanTask(&model.CreateManualImageScanTaskRequest{Body: &model.CreateManualImageScanTaskReqInfo{
		RateLimit: ptr(int32(10)),
		ImageInfo: &[]model.CreateManualImageScanTaskReqInfoImageInfo{
			{Id: rows["app"].Id, ImageName: ptr("app"), ImageVersion: ptr("1.0"), Namespace: ptr("team"), RegistryType: ptr("Other")},
			{Id: rows["b"].Id}, {Id: rows["c"].Id}, {Id: rows["done"].Id}}}}); err != nil {
		t.Fatalf("CreateManualImageScanTask: %v", err)
	}
	resp, err := c.ListImageScanTask(&model.ListImageScanTaskRequest{Type: "image_scan", TaskStatus: ptr("scanning")})
	if err != nil || *resp.TotalNum != 1 {
		t.Fatalf("running scan tasks: %s, %v", dump(resp), err)
	}
	task := (*resp.DataList)[0]
	if *task.TaskType != "manual" || *task.RateLimit != 10 || *task.TotalNum != 4 || *task.TaskStatus != 0 {
		t.Fatalf("scan task = %s", dump(task))
	}
	// Wait until the worker holds the first image's layer download.
	heldRepo := ""
	for deadline := time.Now().Add(60 * time.Second); heldRepo == ""; {
		mu.Lock()
		for repo, n := range pulled {
			if n > 0 {
				heldRepo = repo
			}
		}
		mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("no scan reached the registry")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := c.StopImageScanTask(&model.StopImageScanTaskRequest{TaskId: *task.TaskId}); err != nil {
		t.Fatalf("StopImageScanTask: %v", err)
	}
	resp, err = c.ListImageScanTask(&model.ListImageScanTaskRequest{Type: "image_scan", TaskId: task.TaskId})
	if err != nil || *resp.TotalNum != 1 || *(*resp.DataList)[0].TaskStatus != -1 || *(*resp.DataList)[0].EndTime == 0 {
		t.Fatalf("stopped task: %s, %v", dump(resp), err)
	}
	checkRows := func(when string) {
		t.Helper()
		for name, r := range rowsByName() {
			want := map[bool]string{true: "success", false: "unscan"}[name == "done"]
			if *r.ScanStatus != want {
				t.Fatalf("%s: team/%s shows %s, want %s: %s", when, name, *r.ScanStatus, want, dump(r))
			}
			if name == "done" && (*r.LatestScanTime != *done.LatestScanTime || *r.VulNum != *done.VulNum ||
				*r.UnsafeSettingNum != *done.UnsafeSettingNum) {
				t.Fatalf("%s: team/done = %s, want its earlier result %s", when, dump(r), dump(done))
			}
		}
	}
	checkRows("right after the stop")
	// The held scan's worker loses its lease at its next heartbeat (a
	// second here) and stops; nothing else is taken from the queue. Wait
	// two leases, then open the gate: nothing of the stopped task may be
	// pulled or recorded any more.
	time.Sleep(6 * time.Second)
	mu.Lock()
	before := maps.Clone(pulled)
	mu.Unlock()
	hold.Store(false)
	time.Sleep(3 * time.Second)
	mu.Lock()
	for repo, n := range pulled {
		if n != before[repo] {
			t.Errorf("%s was read from the registry after the stop (%d requests, %d before)", repo, n, before[repo])
		}
		if repo != heldRepo && n > 0 {
			t.Errorf("%s, queued behind %s, was pulled (%d requests)", repo, heldRepo, n)
		}
	}
	mu.Unlock()
	checkRows("after the gate opened")
	if resp, err := c.ListImageScanTask(&model.ListImageScanTaskRequest{Type: "image_scan", TaskId: task.TaskId}); err != nil ||
		*(*resp.DataList)[0].TaskStatus != -1 || *(*resp.DataList)[0].SuccessNum != 0 {
		t.Fatalf("stopped task later: %s, %v", dump(resp), err)
	}

	_, err = c.StopImageScanTask(&model.StopImageScanTaskRequest{TaskId: *task.TaskId})
	wantSDKError(t, err, 400, "HSS.0001")
	_, err = c.StopImageScanTask(&model.StopImageScanTaskRequest{TaskId: "NOSUCHTASK"})
	wantSDKError(t, err, 404, "HSS.0011")
}
