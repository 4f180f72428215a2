package sdkcompat

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/region"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	hss "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"

	"github.com/openhss/openhss/internal/registry/registrytest"
)

// server is a running `openhss serve` binary.
type server struct {
	base    string
	dataDir string
	bin     string
}

// buildBinary builds cmd/openhss from the product module, with the product's
// own go.mod, exactly as a user builds it.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "openhss")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/openhss")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build openhss: %v", err)
	}
	return bin
}

var readyLine = regexp.MustCompile(`msg="openhss ready" addr=(\S+)`)

// startServer runs `openhss serve` on a free loopback port with a fresh data
// directory, and stops it (SIGTERM) when the test ends. extra are more
// serve flags.
func startServer(t *testing.T, bin string, extra ...string) *server {
	t.Helper()
	data := t.TempDir()
	// --registry-allow: the tests' registries (registrytest) listen on
	// 127.0.0.1, which the default network policy denies.
	args := append([]string{"serve", "--data", data, "--listen", "127.0.0.1:0", "--region", "local-1", "--registry-allow", "127.0.0.1/32"}, extra...)
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
			if testing.Verbose() {
				fmt.Fprintln(os.Stderr, "openhss:", sc.Text())
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("openhss serve did not stop cleanly: %v", err)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("openhss serve did not stop within 20 s of SIGINT")
		}
	})
	select {
	case a := <-addr:
		return &server{base: "http://" + a, dataDir: data, bin: bin}
	case <-time.After(60 * time.Second):
		t.Fatal("openhss serve did not log its ready line")
	}
	return nil
}

// credential runs `openhss credential create` against the server's data.
func (s *server) credential(t *testing.T, project, eps string) (ak, sk string) {
	t.Helper()
	out, err := exec.Command(s.bin, "credential", "create", "--data", s.dataDir, "--project", project,
		"--enterprise-projects", eps, "--json").Output()
	if err != nil {
		t.Fatalf("credential create: %v", err)
	}
	var c struct {
		ProjectID string `json:"project_id"`
		AccessKey string `json:"access_key"`
		SecretKey string `json:"secret_key"`
	}
	if err := json.Unmarshal(out, &c); err != nil || c.AccessKey == "" || c.SecretKey == "" || c.ProjectID != project {
		t.Fatalf("credential create printed %q (%v)", out, err)
	}
	return c.AccessKey, c.SecretKey
}

// client is the official SDK's HSS client for the server. An empty project
// makes the SDK look the project up through IAM first.
func (s *server) client(t *testing.T, ak, sk, project string) *hss.HssClient {
	t.Helper()
	b := basic.NewCredentialsBuilder().WithAk(ak).WithSk(sk)
	if project != "" {
		b = b.WithProjectId(project)
	} else {
		b = b.WithIamEndpointOverride(s.base)
	}
	cred, err := b.SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	hc, err := hss.HssClientBuilder().
		WithRegion(region.NewRegion("local-1", s.base)).
		WithCredential(cred).
		WithHttpConfig(config.DefaultHttpConfig().WithUserAgent("openhss-sdkcompat").WithTimeout(30 * time.Second)).
		SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	return hss.NewHssClient(hc)
}

func ptr[T any](v T) *T { return &v }

func TestMain(m *testing.M) {
	// The go commands the tests run (build the binary, download the Go
	// vulnerability database) keep the real module and build caches:
	// without this the HOME below gives them empty ones, and every run
	// downloads and compiles the whole dependency tree again (minutes).
	if out, err := exec.Command("go", "env", "GOPATH", "GOMODCACHE", "GOCACHE").Output(); err == nil {
		vals := strings.Split(strings.TrimSpace(string(out)), "\n")
		for i, k := range []string{"GOPATH", "GOMODCACHE", "GOCACHE"} {
			if i < len(vals) && os.Getenv(k) == "" && vals[i] != "" {
				os.Setenv(k, vals[i])
			}
		}
	}
	// The SDK writes $HOME/.huaweicloud/application_id; keep it out of the
	// real home directory.
	home, err := os.MkdirTemp("", "sdkcompat-home")
	if err == nil {
		os.Setenv("HOME", home)
		defer os.RemoveAll(home)
	}
	os.Exit(m.Run())
}

// TestConformance drives a real `openhss serve` only through the official
// SDK: registries, synchronization, and the image list with every filter.
func TestConformance(t *testing.T) {
	bin := buildBinary(t)
	srv := startServer(t, bin)
	const project = "5c2b1a0f9e8d4c7b6a5f4e3d2c1b0a99"
	ak, sk := srv.credential(t, project, "all")
	c := srv.client(t, ak, sk, project)

	reg := registrytest.New(t, registrytest.WithDelete())
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	app10 := reg.PushImage(t, "team/app", "1.0", registrytest.ImageOptions{Created: t0, Layers: []map[string]string{{"app/v": "1.0"}}})
	reg.PushImage(t, "team/app", "1.1", registrytest.ImageOptions{Created: t0.Add(24 * time.Hour), Layers: []map[string]string{{"app/v": "1.1"}}})
	app20 := reg.PushImage(t, "team/app", "2.0", registrytest.ImageOptions{Created: t0.Add(48 * time.Hour), Layers: []map[string]string{{"app/v": "2.0"}, {"app/big": strings.Repeat("x", 4096)}}})
	reg.PushIndex(t, "team/multi", "1", t0.Add(72*time.Hour), v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"})
	reg.PushImage(t, "ops/tool", "latest", registrytest.ImageOptions{Created: t0.Add(-24 * time.Hour)})
	reg.PushHelmChart(t, "ops/chart", "0.1.0")
	d10, _ := app10.Digest()
	reg.PushCosignSignature(t, "team/app", d10)

	// AddRegistry / ListRegistry / UpdateRegistry.
	if _, err := c.AddRegistry(&model.AddRegistryRequest{Body: &model.AddRegistryRequestBody{
		RegistryName: "local", RegistryType: "Other", ApiVersion: "v2", Protocol: "http",
		RegistryAddr: reg.Addr(), RegistryUsername: "", RegistryPassword: "",
	}}); err != nil {
		t.Fatalf("AddRegistry: %v", err)
	}
	regs, err := c.ListRegistry(&model.ListRegistryRequest{})
	if err != nil {
		t.Fatalf("ListRegistry: %v", err)
	}
	if regs.TotalNum == nil || *regs.TotalNum != 1 || regs.DataList == nil || len(*regs.DataList) != 1 {
		t.Fatalf("ListRegistry = %+v", regs)
	}
	regID := *(*regs.DataList)[0].Id
	if _, err := strconv.ParseInt(regID, 10, 64); err != nil {
		t.Fatalf("registry id %q is not numeric", regID)
	}
	if _, err := c.UpdateRegistry(&model.UpdateRegistryRequest{Id: regID, Body: &model.UpdateRegistryRequestBody{Protocol: ptr("http")}}); err != nil {
		t.Fatalf("UpdateRegistry: %v", err)
	}

	// RunImageSynchronize, then wait for the connection to report success.
	syncResp, err := runImageSynchronize(c, &model.RunImageSynchronizeRequest{Body: &model.RunImageSynchronizeRequestInfo{ImageType: "private_image"}})
	if err != nil {
		t.Fatalf("RunImageSynchronize: %v", err)
	}
	if syncResp.ErrorCode == nil || *syncResp.ErrorCode != 0 {
		t.Fatalf("RunImageSynchronize = %+v", syncResp)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		regs, err := c.ListRegistry(&model.ListRegistryRequest{RegistryId: &regID})
		if err != nil {
			t.Fatal(err)
		}
		info := (*regs.DataList)[0]
		if info.Status != nil && *info.Status == "success" {
			if info.ImagesNum == nil || *info.ImagesNum != 6 {
				t.Fatalf("images_num = %v, want 6", info.ImagesNum)
			}
			break
		}
		if info.Status != nil && *info.Status == "fail" {
			t.Fatalf("sync failed: %v", *info.FailReason)
		}
		if time.Now().After(deadline) {
			t.Fatalf("sync did not finish: %+v", info)
		}
		time.Sleep(100 * time.Millisecond)
	}

	list := func(t *testing.T, r model.ListSwrImageRepositoryRequest) []model.PrivateImageRepositoryInfo {
		t.Helper()
		if r.ImageType == "" {
			r.ImageType = "private_image"
		}
		resp, err := listSwrImageRepository(c, &r)
		if err != nil {
			t.Fatalf("ListSwrImageRepository: %v", err)
		}
		if resp.TotalNum == nil || resp.DataList == nil {
			t.Fatalf("response without total_num or data_list: %+v", resp)
		}
		return *resp.DataList
	}
	refs := func(rows []model.PrivateImageRepositoryInfo) []string {
		var out []string
		for _, r := range rows {
			out = append(out, *r.Namespace+"/"+*r.ImageName+":"+*r.ImageVersion)
		}
		return out
	}

	all := list(t, model.ListSwrImageRepositoryRequest{Limit: ptr(int32(50))})
	// The chart has no created time: it sorts by its first-seen time, the
	// sync, which is newer than every image's created time.
	wantAll := []string{"ops/chart:0.1.0", "team/multi:1", "team/app:2.0", "team/app:1.1", "team/app:1.0", "ops/tool:latest"}
	if got := refs(all); strings.Join(got, " ") != strings.Join(wantAll, " ") {
		t.Fatalf("rows = %v, want %v", got, wantAll)
	}
	byRef := map[string]model.PrivateImageRepositoryInfo{}
	for _, r := range all {
		byRef[*r.Namespace+"/"+*r.ImageName+":"+*r.ImageVersion] = r
	}
	r20 := byRef["team/app:2.0"]
	d20, _ := app20.Digest()
	if *r20.ImageDigest != d20.String() || *r20.ImageId != d20.Hex || !*r20.LatestVersion || *r20.ScanStatus != "unscan" ||
		*r20.LatestUpdateTime != t0.Add(48*time.Hour).UnixMilli() || *r20.ImageSize != registrytest.ManifestSize(t, app20) ||
		*r20.ImageType != "private_image" || !*r20.Scannable || r20.AssociationImages == nil || len(*r20.AssociationImages) != 0 {
		t.Fatalf("team/app:2.0 row = %s", dump(r20))
	}
	if m := byRef["team/multi:1"]; m.AssociationImages == nil || len(*m.AssociationImages) != 2 {
		t.Fatalf("multi-arch row = %s", dump(m))
	}
	if ch := byRef["ops/chart:0.1.0"]; *ch.Scannable {
		t.Fatalf("helm chart row is scannable: %s", dump(ch))
	}

	filters := []struct {
		name string
		req  model.ListSwrImageRepositoryRequest
		want []string
	}{
		{"namespace", model.ListSwrImageRepositoryRequest{Namespace: ptr("ops")}, []string{"ops/chart:0.1.0", "ops/tool:latest"}},
		{"image_name", model.ListSwrImageRepositoryRequest{ImageName: ptr("mul")}, []string{"team/multi:1"}},
		{"image_version", model.ListSwrImageRepositoryRequest{Namespace: ptr("team"), ImageVersion: ptr("1.")}, []string{"team/app:1.1", "team/app:1.0"}},
		{"latest_version", model.ListSwrImageRepositoryRequest{Namespace: ptr("team"), LatestVersion: ptr(true)}, []string{"team/multi:1", "team/app:2.0"}},
		{"offset+limit", model.ListSwrImageRepositoryRequest{Offset: ptr(int32(2)), Limit: ptr(int32(2))}, wantAll[2:4]},
		{"scan_status", model.ListSwrImageRepositoryRequest{ScanStatus: ptr("success")}, nil},
		{"scan_status unscan", model.ListSwrImageRepositoryRequest{ScanStatus: ptr("unscan"), Namespace: ptr("ops")}, []string{"ops/chart:0.1.0", "ops/tool:latest"}},
		{"image_size", model.ListSwrImageRepositoryRequest{Namespace: ptr("team"), ImageName: ptr("app"), ImageSize: ptr(registrytest.ManifestSize(t, app20) - 1)}, []string{"team/app:1.1", "team/app:1.0"}},
		{"update time range", model.ListSwrImageRepositoryRequest{StartLatestUpdateTime: ptr(t0.UnixMilli()), EndLatestUpdateTime: ptr(t0.Add(24 * time.Hour).UnixMilli())}, []string{"team/app:1.1", "team/app:1.0"}},
		{"scan time range", model.ListSwrImageRepositoryRequest{StartLatestScanTime: ptr(int64(0)), EndLatestScanTime: ptr(time.Now().UnixMilli())}, nil},
		{"has_vul", model.ListSwrImageRepositoryRequest{HasVul: ptr(true)}, nil},
		{"has_unsafe_setting false", model.ListSwrImageRepositoryRequest{HasUnsafeSetting: ptr(false)}, nil},
		{"has_malicious_file", model.ListSwrImageRepositoryRequest{HasMaliciousFile: ptr(true)}, nil},
		{"instance_name", model.ListSwrImageRepositoryRequest{InstanceName: ptr("x")}, nil},
		{"instance_id", model.ListSwrImageRepositoryRequest{InstanceId: ptr("x")}, nil},
		{"all_granted_eps", model.ListSwrImageRepositoryRequest{EnterpriseProjectId: ptr("all_granted_eps"), Namespace: ptr("ops")}, []string{"ops/chart:0.1.0", "ops/tool:latest"}},
		{"default ep", model.ListSwrImageRepositoryRequest{EnterpriseProjectId: ptr("0"), Namespace: ptr("ops")}, []string{"ops/chart:0.1.0", "ops/tool:latest"}},
		{"region header", model.ListSwrImageRepositoryRequest{Region: ptr("local-1"), Namespace: ptr("ops"), ImageName: ptr("tool")}, []string{"ops/tool:latest"}},
	}
	for _, f := range filters {
		t.Run(f.name, func(t *testing.T) {
			got := refs(list(t, f.req))
			if strings.Join(got, " ") != strings.Join(f.want, " ") {
				t.Fatalf("got %v, want %v", got, f.want)
			}
		})
	}

	// Errors surface as *sdkerr.ServiceResponseError with the HSS code and
	// the request id.
	t.Run("error", func(t *testing.T) {
		_, err := listSwrImageRepository(c, &model.ListSwrImageRepositoryRequest{ImageType: "bogus_image"})
		var se *sdkerr.ServiceResponseError
		if !errors.As(err, &se) {
			t.Fatalf("err = %T %v, want *sdkerr.ServiceResponseError", err, err)
		}
		if se.StatusCode != 400 || se.ErrorCode != "HSS.0001" || se.RequestId == "" || !strings.Contains(se.ErrorMessage, "image_type") {
			t.Fatalf("error = %+v", se)
		}
		_, err = c.DeleteRegistry(&model.DeleteRegistryRequest{Id: "999999"})
		if !errors.As(err, &se) || se.StatusCode != 404 || se.ErrorCode != "HSS.0011" || se.RequestId == "" {
			t.Fatalf("delete unknown registry: %v", err)
		}
		wrong := srv.client(t, ak, "0000000000000000000000000000000000000000", project)
		_, err = listSwrImageRepository(wrong, &model.ListSwrImageRepositoryRequest{ImageType: "private_image"})
		if !errors.As(err, &se) || se.StatusCode != 401 || se.ErrorCode != "APIGW.0301" {
			t.Fatalf("wrong secret key: %v", err)
		}
	})

	// ListRegistryImages, the successor of ListSwrImageRepository: the
	// same rows with their connection, filtered and sorted.
	t.Run("ListRegistryImages", func(t *testing.T) {
		regImages := func(t *testing.T, r model.ListRegistryImagesRequest) []model.RegistryImagesInfo {
			t.Helper()
			if r.Limit == nil {
				r.Limit = ptr(int32(50))
			}
			resp, err := c.ListRegistryImages(&r)
			if err != nil {
				t.Fatalf("ListRegistryImages: %v", err)
			}
			if resp.TotalNum == nil || resp.DataList == nil || int(*resp.TotalNum) != len(*resp.DataList) {
				t.Fatalf("response = %+v", resp)
			}
			return *resp.DataList
		}
		rows := regImages(t, model.ListRegistryImagesRequest{})
		if len(rows) != 6 {
			t.Fatalf("rows = %d, want 6", len(rows))
		}
		for _, r := range rows {
			if *r.RegistryId != regID || *r.RegistryName != "local" || *r.RegistryType != "Other" || *r.LatestSyncTime <= 0 ||
				r.ScanFailedCode == nil || r.SeverityLevel == nil {
				t.Fatalf("row = %s", dump(r))
			}
			multi := *r.Namespace+"/"+*r.ImageName == "team/multi"
			if *r.IsMultipleArch != multi || len(*r.AssociationImages) != map[bool]int{true: 2}[multi] {
				t.Fatalf("row = %s", dump(r))
			}
			for _, a := range *r.AssociationImages {
				if *a.Id != *r.Id || *a.ImageId == "" || a.VulNum == nil || a.UnsafeSettingNum == nil || a.MaliciousFileNum == nil {
					t.Fatalf("association = %s", dump(a))
				}
			}
		}
		high := 0
		for _, r := range rows {
			if *r.SeverityLevel == "High" {
				high++
			}
		}
		future := time.Now().Add(time.Hour).UnixMilli()
		for _, tc := range []struct {
			name string
			req  model.ListRegistryImagesRequest
			want int
		}{
			{"registry_name", model.ListRegistryImagesRequest{RegistryName: ptr("oca")}, 6},
			{"registry_name is case-sensitive", model.ListRegistryImagesRequest{RegistryName: ptr("LOCAL")}, 0},
			{"image_type", model.ListRegistryImagesRequest{ImageType: ptr("private_image")}, 6},
			{"image_type harbor", model.ListRegistryImagesRequest{ImageType: ptr("harbor")}, 0},
			{"is_multarch", model.ListRegistryImagesRequest{IsMultarch: ptr(true)}, 1},
			{"synced since", model.ListRegistryImagesRequest{StartLatestSyncTime: ptr(int64(1))}, 6},
			{"synced later", model.ListRegistryImagesRequest{StartLatestSyncTime: ptr(future)}, 0},
			{"synced before", model.ListRegistryImagesRequest{EndLatestSyncTime: ptr(future)}, 6},
			{"synced before the epoch's first millisecond", model.ListRegistryImagesRequest{EndLatestSyncTime: ptr(int64(1))}, 0},
			{"namespace and risky", model.ListRegistryImagesRequest{Namespace: ptr("ops"), Risky: ptr(true)}, 0},
			{"severity_level", model.ListRegistryImagesRequest{SeverityLevel: ptr("High")}, high},
		} {
			if got := regImages(t, tc.req); len(got) != tc.want {
				t.Errorf("%s: %d rows, want %d", tc.name, len(got), tc.want)
			}
		}
		key := func(rs []model.RegistryImagesInfo) []int64 {
			var out []int64
			for _, r := range rs {
				out = append(out, *r.LatestScanTime, *r.Id)
			}
			return out
		}
		asc := key(regImages(t, model.ListRegistryImagesRequest{SortKey: ptr("latest_scan_time"), SortDir: ptr("asc")}))
		for i := 2; i < len(asc); i += 2 {
			if asc[i] < asc[i-2] || (asc[i] == asc[i-2] && asc[i+1] < asc[i-1]) {
				t.Fatalf("ascending (latest_scan_time, id) = %v", asc)
			}
		}
		desc := key(regImages(t, model.ListRegistryImagesRequest{SortKey: ptr("latest_scan_time"), SortDir: ptr("desc")}))
		for i := 0; i < len(asc); i += 2 {
			if j := len(desc) - 2 - i; desc[j] != asc[i] || desc[j+1] != asc[i+1] {
				t.Fatalf("desc %v is not the reverse of asc %v", desc, asc)
			}
		}
		_, err := c.ListRegistryImages(&model.ListRegistryImagesRequest{SortKey: ptr("image_size")})
		var se *sdkerr.ServiceResponseError
		if !errors.As(err, &se) || se.StatusCode != 400 || se.ErrorCode != "HSS.0001" {
			t.Fatalf("bad sort_key: %v", err)
		}
	})

	// SDK operations openhss does not serve get the HSS not-found error the
	// SDK parses, whatever served route their path resembles:
	// ShowImageUploadCommand fits PUT/DELETE /image/registries/{id}, and
	// ListLocalImageAppInfo fits GET /image/{image_id}/apps (docs/api.md,
	// "Unknown routes").
	t.Run("unserved operation", func(t *testing.T) {
		calls := []struct {
			op   string
			call func() error
		}{
			{"ListImageWhiteLists", func() error {
				_, err := c.ListImageWhiteLists(&model.ListImageWhiteListsRequest{GlobalImageType: "registry", Type: "vul"})
				return err
			}},
			{"ShowImageUploadCommand", func() error {
				_, err := c.ShowImageUploadCommand(&model.ShowImageUploadCommandRequest{RegistryAddr: reg.Addr(),
					Namespace: "team", Username: "u", Password: "p"})
				return err
			}},
			{"ListLocalImageAppInfo", func() error {
				_, err := c.ListLocalImageAppInfo(&model.ListLocalImageAppInfoRequest{ImageId: "sha256:" + strings.Repeat("a", 64)})
				return err
			}},
			{"ListImageLocal", func() error {
				_, err := c.ListImageLocal(&model.ListImageLocalRequest{})
				return err
			}},
		}
		for _, tc := range calls {
			t.Run(tc.op, func(t *testing.T) {
				err := tc.call()
				var se *sdkerr.ServiceResponseError
				if !errors.As(err, &se) {
					t.Fatalf("err = %T %v, want *sdkerr.ServiceResponseError", err, err)
				}
				if se.StatusCode != 404 || se.ErrorCode != "HSS.0011" || se.ErrorMessage == "" || se.RequestId == "" {
					t.Fatalf("error = %+v, want 404 HSS.0011 with a message and a request id", se)
				}
			})
		}
	})

	// A client given a region but no project id asks IAM for the project.
	t.Run("no project id", func(t *testing.T) {
		nc := srv.client(t, ak, sk, "")
		resp, err := listSwrImageRepository(nc, &model.ListSwrImageRepositoryRequest{ImageType: "private_image", Namespace: ptr("ops"), ImageName: ptr("tool")})
		if err != nil {
			t.Fatalf("ListSwrImageRepository without project id: %v", err)
		}
		if resp.TotalNum == nil || *resp.TotalNum != 1 {
			t.Fatalf("got %+v", resp)
		}
	})

	// Another project's credential sees nothing of this one.
	t.Run("isolation", func(t *testing.T) {
		const other = "ffffffffffffffffffffffffffffffff"
		oak, osk := srv.credential(t, other, "all")
		oc := srv.client(t, oak, osk, other)
		resp, err := listSwrImageRepository(oc, &model.ListSwrImageRepositoryRequest{ImageType: "private_image"})
		if err != nil || *resp.TotalNum != 0 {
			t.Fatalf("other project sees %v rows (%v)", resp, err)
		}
		// Its credential on this project's path is refused.
		cross := srv.client(t, oak, osk, project)
		_, err = listSwrImageRepository(cross, &model.ListSwrImageRepositoryRequest{ImageType: "private_image"})
		var se *sdkerr.ServiceResponseError
		if !errors.As(err, &se) || se.StatusCode != 403 || se.ErrorCode != "HSS.0013" {
			t.Fatalf("cross-project call: %v", err)
		}
	})

	// DeleteRegistry removes the connection and its rows.
	if _, err := c.DeleteRegistry(&model.DeleteRegistryRequest{Id: regID}); err != nil {
		t.Fatalf("DeleteRegistry: %v", err)
	}
	if rows := list(t, model.ListSwrImageRepositoryRequest{}); len(rows) != 0 {
		t.Fatalf("rows after DeleteRegistry: %v", refs(rows))
	}
}

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
