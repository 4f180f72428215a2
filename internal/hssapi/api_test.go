package hssapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/registry"
)

func TestRegistriesCRUD(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const password = "s3cret-Registry-pw"
	regPath := "/v5/" + projA + "/image/registries"
	var bodies [][]byte
	do := func(s reqSpec) result {
		r := e.do(t, s)
		bodies = append(bodies, r.Raw)
		return r
	}

	add := do(reqSpec{Method: "POST", Target: regPath, Body: jsonBody(t, map[string]any{
		"registry_name": "my harbor", "registry_type": "Harbor", "api_version": "V2", "protocol": "http",
		"registry_addr": "Harbor.Internal:5000", "registry_username": "robot$ci", "registry_password": password,
		"namespace": "team", "connect_cluster_id": "c-1", "get_scan_image_channel": "Swr", "unknown_field": true,
	})})
	if add.Status != 200 || string(add.Raw) != "{}" {
		t.Fatalf("add: %d %s", add.Status, add.Raw)
	}

	list := do(reqSpec{Target: regPath + "?registry_name=my%20harbor"})
	if list.Status != 200 {
		t.Fatalf("list: %d %s", list.Status, list.Raw)
	}
	data := list.JSON["data_list"].([]any)
	if len(data) != 1 || list.JSON["total_num"].(json.Number).String() != "1" {
		t.Fatalf("list by name: %s", list.Raw)
	}
	got := data[0].(map[string]any)
	want := map[string]any{
		"registry_name": "my harbor", "registry_type": "Harbor", "api_version": "V2", "protocol": "http",
		"registry_addr": "harbor.internal:5000", "registry_username": "robot$ci", "namespace": "team",
		"connect_cluster_id": "c-1", "get_scan_image_channel": "Swr", "status": "accessing", "fail_reason": "",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if len(got) != 14 {
		t.Errorf("RegistryInfo has %d fields, want 14: %v", len(got), got)
	}
	checkType(t, "images_num", got["images_num"], "int")
	checkType(t, "latest_sync_time", got["latest_sync_time"], "int")
	idText, ok := got["id"].(string)
	if !ok {
		t.Fatalf("id is %T, the SDK wants a string", got["id"])
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		t.Fatalf("id %q: %v", idText, err)
	}
	stored, err := e.store.GetRegistry(ctx, projA, id)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.PasswordSealed, []byte(password)) {
		t.Fatal("password stored in clear")
	}
	if pw, err := e.box.Open(stored.PasswordSealed); err != nil || pw != password {
		t.Fatalf("sealed password opens to %q, %v", pw, err)
	}

	// Every list filter (default enterprise project: r1, r3 and the new one).
	for q, wantN := range map[string]int{
		"?registry_id=" + idText:       1,
		"?registry_type=Harbor":        2,
		"?registry_type=SwrEnterprise": 1,
		"?registry_addr=internal":      1,
		"?registry_addr=example.com":   2,
		"?status=accessing":            3,
		"?status=success":              0,
		"?limit=1":                     1,
		"?offset=2":                    1,
		"?offset=3":                    0,
	} {
		r := do(reqSpec{Target: regPath + q})
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", q, r.Status, r.Raw)
		}
		if n := len(r.JSON["data_list"].([]any)); n != wantN {
			t.Errorf("%s: %d rows, want %d", q, n, wantN)
		}
	}
	// Counts that depend on the enterprise project scope.
	r := do(reqSpec{Target: regPath})
	if n := len(r.JSON["data_list"].([]any)); n != 3 {
		t.Errorf("default enterprise project: %d registries, want 3", n)
	}
	r = do(reqSpec{Target: regPath + "?enterprise_project_id=all_granted_eps"})
	if n := len(r.JSON["data_list"].([]any)); n != 4 {
		t.Errorf("all enterprise projects: %d registries, want 4", n)
	}

	// Update: change the address and password; name and type stay.
	upd := do(reqSpec{Method: "PUT", Target: regPath + "/" + idText, Body: jsonBody(t, map[string]any{
		"registry_addr": "harbor2.internal", "registry_password": password + "-2", "protocol": "https", "registry_name": "ignored",
	})})
	if upd.Status != 200 || string(upd.Raw) != "{}" {
		t.Fatalf("update: %d %s", upd.Status, upd.Raw)
	}
	stored, err = e.store.GetRegistry(ctx, projA, id)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Addr != "harbor2.internal" || stored.Protocol != "https" || stored.Name != "my harbor" || stored.Username != "robot$ci" || stored.Namespace != "team" {
		t.Fatalf("after update: %+v", stored)
	}
	if pw, _ := e.box.Open(stored.PasswordSealed); pw != password+"-2" {
		t.Fatalf("updated password opens to %q", pw)
	}

	// Delete a registry with rows: the connection and its rows go.
	r1 := strconv.FormatInt(e.regs["r1"].ID, 10)
	del := do(reqSpec{Method: "DELETE", Target: regPath + "/" + r1})
	if del.Status != 200 || string(del.Raw) != "{}" {
		t.Fatalf("delete: %d %s", del.Status, del.Raw)
	}
	if _, err := e.store.GetRegistry(ctx, projA, e.regs["r1"].ID); !errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("deleted registry still there: %v", err)
	}
	if res := do(reqSpec{Target: listPath + "?image_type=private_image"}); len(rowNames(t, res)) != 0 {
		t.Fatalf("rows of the deleted registry remain: %s", res.Raw)
	}
	wantError(t, do(reqSpec{Method: "DELETE", Target: regPath + "/" + r1}), 404, "HSS.0011")

	for _, b := range bodies {
		if bytes.Contains(b, []byte(password)) || bytes.Contains(b, []byte("password")) {
			t.Fatalf("a response mentions the password: %s", b)
		}
	}
	if strings.Contains(e.logs.String(), password) {
		t.Fatal("the log holds the registry password")
	}
}

// TestSynchronize uses the real registry.Syncer over the real store: the
// request becomes one durable sync job, and a second request joins it.
func TestSynchronize(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	path := "/v5/" + projA + "/image/synchronize"
	for i := 0; i < 2; i++ {
		res := e.do(t, reqSpec{Method: "POST", Target: path, Body: []byte(`{"image_type":"private_image"}`)})
		if res.Status != 200 {
			t.Fatalf("status %d: %s", res.Status, res.Raw)
		}
		if string(res.Raw) != `{"error_code":0,"error_description":"success"}` {
			t.Fatalf("body %s", res.Raw)
		}
	}
	j, err := e.store.Claim(ctx, []string{registry.JobKind}, "test", e.now, time.Minute)
	if err != nil {
		t.Fatalf("no sync job queued: %v", err)
	}
	if j.ProjectID != projA || !bytes.Contains(j.Payload, []byte("private_image")) {
		t.Fatalf("job %+v payload %s", j, j.Payload)
	}
	if _, err := e.store.Claim(ctx, []string{registry.JobKind}, "test", e.now, time.Minute); !errors.Is(err, jobs.ErrNoJob) {
		t.Fatalf("second request made a second job: %v", err)
	}
	// Shared and instance images are synchronizable; a separate job each.
	for _, typ := range []string{"shared_image", "instance_image"} {
		res := e.do(t, reqSpec{Method: "POST", Target: path + "?enterprise_project_id=all_granted_eps", Body: []byte(`{"image_type":"` + typ + `"}`)})
		if res.Status != 200 {
			t.Fatalf("%s: %d %s", typ, res.Status, res.Raw)
		}
	}
	// A credential limited to ep1 may not name ep 0.
	wantError(t, e.do(t, reqSpec{Method: "POST", Target: path + "?enterprise_project_id=0", Body: []byte(`{"image_type":"private_image"}`),
		AK: e.akEP, SK: e.skEP}), 403, "HSS.0013")
}

func TestTokensFlow(t *testing.T) {
	e := newEnv(t)
	tokenBody := func(password string) []byte {
		return jsonBody(t, map[string]any{"auth": map[string]any{
			"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
				"user": map[string]any{"name": "alice", "password": password, "domain": map[string]any{"name": "any"}}}},
			"scope": map[string]any{"project": map[string]any{"id": projA}},
		}})
	}
	res := e.do(t, reqSpec{Method: "POST", Target: "/v3/auth/tokens", Body: tokenBody("correct-horse"), NoAuth: true})
	if res.Status != 201 {
		t.Fatalf("issue: %d %s", res.Status, res.Raw)
	}
	token := res.Header.Get("X-Subject-Token")
	if token == "" {
		t.Fatal("no X-Subject-Token")
	}
	if bytes.Contains(res.Raw, []byte(token)) {
		t.Fatal("token in the body")
	}
	tok := res.JSON["token"].(map[string]any)
	if tok["project"].(map[string]any)["id"] != projA || tok["expires_at"] == "" {
		t.Fatalf("token body %s", res.Raw)
	}

	list := e.do(t, reqSpec{Target: listPath + "?image_type=private_image", Token: token})
	if len(rowNames(t, list)) != 8 {
		t.Fatalf("token list: %s", list.Raw)
	}
	wantError(t, e.do(t, reqSpec{Target: "/v5/" + projB + "/image/swr-repository?image_type=private_image", Token: token}), 403, "HSS.0013")

	wantError(t, e.do(t, reqSpec{Method: "POST", Target: "/v3/auth/tokens", Body: tokenBody("wrong-password"), NoAuth: true}), 401, "APIGW.0301")
	wantError(t, e.do(t, reqSpec{Method: "POST", Target: "/v3/auth/tokens", Body: []byte(`{"auth":`), NoAuth: true}), 400, "HSS.0002")
	wantError(t, e.do(t, reqSpec{Method: "GET", Target: "/v3/auth/tokens", NoAuth: true}), 404, "HSS.0011")

	// Revoke it (Keystone's DELETE) and it stops working.
	rev := e.do(t, reqSpec{Method: "DELETE", Target: "/v3/auth/tokens", Token: token, Tamper: func(r *http.Request) {
		r.Header.Set("X-Subject-Token", token)
	}})
	if rev.Status != 204 {
		t.Fatalf("revoke: %d %s", rev.Status, rev.Raw)
	}
	wantError(t, e.do(t, reqSpec{Target: listPath + "?image_type=private_image", Token: token}), 401, "APIGW.0301")
	if strings.Contains(e.logs.String(), token) || strings.Contains(e.logs.String(), "correct-horse") {
		t.Fatal("the log holds the token or the password")
	}
}

func TestProjects(t *testing.T) {
	e := newEnv(t)
	res := e.do(t, reqSpec{Target: "/v3/projects?name=local-1"})
	if res.Status != 200 || string(res.Raw) != `{"projects":[{"id":"`+projA+`","name":"local-1"}]}` {
		t.Fatalf("%d %s", res.Status, res.Raw)
	}
	res = e.do(t, reqSpec{Target: "/v3/projects?name=local-1", AK: e.akB, SK: e.skB})
	if !bytes.Contains(res.Raw, []byte(projB)) || bytes.Contains(res.Raw, []byte(projA)) {
		t.Fatalf("project B lists %s", res.Raw)
	}
	res = e.do(t, reqSpec{Target: "/v3/projects?name=cn-north-4"})
	if res.Status != 200 || string(res.Raw) != `{"projects":[]}` {
		t.Fatalf("other region: %d %s", res.Status, res.Raw)
	}
	wantError(t, e.do(t, reqSpec{Target: "/v3/projects?name=local-1", NoAuth: true}), 401, "APIGW.0301")
}

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	hexID := regexp.MustCompile(`^[0-9a-f]{32}$`)
	echo := e.do(t, reqSpec{Target: listPath + "?image_type=private_image", Header: map[string]string{"X-Request-Id": "client-id_1.2"}})
	if got := echo.Header.Get("X-Request-Id"); got != "client-id_1.2" {
		t.Fatalf("safe id not echoed: %q", got)
	}
	seen := map[string]bool{}
	for _, bad := range []string{"", "has space", "semi;colon", strings.Repeat("a", 65), "<script>"} {
		h := map[string]string{}
		if bad != "" {
			h["X-Request-Id"] = bad
		}
		r := e.do(t, reqSpec{Target: "/v5/" + projA + "/nowhere", NoAuth: true, Header: h})
		id := r.Header.Get("X-Request-Id")
		if !hexID.MatchString(id) || seen[id] {
			t.Fatalf("for %q got id %q", bad, id)
		}
		seen[id] = true
	}
	if !strings.Contains(e.logs.String(), `"request_id":"client-id_1.2"`) {
		t.Fatal("access log lacks the request id")
	}
}

func TestHealthzMetricsAndRoutes(t *testing.T) {
	e := newEnv(t)
	h := e.do(t, reqSpec{Target: "/healthz", NoAuth: true})
	if h.Status != 200 || string(h.Raw) != `{"status":"ok"}` {
		t.Fatalf("healthz %d %s", h.Status, h.Raw)
	}
	e.do(t, reqSpec{Target: listPath + "?image_type=private_image"})
	e.do(t, reqSpec{Target: listPath + "?image_type=bogus"})
	e.do(t, reqSpec{Target: "/v5/" + projA + "/nowhere", NoAuth: true})

	// A wrong method is an API that does not exist (docs/api.md).
	wantError(t, e.do(t, reqSpec{Method: "DELETE", Target: listPath, NoAuth: true}), 404, "HSS.0011")

	m := e.do(t, reqSpec{Target: "/metrics", NoAuth: true})
	if m.Status != 200 {
		t.Fatalf("metrics %d", m.Status)
	}
	text := string(m.Raw)
	for _, want := range []string{
		`openhss_http_requests_total{code="200",method="GET",route="/v5/{project_id}/image/swr-repository"} 1`,
		`openhss_http_requests_total{code="400",method="GET",route="/v5/{project_id}/image/swr-repository"} 1`,
		`openhss_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`openhss_http_requests_total{code="404",method="DELETE",route="unmatched"} 1`,
		`openhss_http_request_duration_seconds_count{method="GET",route="/v5/{project_id}/image/swr-repository"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, projA) {
		t.Error("metrics are labelled with raw paths")
	}
}

func TestRateLimitPerCredential(t *testing.T) {
	e := newEnv(t, func(c *hssapi.Config) { c.RateLimit = 3 })
	target := listPath + "?image_type=private_image"
	for i := 0; i < 3; i++ {
		if r := e.do(t, reqSpec{Target: target}); r.Status != 200 {
			t.Fatalf("call %d: %d", i, r.Status)
		}
	}
	wantError(t, e.do(t, reqSpec{Target: target}), 429, "APIGW.0308")
	// Another credential has its own bucket.
	if r := e.do(t, reqSpec{Target: "/v5/" + projB + "/image/swr-repository?image_type=private_image", AK: e.akB, SK: e.skB}); r.Status != 200 {
		t.Fatalf("other credential: %d %s", r.Status, r.Raw)
	}
	// A minute later the bucket is full again (the clock is the config's).
	e.advance(time.Minute)
	if r := e.do(t, reqSpec{Target: target}); r.Status != 200 {
		t.Fatalf("after a minute: %d %s", r.Status, r.Raw)
	}
}

// TestInternalErrorIsOpaque breaks the store under a running server: the
// client gets 500 HSS.0041 and nothing else, the log gets the cause.
func TestInternalErrorIsOpaque(t *testing.T) {
	e := newEnv(t)
	e.store.Close()
	res := e.do(t, reqSpec{Target: listPath + "?image_type=private_image"})
	wantError(t, res, 500, "HSS.0041")
	if res.JSON["error_msg"] != "internal error" {
		t.Fatalf("error_msg leaks: %s", res.Raw)
	}
	id := res.Header.Get("X-Request-Id")
	logs := e.logs.String()
	if !strings.Contains(logs, `"request_id":"`+id+`"`) || !strings.Contains(logs, `"level":"ERROR"`) {
		t.Fatalf("500 not logged with its request id:\n%s", logs)
	}
}

// TestLogsHoldNoSecrets checks the access log of signed, token and
// registry requests for the secrets they carried.
func TestLogsHoldNoSecrets(t *testing.T) {
	e := newEnv(t)
	e.do(t, reqSpec{Target: listPath + "?image_type=private_image"})
	e.do(t, reqSpec{Target: listPath + "?image_type=private_image", AK: e.akA, SK: "wrong-secret-key-for-logging-test"})
	logs := e.logs.String()
	for _, secret := range []string{e.skA, "wrong-secret-key-for-logging-test", "Signature=", "SDK-HMAC-SHA256"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("log holds %q", secret)
		}
	}
	for _, want := range []string{`"route":"/v5/{project_id}/image/swr-repository"`, `"status":200`, `"status":401`, `"method":"GET"`, `"duration":`} {
		if !strings.Contains(logs, want) {
			t.Errorf("access log lacks %s", want)
		}
	}
}
