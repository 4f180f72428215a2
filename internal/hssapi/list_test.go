package hssapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// rowNames returns "namespace/name:tag" of every row of a list response.
func rowNames(t *testing.T, r result) []string {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
	list, ok := r.JSON["data_list"].([]any)
	if !ok {
		t.Fatalf("data_list is %T: %s", r.JSON["data_list"], r.Raw)
	}
	var out []string
	for _, it := range list {
		m := it.(map[string]any)
		out = append(out, fmt.Sprintf("%s/%s:%s", m["namespace"], m["image_name"], m["image_version"]))
	}
	sort.Strings(out)
	return out
}

func TestListImagesFilters(t *testing.T) {
	e := newEnv(t)
	ms := func(off int64) string { return strconv.FormatInt(base+off, 10) }
	allPrivate := []string{"library/multi:v2", "library/nginx:1.25", "library/nginx:1.26", "library/nginx:latest",
		"team/50%off:v1", "team/50xoff:v1", "team/a_b:v1", "team/axb:v1"}
	tests := []struct {
		query string
		want  []string
	}{
		{"image_type=private_image", allPrivate},
		{"image_type=private_image&enterprise_project_id=0", allPrivate},
		{"image_type=private_image&enterprise_project_id=all_granted_eps", allPrivate},
		{"image_type=private_image&enterprise_project_id=ep1", nil},
		{"image_type=private_image&unknown_param=1", allPrivate},
		{"image_type=private_image&namespace=team", []string{"team/50%off:v1", "team/50xoff:v1", "team/a_b:v1", "team/axb:v1"}},
		{"image_type=private_image&namespace=TEAM", nil},
		{"image_type=private_image&namespace=ea", []string{"team/50%off:v1", "team/50xoff:v1", "team/a_b:v1", "team/axb:v1"}},
		{"image_type=private_image&image_name=_", []string{"team/a_b:v1"}},
		{"image_type=private_image&image_name=a_b", []string{"team/a_b:v1"}},
		{"image_type=private_image&image_name=%25", []string{"team/50%off:v1"}},
		{"image_type=private_image&image_name=50%25off", []string{"team/50%off:v1"}},
		{"image_type=private_image&image_name=%5C", nil},
		{"image_type=private_image&image_name=" + url.QueryEscape("' OR 1=1 --"), nil},
		{"image_type=private_image&namespace=" + url.QueryEscape(`"; DROP TABLE images; --`), nil},
		{"image_type=private_image&image_version=" + url.QueryEscape("1' OR '1'='1"), nil},
		{"image_type=private_image&image_version=1.2", []string{"library/nginx:1.25", "library/nginx:1.26"}},
		{"image_type=private_image&latest_version=true", []string{"library/multi:v2", "library/nginx:latest",
			"team/50%off:v1", "team/50xoff:v1", "team/a_b:v1", "team/axb:v1"}},
		{"image_type=private_image&latest_version=false", allPrivate},
		{"image_type=private_image&scan_status=success", []string{"library/nginx:1.25", "library/nginx:1.26", "library/nginx:latest", "team/a_b:v1"}},
		{"image_type=private_image&scan_status=failed", []string{"team/axb:v1"}},
		{"image_type=private_image&scan_status=unscan", []string{"library/multi:v2", "team/50%off:v1", "team/50xoff:v1"}},
		{"image_type=private_image&scan_status=scanning", nil},
		{"image_type=private_image&image_size=300", []string{"library/nginx:1.25", "library/nginx:1.26", "library/nginx:latest", "team/a_b:v1"}},
		{"image_type=private_image&start_latest_update_time=" + ms(3000) + "&end_latest_update_time=" + ms(5000),
			[]string{"team/50%off:v1", "team/a_b:v1", "team/axb:v1"}},
		{"image_type=private_image&start_latest_update_time=" + ms(7000), []string{"library/multi:v2"}},
		{"image_type=private_image&start_latest_scan_time=" + ms(10) + "&end_latest_scan_time=" + ms(20),
			[]string{"library/nginx:1.25", "team/a_b:v1"}},
		{"image_type=private_image&end_latest_scan_time=" + ms(100),
			[]string{"library/nginx:1.25", "library/nginx:1.26", "library/nginx:latest", "team/a_b:v1", "team/axb:v1"}},
		{"image_type=private_image&has_vul=true", []string{"library/nginx:1.25"}},
		{"image_type=private_image&has_vul=false", []string{"library/nginx:1.26", "library/nginx:latest", "team/a_b:v1"}},
		{"image_type=private_image&has_unsafe_setting=true", []string{"team/a_b:v1"}},
		{"image_type=private_image&has_malicious_file=true", []string{"team/a_b:v1"}},
		{"image_type=private_image&has_malicious_file=false", []string{"library/nginx:1.25", "library/nginx:1.26", "library/nginx:latest"}},
		{"image_type=private_image&has_vul=true&has_malicious_file=true", nil},
		{"image_type=shared_image", nil},
		{"image_type=shared_image&enterprise_project_id=ep1", []string{"shared/mysql:5.7"}},
		{"image_type=shared_image&enterprise_project_id=all_granted_eps", []string{"shared/mysql:5.7"}},
		{"image_type=instance_image", []string{"corp/api:2.0"}},
		{"image_type=instance_image&instance_name=prod", []string{"corp/api:2.0"}},
		{"image_type=instance_image&instance_name=Prod", nil},
		{"image_type=instance_image&instance_id=inst-1", []string{"corp/api:2.0"}},
		{"image_type=instance_image&instance_id=inst", nil},
		{"image_type=local_image", []string{"local/tarball:t1"}},
	}
	before := e.snapshot(t)
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			res := e.do(t, reqSpec{Target: listPath + "?" + tt.query + "&limit=200"})
			got := rowNames(t, res)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("rows = %q, want %q", got, tt.want)
			}
			if n, _ := res.JSON["total_num"].(json.Number).Int64(); n != int64(len(tt.want)) {
				t.Fatalf("total_num = %v, want %d", res.JSON["total_num"], len(tt.want))
			}
		})
	}
	if e.snapshot(t) != before {
		t.Fatal("list requests changed the store")
	}
	// The restricted credential sees its one enterprise project only.
	res := e.do(t, reqSpec{Target: listPath + "?image_type=shared_image&enterprise_project_id=all_granted_eps", AK: e.akEP, SK: e.skEP})
	if got := rowNames(t, res); !slices.Equal(got, []string{"shared/mysql:5.7"}) {
		t.Fatalf("ep1 credential rows = %q", got)
	}
	res = e.do(t, reqSpec{Target: listPath + "?image_type=private_image&enterprise_project_id=all_granted_eps", AK: e.akEP, SK: e.skEP})
	if got := rowNames(t, res); len(got) != 0 {
		t.Fatalf("ep1 credential sees private rows of ep 0: %q", got)
	}
	// The SDK's region header, when it names this server's region.
	res = e.do(t, reqSpec{Target: listPath + "?image_type=local_image", Header: map[string]string{"Region": "local-1"}})
	if got := rowNames(t, res); !slices.Equal(got, []string{"local/tarball:t1"}) {
		t.Fatalf("with region header: %q", got)
	}
	// Project B's credential sees project B's row only.
	res = e.do(t, reqSpec{Target: "/v5/" + projB + "/image/swr-repository?image_type=private_image", AK: e.akB, SK: e.skB})
	if got := rowNames(t, res); !slices.Equal(got, []string{"library/nginx:b-only"}) {
		t.Fatalf("project B rows = %q", got)
	}
}

func TestListImagesPagination(t *testing.T) {
	e := newEnv(t)
	type row struct {
		id, lut int64
		name    string
	}
	var all []row
	seen := map[int64]bool{}
	for offset := 0; ; offset += 3 {
		res := e.do(t, reqSpec{Target: listPath + "?image_type=private_image&limit=3&offset=" + strconv.Itoa(offset)})
		if res.Status != 200 {
			t.Fatalf("status %d: %s", res.Status, res.Raw)
		}
		if n, _ := res.JSON["total_num"].(json.Number).Int64(); n != 8 {
			t.Fatalf("total_num at offset %d = %d, want 8", offset, n)
		}
		page := res.JSON["data_list"].([]any)
		if len(page) > 3 {
			t.Fatalf("page of %d rows with limit 3", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, it := range page {
			m := it.(map[string]any)
			id, _ := m["id"].(json.Number).Int64()
			lut, _ := m["latest_update_time"].(json.Number).Int64()
			if seen[id] {
				t.Fatalf("row %d on two pages", id)
			}
			seen[id] = true
			all = append(all, row{id, lut, fmt.Sprint(m["image_name"], ":", m["image_version"])})
		}
	}
	if len(all) != 8 {
		t.Fatalf("pages held %d rows, want 8", len(all))
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.lut < b.lut || a.lut == b.lut && a.id < b.id {
			t.Fatalf("order broken between %+v and %+v", a, b)
		}
	}
	// Default limit is 10, an offset past the end is an empty page.
	res := e.do(t, reqSpec{Target: listPath + "?image_type=private_image&offset=2000000"})
	if got := rowNames(t, res); len(got) != 0 {
		t.Fatalf("rows past the end: %q", got)
	}
	if n, _ := res.JSON["total_num"].(json.Number).Int64(); n != 8 {
		t.Fatalf("total_num past the end = %d", n)
	}
}

// TestListImagesJSONShape decodes rows as untyped JSON and checks every
// field of the SDK's PrivateImageRepositoryInfo is present with its type.
func TestListImagesJSONShape(t *testing.T) {
	e := newEnv(t)
	fields := map[string]string{
		"id": "int", "namespace": "string", "image_name": "string", "image_id": "string", "image_digest": "string",
		"image_version": "string", "image_type": "string", "latest_version": "bool", "scan_status": "string",
		"scan_failed_desc": "string", "image_size": "int", "latest_update_time": "int", "latest_scan_time": "int",
		"vul_num": "int", "unsafe_setting_num": "int", "malicious_file_num": "int", "domain_name": "string",
		"shared_status": "string", "scannable": "bool", "instance_name": "string", "instance_id": "string",
		"instance_url": "string", "association_images": "array",
	}
	rows := map[string]map[string]any{}
	for _, q := range []string{"image_type=private_image", "image_type=shared_image&enterprise_project_id=ep1", "image_type=instance_image", "image_type=local_image"} {
		res := e.do(t, reqSpec{Target: listPath + "?" + q})
		if res.Status != 200 || res.Header.Get("Content-Type") != "application/json;charset=UTF-8" {
			t.Fatalf("%s: %d %q", q, res.Status, res.Header.Get("Content-Type"))
		}
		if len(res.JSON) != 2 {
			t.Fatalf("response has fields %v, want total_num and data_list", res.JSON)
		}
		for _, it := range res.JSON["data_list"].([]any) {
			m := it.(map[string]any)
			if len(m) != len(fields) {
				t.Errorf("row has %d fields, want %d: %v", len(m), len(fields), m)
			}
			for k, typ := range fields {
				v, ok := m[k]
				if !ok {
					t.Fatalf("row lacks %s: %v", k, m)
				}
				checkType(t, k, v, typ)
			}
			rows[fmt.Sprint(m["namespace"], "/", m["image_name"], ":", m["image_version"])] = m
		}
	}
	num := func(v any) int64 { n, _ := v.(json.Number).Int64(); return n }

	nginx := rows["library/nginx:1.25"]
	d := digest("m1")
	if nginx["image_digest"] != d || nginx["image_id"] != strings.TrimPrefix(d, "sha256:") {
		t.Errorf("digest/id = %v / %v", nginx["image_digest"], nginx["image_id"])
	}
	if num(nginx["id"]) <= 0 || num(nginx["image_size"]) != 100 || num(nginx["vul_num"]) != 3 ||
		num(nginx["latest_scan_time"]) != base+10 || num(nginx["latest_update_time"]) != base+1000 {
		t.Errorf("nginx:1.25 numbers: %v", nginx)
	}
	if nginx["scan_status"] != "success" || nginx["scan_failed_desc"] != "" || nginx["image_type"] != "private_image" ||
		nginx["scannable"] != true || nginx["latest_version"] != false || nginx["domain_name"] != "" || nginx["instance_id"] != "" {
		t.Errorf("nginx:1.25 strings: %v", nginx)
	}
	if a := nginx["association_images"].([]any); len(a) != 0 {
		t.Errorf("single-platform association_images = %v", a)
	}
	if rows["library/nginx:latest"]["latest_version"] != true {
		t.Errorf("nginx:latest is not the latest version")
	}
	if f := rows["team/axb:v1"]; f["scan_status"] != "failed" || f["scan_failed_desc"] != "unknown_error" {
		t.Errorf("failed row: %v", f)
	}
	multi := rows["library/multi:v2"]
	if multi["image_digest"] != digest("mi") || num(multi["image_size"]) != 700 {
		t.Errorf("multi-arch row: %v", multi)
	}
	assoc := multi["association_images"].([]any)
	if len(assoc) != 2 {
		t.Fatalf("association_images = %v", assoc)
	}
	var digests []string
	for _, a := range assoc {
		m := a.(map[string]any)
		if m["image_name"] != "multi" || m["image_version"] != "v2" || m["namespace"] != "library" ||
			m["image_type"] != "private_image" || m["scan_status"] != "unscan" || len(m) != 6 {
			t.Errorf("association %v", m)
		}
		digests = append(digests, m["image_digest"].(string))
	}
	if !slices.Equal(digests, []string{digest("m7"), digest("m8")}) {
		t.Errorf("association digests = %v", digests)
	}
	if s := rows["shared/mysql:5.7"]; s["domain_name"] != "owner_x" || s["shared_status"] != "effective" || s["image_type"] != "shared_image" {
		t.Errorf("shared row: %v", s)
	}
	if i := rows["corp/api:2.0"]; i["instance_id"] != "inst-1" || i["instance_name"] != "prod-instance" ||
		i["instance_url"] != "https://ent.example.com" || i["image_type"] != "instance_image" {
		t.Errorf("instance row: %v", i)
	}
	if l := rows["local/tarball:t1"]; l["image_type"] != "local_image" {
		t.Errorf("local row: %v", l)
	}
}

func checkType(t *testing.T, name string, v any, typ string) {
	t.Helper()
	ok := false
	switch typ {
	case "string":
		_, ok = v.(string)
	case "bool":
		_, ok = v.(bool)
	case "array":
		_, ok = v.([]any)
	case "int":
		if n, isNum := v.(json.Number); isNum {
			_, err := n.Int64()
			ok = err == nil
		}
	}
	if !ok {
		t.Errorf("%s = %#v, want JSON %s", name, v, typ)
	}
}
