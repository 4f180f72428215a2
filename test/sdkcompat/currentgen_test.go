package sdkcompat

import (
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	hss "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"

	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/registry/registrytest"
)

// registryImages lists every row ListRegistryImages selects with r (up to
// 200) and checks total_num against the page.
func registryImages(t *testing.T, c *hss.HssClient, r model.ListRegistryImagesRequest) []model.RegistryImagesInfo {
	t.Helper()
	r.Limit = ptr(int32(200))
	resp, err := c.ListRegistryImages(&r)
	if err != nil {
		t.Fatalf("ListRegistryImages: %v", err)
	}
	if resp.TotalNum == nil || resp.DataList == nil || int(*resp.TotalNum) != len(*resp.DataList) {
		t.Fatalf("response = %s", dump(resp))
	}
	return *resp.DataList
}

func imageRefs(rows []model.RegistryImagesInfo) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r.Namespace+"/"+*r.ImageName+":"+*r.ImageVersion)
	}
	slices.Sort(out)
	return out
}

// TestCurrentGenerationSurface keeps to the non-deprecated calls only, as a
// client of SDK v0.1.214+ must: add a connection, sync it with
// CreateImageSynchronizeTask, list with ListRegistryImages, scan with
// CreateManualImageScanTask and watch the task in ListImageScanTask, then
// check the filters and the sort whose answer depends on scan results
// (risky, severity_level, sort_key=latest_scan_time) against the rows'
// own fields.
func TestCurrentGenerationSurface(t *testing.T) {
	c := scanningServer(t)

	reg := registrytest.New(t)
	for ref, img := range map[string]v1.Image{
		"team/vulnapp:1.0": vulnAppImage(t),
		"team/risky:1.0":   buildRiskyImage(t).img,
		"team/clean:1.0":   cleanImage(t),
		// Another digest than clean's: a success is shared by digest.
		"team/later:1.0": imagetest.WithConfigFile(t, cleanImage(t), func(cf *v1.ConfigFile) {
			cf.Config.Labels = map[string]string{"stage": "later"}
		}),
	} {
		repo, tag, _ := strings.Cut(ref, ":")
		if err := remote.Write(reg.Repo(t, repo).Tag(tag), img, reg.RemoteOptions()...); err != nil {
			t.Fatal(err)
		}
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
	if sync := endedTask(t, c, "image_sync", "manualSync"); *sync.SuccessNum != 1 {
		t.Fatalf("sync task = %s", dump(sync))
	}
	rows := registryImages(t, c, model.ListRegistryImagesRequest{})
	if got := imageRefs(rows); !slices.Equal(got, []string{"team/clean:1.0", "team/later:1.0", "team/risky:1.0", "team/vulnapp:1.0"}) {
		t.Fatalf("rows after the sync = %v", got)
	}
	var scan []model.CreateManualImageScanTaskReqInfoImageInfo
	for _, r := range rows {
		if *r.ImageName != "later" {
			scan = append(scan, model.CreateManualImageScanTaskReqInfoImageInfo{Id: r.Id})
		}
	}
	if _, err := c.CreateManualImageScanTask(&model.CreateManualImageScanTaskRequest{
		Body: &model.CreateManualImageScanTaskReqInfo{ImageInfo: &scan}}); err != nil {
		t.Fatalf("CreateManualImageScanTask: %v", err)
	}
	task := endedTask(t, c, "image_scan", "manual")
	if *task.TotalNum != 3 || *task.SuccessNum != 3 || *task.RiskyNum != 2 {
		t.Fatalf("scan task = %s", dump(task))
	}

	rows = registryImages(t, c, model.ListRegistryImagesRequest{})
	var risky, clean []model.RegistryImagesInfo
	severities := map[string][]model.RegistryImagesInfo{}
	for _, r := range rows {
		switch {
		case *r.VulNum > 0 || *r.UnsafeSettingNum > 0 || *r.MaliciousFileNum > 0:
			risky = append(risky, r)
		case *r.ScanStatus == "success":
			clean = append(clean, r)
		}
		if *r.SeverityLevel != "" {
			severities[*r.SeverityLevel] = append(severities[*r.SeverityLevel], r)
		}
	}
	if got := imageRefs(risky); !slices.Equal(got, []string{"team/risky:1.0", "team/vulnapp:1.0"}) {
		t.Fatalf("risky rows by their counts = %v: %s", got, dump(rows))
	}
	if got := imageRefs(clean); !slices.Equal(got, []string{"team/clean:1.0"}) {
		t.Fatalf("clean rows by their counts = %v", got)
	}
	if len(severities) == 0 {
		t.Fatalf("no row has a severity_level after the scan: %s", dump(rows))
	}
	for _, tc := range []struct {
		name string
		req  model.ListRegistryImagesRequest
		want []model.RegistryImagesInfo
	}{
		{"risky", model.ListRegistryImagesRequest{Risky: ptr(true)}, risky},
		{"not risky", model.ListRegistryImagesRequest{Risky: ptr(false)}, clean},
		{"risky in another namespace", model.ListRegistryImagesRequest{Namespace: ptr("ops"), Risky: ptr(true)}, nil},
	} {
		if got, want := imageRefs(registryImages(t, c, tc.req)), imageRefs(tc.want); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", tc.name, got, want)
		}
	}
	for level, want := range severities {
		if got := imageRefs(registryImages(t, c, model.ListRegistryImagesRequest{SeverityLevel: ptr(level)})); !slices.Equal(got, imageRefs(want)) {
			t.Errorf("severity_level=%s: %v, want %v", level, got, imageRefs(want))
		}
	}

	// sort_key=latest_scan_time: the never-scanned row sorts as 0, first
	// ascending and last descending; the scanned rows by their scan time.
	asc := registryImages(t, c, model.ListRegistryImagesRequest{SortKey: ptr("latest_scan_time"), SortDir: ptr("asc")})
	if *asc[0].ImageName != "later" || *asc[0].LatestScanTime != 0 {
		t.Fatalf("ascending starts with %s", dump(asc[0]))
	}
	for i := 1; i < len(asc); i++ {
		if *asc[i].LatestScanTime < *asc[i-1].LatestScanTime {
			t.Fatalf("ascending latest_scan_time out of order at %d: %s", i, dump(asc))
		}
	}
	desc := registryImages(t, c, model.ListRegistryImagesRequest{SortKey: ptr("latest_scan_time"), SortDir: ptr("desc")})
	for i := range desc {
		if *desc[i].Id != *asc[len(asc)-1-i].Id {
			t.Fatalf("descending is not the reverse of ascending: %s vs %s", dump(desc), dump(asc))
		}
	}
	// A scan time range now holds the three scanned rows only.
	scanned := registryImages(t, c, model.ListRegistryImagesRequest{
		StartLatestScanTime: ptr(int64(1)), EndLatestScanTime: ptr(time.Now().Add(time.Minute).UnixMilli())})
	if len(scanned) != 3 {
		t.Fatalf("rows scanned = %v", imageRefs(scanned))
	}
}
