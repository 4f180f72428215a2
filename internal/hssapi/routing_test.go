package hssapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// servedRoutes reads every route (method and pattern) from hssapi.go, as
// getRoutes does for the GET routes, so a route added there is covered here
// without editing this test.
func servedRoutes(t *testing.T) [][2]string {
	t.Helper()
	src, err := os.ReadFile("hssapi.go")
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for _, m := range regexp.MustCompile(`r\.handle\("([A-Z]+)", "([^"]+)"`).FindAllStringSubmatch(string(src), -1) {
		out = append(out, [2]string{m[1], m[2]})
	}
	if len(out) < 15 {
		t.Fatalf("found %d routes in hssapi.go: the pattern is out of step with the source", len(out))
	}
	return out
}

// loggedRoute returns the route the access log names for the request with
// this X-Request-Id: the pattern that served it, or "unmatched".
func loggedRoute(t *testing.T, e *testEnv, id string) string {
	t.Helper()
	for line := range strings.SplitSeq(e.logs.String(), "\n") {
		var rec struct {
			RequestID string `json:"request_id"`
			Route     string `json:"route"`
			Method    string `json:"method"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.RequestID == id && rec.Method != "" {
			return rec.Route
		}
	}
	t.Fatalf("no access log line for request %s", id)
	return ""
}

// TestUnknownRoutes: every method and path openhss does not serve answers
// 404 HSS.0011 "no such API" (docs/api.md, "Unknown routes"), whatever
// pattern a wildcard happens to match, and every served route still reaches
// its handler.
func TestUnknownRoutes(t *testing.T) {
	e := newEnv(t)
	v5 := "/v5/" + projA + "/image/"
	hexID := strings.TrimPrefix(digest("m1"), "sha256:")
	regID := fmt.Sprint(e.regs["r1"].ID)

	tests := []struct {
		name string
		spec reqSpec
	}{
		// Unserved SDK operations whose path fits PUT/DELETE
		// /image/registries/{id}: a ServeMux answers them 405.
		{"ShowImageUploadCommand", reqSpec{Target: v5 + "registries/image-upload-command?registry_addr=a&namespace=n&username=u&password=p"}},
		{"POST under registries/{id}", reqSpec{Method: "POST", Target: v5 + "registries/batch-sync", Body: []byte(`{"ids":["1"]}`)}},
		{"ShowImageUploadCommand without credentials", reqSpec{Target: v5 + "registries/image-upload-command", NoAuth: true}},
		// ListLocalImageAppInfo fits GET /image/{image_id}/apps.
		{"ListLocalImageAppInfo", reqSpec{Target: v5 + "local/apps?limit=10"}},
		{"a word where an image id goes", reqSpec{Target: v5 + "nothing/vulnerabilities?image_type=private_image"}},

		// A wrong method on a served path.
		{"PATCH image list", reqSpec{Method: "PATCH", Target: v5 + "swr-repository?image_type=private_image"}},
		{"DELETE image list", reqSpec{Method: "DELETE", Target: v5 + "swr-repository"}},
		{"GET synchronize", reqSpec{Method: "GET", Target: v5 + "synchronize"}},
		{"PUT registry collection", reqSpec{Method: "PUT", Target: v5 + "registries", Body: []byte(`{}`)}},
		{"GET one registry", reqSpec{Target: v5 + "registries/" + regID}},
		{"POST image apps", reqSpec{Method: "POST", Target: v5 + hexID + "/apps", Body: []byte(`{}`)}},
		{"GET token", reqSpec{Target: "/v3/auth/tokens", NoAuth: true}},
		{"POST healthz", reqSpec{Method: "POST", Target: "/healthz", Body: []byte(`{}`), NoAuth: true}},

		// Unknown paths.
		{"unknown image API", reqSpec{Target: v5 + "nothing"}},
		{"unknown version", reqSpec{Target: "/v6/" + projA + "/image/swr-repository?image_type=private_image"}},
		{"root", reqSpec{Target: "/", NoAuth: true}},
		{"deeper than any route", reqSpec{Target: v5 + hexID + "/apps/extra?image_type=private_image"}},

		// A trailing slash is another path.
		{"image list/", reqSpec{Target: v5 + "swr-repository/?image_type=private_image"}},
		{"registry/", reqSpec{Method: "DELETE", Target: v5 + "registries/" + regID + "/"}},
		{"image apps/", reqSpec{Target: v5 + hexID + "/apps/?image_type=private_image"}},
		{"healthz/", reqSpec{Target: "/healthz/", NoAuth: true}},
	}
	before := e.snapshot(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("unknown-%d", i)
			tt.spec.Header = map[string]string{"X-Request-Id": id}
			res := e.do(t, tt.spec)
			wantError(t, res, http.StatusNotFound, "HSS.0011")
			if msg := res.JSON["error_msg"]; msg != "no such API" {
				t.Errorf("error_msg = %q, want %q", msg, "no such API")
			}
			if allow := res.Header.Get("Allow"); allow != "" {
				t.Errorf("Allow = %q on a 404", allow)
			}
			if route := loggedRoute(t, e, id); route != "unmatched" {
				t.Errorf("logged route %q, want unmatched", route)
			}
		})
	}
	if after := e.snapshot(t); after != before {
		t.Fatalf("an unknown route changed the store:\nbefore %s\nafter  %s", before, after)
	}

	// Every served route reaches its handler. Wildcards get values of the
	// right shape (a registry id that does not exist, so nothing is
	// deleted); whether the handler then answers 200 or a parameter error
	// is its business, checked elsewhere.
	fill := strings.NewReplacer("{project_id}", projA, "{image_id}", hexID, "{id}", "999999", "{check_name}", "os_accounts")
	for i, rt := range servedRoutes(t) {
		method, pattern := rt[0], rt[1]
		t.Run(method+" "+pattern, func(t *testing.T) {
			id := fmt.Sprintf("served-%d", i)
			spec := reqSpec{Method: method, Target: fill.Replace(pattern), Header: map[string]string{"X-Request-Id": id}}
			switch method {
			case "GET":
				spec.Target += "?image_type=private_image"
			case "POST", "PUT":
				spec.Body = []byte(`{}`)
			}
			if pattern == "/healthz" || pattern == "/metrics" || pattern == "/v3/auth/tokens" {
				spec.NoAuth = true
			}
			res := e.do(t, spec)
			if res.Status == http.StatusNotFound && res.JSON["error_msg"] == "no such API" {
				t.Fatalf("%s %s: %s", method, spec.Target, res.Raw)
			}
			if route := loggedRoute(t, e, id); route != pattern {
				t.Errorf("%s %s was logged as route %q, want %q (status %d %s)", method, spec.Target, route, pattern, res.Status, res.Raw)
			}
		})
	}
}
