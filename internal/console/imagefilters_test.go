package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/tasks"
)

// putSizedImage stores a local image of projA whose manifest has size and
// creation time (ms, the row's latest_update_time).
func (e *env) putSizedImage(name string, size, created int64) int64 {
	e.t.Helper()
	d := fmt.Sprintf("sha256:%064x", 1000+len(e.rows))
	row, err := e.st.PutLocalImage(context.Background(), inventory.Image{ProjectID: projA, EnterpriseProjectID: "0",
		Type: inventory.LocalImage, Namespace: "sized", Name: name, Tag: "1.0", Digest: d},
		[]inventory.Manifest{{Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json", Size: size, Created: created,
			Platform: "linux/amd64", Scannable: true}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.rows[name] = row.ID
	return row.ID
}

// TestImagesRemainingFilters: every other filter of the API's list as a
// form field; the date fields become the API's millisecond times (the
// whole days), the page shows that API query, and its total_num is the
// API's for it.
func TestImagesRemainingFilters(t *testing.T) {
	e := newEnv(t)
	e.putSizedImage("old", 5000, day("2024-01-15", 0)+3600_000)
	e.putSizedImage("big", 1<<30, day("2024-06-01", 0))
	// "big" scanned clean, long before every scan date below: the one
	// local image has_malicious_file=false selects.
	big, err := e.st.GetImage(context.Background(), projA, e.rows["big"])
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.ClearScan(context.Background(), projA, big.Digest,
		inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 1000}); err != nil {
		t.Fatal(err)
	}
	alice, _ := e.signIn("alice")
	const base = "enterprise_project_id=all_granted_eps&image_type=local_image"
	for _, tc := range []struct {
		page, api string
		want      int64
		shows     string // a form value the page shows back
	}{
		{"image_type=local_image", base, 6, ""},
		{"image_type=local_image&image_size=5000", base + "&image_size=5000", 5, `id="image_size" name="image_size" type="number" min="0" step="1" value="5000"`},
		{"image_type=local_image&update_from=2024-01-15&update_to=2024-01-15",
			fmt.Sprintf("end_latest_update_time=%d&%s&start_latest_update_time=%d", day("2024-01-16", 0)-1, base, day("2024-01-15", 0)), 1,
			`id="update_to" name="update_to" type="date" value="2024-01-15"`},
		{"image_type=local_image&update_to=2024-12-31", fmt.Sprintf("end_latest_update_time=%d&%s", day("2025-01-01", 0)-1, base), 2, ""},
		{"image_type=local_image&update_from=2024-06-01&image_size=", fmt.Sprintf("%s&start_latest_update_time=%d", base, day("2024-06-01", 0)), 5,
			`value="2024-06-01"`},
		{"image_type=local_image&scan_from=2024-01-01", fmt.Sprintf("%s&start_latest_scan_time=%d", base, day("2024-01-01", 0)), 0, ""},
		{"image_type=local_image&has_unsafe_setting=true", base + "&has_unsafe_setting=true", 0, ""},
		{"image_type=local_image&has_malicious_file=false", base + "&has_malicious_file=false", 1, ""},
		{"image_type=local_image&instance_name=x&instance_id=", base + "&instance_name=x", 0, `id="instance_name" name="instance_name" value="x"`},
		// The API's own parameters, as a bookmarked or paged URL holds them.
		{fmt.Sprintf("image_type=local_image&start_latest_update_time=%d", day("2024-06-01", 0)),
			fmt.Sprintf("%s&start_latest_update_time=%d", base, day("2024-06-01", 0)), 5, `id="update_from" name="update_from" type="date" value="2024-06-01"`},
	} {
		_, body := e.do("GET", "/images?"+tc.page, nil, alice)
		m, a := pageTotal.FindStringSubmatch(body), apiQuery.FindStringSubmatch(body)
		if m == nil || a == nil || !strings.HasSuffix(a[1], "/image/swr-repository") {
			t.Fatalf("%s: no total_num or API query:\n%s", tc.page, body)
		}
		got, _ := url.ParseQuery(strings.ReplaceAll(a[2], "&amp;", "&"))
		if want, _ := url.ParseQuery(tc.api); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: API query %v, want %v", tc.page, got, want)
		}
		st, _ := e.apiTotal(alice, "/v5/"+projA+"/image/swr-repository?"+tc.api)
		if m[1] != fmt.Sprint(st) {
			t.Errorf("%s: page total_num %s, API %d", tc.page, m[1], st)
		}
		if tc.want >= 0 && st != tc.want {
			t.Errorf("%s: API total %d, want %d", tc.page, st, tc.want)
		}
		if tc.shows != "" && !strings.Contains(body, tc.shows) {
			t.Errorf("%s: the form does not show %s", tc.page, tc.shows)
		}
	}
	// Refusals are the API's words, and no list.
	e.checkRefused(alice, "/images", `id="total"`, map[string]string{
		"update_from=2024-13-01":                        "invalid parameter update_from: must be a date (YYYY-MM-DD)",
		"scan_from=2024-02-01&scan_to=2024-01-01":       "invalid parameter start_latest_scan_time: is after end_latest_scan_time",
		"image_size=-1":                                 "invalid parameter image_size: must be an integer between 0 and",
		"has_unsafe_setting=maybe":                      "invalid parameter has_unsafe_setting: must be true or false",
		"update_from=2024-01-01&update_from=2024-01-02": "invalid parameter update_from: given more than once",
	})
}

// TestScanAllMatching: "Scan all matching" starts one scan task through
// the API's operate_all path (created listing, is_all) with the list's
// filter in the session's scope; refusals queue nothing and create no
// task.
func TestScanAllMatching(t *testing.T) {
	e := newEnv(t)
	alice, csrf := e.signIn("alice")
	eve, eveCSRF := e.signIn("eve") // project A, only ep1
	scanTasks := func() []tasks.Task {
		t.Helper()
		ts, _, err := e.st.ListTasks(context.Background(), tasks.Filter{ProjectID: projA, Type: tasks.Scan, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	// The page offers it with the list's API query.
	_, body := e.do("GET", "/images?image_type=local_image&namespace=team", nil, alice)
	if !strings.Contains(body, `action="/images/scan-all"`) || !strings.Contains(body,
		`name="query" value="enterprise_project_id=all_granted_eps&amp;image_type=local_image&amp;namespace=team"`) ||
		!strings.Contains(body, "Scan all 3 matching") {
		t.Fatalf("no scan-all form with the list's query:\n%s", body)
	}
	const q = "enterprise_project_id=all_granted_eps&image_type=local_image&namespace=team&has_vul=false&limit=1"
	for _, tc := range []struct {
		name   string
		c      *http.Cookie
		form   url.Values
		status int
	}{
		{"no CSRF token", alice, url.Values{"query": {q}}, http.StatusForbidden},
		{"another session's token", alice, url.Values{"query": {q}, "csrf": {eveCSRF}}, http.StatusForbidden},
		{"a refused filter", alice, url.Values{"query": {q + "&has_vul=x"}, "csrf": {csrf}}, http.StatusBadRequest},
		{"a reversed range", alice, url.Values{"query": {"image_type=local_image&update_from=2024-02-01&update_to=2024-01-01"}, "csrf": {csrf}}, http.StatusBadRequest},
		{"an enterprise project not granted", eve, url.Values{"query": {"image_type=local_image&enterprise_project_id=0"}, "csrf": {eveCSRF}}, http.StatusBadRequest},
	} {
		resp, body := e.do("POST", "/images/scan-all", tc.form, tc.c)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %s, want %d\n%.300s", tc.name, resp.Status, tc.status, body)
		}
		checkHeaders(t, "/images/scan-all", resp)
	}
	if got := e.scans.scanAlls(); len(got) != 0 || len(scanTasks()) != 0 {
		t.Fatalf("refused requests queued %v and made %d tasks", got, len(scanTasks()))
	}
	resp, _ := e.do("POST", "/images/scan-all", url.Values{"query": {q}, "csrf": {csrf},
		"back": {"/images?image_type=local_image&namespace=team"}}, alice)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/images?image_type=local_image&namespace=team" {
		t.Fatalf("scan all: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	got, ts := e.scans.scanAlls(), scanTasks()
	if len(got) != 1 || len(ts) != 1 {
		t.Fatalf("scan all: %d requests, %d tasks; want one of each", len(got), len(ts))
	}
	if !ts[0].IsAll || got[0].taskID != ts[0].ID {
		t.Errorf("task %+v (is_all %v), request for task %q", ts[0], ts[0].IsAll, got[0].taskID)
	}
	f := got[0].filter
	if f.ProjectID != projA || f.EnterpriseProjects != nil || f.Type != inventory.LocalImage || f.Namespace != "team" ||
		f.HasVul == nil || *f.HasVul {
		t.Errorf("filter %+v: want project A, every enterprise project, local images of namespace team, has_vul=false", f)
	}
	// Eve's scope is her grant: the filter holds ep1 only.
	resp, _ = e.do("POST", "/images/scan-all", url.Values{"query": {"image_type=local_image"}, "csrf": {eveCSRF}}, eve)
	if got := e.scans.scanAlls(); resp.StatusCode != http.StatusSeeOther || len(got) != 2 ||
		fmt.Sprint(got[1].filter.EnterpriseProjects) != "[ep1]" || resp.Header.Get("Location") != "/images" {
		t.Errorf("eve's scan all: %s, requests %+v", resp.Status, got)
	}
}
