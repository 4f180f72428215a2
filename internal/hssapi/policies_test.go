package hssapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"testing"

	"github.com/openhss/openhss/internal/policy"
)

// scanPolicyView is ListImageScanPolicy's answer.
type scanPolicyView struct {
	IsAll            bool  `json:"is_all"`
	Enabled          bool  `json:"enabled"`
	ScanCycle        int32 `json:"scan_cycle"`
	ScanScope        int32 `json:"scan_scope"`
	RateLimit        int32 `json:"rate_limit"`
	TimeScope        int32 `json:"time_scope"`
	TotalRegistryNum int32 `json:"total_registry_num"`
	RegistryList     []struct {
		IsSelected   bool   `json:"is_selected"`
		RegistryName string `json:"registry_name"`
		RegistryID   string `json:"registry_id"`
		RegistryType string `json:"registry_type"`
	} `json:"registry_list"`
}

const policyPath = "/v5/" + projA + "/image/scanner-policies"

func getPolicy(t *testing.T, e *testEnv, query, ak, sk string) scanPolicyView {
	t.Helper()
	r := e.do(t, reqSpec{Target: policyPath + "?" + query, AK: ak, SK: sk})
	if r.Status != http.StatusOK {
		t.Fatalf("GET ?%s: %d %s", query, r.Status, r.Raw)
	}
	var v scanPolicyView
	if err := json.Unmarshal(r.Raw, &v); err != nil || v.RegistryList == nil {
		t.Fatalf("GET ?%s: %s (%v); want registry_list, [] when empty", query, r.Raw, err)
	}
	return v
}

// selected returns the names of the selected connections of v, and every
// name listed.
func selected(v scanPolicyView) (sel, all []string) {
	for _, r := range v.RegistryList {
		all = append(all, r.RegistryName)
		if r.IsSelected {
			sel = append(sel, r.RegistryName)
		}
	}
	return sel, all
}

func (e *testEnv) registryInfo(names ...string) []map[string]string {
	out := []map[string]string{}
	for _, n := range names {
		r := e.regs[n]
		out = append(out, map[string]string{"registry_id": strconv.FormatInt(r.ID, 10), "registry_name": r.Name,
			"registry_type": string(r.Type)})
	}
	return out
}

func policyBody(info []map[string]string, edit func(map[string]any)) map[string]any {
	b := map[string]any{"enabled": true, "scan_cycle": 3, "scan_scope": 0x0fffff, "rate_limit": 100, "time_scope": 7,
		"registry_info": info}
	if edit != nil {
		edit(b)
	}
	return b
}

func TestScanPolicy(t *testing.T) {
	e := newEnv(t)
	// Without enterprise_project_id a caller sees the default enterprise
	// project's connections (r1, r3); all_granted_eps shows r2 of ep1 too.
	if _, all := selected(getPolicy(t, e, "type=cycle", "", "")); !reflect.DeepEqual(all, []string{"r1", "r3"}) {
		t.Fatalf("default enterprise project lists %v, want r1 r3", all)
	}
	const allEPs = "&enterprise_project_id=all_granted_eps"
	v := getPolicy(t, e, "type=cycle"+allEPs, "", "")
	sel, all := selected(v)
	if v.Enabled || v.ScanCycle != 7 || v.ScanScope != policy.ScanScopeAll || v.RateLimit != 0 || v.TimeScope != 0 ||
		v.IsAll || v.TotalRegistryNum != 3 || len(sel) != 0 || !reflect.DeepEqual(all, []string{"r1", "r2", "r3"}) {
		t.Fatalf("default policy %+v: want disabled, weekly, every risk, r1 r2 r3 listed and none selected", v)
	}

	r := e.do(t, reqSpec{Method: http.MethodPut, Target: policyPath + "?enterprise_project_id=all_granted_eps",
		Body: jsonBody(t, policyBody(e.registryInfo("r1", "r2"), nil))})
	if r.Status != http.StatusOK || string(r.Raw) != "{}" {
		t.Fatalf("PUT: %d %s", r.Status, r.Raw)
	}
	for _, q := range []string{"type=cycle" + allEPs, "type=manual" + allEPs, "type=cycle&global_image_type=registry" + allEPs} {
		v = getPolicy(t, e, q, "", "")
		sel, _ = selected(v)
		// The stored scan_scope comes back as it was given (0x0fffff here).
		if !v.Enabled || v.ScanCycle != 3 || v.ScanScope != 0x0fffff || v.RateLimit != 100 || v.TimeScope != 7 || v.IsAll ||
			!reflect.DeepEqual(sel, []string{"r1", "r2"}) {
			t.Fatalf("GET ?%s after PUT: %+v", q, v)
		}
	}
	if v := getPolicy(t, e, "type=cycle&global_image_type=local", "", ""); v.Enabled || len(v.RegistryList) != 0 {
		t.Errorf("local policy %+v: want disabled with no registry", v)
	}
	// Project B has its own (default) policy.
	rB := e.do(t, reqSpec{Target: "/v5/" + projB + "/image/scanner-policies?type=cycle", AK: e.akB, SK: e.skB})
	var vB scanPolicyView
	if err := json.Unmarshal(rB.Raw, &vB); rB.Status != http.StatusOK || err != nil || vB.Enabled || vB.ScanCycle != 7 {
		t.Errorf("project B's policy: %d %s; want the default", rB.Status, rB.Raw)
	}
	// A caller granted ep1 only sees r2, and replaces the selection among
	// the connections it sees: r1 stays selected.
	r = e.do(t, reqSpec{Method: http.MethodPut, Target: policyPath + "?enterprise_project_id=ep1", AK: e.akEP, SK: e.skEP,
		Body: jsonBody(t, policyBody(e.registryInfo(), func(b map[string]any) { b["scan_cycle"] = 14 }))})
	if r.Status != http.StatusOK {
		t.Fatalf("PUT as ep1: %d %s", r.Status, r.Raw)
	}
	v = getPolicy(t, e, "type=cycle&enterprise_project_id=ep1", e.akEP, e.skEP)
	if sel, all := selected(v); len(sel) != 0 || !reflect.DeepEqual(all, []string{"r2"}) || v.ScanCycle != 14 {
		t.Errorf("ep1's view %+v: want r2 only, unselected, cycle 14", v)
	}
	p, _, err := e.store.ScanPolicy(context.Background(), projA)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.RegistryIDs, []int64{e.regs["r1"].ID}) {
		t.Errorf("stored selection %v: want r1 kept", p.RegistryIDs)
	}
	// Selecting every connection the caller sees is is_all.
	r = e.do(t, reqSpec{Method: http.MethodPut, Target: policyPath + "?enterprise_project_id=all_granted_eps",
		Body: jsonBody(t, policyBody(e.registryInfo("r3", "r2", "r1"), nil))})
	if r.Status != http.StatusOK {
		t.Fatalf("PUT all: %d %s", r.Status, r.Raw)
	}
	if v := getPolicy(t, e, "type=cycle"+allEPs, "", ""); !v.IsAll {
		t.Errorf("every registry selected: is_all false")
	}
}

// Refused requests change nothing: each case runs against a stored policy
// and checks the answer and that the policy is as it was.
func TestScanPolicyBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r := e.do(t, reqSpec{Method: http.MethodPut, Target: policyPath, Body: jsonBody(t, policyBody(e.registryInfo("r1"), nil))})
	if r.Status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.Status, r.Raw)
	}
	before, _, err := e.store.ScanPolicy(ctx, projA)
	if err != nil {
		t.Fatal(err)
	}
	set := func(k string, v any) func(map[string]any) { return func(b map[string]any) { b[k] = v } }
	drop := func(k string) func(map[string]any) { return func(b map[string]any) { delete(b, k) } }
	rb := e.registryInfo("rb")[0] // project B's
	rb["registry_id"] = strconv.FormatInt(e.regs["rb"].ID, 10)
	for _, tc := range []struct {
		name   string
		method string
		query  string
		body   any
		ak, sk string
		status int
		code   string
	}{
		{"scan_cycle 5", "PUT", "", policyBody(e.registryInfo("r3"), set("scan_cycle", 5)), "", "", 400, "HSS.0001"},
		{"scan_cycle 0", "PUT", "", policyBody(e.registryInfo("r3"), set("scan_cycle", 0)), "", "", 400, "HSS.0001"},
		{"time_scope 2", "PUT", "", policyBody(e.registryInfo("r3"), set("time_scope", 2)), "", "", 400, "HSS.0001"},
		{"rate_limit 1001", "PUT", "", policyBody(e.registryInfo("r3"), set("rate_limit", 1001)), "", "", 400, "HSS.0001"},
		{"rate_limit -1", "PUT", "", policyBody(e.registryInfo("r3"), set("rate_limit", -1)), "", "", 400, "HSS.0001"},
		{"scan_scope 0", "PUT", "", policyBody(e.registryInfo("r3"), set("scan_scope", 0)), "", "", 400, "HSS.0001"},
		{"scan_scope negative", "PUT", "", policyBody(e.registryInfo("r3"), set("scan_scope", -4)), "", "", 400, "HSS.0001"},
		{"scan_scope over int32", "PUT", "", policyBody(e.registryInfo("r3"), set("scan_scope", int64(1)<<31)), "", "", 400, "HSS.0001"},
		{"enabled missing", "PUT", "", policyBody(e.registryInfo("r3"), drop("enabled")), "", "", 400, "HSS.0001"},
		{"scan_cycle missing", "PUT", "", policyBody(e.registryInfo("r3"), drop("scan_cycle")), "", "", 400, "HSS.0001"},
		{"time_scope missing", "PUT", "", policyBody(e.registryInfo("r3"), drop("time_scope")), "", "", 400, "HSS.0001"},
		{"registry_info missing", "PUT", "", policyBody(nil, drop("registry_info")), "", "", 400, "HSS.0001"},
		{"registry_type missing", "PUT", "", policyBody([]map[string]string{{"registry_id": strconv.FormatInt(e.regs["r2"].ID, 10), "registry_name": "r2"}}, nil), "", "", 400, "HSS.0001"},
		{"registry_type wrong", "PUT", "", policyBody([]map[string]string{{"registry_id": strconv.FormatInt(e.regs["r3"].ID, 10), "registry_name": "r3", "registry_type": "Harbor"}}, nil), "", "", 400, "HSS.0001"},
		{"registry_id not a number", "PUT", "", policyBody([]map[string]string{{"registry_id": "x1", "registry_name": "r2", "registry_type": "Harbor"}}, nil), "", "", 400, "HSS.0001"},
		{"registry named twice", "PUT", "", policyBody(e.registryInfo("r1", "r1"), nil), "", "", 400, "HSS.0001"},
		{"unknown registry id", "PUT", "", policyBody(append(e.registryInfo("r3"), map[string]string{"registry_id": "999999", "registry_name": "x", "registry_type": "Harbor"}), nil), "", "", 404, "HSS.0011"},
		{"registry of another enterprise project", "PUT", "", policyBody(e.registryInfo("r1", "r2"), nil), "", "", 404, "HSS.0011"},
		{"another project's registry", "PUT", "", policyBody(append(e.registryInfo("r3"), rb), nil), "", "", 404, "HSS.0011"},
		{"registry of an enterprise project not granted", "PUT", "?enterprise_project_id=ep1", policyBody(e.registryInfo("r1"), nil), e.akEP, e.skEP, 404, "HSS.0011"},
		{"enterprise project not granted", "PUT", "?enterprise_project_id=ep9", policyBody(e.registryInfo("r3"), nil), e.akEP, e.skEP, 403, "HSS.0013"},
		{"body not an object", "PUT", "", []int{1}, "", "", 400, "HSS.0002"},
		{"registry_info not an array", "PUT", "", policyBody(nil, set("registry_info", "r1")), "", "", 400, "HSS.0002"},
		{"scan_cycle a string", "PUT", "", policyBody(e.registryInfo("r3"), set("scan_cycle", "7")), "", "", 400, "HSS.0002"},
		{"type missing", "GET", "", nil, "", "", 400, "HSS.0001"},
		{"type bad", "GET", "?type=weekly", nil, "", "", 400, "HSS.0001"},
		{"type twice", "GET", "?type=cycle&type=manual", nil, "", "", 400, "HSS.0001"},
		{"bad global_image_type", "GET", "?type=cycle&global_image_type=swr", nil, "", "", 400, "HSS.0001"},
		{"bad enterprise_project_id", "GET", "?type=cycle&enterprise_project_id=a%20b", nil, "", "", 400, "HSS.0001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := reqSpec{Method: tc.method, Target: policyPath + tc.query, AK: tc.ak, SK: tc.sk}
			if tc.body != nil {
				spec.Body = jsonBody(t, tc.body)
			}
			wantError(t, e.do(t, spec), tc.status, tc.code)
			after, _, err := e.store.ScanPolicy(ctx, projA)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(after, before) {
				t.Fatalf("policy changed: %+v, was %+v", after, before)
			}
		})
	}
}
