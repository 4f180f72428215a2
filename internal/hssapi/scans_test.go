package hssapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/vulndb"
)

func newScanEnv(t *testing.T) *testEnv {
	t.Helper()
	return newEnv(t)
}

func liveScanJobs(t *testing.T, e *testEnv) int {
	t.Helper()
	n := 0
	for {
		j, err := e.store.Claim(context.Background(), []string{scanjob.JobKind}, "counter", e.clock(), 0)
		if err != nil {
			return n
		}
		n++
		_ = e.store.Finish(context.Background(), j.Lease(), "", e.clock())
	}
}

func TestBatchScan(t *testing.T) {
	e := newScanEnv(t)
	path := "/v5/" + projA + "/image/batch-scan"

	// Unknown images: 404 naming each, nothing queued.
	r := e.do(t, reqSpec{Method: http.MethodPost, Target: path, Body: jsonBody(t, map[string]any{
		"image_type": "private_image",
		"image_info_list": []map[string]string{
			{"namespace": "library", "image_name": "nginx", "image_version": "1.25"},
			{"namespace": "library", "image_name": "nginx", "image_version": "9.9"},
			{"namespace": "ghost", "image_name": "x", "image_version": "1"},
		},
	})})
	wantError(t, r, http.StatusNotFound, "HSS.0011")
	if msg := r.JSON["error_msg"].(string); !strings.Contains(msg, "library/nginx:9.9") || !strings.Contains(msg, "ghost/x:1") || strings.Contains(msg, "1.25") {
		t.Fatalf("error_msg %q must name exactly the unknown images", msg)
	}
	if n := liveScanJobs(t, e); n != 0 {
		t.Fatalf("a refused batch queued %d scans", n)
	}

	// Known images: one scan per manifest digest (1.26 and latest share m2).
	r = e.do(t, reqSpec{Method: http.MethodPost, Target: path, Body: jsonBody(t, map[string]any{
		"image_type": "private_image",
		"image_info_list": []map[string]string{
			{"namespace": "library", "image_name": "nginx", "image_version": "1.26"},
			{"namespace": "library", "image_name": "nginx", "image_version": "latest"},
		},
	})})
	if r.Status != http.StatusOK {
		t.Fatalf("batch-scan: %d %s", r.Status, r.Raw)
	}
	page, err := e.store.ListImages(context.Background(), inventory.Filter{ProjectID: projA, Type: inventory.PrivateImage,
		ScanStatus: inventory.WaitingForScan, Limit: 50})
	if err != nil || page.Total != 2 {
		t.Fatalf("waiting rows = %d (%v), want the two tags of m2", page.Total, err)
	}
	if n := liveScanJobs(t, e); n != 1 {
		t.Fatalf("two tags of one manifest queued %d scans, want 1", n)
	}

	// operate_all with a filter queues what the list would show.
	r = e.do(t, reqSpec{Method: http.MethodPost, Target: path, Body: jsonBody(t, map[string]any{
		"image_type": "private_image", "operate_all": true, "namespace": "team",
	})})
	if r.Status != http.StatusOK {
		t.Fatalf("operate_all: %d %s", r.Status, r.Raw)
	}
	if n := runScanAll(t, e); n != 1 {
		t.Fatalf("operate_all queued %d scan-all jobs, want 1", n)
	}
	if n := liveScanJobs(t, e); n != 4 {
		t.Fatalf("operate_all namespace=team queued %d scans, want 4", n)
	}

	for name, body := range map[string]map[string]any{
		"no image_type":     {"operate_all": true},
		"bad image_type":    {"image_type": "x", "operate_all": true},
		"neither":           {"image_type": "private_image"},
		"bad scan_status":   {"image_type": "private_image", "operate_all": true, "scan_status": "nope"},
		"item without name": {"image_type": "private_image", "image_info_list": []map[string]string{{"image_version": "1"}}},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, e.do(t, reqSpec{Method: http.MethodPost, Target: path, Body: jsonBody(t, body)}), http.StatusBadRequest, "HSS.0001")
		})
	}
	// Project B's images do not exist for project A... and enterprise
	// project grants apply: the ep1-only credential cannot name r1's rows.
	r = e.do(t, reqSpec{Method: http.MethodPost, Target: path + "?enterprise_project_id=ep1", AK: e.akEP, SK: e.skEP, Body: jsonBody(t, map[string]any{
		"image_type": "private_image", "image_info_list": []map[string]string{{"namespace": "library", "image_name": "nginx", "image_version": "1.25"}},
	})})
	wantError(t, r, http.StatusNotFound, "HSS.0011")
}

// goVulnDBDir returns data/osv of the Go vulnerability database module.
func goVulnDBDir(t *testing.T) string {
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

// TestScanDetails stores a scan of m1 whose findings come from matching
// real Go modules against the real Go vulnerability database, then reads
// it through the vulnerability, software and SBOM APIs.
func TestScanDetails(t *testing.T) {
	e := newScanEnv(t)
	ctx := context.Background()
	db, err := vulndb.New(vulndb.Options{Store: e.store, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Import(ctx, goVulnDBDir(t)); err != nil {
		t.Fatal(err)
	}
	sb := scanresult.SBOM{
		Digest: digest("m1"), Layers: []string{digest("l1"), digest("l2")}, OSID: "debian", OSVersion: "12", ScannedAt: base,
		Packages: []scanresult.Package{
			{Name: "golang.org/x/text", Version: "v0.3.7", Ecosystem: "Go", Type: "go-module", Path: "/app/bin", LayerDigest: digest("l2"), PURL: "pkg:golang/golang.org/x/text@v0.3.7"},
			{Name: "golang.org/x/text", Version: "v0.3.8", Ecosystem: "Go", Type: "go-module", Path: "/app/other", LayerDigest: digest("l2")},
			{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Ecosystem: "Debian:12", Type: "dpkg", Path: "/var/lib/dpkg/status", LayerDigest: digest("l1")},
		},
	}
	fs, err := db.Match(ctx, sb.Packages)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SaveScan(ctx, sb, fs, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: base, VulNum: scanresult.DistinctVulns(fs)}); err != nil {
		t.Fatal(err)
	}
	hexID := strings.TrimPrefix(digest("m1"), "sha256:")
	vulns := "/v5/" + projA + "/image/" + hexID + "/vulnerabilities?image_type=private_image"

	r := e.do(t, reqSpec{Target: vulns + "&namespace=&image_name=&tag_name=&limit=200"})
	if r.Status != http.StatusOK {
		t.Fatalf("vulnerabilities: %d %s", r.Status, r.Raw)
	}
	rows := r.JSON["data_list"].([]any)
	if total, _ := r.JSON["total_num"].(json.Number).Int64(); int(total) != len(fs) || len(rows) != len(fs) {
		t.Fatalf("total_num %v rows %d, want %d", r.JSON["total_num"], len(rows), len(fs))
	}
	var hit map[string]any
	for _, x := range rows {
		row := x.(map[string]any)
		if len(row) != 9 {
			t.Fatalf("row has %d fields, want the 9 of ImageVulInfo: %v", len(row), row)
		}
		if row["vul_id"] == "GO-2022-1059" {
			hit = row
		}
	}
	if hit == nil || hit["app_name"] != "golang.org/x/text" || hit["version"] != "v0.3.7" || hit["position"] != digest("l2") ||
		hit["app_path"] != "/app/bin" || hit["solution"] == "" || hit["url"] == "" {
		t.Fatalf("GO-2022-1059 row = %v", hit)
	}

	count := func(target string) int {
		t.Helper()
		r := e.do(t, reqSpec{Target: target})
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", target, r.Status, r.Raw)
		}
		n, _ := r.JSON["total_num"].(json.Number).Int64()
		return int(n)
	}
	if n := count(vulns + "&vul_id=2022-1059"); n != 1 {
		t.Fatalf("vul_id substring: %d rows", n)
	}
	if n := count(vulns + "&type=linux_vul"); n != 0 {
		t.Fatalf("type=linux_vul: %d rows, want 0 (only Go findings)", n)
	}
	if n := count(vulns + "&type=app_vul"); n != len(fs) {
		t.Fatalf("type=app_vul: %d rows, want %d", n, len(fs))
	}
	if n := count(vulns + "&tag_name=1.25&namespace=library&image_name=nginx"); n != len(fs) {
		t.Fatalf("with the row's names: %d", n)
	}
	if n := count(vulns + "&limit=1&offset=1"); n != len(fs) {
		t.Fatalf("paged total: %d", n)
	}
	wantError(t, e.do(t, reqSpec{Target: vulns + "&tag_name=nope"}), http.StatusNotFound, "HSS.0011")
	wantError(t, e.do(t, reqSpec{Target: "/v5/" + projA + "/image/" + hexID + "/vulnerabilities"}), http.StatusBadRequest, "HSS.0001")
	wantError(t, e.do(t, reqSpec{Target: vulns + "&repair_necessity=urgent"}), http.StatusBadRequest, "HSS.0001")
	// Project B's credential does not see project A's image.
	wantError(t, e.do(t, reqSpec{Target: "/v5/" + projB + "/image/" + hexID + "/vulnerabilities?image_type=private_image", AK: e.akB, SK: e.skB}),
		http.StatusNotFound, "HSS.0011")

	apps := "/v5/" + projA + "/image/" + hexID + "/apps?image_type=private_image"
	r = e.do(t, reqSpec{Target: apps})
	if r.Status != http.StatusOK || len(r.JSON["data_list"].([]any)) != 3 {
		t.Fatalf("apps: %d %s", r.Status, r.Raw)
	}
	first := r.JSON["data_list"].([]any)[0].(map[string]any)
	if first["app_name"] != "golang.org/x/text" || first["app_version"] != "v0.3.7" || first["app_type"] != "go-module" ||
		first["layer_digest"] != digest("l2") || first["vul_num"].(json.Number).String() == "0" {
		t.Fatalf("first app = %v", first)
	}
	if n := count(apps + "&app_name=zlib"); n != 1 {
		t.Fatalf("app_name filter: %d", n)
	}

	for format, check := range map[string]func(map[string]any) bool{
		"cyclonedx": func(d map[string]any) bool {
			return d["bomFormat"] == "CycloneDX" && d["specVersion"] == "1.5" && len(d["components"].([]any)) == 4
		},
		"spdx": func(d map[string]any) bool {
			return d["spdxVersion"] == "SPDX-2.3" && d["SPDXID"] == "SPDXRef-DOCUMENT" && len(d["packages"].([]any)) == 5
		},
	} {
		r := e.do(t, reqSpec{Target: "/v5/" + projA + "/image/" + hexID + "/sbom?format=" + format})
		var doc map[string]any
		if r.Status != http.StatusOK || json.Unmarshal(r.Raw, &doc) != nil || !check(doc) {
			t.Fatalf("sbom %s: %d %s", format, r.Status, r.Raw)
		}
	}
	// m2 was never scanned: no SBOM.
	wantError(t, e.do(t, reqSpec{Target: "/v5/" + projA + "/image/" + strings.TrimPrefix(digest("m2"), "sha256:") + "/sbom"}), http.StatusNotFound, "HSS.0011")
}
