package taskquery_test

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/taskquery"
	"github.com/openhss/openhss/internal/tasks"
)

func TestParse(t *testing.T) {
	ended, running := true, false
	scope := int32(3)
	for _, tc := range []struct {
		query string
		want  tasks.Filter
		ep    string
	}{
		{"type=image_scan", tasks.Filter{Type: tasks.Scan, Limit: 10}, ""},
		{"type=image_sync&task_type=autoSync&task_status=finished&enterprise_project_id=all_granted_eps",
			tasks.Filter{Type: tasks.Sync, Kind: tasks.AutoSync, Ended: &ended, Limit: 10}, "all_granted_eps"},
		{"type=image_scan&task_status=scanning&task_name=nightly&task_id=X&global_image_type=local_image&scan_scope=3" +
			"&create_time=5&end_time=9&offset=20&limit=200",
			tasks.Filter{Type: tasks.Scan, Ended: &running, Name: "nightly", TaskID: "X", ImageType: "local", ScanScope: &scope,
				CreatedFrom: 5, EndedBy: 9, Offset: 20, Limit: 200}, ""},
	} {
		v, _ := url.ParseQuery(tc.query)
		l, perr := taskquery.Parse(v)
		if perr != nil || !reflect.DeepEqual(l.Filter, tc.want) || l.EnterpriseProject != tc.ep {
			t.Errorf("%s: %+v %q %v, want %+v %q", tc.query, l.Filter, l.EnterpriseProject, perr, tc.want, tc.ep)
		}
	}
	for query, param := range map[string]string{
		"":                                "type",
		"type=other":                      "type",
		"type=image_sync&task_type=cycle": "task_type",
		"type=image_scan&task_status=x":   "task_status",
		"type=image_scan&limit=201":       "limit",
		"type=image_scan&offset=-1":       "offset",
		"type=image_scan&end_time=99999999999999999":            "end_time",
		"type=image_scan&type=image_sync":                       "type",
		"type=image_scan&global_image_type=cloud":               "global_image_type",
		"type=image_scan&task_name=" + strings.Repeat("a", 257): "task_name",
	} {
		v, _ := url.ParseQuery(query)
		if _, perr := taskquery.Parse(v); perr == nil || perr.Name != param {
			t.Errorf("%s: %v, want a refused %s", query, perr, param)
		}
	}
}

// TestScanScopes: every named scan_scope is one Parse accepts and filters
// by, each named once.
func TestScanScopes(t *testing.T) {
	seen := map[int32]bool{}
	for _, sc := range taskquery.ScanScopes {
		v := url.Values{"type": {"image_scan"}, "scan_scope": {fmt.Sprint(sc.Value)}}
		l, perr := taskquery.Parse(v)
		if perr != nil || l.Filter.ScanScope == nil || *l.Filter.ScanScope != sc.Value || sc.Label == "" || seen[sc.Value] {
			t.Errorf("%+v: %v %v", sc, l.Filter.ScanScope, perr)
		}
		seen[sc.Value] = true
	}
	if len(seen) != 6 {
		t.Errorf("%d named scopes, want every part and the five parts", len(seen))
	}
}

// TestRegistryTypes: registry_type as ListAssociateRegistries reads it,
// a comma-separated list of known types, spaces around them allowed.
func TestRegistryTypes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{"", nil, false},
		{"Harbor", []string{"Harbor"}, false},
		{"Harbor, Jfrog,SwrEnterprise", []string{"Harbor", "Jfrog", "SwrEnterprise"}, false},
		{"harbor", nil, true},
		{"Harbor,", nil, true},
		{"Bogus", nil, true},
	} {
		got, perr := taskquery.RegistryTypes(tc.in)
		if (perr != nil) != tc.bad || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %q, %v; want %q (refused %v)", tc.in, got, perr, tc.want, tc.bad)
		}
		if perr != nil && (perr.Name != "registry_type" || !strings.Contains(perr.Reason, "comma-separated list")) {
			t.Errorf("%q: %v, want the API's words", tc.in, perr)
		}
	}
}
