package hssapi_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

const regImagesPath = "/v5/" + projA + "/image/registries/images"

// regImagesEnv is the seed with the connections' sync times set (r1 at
// base+100, r3 at base+200, r2 never synced) and severity levels on m1
// (High) and m2 (Security), as a scan saving findings records them.
func regImagesEnv(t *testing.T) *testEnv {
	t.Helper()
	e := newEnv(t)
	for d, r := range map[string]inventory.ScanResult{
		"m1": {Status: inventory.ScanSuccess, ScanTime: base + 10, VulNum: 3, SeverityLevel: "High"},
		"m2": {Status: inventory.ScanSuccess, ScanTime: base + 40, SeverityLevel: "Security"},
	} {
		if err := e.store.SetScanResult(context.Background(), digest(d), r); err != nil {
			t.Fatal(err)
		}
	}
	for name, at := range map[string]int64{"r1": base + 100, "r3": base + 200} {
		if err := e.store.SetRegistryStatus(context.Background(), e.regs[name].ID, inventory.RegistryOK, "", at); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func rowsOf(t *testing.T, r result) []map[string]any {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
	list, ok := r.JSON["data_list"].([]any)
	if !ok {
		t.Fatalf("data_list is %T: %s", r.JSON["data_list"], r.Raw)
	}
	out := make([]map[string]any, len(list))
	for i, it := range list {
		out[i] = it.(map[string]any)
	}
	return out
}

func num(t *testing.T, v any) int64 {
	t.Helper()
	n, err := v.(json.Number).Int64()
	if err != nil {
		t.Fatalf("%v is not an integer: %v", v, err)
	}
	return n
}

func TestListRegistryImagesFilters(t *testing.T) {
	e := regImagesEnv(t)
	ms := func(off int64) string { return strconv.FormatInt(base+off, 10) }
	allPrivate := []string{"library/multi:v2", "library/nginx:1.25", "library/nginx:1.26", "library/nginx:latest",
		"team/50%off:v1", "team/50xoff:v1", "team/a_b:v1", "team/axb:v1"}
	// Without enterprise_project_id, the default one ("0"): not r2's ep1.
	all := slices.Sorted(slices.Values(append(slices.Clone(allPrivate), "corp/api:2.0", "local/tarball:t1")))
	tests := []struct {
		query string
		want  []string
	}{
		// image_type is optional: every type of the project.
		{"", all},
		{"image_type=private_image", allPrivate},
		{"image_type=harbor", allPrivate},
		{"image_type=jfrog", nil},
		{"image_type=local_image", []string{"local/tarball:t1"}},
		{"image_type=shared_image&enterprise_project_id=ep1", []string{"shared/mysql:5.7"}},
		// registry_name: a literal, case-sensitive substring; local
		// images have no connection.
		{"registry_name=r1", allPrivate},
		{"registry_name=r2", nil},
		{"registry_name=r2&enterprise_project_id=all_granted_eps", []string{"shared/mysql:5.7"}},
		{"registry_name=r", slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == "local/tarball:t1" })},
		{"registry_name=R1", nil},
		{"registry_name=%25", nil},
		{"registry_name=_1", nil},
		{"registry_name=r1&image_type=instance_image", nil},
		// The owning connection's latest sync; never synced is outside.
		{"start_latest_sync_time=" + ms(150), []string{"corp/api:2.0"}},
		{"end_latest_sync_time=" + ms(150), allPrivate},
		{"start_latest_sync_time=" + ms(100) + "&end_latest_sync_time=" + ms(200), append(slices.Clone(allPrivate[:0]), "corp/api:2.0", "library/multi:v2",
			"library/nginx:1.25", "library/nginx:1.26", "library/nginx:latest", "team/50%off:v1", "team/50xoff:v1", "team/a_b:v1", "team/axb:v1")},
		{"start_latest_sync_time=0", append([]string{"corp/api:2.0"}, allPrivate...)},
		// risky: any vulnerability, failed baseline item or malware.
		{"risky=true", []string{"library/nginx:1.25", "team/a_b:v1"}},
		{"risky=false", []string{"library/nginx:1.26", "library/nginx:latest"}},
		{"is_multarch=true", []string{"library/multi:v2"}},
		// severity_level: exact, on rows whose scan recorded one.
		{"severity_level=High", []string{"library/nginx:1.25"}},
		{"severity_level=Security", []string{"library/nginx:1.26", "library/nginx:latest"}},
		{"severity_level=Low", nil},
		{"severity_level=High&risky=false", nil},
		{"is_multarch=false", slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == "library/multi:v2" })},
		// The seed's filters still apply.
		{"image_type=private_image&namespace=team&scan_status=success", []string{"team/a_b:v1"}},
		{"has_vul=true", []string{"library/nginx:1.25"}},
	}
	before := e.snapshot(t)
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			res := e.do(t, reqSpec{Target: regImagesPath + "?" + tt.query + "&limit=200"})
			got := rowNames(t, res)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Fatalf("rows = %q, want %q", got, want)
			}
			if n := num(t, res.JSON["total_num"]); n != int64(len(want)) {
				t.Fatalf("total_num = %d, want %d", n, len(want))
			}
		})
	}
	if e.snapshot(t) != before {
		t.Fatal("list requests changed the store")
	}
}

// TestListRegistryImagesSyncMoves: the connection's sync time is read when
// the list is, so a sync shows, and filters, at once, however the list was
// answered before (a sync that changes no image row leaves the images
// generation, and so the list's caches, where they were).
func TestListRegistryImagesSyncMoves(t *testing.T) {
	e := regImagesEnv(t)
	q := regImagesPath + "?start_latest_sync_time=" + strconv.FormatInt(base+150, 10) + "&limit=200"
	for range 2 { // twice: the second could be served from a cache
		if got := rowNames(t, e.do(t, reqSpec{Target: q})); !slices.Equal(got, []string{"corp/api:2.0"}) {
			t.Fatalf("before the sync: %q", got)
		}
	}
	if err := e.store.SetRegistryStatus(context.Background(), e.regs["r1"].ID, inventory.RegistryOK, "", base+300); err != nil {
		t.Fatal(err)
	}
	if got := rowNames(t, e.do(t, reqSpec{Target: q})); len(got) != 9 {
		t.Fatalf("after r1's sync: %q", got)
	}
	rows := rowsOf(t, e.do(t, reqSpec{Target: regImagesPath + "?registry_name=r1&limit=1"}))
	if len(rows) != 1 || num(t, rows[0]["latest_sync_time"]) != base+300 {
		t.Fatalf("after r1's sync: %v", rows)
	}
}

func TestListRegistryImagesFields(t *testing.T) {
	e := regImagesEnv(t)
	byName := map[string]map[string]any{}
	for _, r := range rowsOf(t, e.do(t, reqSpec{Target: regImagesPath + "?enterprise_project_id=all_granted_eps&limit=200"})) {
		byName[r["namespace"].(string)+"/"+r["image_name"].(string)+":"+r["image_version"].(string)] = r
	}
	r1 := e.regs["r1"]
	multi := byName["library/multi:v2"]
	for k, want := range map[string]any{
		"registry_id": strconv.FormatInt(r1.ID, 10), "registry_name": "r1", "registry_type": "Harbor",
		"is_multiple_arch": true, "scan_failed_code": "", "image_type": "private_image",
	} {
		if multi[k] != want {
			t.Errorf("multi %s = %v, want %v", k, multi[k], want)
		}
	}
	if n := num(t, multi["latest_sync_time"]); n != base+100 {
		t.Errorf("latest_sync_time = %d", n)
	}
	assoc, _ := multi["association_images"].([]any)
	if len(assoc) != 2 {
		t.Fatalf("association_images = %v", multi["association_images"])
	}
	for i, a := range assoc {
		m := a.(map[string]any)
		member := digest([]string{"m7", "m8"}[i])
		if num(t, m["id"]) != num(t, multi["id"]) || m["image_digest"] != member ||
			m["image_id"] != strings.TrimPrefix(member, "sha256:") || num(t, m["vul_num"]) != 0 ||
			m["unsafe_setting_num"] == nil || m["malicious_file_num"] == nil {
			t.Errorf("association %d = %v", i, m)
		}
	}
	if got := byName["library/nginx:1.25"]["severity_level"]; got != "High" {
		t.Errorf("severity_level = %v", got)
	}
	if got := byName["team/50%off:v1"]["severity_level"]; got != "" {
		t.Errorf("never scanned severity_level = %v", got)
	}
	if got := byName["team/axb:v1"]["scan_failed_code"]; got != "unknown_error" {
		t.Errorf("failed scan_failed_code = %v", got)
	}
	if got := byName["library/nginx:1.25"]["is_multiple_arch"]; got != false {
		t.Errorf("single-platform is_multiple_arch = %v", got)
	}
	local := byName["local/tarball:t1"]
	if local["registry_id"] != "" || local["registry_name"] != "" || num(t, local["latest_sync_time"]) != 0 {
		t.Errorf("local row's connection fields = %v %v %v", local["registry_id"], local["registry_name"], local["latest_sync_time"])
	}
	if byName["shared/mysql:5.7"]["registry_type"] != "SwrShared" || num(t, byName["shared/mysql:5.7"]["latest_sync_time"]) != 0 {
		t.Errorf("shared row = %v", byName["shared/mysql:5.7"])
	}
}

// TestListRegistryImagesSort: sort_key=latest_scan_time orders by the scan
// time, never-scanned rows as 0, then id, in sort_dir's direction
// (ascending by default); paging walks the same order.
func TestListRegistryImagesSort(t *testing.T) {
	e := regImagesEnv(t)
	type key struct{ scan, id int64 }
	read := func(q string) []key {
		var out []key
		for _, r := range rowsOf(t, e.do(t, reqSpec{Target: regImagesPath + "?image_type=private_image&" + q})) {
			out = append(out, key{num(t, r["latest_scan_time"]), num(t, r["id"])})
		}
		return out
	}
	asc := read("sort_key=latest_scan_time&limit=200")
	if len(asc) != 8 {
		t.Fatalf("asc rows = %v", asc)
	}
	if !slices.IsSortedFunc(asc, func(a, b key) int {
		if a.scan != b.scan {
			return int(a.scan - b.scan)
		}
		return int(a.id - b.id)
	}) {
		t.Fatalf("not ascending by (latest_scan_time, id): %v", asc)
	}
	if asc[0].scan != 0 || asc[len(asc)-1].scan != base+40 {
		t.Fatalf("never scanned rows do not sort as 0: %v", asc)
	}
	if got := read("sort_key=latest_scan_time&sort_dir=asc&limit=200"); !slices.Equal(got, asc) {
		t.Fatalf("sort_dir=asc = %v, want %v", got, asc)
	}
	desc := read("sort_key=latest_scan_time&sort_dir=desc&limit=200")
	if want := slices.Clone(asc); !slices.Equal(desc, func() []key { slices.Reverse(want); return want }()) {
		t.Fatalf("desc = %v, want the reverse of %v", desc, asc)
	}
	var paged []key
	for off := 0; off < 8; off += 3 {
		paged = append(paged, read("sort_key=latest_scan_time&sort_dir=desc&limit=3&offset="+strconv.Itoa(off))...)
	}
	if !slices.Equal(paged, desc) {
		t.Fatalf("paged desc = %v, want %v", paged, desc)
	}
	// Without sort_key: the seed's order, newest update first.
	def := rowsOf(t, e.do(t, reqSpec{Target: regImagesPath + "?image_type=private_image&limit=200"}))
	for i := 1; i < len(def); i++ {
		if num(t, def[i-1]["latest_update_time"]) < num(t, def[i]["latest_update_time"]) {
			t.Fatalf("default order is not latest_update_time DESC at %d", i)
		}
	}
}

func TestListRegistryImagesBadInput(t *testing.T) {
	e := regImagesEnv(t)
	for _, q := range []string{
		"sort_key=latest_update_time",
		"sort_key=LATEST_SCAN_TIME",
		"sort_key=latest_scan_time&sort_dir=up",
		"sort_dir=desc",
		"image_type=docker",
		"image_type=Harbor",
		"limit=0",
		"limit=201",
		"offset=-1",
		"offset=2000001",
		"start_latest_sync_time=20&end_latest_sync_time=10",
		"start_latest_scan_time=20&end_latest_scan_time=10",
		"start_latest_update_time=20&end_latest_update_time=10",
		"start_latest_sync_time=-5",
		"risky=yes",
		"is_multarch=1",
		"scan_status=done",
		"image_size=2147483548",
		"registry_name=" + strings.Repeat("r", 129),
		"image_version=" + strings.Repeat("v", 65),
		"registry_name=a&registry_name=b",
		"registry_name=%00",
		"severity_level=high",
		"severity_level=Critical",
	} {
		t.Run(q, func(t *testing.T) {
			before := e.snapshot(t)
			wantError(t, e.do(t, reqSpec{Target: regImagesPath + "?" + q}), 400, "HSS.0001")
			if e.snapshot(t) != before {
				t.Fatal("a refused list changed the store")
			}
		})
	}
}
