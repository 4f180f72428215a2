package hssapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

// TestBatchDeleteRegistryRefused sends refused batch deletes: each gets
// its status and code, and the store is exactly as before (all or none).
func TestBatchDeleteRegistryRefused(t *testing.T) {
	e := newEnv(t)
	path := "/v5/" + projA + "/image/registries/batch-delete"
	id := func(name string) string { return strconv.FormatInt(e.regs[name].ID, 10) }
	ids := func(v ...any) []byte { return jsonBody(t, map[string]any{"ids": v}) }
	many := make([]any, 201)
	for i := range many {
		many[i] = strconv.Itoa(i + 1)
	}
	tests := []struct {
		name   string
		spec   reqSpec
		status int
		code   string
	}{
		{"empty list", reqSpec{Body: ids()}, 400, "HSS.0001"},
		{"no ids", reqSpec{Body: []byte(`{}`)}, 400, "HSS.0001"},
		{"null ids", reqSpec{Body: []byte(`{"ids":null}`)}, 400, "HSS.0001"},
		{"ids not a list", reqSpec{Body: []byte(`{"ids":"` + id("r1") + `"}`)}, 400, "HSS.0001"},
		{"numeric ids", reqSpec{Body: []byte(`{"ids":[` + id("r1") + `]}`)}, 400, "HSS.0001"},
		{"non-numeric id", reqSpec{Body: ids(id("r1"), "abc")}, 400, "HSS.0001"},
		{"zero id", reqSpec{Body: ids(id("r1"), "0")}, 400, "HSS.0001"},
		{"negative id", reqSpec{Body: ids(id("r1"), "-1")}, 400, "HSS.0001"},
		{"leading zero", reqSpec{Body: ids("0" + id("r1"))}, 400, "HSS.0001"},
		{"id beyond int64", reqSpec{Body: ids(id("r1"), "99999999999999999999")}, 400, "HSS.0001"},
		{"empty id", reqSpec{Body: ids(id("r1"), "")}, 400, "HSS.0001"},
		{"duplicate ids", reqSpec{Body: ids(id("r1"), id("r3"), id("r1"))}, 400, "HSS.0001"},
		{"too many ids", reqSpec{Body: ids(many...)}, 400, "HSS.0001"},
		{"body not JSON", reqSpec{Body: []byte(`ids=1`)}, 400, "HSS.0002"},
		{"repeated enterprise project", reqSpec{Target: path + "?enterprise_project_id=0&enterprise_project_id=0", Body: ids(id("r1"))}, 400, "HSS.0001"},
		{"unknown id", reqSpec{Body: ids(id("r1"), "999999")}, 404, "HSS.0011"},
		{"another project's id", reqSpec{Body: ids(id("r1"), id("rb"))}, 404, "HSS.0011"},
		{"only another project's id", reqSpec{Body: ids(id("rb"))}, 404, "HSS.0011"},
		// r2 is in enterprise project ep1, not in the default one.
		{"outside the enterprise project", reqSpec{Body: ids(id("r1"), id("r2"))}, 404, "HSS.0011"},
		{"outside a credential's enterprise projects", reqSpec{Target: path + "?enterprise_project_id=ep1",
			AK: e.akEP, SK: e.skEP, Body: ids(id("r2"), id("r1"))}, 404, "HSS.0011"},
		{"project B deleting project A's", reqSpec{Target: "/v5/" + projB + "/image/registries/batch-delete",
			AK: e.akB, SK: e.skB, Body: ids(id("r1"))}, 404, "HSS.0011"},
	}
	before := e.snapshot(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Method = http.MethodPost
			if tc.spec.Target == "" {
				tc.spec.Target = path
			}
			res := e.do(t, tc.spec)
			wantError(t, res, tc.status, tc.code)
			// Not the unrouted "no such API": the route ran and refused.
			if msg := res.JSON["error_msg"]; tc.status == 404 && msg != "registry not found" {
				t.Errorf("error_msg = %q, want %q", msg, "registry not found")
			}
			if after := e.snapshot(t); after != before {
				t.Fatalf("a refused batch delete changed the store:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// TestBatchDeleteRegistry deletes connections and their rows, in the
// enterprise projects the request names.
func TestBatchDeleteRegistry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	path := "/v5/" + projA + "/image/registries/batch-delete"
	id := func(name string) string { return strconv.FormatInt(e.regs[name].ID, 10) }
	res := e.do(t, reqSpec{Method: http.MethodPost, Target: path, Body: jsonBody(t, map[string]any{"ids": []string{id("r3"), id("r1")}})})
	if res.Status != 200 || len(res.JSON) != 0 {
		t.Fatalf("batch delete: %d %s", res.Status, res.Raw)
	}
	regs, _, err := e.store.ListRegistries(ctx, inventory.RegistryFilter{ProjectID: projA})
	if err != nil || len(regs) != 1 || regs[0].ID != e.regs["r2"].ID {
		t.Fatalf("project A's connections after the batch: %+v, %v; want only r2", regs, err)
	}
	for _, typ := range []inventory.ImageType{inventory.PrivateImage, inventory.InstanceImage} {
		if p, err := e.store.ListImages(ctx, inventory.Filter{ProjectID: projA, Type: typ, Limit: 100}); err != nil || p.Total != 0 {
			t.Fatalf("%s rows of deleted connections: %d, %v", typ, p.Total, err)
		}
	}
	if p, _ := e.store.ListImages(ctx, inventory.Filter{ProjectID: projB, Type: inventory.PrivateImage, Limit: 100}); p.Total != 1 {
		t.Fatalf("project B's rows: %d, want 1", p.Total)
	}
	// The credential limited to ep1 deletes ep1's connection.
	res = e.do(t, reqSpec{Method: http.MethodPost, Target: path + "?enterprise_project_id=ep1", AK: e.akEP, SK: e.skEP,
		Body: jsonBody(t, map[string]any{"ids": []string{id("r2")}})})
	if res.Status != 200 {
		t.Fatalf("batch delete in ep1: %d %s", res.Status, res.Raw)
	}
	if _, err := e.store.GetRegistry(ctx, projA, e.regs["r2"].ID); err == nil {
		t.Fatal("r2 survived")
	}
	if _, err := e.store.GetRegistry(ctx, projB, e.regs["rb"].ID); err != nil {
		t.Fatalf("project B's connection: %v", err)
	}
}

// TestRegistryStatistics counts success and fail connections per type and
// enterprise project; a connection still accessing is in neither count, and
// ListRegistry shows and filters it as accessing.
func TestRegistryStatistics(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for name, s := range map[string]string{"r1": inventory.RegistryOK, "r3": inventory.RegistryFailed, "r2": inventory.RegistrySyncing} {
		if err := e.store.SetRegistryStatus(ctx, e.regs[name].ID, s, "", 1); err != nil {
			t.Fatal(err)
		}
	}
	stats := "/v5/" + projA + "/image/registries/statistics"
	for _, tc := range []struct {
		query         string
		success, fail int
	}{
		{"", 1, 1},
		{"?enterprise_project_id=all_granted_eps", 1, 1},
		{"?enterprise_project_id=ep1", 0, 0},
		{"?registry_type=SwrEnterprise", 0, 1},
		{"?registry_type=Harbor,SwrShared", 1, 0},
		{"?registry_type=Harbor,%20SwrEnterprise", 1, 1},
		{"?registry_type=Jfrog", 0, 0},
	} {
		res := e.do(t, reqSpec{Target: stats + tc.query})
		if res.Status != 200 || len(res.JSON) != 2 {
			t.Fatalf("%s: %d %s", tc.query, res.Status, res.Raw)
		}
		got := map[string]json.Number{"success_num": res.JSON["success_num"].(json.Number), "fail_num": res.JSON["fail_num"].(json.Number)}
		if got["success_num"].String() != strconv.Itoa(tc.success) || got["fail_num"].String() != strconv.Itoa(tc.fail) {
			t.Errorf("%s: %s, want success %d fail %d", tc.query, res.Raw, tc.success, tc.fail)
		}
	}
	for _, q := range []string{"?registry_type=harbor", "?registry_type=Harbor,", "?registry_type=,", "?registry_type=Harbor&registry_type=Jfrog",
		"?registry_type=" + strings.Repeat("Harbor,", 40) + "Harbor", "?enterprise_project_id=" + strings.Repeat("e", 257)} {
		wantError(t, e.do(t, reqSpec{Target: stats + q}), 400, "HSS.0001")
	}
	if res := e.do(t, reqSpec{Target: "/v5/" + projB + "/image/registries/statistics", AK: e.akB, SK: e.skB}); res.Status != 200 ||
		res.JSON["success_num"].(json.Number).String() != "0" || res.JSON["fail_num"].(json.Number).String() != "0" {
		t.Fatalf("project B: %d %s", res.Status, res.Raw)
	}

	list := "/v5/" + projA + "/image/registries?enterprise_project_id=all_granted_eps"
	for q, want := range map[string]string{"&status=accessing": "r2", "&status=success": "r1", "&status=fail": "r3"} {
		res := e.do(t, reqSpec{Target: list + q})
		data, _ := res.JSON["data_list"].([]any)
		if res.Status != 200 || len(data) != 1 || data[0].(map[string]any)["id"] != strconv.FormatInt(e.regs[want].ID, 10) {
			t.Fatalf("%s: %d %s; want only %s", q, res.Status, res.Raw, want)
		}
		if got := data[0].(map[string]any)["status"]; got != strings.TrimPrefix(q, "&status=") {
			t.Errorf("%s: status %v", q, got)
		}
	}
	for _, q := range []string{"&status=syncing", "&status=pending"} {
		wantError(t, e.do(t, reqSpec{Target: list + q}), 400, "HSS.0001")
	}
}
