package sdkcompat

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	hss "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"

	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/registry/registrytest"
)

// vulnAppImage builds a Go program linking golang.org/x/text v0.3.7 and
// puts it, executable, in an image.
func vulnAppImage(t *testing.T) v1.Image {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module example.com/vulnapp\n\ngo 1.17\n\nrequire golang.org/x/text v0.3.7\n",
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"golang.org/x/text/language\"\n)\n\nfunc main() { fmt.Println(language.English) }\n",
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOWORK=off")
	for _, args := range [][]string{{"mod", "tidy"}, {"build", "-trimpath", "-o", "vulnapp", "."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
	}
	bin, err := os.ReadFile(filepath.Join(dir, "vulnapp"))
	if err != nil {
		t.Fatal(err)
	}
	return imagetest.Image(t, imagetest.Layer(t, imagetest.Exe("usr/local/bin/vulnapp", string(bin))))
}

// goVulnDB returns data/osv of the Go vulnerability database module.
func goVulnDB(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", "golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018")
	cmd.Dir = os.TempDir()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("download golang.org/x/vulndb: %v", err)
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(info.Dir, "data", "osv")
}

// scanningServer starts `openhss serve` with the Go vulnerability database
// imported and returns a client of one project granted every enterprise
// project.
func scanningServer(t *testing.T) *hss.HssClient {
	t.Helper()
	bin := buildBinary(t)
	srv := startServer(t, bin)
	if out, err := exec.Command(bin, "db", "import", "--data", srv.dataDir, goVulnDB(t)).CombinedOutput(); err != nil {
		t.Fatalf("db import: %v\n%s", err, out)
	}
	const project = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	ak, sk := srv.credential(t, project, "all")
	return srv.client(t, ak, sk, project)
}

// TestScanConformance drives a scan through the official SDK:
// BatchScanSwrImage, then ListImageVulnerabilities and ListImageApps on the
// result.
func TestScanConformance(t *testing.T) {
	c := scanningServer(t)

	reg := registrytest.New(t)
	img := vulnAppImage(t)
	if err := remote.Write(reg.Repo(t, "team/vulnapp").Tag("1.0"), img, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	if _, err := c.AddRegistry(&model.AddRegistryRequest{Body: &model.AddRegistryRequestBody{
		RegistryName: "local", RegistryType: "Other", ApiVersion: "v2", Protocol: "http", RegistryAddr: reg.Addr(),
	}}); err != nil {
		t.Fatalf("AddRegistry: %v", err)
	}
	if _, err := runImageSynchronize(c, &model.RunImageSynchronizeRequest{Body: &model.RunImageSynchronizeRequestInfo{ImageType: "private_image"}}); err != nil {
		t.Fatalf("RunImageSynchronize: %v", err)
	}
	waitRow := func(done func(model.PrivateImageRepositoryInfo) bool) model.PrivateImageRepositoryInfo {
		t.Helper()
		deadline := time.Now().Add(120 * time.Second)
		for {
			resp, err := listSwrImageRepository(c, &model.ListSwrImageRepositoryRequest{ImageType: "private_image", ImageName: ptr("vulnapp")})
			if err != nil {
				t.Fatal(err)
			}
			if resp.DataList != nil && len(*resp.DataList) == 1 && done((*resp.DataList)[0]) {
				return (*resp.DataList)[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("row did not reach the expected state: %s", dump(resp))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitRow(func(model.PrivateImageRepositoryInfo) bool { return true })

	// An unknown image: 404 HSS.0011 naming it.
	_, err := batchScanSwrImage(c, &model.BatchScanSwrImageRequest{Body: &model.BatchScanPrivateImageRequestInfo{
		ImageType:     "private_image",
		ImageInfoList: &[]model.BatchScanSwrImageInfo{{Namespace: ptr("team"), ImageName: ptr("ghost"), ImageVersion: ptr("1")}},
	}})
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) || se.StatusCode != 404 || se.ErrorCode != "HSS.0011" || !strings.Contains(se.ErrorMessage, "team/ghost:1") {
		t.Fatalf("BatchScanSwrImage of an unknown image: %v", err)
	}

	if _, err := batchScanSwrImage(c, &model.BatchScanSwrImageRequest{Body: &model.BatchScanPrivateImageRequestInfo{
		ImageType:     "private_image",
		ImageInfoList: &[]model.BatchScanSwrImageInfo{{Namespace: ptr("team"), ImageName: ptr("vulnapp"), ImageVersion: ptr("1.0")}},
	}}); err != nil {
		t.Fatalf("BatchScanSwrImage: %v", err)
	}
	row := waitRow(func(r model.PrivateImageRepositoryInfo) bool {
		return r.ScanStatus != nil && *r.ScanStatus != "waiting_for_scan" && *r.ScanStatus != "scanning"
	})
	if *row.ScanStatus != "success" || *row.VulNum == 0 || *row.LatestScanTime == 0 {
		t.Fatalf("scanned row = %s", dump(row))
	}

	vulns, err := c.ListImageVulnerabilities(&model.ListImageVulnerabilitiesRequest{
		ImageType: "private_image", ImageId: d.Hex, Namespace: "team", ImageName: "vulnapp", TagName: "1.0", Limit: ptr(int32(200)),
	})
	if err != nil {
		t.Fatalf("ListImageVulnerabilities: %v", err)
	}
	ids := map[string]bool{}
	var hit *model.ImageVulInfo
	for i, v := range *vulns.DataList {
		ids[*v.VulId] = true
		if *v.VulId == "GO-2022-1059" {
			hit = &(*vulns.DataList)[i]
		}
	}
	if int(*row.VulNum) != len(ids) || hit == nil || *hit.AppName != "golang.org/x/text" || *hit.Solution == "" || *hit.Position == "" {
		t.Fatalf("vul_num %d, %d distinct ids, GO-2022-1059 row %s", *row.VulNum, len(ids), dump(hit))
	}

	apps, err := c.ListImageApps(&model.ListImageAppsRequest{ImageType: "private_image", ImageId: d.Hex, AppName: ptr("golang.org/x/text")})
	if err != nil {
		t.Fatalf("ListImageApps: %v", err)
	}
	if *apps.TotalNum != 1 || strings.TrimPrefix(*(*apps.DataList)[0].AppVersion, "v") != "0.3.7" || *(*apps.DataList)[0].VulNum == 0 {
		t.Fatalf("ListImageApps = %s", dump(apps))
	}
}
