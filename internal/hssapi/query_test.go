package hssapi

import (
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
)

func TestParseListQueryDefaults(t *testing.T) {
	lq, aerr := parseListQuery(url.Values{"image_type": {"private_image"}})
	if aerr != nil {
		t.Fatalf("parse: %v", aerr)
	}
	want := inventory.Filter{Type: inventory.PrivateImage, Offset: 0, Limit: 10}
	if !reflect.DeepEqual(lq.Filter, want) {
		t.Fatalf("filter = %+v, want %+v", lq.Filter, want)
	}
}

func TestParseListQueryEveryParameter(t *testing.T) {
	raw := "image_type=instance_image&enterprise_project_id=ep1&namespace=ns&image_name=a%25b&image_version=v_1" +
		"&instance_name=inst&instance_id=i-1&latest_version=true&scan_status=failed&image_size=1000" +
		"&start_latest_update_time=1&end_latest_update_time=2&start_latest_scan_time=3&end_latest_scan_time=3" +
		"&has_vul=false&has_unsafe_setting=true&has_malicious_file=false&offset=2000000&limit=200&unknown=1"
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	lq, aerr := parseListQuery(v)
	if aerr != nil {
		t.Fatalf("parse: %v", aerr)
	}
	i64 := func(n int64) *int64 { return &n }
	b := func(v bool) *bool { return &v }
	want := listQuery{
		EnterpriseProject: "ep1",
		Filter: inventory.Filter{
			Type: inventory.InstanceImage, Namespace: "ns", ImageName: "a%b", ImageVersion: "v_1",
			InstanceName: "inst", InstanceID: "i-1", LatestVersionOnly: true, ScanStatus: inventory.ScanFailed,
			MaxImageSize: i64(1000), StartLatestUpdateTime: i64(1), EndLatestUpdateTime: i64(2),
			StartLatestScanTime: i64(3), EndLatestScanTime: i64(3),
			HasVul: b(false), HasUnsafeSetting: b(true), HasMaliciousFile: b(false),
			Offset: 2000000, Limit: 200,
		},
	}
	if !reflect.DeepEqual(lq, want) {
		t.Fatalf("got  %+v\nwant %+v", lq, want)
	}
}

func TestParseListQueryRejects(t *testing.T) {
	long := strings.Repeat("a", maxFilterLen+1)
	tests := []struct {
		raw, param string
	}{
		{"", "image_type"},
		{"image_type=", "image_type"},
		{"image_type=PRIVATE_IMAGE", "image_type"},
		{"image_type=private_image&image_type=shared_image", "image_type"},
		{"image_type=private_image&limit=0", "limit"},
		{"image_type=private_image&limit=201", "limit"},
		{"image_type=private_image&limit=+5", "limit"},
		{"image_type=private_image&limit=5%20", "limit"},
		{"image_type=private_image&limit=", "limit"},
		{"image_type=private_image&limit=1e2", "limit"},
		{"image_type=private_image&offset=-1", "offset"},
		{"image_type=private_image&offset=2000001", "offset"},
		{"image_type=private_image&offset=99999999999999999999", "offset"},
		{"image_type=private_image&offset=1&offset=2", "offset"},
		{"image_type=private_image&latest_version=1", "latest_version"},
		{"image_type=private_image&has_vul=yes", "has_vul"},
		{"image_type=private_image&has_vul=TRUE", "has_vul"},
		{"image_type=private_image&has_malicious_file=true%20", "has_malicious_file"},
		{"image_type=private_image&scan_status=done", "scan_status"},
		{"image_type=private_image&image_size=-1", "image_size"},
		{"image_type=private_image&start_latest_update_time=5&end_latest_update_time=4", "start_latest_update_time"},
		{"image_type=private_image&start_latest_scan_time=5&end_latest_scan_time=4", "start_latest_scan_time"},
		{"image_type=private_image&namespace=" + long, "namespace"},
		{"image_type=private_image&image_name=%ff", "image_name"},
		{"image_type=private_image&image_version=a%00b", "image_version"},
		{"image_type=private_image&enterprise_project_id=" + strings.Repeat("e", 300), "enterprise_project_id"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			v, err := url.ParseQuery(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			_, aerr := parseListQuery(v)
			if aerr == nil {
				t.Fatal("accepted")
			}
			if aerr.Code != codeInvalidParam || aerr.Status != 400 {
				t.Fatalf("error = %+v, want 400 %s", aerr, codeInvalidParam)
			}
			if !strings.Contains(aerr.Msg, tt.param) {
				t.Fatalf("message %q does not name %s", aerr.Msg, tt.param)
			}
		})
	}
}

// encodeListQuery is the inverse of parseListQuery for accepted values.
func encodeListQuery(lq listQuery) url.Values {
	v := url.Values{}
	f := lq.Filter
	v.Set("image_type", string(f.Type))
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("enterprise_project_id", lq.EnterpriseProject)
	set("namespace", f.Namespace)
	set("image_name", f.ImageName)
	set("image_version", f.ImageVersion)
	set("instance_name", f.InstanceName)
	set("instance_id", f.InstanceID)
	set("scan_status", string(f.ScanStatus))
	if f.LatestVersionOnly {
		v.Set("latest_version", "true")
	}
	for k, p := range map[string]*int64{
		"image_size": f.MaxImageSize, "start_latest_update_time": f.StartLatestUpdateTime,
		"end_latest_update_time": f.EndLatestUpdateTime, "start_latest_scan_time": f.StartLatestScanTime,
		"end_latest_scan_time": f.EndLatestScanTime,
	} {
		if p != nil {
			v.Set(k, strconv.FormatInt(*p, 10))
		}
	}
	for k, p := range map[string]*bool{"has_vul": f.HasVul, "has_unsafe_setting": f.HasUnsafeSetting, "has_malicious_file": f.HasMaliciousFile} {
		if p != nil {
			v.Set(k, strconv.FormatBool(*p))
		}
	}
	v.Set("offset", strconv.Itoa(f.Offset))
	v.Set("limit", strconv.Itoa(f.Limit))
	return v
}

func FuzzParseListQuery(f *testing.F) {
	for _, seed := range []string{
		"image_type=private_image",
		"image_type=shared_image&offset=0&limit=200&latest_version=true",
		"image_type=local_image&limit=0",
		"image_type=instance_image&start_latest_update_time=1&end_latest_update_time=0",
		"image_type=private_image&has_vul=false&has_unsafe_setting=true&has_malicious_file=false",
		"image_type=private_image&namespace=%25&image_name=_&image_version=%5C",
		"image_type=private_image&image_size=9223372036854775807",
		"image_type=private_image&image_size=9223372036854775808",
		"image_type=private_image&offset=-0&limit=+1",
		"image_type=private_image&scan_status=image_oversized&enterprise_project_id=all_granted_eps",
		"image_type=private_image&image_type=private_image",
		"image_type",
		"%zz",
		"image_type=private_image&namespace=%00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		lq, aerr := parseListQuery(v)
		if aerr != nil {
			if aerr.Status != 400 || aerr.Code != codeInvalidParam || aerr.Msg == "" {
				t.Fatalf("rejection %+v is not a 400 %s with a message", aerr, codeInvalidParam)
			}
			return
		}
		fl := lq.Filter
		if !fl.Type.Valid() {
			t.Fatalf("accepted image_type %q", fl.Type)
		}
		if fl.ScanStatus != "" && !fl.ScanStatus.Valid() {
			t.Fatalf("accepted scan_status %q", fl.ScanStatus)
		}
		if fl.Offset < 0 || fl.Offset > imagequery.MaxOffset || fl.Limit < 1 || fl.Limit > maxLimit {
			t.Fatalf("offset %d / limit %d out of bounds", fl.Offset, fl.Limit)
		}
		for _, s := range []string{lq.EnterpriseProject, fl.Namespace, fl.ImageName, fl.ImageVersion, fl.InstanceName, fl.InstanceID} {
			if len(s) > maxEnterpriseID || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("accepted string %q", s)
			}
		}
		for _, p := range []*int64{fl.MaxImageSize, fl.StartLatestUpdateTime, fl.EndLatestUpdateTime, fl.StartLatestScanTime, fl.EndLatestScanTime} {
			if p != nil && *p < 0 {
				t.Fatalf("accepted negative %d", *p)
			}
		}
		if after(fl.StartLatestUpdateTime, fl.EndLatestUpdateTime) || after(fl.StartLatestScanTime, fl.EndLatestScanTime) {
			t.Fatal("accepted start > end")
		}
		again, aerr := parseListQuery(encodeListQuery(lq))
		if aerr != nil {
			t.Fatalf("re-parse of accepted query failed: %v", aerr)
		}
		if !reflect.DeepEqual(again, lq) {
			t.Fatalf("round trip changed the query:\n%+v\n%+v", lq, again)
		}
	})
}

func TestParseRegistryQuery(t *testing.T) {
	good, aerr := parseRegistryQuery(url.Values{
		"registry_name": {"n"}, "registry_id": {"12"}, "registry_type": {"Harbor"},
		"registry_addr": {"h:5000"}, "status": {"fail"}, "offset": {"3"}, "limit": {"20"},
	})
	if aerr != nil {
		t.Fatal(aerr)
	}
	want := inventory.RegistryFilter{Name: "n", ID: 12, Type: inventory.Harbor, Addr: "h:5000", Statuses: []string{"fail"}, Offset: 3, Limit: 20}
	if !reflect.DeepEqual(good.Filter, want) {
		t.Fatalf("got %+v want %+v", good.Filter, want)
	}
	for _, bad := range []url.Values{
		{"registry_id": {"abc"}}, {"registry_id": {"0"}}, {"registry_id": {"-1"}}, {"registry_id": {"007"}},
		{"registry_type": {"harbor"}}, {"registry_type": {"Harbor,Jfrog"}}, {"status": {"ok"}},
		// The stored statuses are not the SDK's: accessing stands for both.
		{"status": {"pending"}}, {"status": {"syncing"}}, {"status": {"Accessing"}},
		{"limit": {"0"}}, {"offset": {"x"}}, {"registry_name": {strings.Repeat("n", 129)}},
	} {
		if _, aerr := parseRegistryQuery(bad); aerr == nil || aerr.Code != codeInvalidParam {
			t.Errorf("%v: got %v, want %s", bad, aerr, codeInvalidParam)
		}
	}
}

func after(start, end *int64) bool {
	return start != nil && end != nil && *start > *end
}
