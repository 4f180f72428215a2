package hssapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
)

const listPath = "/v5/" + projA + "/image/swr-repository"

// TestBadInputChangesNothing sends refused requests and checks the status,
// the error code, and that the store is exactly as before.
func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	// Tokens that exist but must not work.
	tokenValue := func(name string) string { return "test-token-" + name }
	hashOf := func(v string) string { s := sha256.Sum256([]byte(v)); return hex.EncodeToString(s[:]) }
	nowMs := e.now.UnixMilli()
	for _, tok := range []inventory.Token{
		{Hash: hashOf(tokenValue("expired")), UserID: e.userA.ID, ProjectID: projA, Grant: inventory.Grant{All: true}, CreatedAt: nowMs - 2*86400000, ExpiresAt: nowMs - 1},
		{Hash: hashOf(tokenValue("revoked")), UserID: e.userA.ID, ProjectID: projA, Grant: inventory.Grant{All: true}, CreatedAt: nowMs, ExpiresAt: nowMs + 86400000},
	} {
		if err := e.store.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.RevokeToken(ctx, hashOf(tokenValue("revoked")), nowMs); err != nil {
		t.Fatal(err)
	}
	revokedAK, revokedSK := e.credential(t, projA, inventory.Grant{All: true})
	if err := e.iam.RevokeCredential(ctx, revokedAK); err != nil {
		t.Fatal(err)
	}

	r1 := strconv.FormatInt(e.regs["r1"].ID, 10)
	rb := strconv.FormatInt(e.regs["rb"].ID, 10)
	regPath := "/v5/" + projA + "/image/registries"
	syncPath := "/v5/" + projA + "/image/synchronize"
	kb10 := strings.Repeat("x", 10*1024)
	goodReg := func(addr string) []byte {
		return jsonBody(t, map[string]any{"registry_name": "new", "registry_type": "Harbor", "api_version": "V2",
			"protocol": "https", "registry_addr": addr, "registry_username": "u", "registry_password": "p",
			"connect_cluster_id": "", "get_scan_image_channel": "Swr"})
	}
	withField := func(k string, v any) []byte {
		m := map[string]any{"registry_name": "new", "registry_type": "Harbor", "api_version": "V2", "protocol": "https",
			"registry_addr": "new.example.com", "registry_username": "u", "registry_password": "p"}
		m[k] = v
		return jsonBody(t, m)
	}
	list := func(q string) string { return listPath + "?" + q }

	tests := []struct {
		name   string
		spec   reqSpec
		status int
		code   string
	}{
		// Query parameters of the list.
		{"missing image_type", reqSpec{Target: list("limit=10")}, 400, "HSS.0001"},
		{"unknown image_type", reqSpec{Target: list("image_type=public_image")}, 400, "HSS.0001"},
		{"empty image_type", reqSpec{Target: list("image_type=")}, 400, "HSS.0001"},
		{"non-numeric offset", reqSpec{Target: list("image_type=private_image&offset=abc")}, 400, "HSS.0001"},
		{"negative offset", reqSpec{Target: list("image_type=private_image&offset=-1")}, 400, "HSS.0001"},
		{"too large offset", reqSpec{Target: list("image_type=private_image&offset=2000001")}, 400, "HSS.0001"},
		{"limit 0", reqSpec{Target: list("image_type=private_image&limit=0")}, 400, "HSS.0001"},
		{"negative limit", reqSpec{Target: list("image_type=private_image&limit=-10")}, 400, "HSS.0001"},
		{"too large limit", reqSpec{Target: list("image_type=private_image&limit=201")}, 400, "HSS.0001"},
		{"non-numeric limit", reqSpec{Target: list("image_type=private_image&limit=ten")}, 400, "HSS.0001"},
		{"repeated limit", reqSpec{Target: list("image_type=private_image&limit=10&limit=20")}, 400, "HSS.0001"},
		{"boolean 1", reqSpec{Target: list("image_type=private_image&latest_version=1")}, 400, "HSS.0001"},
		{"boolean yes", reqSpec{Target: list("image_type=private_image&has_vul=yes")}, 400, "HSS.0001"},
		{"boolean TRUE with space", reqSpec{Target: list("image_type=private_image&has_unsafe_setting=TRUE%20")}, 400, "HSS.0001"},
		{"update time start after end", reqSpec{Target: list("image_type=private_image&start_latest_update_time=200&end_latest_update_time=100")}, 400, "HSS.0001"},
		{"scan time start after end", reqSpec{Target: list("image_type=private_image&start_latest_scan_time=200&end_latest_scan_time=100")}, 400, "HSS.0001"},
		{"non-numeric time", reqSpec{Target: list("image_type=private_image&start_latest_scan_time=yesterday")}, 400, "HSS.0001"},
		{"negative image_size", reqSpec{Target: list("image_type=private_image&image_size=-1")}, 400, "HSS.0001"},
		{"unknown scan_status", reqSpec{Target: list("image_type=private_image&scan_status=done")}, 400, "HSS.0001"},
		{"10 KB namespace", reqSpec{Target: list("image_type=private_image&namespace=" + kb10)}, 400, "HSS.0001"},
		{"10 KB image_name", reqSpec{Target: list("image_type=private_image&image_name=" + kb10)}, 400, "HSS.0001"},
		{"malformed enterprise_project_id", reqSpec{Target: list("image_type=private_image&enterprise_project_id=a%20b")}, 400, "HSS.0001"},

		// Authentication.
		{"no credentials", reqSpec{Target: list("image_type=private_image"), NoAuth: true}, 401, "APIGW.0301"},
		{"garbled Authorization", reqSpec{Target: list("image_type=private_image"), NoAuth: true,
			Header: map[string]string{"Authorization": "SDK-HMAC-SHA256 garbage"}}, 401, "APIGW.0301"},
		{"Basic Authorization", reqSpec{Target: list("image_type=private_image"), NoAuth: true,
			Header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}}, 401, "APIGW.0301"},
		{"unknown access key", reqSpec{Target: list("image_type=private_image"), AK: "ZZZZZZZZZZZZZZZZZZZZ", SK: "x"}, 401, "APIGW.0301"},
		{"wrong secret key", reqSpec{Target: list("image_type=private_image"), AK: e.akA, SK: e.skB}, 401, "APIGW.0301"},
		{"revoked access key", reqSpec{Target: list("image_type=private_image"), AK: revokedAK, SK: revokedSK}, 401, "APIGW.0301"},
		{"query changed after signing", reqSpec{Target: list("image_type=private_image&limit=10"),
			Tamper: func(r *http.Request) { r.URL.RawQuery = "image_type=private_image&limit=11" }}, 401, "APIGW.0301"},
		{"path changed after signing", reqSpec{Target: list("image_type=private_image"),
			Tamper: func(r *http.Request) { r.URL.Path = regPath }}, 401, "APIGW.0301"},
		{"body changed after signing", reqSpec{Method: "POST", Target: regPath, Body: goodReg("signed.example.com"),
			SendBody: goodReg("tampered.example.com")}, 401, "APIGW.0301"},
		{"X-Project-Id changed after signing", reqSpec{Target: list("image_type=private_image"),
			Tamper: func(r *http.Request) { r.Header.Set("X-Project-Id", projB) }}, 401, "APIGW.0301"},
		{"X-Sdk-Date 16 minutes old", reqSpec{Target: list("image_type=private_image"), Date: e.now.Add(-16 * time.Minute)}, 401, "APIGW.0301"},
		{"X-Sdk-Date 16 minutes ahead", reqSpec{Target: list("image_type=private_image"), Date: e.now.Add(16 * time.Minute)}, 401, "APIGW.0301"},
		{"unknown token", reqSpec{Target: list("image_type=private_image"), Token: tokenValue("never-issued")}, 401, "APIGW.0301"},
		{"expired token", reqSpec{Target: list("image_type=private_image"), Token: tokenValue("expired")}, 401, "APIGW.0301"},
		{"revoked token", reqSpec{Target: list("image_type=private_image"), Token: tokenValue("revoked")}, 401, "APIGW.0301"},

		// Authorization.
		{"another project's path", reqSpec{Target: "/v5/" + projB + "/image/swr-repository?image_type=private_image"}, 403, "HSS.0013"},
		{"another project's registry delete", reqSpec{Method: "DELETE", Target: "/v5/" + projB + "/image/registries/" + rb}, 403, "HSS.0013"},
		{"signed X-Project-Id of another project", reqSpec{Target: list("image_type=private_image"),
			Header: map[string]string{"X-Project-Id": projB}}, 403, "HSS.0013"},
		{"enterprise project not granted", reqSpec{Target: list("image_type=private_image&enterprise_project_id=ep2"), AK: e.akEP, SK: e.skEP}, 403, "HSS.0013"},
		{"default enterprise project not granted", reqSpec{Target: list("image_type=private_image"), AK: e.akEP, SK: e.skEP}, 403, "HSS.0013"},
		{"registry in ungranted enterprise project", reqSpec{Method: "POST", Target: regPath + "?enterprise_project_id=ep2",
			Body: goodReg("ep2.example.com"), AK: e.akEP, SK: e.skEP}, 403, "HSS.0013"},

		// Bodies.
		{"malformed JSON", reqSpec{Method: "POST", Target: regPath, Body: []byte(`{"registry_name": "x",`)}, 400, "HSS.0002"},
		{"JSON array body", reqSpec{Method: "POST", Target: regPath, Body: []byte(`[]`)}, 400, "HSS.0002"},
		{"trailing data after JSON", reqSpec{Method: "POST", Target: regPath, Body: append(goodReg("trail.example.com"), []byte(`{}`)...)}, 400, "HSS.0002"},
		{"wrong JSON type", reqSpec{Method: "POST", Target: regPath, Body: withField("registry_name", 5)}, 400, "HSS.0002"},
		{"oversized body", reqSpec{Method: "POST", Target: regPath,
			Body: []byte(`{"registry_name":"` + strings.Repeat("a", 1<<20) + `"}`)}, 400, "HSS.0002"},
		{"form content type", reqSpec{Method: "POST", Target: regPath, Body: goodReg("form.example.com"),
			Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 400, "HSS.0002"},

		// Registry fields.
		{"registry addr with scheme", reqSpec{Method: "POST", Target: regPath, Body: goodReg("http://x")}, 400, "HSS.0001"},
		{"registry addr port out of range", reqSpec{Method: "POST", Target: regPath, Body: goodReg("host:99999")}, 400, "HSS.0001"},
		{"registry addr with path", reqSpec{Method: "POST", Target: regPath, Body: goodReg("a/b")}, 400, "HSS.0001"},
		{"registry addr with user", reqSpec{Method: "POST", Target: regPath, Body: goodReg("user@host")}, 400, "HSS.0001"},
		{"registry addr empty", reqSpec{Method: "POST", Target: regPath, Body: goodReg("")}, 400, "HSS.0001"},
		{"registry type unknown", reqSpec{Method: "POST", Target: regPath, Body: withField("registry_type", "Quay")}, 400, "HSS.0001"},
		{"registry protocol ftp", reqSpec{Method: "POST", Target: regPath, Body: withField("protocol", "ftp")}, 400, "HSS.0001"},
		{"registry name empty", reqSpec{Method: "POST", Target: regPath, Body: withField("registry_name", "")}, 400, "HSS.0001"},
		{"registry name too long", reqSpec{Method: "POST", Target: regPath, Body: withField("registry_name", strings.Repeat("n", 129))}, 400, "HSS.0001"},
		{"registry namespace with dots only", reqSpec{Method: "POST", Target: regPath, Body: withField("namespace", "../etc")}, 400, "HSS.0001"},
		{"registry in all_granted_eps", reqSpec{Method: "POST", Target: regPath + "?enterprise_project_id=all_granted_eps", Body: goodReg("all.example.com")}, 400, "HSS.0001"},
		{"duplicate registry", reqSpec{Method: "POST", Target: regPath, Body: goodReg("harbor.example.com")}, 409, "HSS.0014"},
		{"duplicate registry, other case", reqSpec{Method: "POST", Target: regPath, Body: goodReg("HARBOR.example.com")}, 409, "HSS.0014"},
		{"update moves onto an existing address", reqSpec{Method: "PUT", Target: regPath + "/" + strconv.FormatInt(e.regs["r3"].ID, 10),
			Body: []byte(`{"registry_addr":"harbor.example.com"}`)}, 409, "HSS.0014"},
		{"update unknown registry", reqSpec{Method: "PUT", Target: regPath + "/999999", Body: []byte(`{"protocol":"http"}`)}, 404, "HSS.0011"},
		{"update another project's registry", reqSpec{Method: "PUT", Target: regPath + "/" + rb, Body: []byte(`{"protocol":"http"}`)}, 404, "HSS.0011"},
		{"delete unknown registry", reqSpec{Method: "DELETE", Target: regPath + "/999999"}, 404, "HSS.0011"},
		{"delete another project's registry", reqSpec{Method: "DELETE", Target: regPath + "/" + rb}, 404, "HSS.0011"},
		{"delete registry outside the named enterprise project", reqSpec{Method: "DELETE", Target: regPath + "/" + r1 + "?enterprise_project_id=ep1"}, 404, "HSS.0011"},
		{"non-numeric registry id", reqSpec{Method: "DELETE", Target: regPath + "/abc"}, 400, "HSS.0001"},
		{"update with bad address", reqSpec{Method: "PUT", Target: regPath + "/" + r1, Body: []byte(`{"registry_addr":"https://x"}`)}, 400, "HSS.0001"},
		{"registry list unknown type", reqSpec{Target: regPath + "?registry_type=quay"}, 400, "HSS.0001"},

		// Synchronize.
		{"synchronize local_image", reqSpec{Method: "POST", Target: syncPath, Body: []byte(`{"image_type":"local_image"}`)}, 400, "HSS.0001"},
		{"synchronize without image_type", reqSpec{Method: "POST", Target: syncPath, Body: []byte(`{}`)}, 400, "HSS.0001"},
		{"synchronize malformed JSON", reqSpec{Method: "POST", Target: syncPath, Body: []byte(`image_type=private_image`)}, 400, "HSS.0002"},

		// Conventions.
		{"region header mismatch", reqSpec{Target: list("image_type=private_image"), Header: map[string]string{"Region": "cn-north-4"}}, 400, "HSS.0001"},
		{"unknown route", reqSpec{Target: "/v5/" + projA + "/image/nothing"}, 404, "HSS.0011"},
		{"unclean path", reqSpec{Target: "/v5/" + projA + "/image/../image/swr-repository?image_type=private_image", NoAuth: true}, 404, "HSS.0011"},
		{"wrong method", reqSpec{Method: "PATCH", Target: list("image_type=private_image")}, 404, "HSS.0011"},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d cases", len(tests))
	}
	before := e.snapshot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(t, tt.spec)
			wantError(t, res, tt.status, tt.code)
			if after := e.snapshot(t); after != before {
				t.Fatalf("store changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}
