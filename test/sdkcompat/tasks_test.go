package sdkcompat

import (
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
