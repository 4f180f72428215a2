package sdkcompat

import (
	"os/exec"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	hss "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"

	"github.com/openhss/openhss/internal/registry/registrytest"
)

// scopeFindings is what the findings APIs show of one image, beside its
// row's counts.
type scopeFindings struct {
	riskConfigs []model.ImageRiskConfigsInfoResponseInfo
	malware     []model.ImageMalwareInfo
	sensitive   []model.ImageSensitiveInfo
}

func findingsOf(t *testing.T, c *hss.HssClient, imageID string) scopeFindings {
	t.Helper()
	var f scopeFindings
	rc, err := c.ListImageRiskConfigs(&model.ListImageRiskConfigsRequest{ImageType: "private_image", ImageId: &imageID, Limit: ptr(int32(100))})
	if err != nil {
		t.Fatalf("ListImageRiskConfigs: %v", err)
	}
	mw, err := c.ListImageMalware(&model.ListImageMalwareRequest{ImageType: "private_image", ImageId: imageID, Limit: ptr(int32(100))})
	if err != nil {
		t.Fatalf("ListImageMalware: %v", err)
	}
	se, err := c.ListImageSensitive(&model.ListImageSensitiveRequest{ImageType: "private_image", ImageId: imageID, Limit: ptr(int32(100))})
	if err != nil {
		t.Fatalf("ListImageSensitive: %v", err)
	}
	if rc.DataList != nil {
		f.riskConfigs = *rc.DataList
	}
	if mw.DataList != nil {
		f.malware = *mw.DataList
	}
	if se.DataList != nil {
		f.sensitive = *se.DataList
		// The image's latest scan time, not the finding's: a scan of
		// other parts moves it (docs/api.md, Tasks).
		for i := range f.sensitive {
			f.sensitive[i].LatestScanTime = nil
		}
	}
	return f
}

// TestScanScopeConformance drives CreateManualImageScanTask's scan_scope
// through the official SDK: a scan of vulnerabilities only (983040) finds
// only vulnerabilities, and leaves the baseline, malware and sensitive
// counts and lists as the last scan left them (empty before any).
func TestScanScopeConformance(t *testing.T) {
	bin := buildBinary(t)
	srv := startServer(t, bin)
	if out, err := exec.Command(bin, "db", "import", "--data", srv.dataDir, goVulnDB(t)).CombinedOutput(); err != nil {
		t.Fatalf("db import: %v\n%s", err, out)
	}
	const project = "5c0e1d2f3a4b5c6d7e8f90a1b2c3d4e5"
	ak, sk := srv.credential(t, project, "all")
	c := srv.client(t, ak, sk, project)

	// The risky image of the findings test with the vulnerable Go program
	// on top: something for every part of a scan.
	risky := buildRiskyImage(t)
	appLayers, err := vulnAppImage(t).Layers()
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(risky.img, appLayers...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	imageID := d.Hex
	reg := registrytest.New(t)
	if err := remote.Write(reg.Repo(t, "team/everything").Tag("1"), img, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
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
	row := func() model.RegistryImagesInfo {
		t.Helper()
		resp, err := c.ListRegistryImages(&model.ListRegistryImagesRequest{ImageName: ptr("everything")})
		if err != nil || resp.DataList == nil || len(*resp.DataList) != 1 {
			t.Fatalf("ListRegistryImages: %s, %v", dump(resp), err)
		}
		return (*resp.DataList)[0]
	}
	id := *row().Id
	scan := func(t *testing.T, scope int32) (model.ImageScanTaskInfo, model.RegistryImagesInfo, scopeFindings) {
		t.Helper()
		if _, err := c.CreateManualImageScanTask(&model.CreateManualImageScanTaskRequest{Body: &model.CreateManualImageScanTaskReqInfo{
			ScanScope: ptr(scope), ImageInfo: &[]model.CreateManualImageScanTaskReqInfoImageInfo{{Id: ptr(id)}}}}); err != nil {
			t.Fatalf("CreateManualImageScanTask scan_scope %d: %v", scope, err)
		}
		task := endedTask(t, c, "image_scan", "manual")
		if *task.ScanScope != scope || *task.TotalNum != 1 || *task.SuccessNum != 1 {
			t.Fatalf("task of scan_scope %d = %s", scope, dump(task))
		}
		return task, row(), findingsOf(t, c, imageID)
	}
	const vulnerabilitiesOnly = 983040 // 0x000f0000

	// Never scanned: vulnerabilities only.
	_, first, f := scan(t, vulnerabilitiesOnly)
	if *first.ScanStatus != "success" || *first.VulNum == 0 {
		t.Fatalf("vulnerabilities only: %s; want a success with vulnerabilities", dump(first))
	}
	if *first.UnsafeSettingNum != 0 || *first.MaliciousFileNum != 0 || len(f.riskConfigs) != 0 || len(f.malware) != 0 || len(f.sensitive) != 0 {
		t.Fatalf("vulnerabilities only ran other parts: row %s, findings %s", dump(first), dump(f))
	}

	// Everything.
	_, full, ff := scan(t, 0x7fffffff)
	if *full.VulNum != *first.VulNum || *full.UnsafeSettingNum == 0 || *full.MaliciousFileNum == 0 ||
		len(ff.riskConfigs) == 0 || len(ff.malware) == 0 || len(ff.sensitive) == 0 {
		t.Fatalf("full scan: row %s, findings %s", dump(full), dump(ff))
	}

	// Vulnerabilities only again: the rest stays as the full scan left it.
	_, again, fa := scan(t, vulnerabilitiesOnly)
	if *again.LatestScanTime < *full.LatestScanTime || *again.VulNum != *full.VulNum ||
		*again.UnsafeSettingNum != *full.UnsafeSettingNum || *again.MaliciousFileNum != *full.MaliciousFileNum ||
		*again.SeverityLevel != *full.SeverityLevel {
		t.Fatalf("after vulnerabilities only: %s; want the full scan's counts %s", dump(again), dump(full))
	}
	for _, l := range []struct {
		name      string
		got, want any
	}{{"risk configs", fa.riskConfigs, ff.riskConfigs}, {"malware", fa.malware, ff.malware}, {"sensitive", fa.sensitive, ff.sensitive}} {
		if !reflect.DeepEqual(l.got, l.want) {
			t.Errorf("%s changed by a scan of vulnerabilities only:\n got %s\nwant %s", l.name, dump(l.got), dump(l.want))
		}
	}

	// A mask that selects no part: refused, no task made.
	before, err := c.ListImageScanTask(&model.ListImageScanTaskRequest{Type: "image_scan"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateManualImageScanTask(&model.CreateManualImageScanTaskRequest{Body: &model.CreateManualImageScanTaskReqInfo{
		ScanScope: ptr(int32(0x00100000)), ImageInfo: &[]model.CreateManualImageScanTaskReqInfoImageInfo{{Id: ptr(id)}}}})
	wantSDKError(t, err, 400, "HSS.0001")
	after, err := c.ListImageScanTask(&model.ListImageScanTaskRequest{Type: "image_scan"})
	if err != nil || *after.TotalNum != *before.TotalNum {
		t.Fatalf("a refused scan_scope made a task: %s, %v", dump(after), err)
	}
}
