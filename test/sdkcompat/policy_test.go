package sdkcompat

import (
	"testing"
	"time"

	hss "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"

	"github.com/openhss/openhss/internal/registry/registrytest"
)

func listScanPolicy(t *testing.T, c *hss.HssClient) *model.ListImageScanPolicyResponse {
	t.Helper()
	resp, err := c.ListImageScanPolicy(&model.ListImageScanPolicyRequest{Type: model.GetListImageScanPolicyRequestTypeEnum().CYCLE})
	if err != nil {
		t.Fatalf("ListImageScanPolicy: %v", err)
	}
	return resp
}

// TestScanPolicyConformance: ModifyImageScanPolicy enables a scheduled scan
// of a registry with images; the server's scheduler starts a cycle task at
// once (enabling makes a run due), which ListImageScanTask shows finishing,
// and ListImageScanPolicy answers what was set.
func TestScanPolicyConformance(t *testing.T) {
	bin := buildBinary(t)
	srv := startServer(t, bin, "--schedule-tick", "200ms", "--sync-interval", "0")
	const project = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	ak, sk := srv.credential(t, project, "all")
	c := srv.client(t, ak, sk, project)

	reg := registrytest.New(t)
	reg.PushImage(t, "team/app", "1.0", registrytest.ImageOptions{Created: time.Now().Add(-time.Hour)})
	reg.PushImage(t, "team/old", "1.0", registrytest.ImageOptions{Created: time.Now().Add(-60 * 24 * time.Hour)})
	if _, err := c.AddRegistry(&model.AddRegistryRequest{Body: &model.AddRegistryRequestBody{
		RegistryName: "local", RegistryType: "Other", ApiVersion: "V2", Protocol: "http", RegistryAddr: reg.Addr(),
	}}); err != nil {
		t.Fatalf("AddRegistry: %v", err)
	}
	if _, err := c.CreateImageSynchronizeTask(&model.CreateImageSynchronizeTaskRequest{
		Body: &model.CreateImageSynchronizeTaskRequestInfo{SyncAllRegistries: true}}); err != nil {
		t.Fatalf("CreateImageSynchronizeTask: %v", err)
	}
	endedTask(t, c, "image_sync", "manualSync")

	def := listScanPolicy(t, c)
	if *def.Enabled || *def.ScanCycle != 7 || *def.TotalRegistryNum != 1 || len(*def.RegistryList) != 1 || *(*def.RegistryList)[0].IsSelected {
		t.Fatalf("default policy: %s", dump(def))
	}
	r := (*def.RegistryList)[0]
	body := &model.CycleImageScanPolicyReqInfo{Enabled: true, ScanCycle: 3, ScanScope: 0x0fffff, RateLimit: 500, TimeScope: 7,
		RegistryInfo: []model.CycleImageScanPolicyReqInfoRegistryInfo{{RegistryId: *r.RegistryId, RegistryName: *r.RegistryName,
			RegistryType: *r.RegistryType}}}
	if _, err := c.ModifyImageScanPolicy(&model.ModifyImageScanPolicyRequest{Body: body}); err != nil {
		t.Fatalf("ModifyImageScanPolicy: %v", err)
	}

	task := endedTask(t, c, "image_scan", "cycle")
	// time_scope 7: the image created 60 days ago is left out.
	if *task.TaskType != "cycle" || *task.TotalNum != 1 || *task.SuccessNum != 1 || !*task.IsAll || *task.ScanScope != 0x0fffff ||
		*task.RateLimit != 500 || *task.ImageType != "registry" {
		t.Fatalf("cycle task = %s", dump(task))
	}
	got := listScanPolicy(t, c)
	if !*got.Enabled || *got.ScanCycle != 3 || *got.ScanScope != 0x0fffff || *got.RateLimit != 500 || *got.TimeScope != 7 ||
		!*got.IsAll || !*(*got.RegistryList)[0].IsSelected {
		t.Fatalf("policy after ModifyImageScanPolicy: %s", dump(got))
	}
	// One run per cycle: the scheduler ticking on does not start another.
	time.Sleep(time.Second)
	resp, err := c.ListImageScanTask(&model.ListImageScanTaskRequest{Type: "image_scan", TaskType: ptr("cycle")})
	if err != nil || *resp.TotalNum != 1 {
		t.Fatalf("cycle tasks a second later: %s, %v", dump(resp), err)
	}

	t.Run("bad input", func(t *testing.T) {
		bad := *body
		bad.ScanCycle = 5
		_, err := c.ModifyImageScanPolicy(&model.ModifyImageScanPolicyRequest{Body: &bad})
		wantSDKError(t, err, 400, "HSS.0001")
		bad = *body
		bad.RegistryInfo = []model.CycleImageScanPolicyReqInfoRegistryInfo{{RegistryId: "999999", RegistryName: "x", RegistryType: "Other"}}
		_, err = c.ModifyImageScanPolicy(&model.ModifyImageScanPolicyRequest{Body: &bad})
		wantSDKError(t, err, 404, "HSS.0011")
		if after := listScanPolicy(t, c); dump(after) != dump(got) {
			t.Fatalf("a refused ModifyImageScanPolicy changed the policy: %s, was %s", dump(after), dump(got))
		}
	})
}

// TestPeriodicSyncConformance: with --sync-interval every connection is
// synced as an autoSync task, again each interval.
func TestPeriodicSyncConformance(t *testing.T) {
	bin := buildBinary(t)
	srv := startServer(t, bin, "--schedule-tick", "200ms", "--sync-interval", "2s")
	const project = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	ak, sk := srv.credential(t, project, "all")
	c := srv.client(t, ak, sk, project)
	reg := registrytest.New(t)
	reg.PushImage(t, "team/app", "1.0", registrytest.ImageOptions{})
	if _, err := c.AddRegistry(&model.AddRegistryRequest{Body: &model.AddRegistryRequestBody{
		RegistryName: "local", RegistryType: "Other", ApiVersion: "V2", Protocol: "http", RegistryAddr: reg.Addr(),
	}}); err != nil {
		t.Fatalf("AddRegistry: %v", err)
	}
	task := endedTask(t, c, "image_sync", "autoSync")
	if *task.TotalNum != 1 || *task.SuccessNum != 1 || *task.SyncTaskType != "autoSync" {
		t.Fatalf("autoSync task = %s", dump(task))
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := c.ListImageScanTask(&model.ListImageScanTaskRequest{Type: "image_sync", TaskType: ptr("autoSync")})
		if err != nil {
			t.Fatal(err)
		}
		if *resp.TotalNum >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no second autoSync task: %s", dump(resp))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
