package sdkcompat

import (
	"net/http"
	"strings"
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
// StopImageScanTask through the official SDK: a scan held at its layer
// download keeps the task running until the client stops it.
func TestScanTaskConformance(t *testing.T) {
	var hold atomic.Bool
	release := make(chan struct{})
	reg := registrytest.New(t, registrytest.WithMiddleware(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if hold.Load() && strings.Contains(r.URL.Path, "/blobs/") {
				<-release
			}
			h.ServeHTTP(w, r)
		})
	}))
	reg.PushImage(t, "team/app", "1.0", registrytest.ImageOptions{Created: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)})
	bin := buildBinary(t)
	srv := startServer(t, bin)
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
	rows, err := listSwrImageRepository(c, &model.ListSwrImageRepositoryRequest{ImageType: "private_image", ImageName: ptr("app")})
	if err != nil || rows.DataList == nil || len(*rows.DataList) != 1 {
		t.Fatalf("ListSwrImageRepository: %s, %v", dump(rows), err)
	}
	id := *(*rows.DataList)[0].Id
	hold.Store(true)

	_, err = c.CreateManualImageScanTask(&model.CreateManualImageScanTaskRequest{Body: &model.CreateManualImageScanTaskReqInfo{
		ImageInfo: &[]model.CreateManualImageScanTaskReqInfoImageInfo{{Id: ptr(id + 1000)}}}})
	wantSDKError(t, err, 404, "HSS.0011")
	if _, err := c.CreateManualImageScanTask(&model.CreateManualImageScanTaskRequest{Body: &model.CreateManualImageScanTaskReqInfo{
		RateLimit: ptr(int32(10)),
		ImageInfo: &[]model.CreateManualImageScanTaskReqInfoImageInfo{{Id: ptr(id), ImageName: ptr("app"), ImageVersion: ptr("1.0"),
			Namespace: ptr("team"), RegistryType: ptr("Other")}}}}); err != nil {
		t.Fatalf("CreateManualImageScanTask: %v", err)
	}
	resp, err := c.ListImageScanTask(&model.ListImageScanTaskRequest{Type: "image_scan", TaskStatus: ptr("scanning")})
	if err != nil || *resp.TotalNum != 1 {
		t.Fatalf("running scan tasks: %s, %v", dump(resp), err)
	}
	task := (*resp.DataList)[0]
	if *task.TaskType != "manual" || *task.RateLimit != 10 || *task.TotalNum != 1 || *task.TaskStatus != 0 {
		t.Fatalf("scan task = %s", dump(task))
	}
	if _, err := c.StopImageScanTask(&model.StopImageScanTaskRequest{TaskId: *task.TaskId}); err != nil {
		t.Fatalf("StopImageScanTask: %v", err)
	}
	resp, err = c.ListImageScanTask(&model.ListImageScanTaskRequest{Type: "image_scan", TaskId: task.TaskId})
	if err != nil || *resp.TotalNum != 1 || *(*resp.DataList)[0].TaskStatus != -1 || *(*resp.DataList)[0].EndTime == 0 {
		t.Fatalf("stopped task: %s, %v", dump(resp), err)
	}
	_, err = c.StopImageScanTask(&model.StopImageScanTaskRequest{TaskId: *task.TaskId})
	wantSDKError(t, err, 400, "HSS.0001")
	_, err = c.StopImageScanTask(&model.StopImageScanTaskRequest{TaskId: "NOSUCHTASK"})
	wantSDKError(t, err, 404, "HSS.0011")
}
