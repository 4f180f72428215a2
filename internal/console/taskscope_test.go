package console_test

import (
	"context"
	"fmt"
	"html"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/tasks"
)

// TestTasksScanScopeFilter: the Tasks form's scan-scope select offers the
// values taskquery names, filters as the API's scan_scope does (exact),
// and keeps the selection in the form and in the pager's links; a value
// it does not name, given in the URL, is an option of its own.
func TestTasksScanScopeFilter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice, _ := e.signIn("alice")
	img, err := e.st.GetImage(ctx, projA, e.rows["a1"])
	if err != nil {
		t.Fatal(err)
	}
	item := tasks.ScanItems([]inventory.Image{img})
	vulns, baseline := int32(scanresult.ScopeVulnerabilities), int32(scanresult.ScopeBaseline)
	both := vulns | baseline // a mask the select does not name
	for i, tc := range []struct {
		name  string
		scope int32
		n     int
	}{{"all", tasks.ScanScopeAll, 3}, {"vulns", vulns, 12}, {"baseline", baseline, 1}, {"both", both, 1}} {
		for j := range tc.n {
			if _, err := e.st.CreateTask(ctx, tasks.Task{ProjectID: projA, Type: tasks.Scan, Kind: tasks.Manual,
				Name: fmt.Sprintf("%s-%02d", tc.name, j), ScanScope: tc.scope, ImageType: "registry",
				BeginTime: day("2026-03-01", i)}, item); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		query    string
		total    int64
		selected string // the option selected ("" for any)
		shown    string // the names of the tasks listed begin so
	}{
		{"", 17, "", ""},
		{"scan_scope=", 17, "", ""},
		{fmt.Sprintf("scan_scope=%d&limit=10", vulns), 12, fmt.Sprint(vulns), "vulns-"},
		{fmt.Sprintf("scan_scope=%d", baseline), 1, fmt.Sprint(baseline), "baseline-"},
		{fmt.Sprintf("scan_scope=%d", tasks.ScanScopeAll), 3, fmt.Sprint(tasks.ScanScopeAll), "all-"},
		{fmt.Sprintf("scan_scope=%d", both), 1, fmt.Sprint(both), "both-"},
		{"scan_scope=15", 0, "15", ""},
	} {
		body, total := e.checkAgainstAPI(alice, "/tasks?"+tc.query, "scan-tasks")
		if total != tc.total {
			t.Errorf("%q: total %d, want %d", tc.query, total, tc.total)
		}
		sel, got, ok := selectOf(body, "scan_scope", "Scan scope")
		if !ok {
			t.Fatalf("%q: no labelled scan-scope select", tc.query)
		}
		for _, want := range []string{`<option value="">any</option>`, `value="2147483647"`, `value="983040"`, `value="61440"`,
			`value="3840"`, `value="240"`, `value="15"`} {
			if !strings.Contains(sel, want) {
				t.Errorf("%q: the select lacks %s", tc.query, want)
			}
		}
		if want := []string{tc.selected}; tc.selected == "" && len(got) != 0 || tc.selected != "" && fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q: selected %q, want %q", tc.query, got, tc.selected)
		}
		// The selection is one of the options, not another beside it.
		if n := strings.Count(sel, `value="`+tc.selected+`"`); n != 1 {
			t.Errorf("%q: the select offers %q %d times", tc.query, tc.selected, n)
		}
		if tc.shown != "" {
			for _, name := range []string{"all-", "vulns-", "baseline-", "both-"} {
				if listed := strings.Contains(body, `">`+name); listed != (name == tc.shown) {
					t.Errorf("%q: tasks %s* listed %v", tc.query, name, listed)
				}
			}
		}
	}
	// The unnamed mask is an option of its own, in hexadecimal.
	_, body := e.do("GET", fmt.Sprintf("/tasks?scan_scope=%d", both), nil, alice)
	if want := fmt.Sprintf(`<option value="%d" selected>0x%08x</option>`, both, both); !strings.Contains(body, want) {
		t.Errorf("no selected option for the mask %#x: %s", both, want)
	}
	// The pager keeps the selection: the second page lists the rest.
	_, body = e.do("GET", fmt.Sprintf("/tasks?scan_scope=%d&limit=10", vulns), nil, alice)
	m := nextLink.FindStringSubmatch(body)
	if m == nil || !strings.Contains(html.UnescapeString(m[1]), fmt.Sprintf("scan_scope=%d", vulns)) {
		t.Fatalf("next link %v lost scan_scope", m)
	}
	body, _ = e.checkAgainstAPI(alice, html.UnescapeString(m[1]), "scan-tasks")
	if rows := rowCount(body, "scan-tasks"); rows != 2 || !strings.Contains(body, fmt.Sprintf(`<option value="%d" selected>`, vulns)) {
		t.Errorf("page 2: %d rows, want 2 with the selection kept", rows)
	}
	// A value the API refuses is its message and no list.
	e.checkRefused(alice, "/tasks", `id="scan-tasks"`, map[string]string{
		"scan_scope=all":        "invalid parameter scan_scope",
		"scan_scope=-1":         "invalid parameter scan_scope",
		"scan_scope=2147483648": "invalid parameter scan_scope",
	})
}
