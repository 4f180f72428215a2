package hssapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner/secrets"
	"github.com/openhss/openhss/internal/store/sqlite"
)

// serverDefault is the --sensitive-allowlist of the tests' server.
var serverDefault = []string{"/etc/ssl/private", "/opt/*/test-keys"}

func withServerDefault(c *hssapi.Config) {
	c.SensitiveDefault = serverDefault
}

// whitelistOf reads GET path as project's caller and returns its two lists.
func whitelistOf(t *testing.T, e *testEnv, target, ak, sk string) (def, custom []string) {
	t.Helper()
	r := e.do(t, reqSpec{Target: target, AK: ak, SK: sk})
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, r.Status, r.Raw)
	}
	var body struct {
		DefaultPath    *[]string `json:"default_path"`
		CustomizedPath *[]string `json:"customized_path"`
	}
	if err := json.Unmarshal(r.Raw, &body); err != nil || body.DefaultPath == nil || body.CustomizedPath == nil {
		t.Fatalf("GET %s: %s (%v); want both lists, [] when empty", target, r.Raw, err)
	}
	return *body.DefaultPath, *body.CustomizedPath
}

func TestFilePathWhitelist(t *testing.T) {
	e := newEnv(t, withServerDefault)
	for _, route := range []string{"filepath-whitelist", "filepath_whitelist"} {
		t.Run(route, func(t *testing.T) {
			other := map[string]string{"filepath-whitelist": "filepath_whitelist", "filepath_whitelist": "filepath-whitelist"}[route]
			pathA := "/v5/" + projA + "/image/sensitive/" + route
			post := func(list ...string) {
				t.Helper()
				if list == nil {
					list = []string{}
				}
				r := e.do(t, reqSpec{Method: http.MethodPost, Target: pathA, Body: jsonBody(t, map[string]any{"customized_path": list})})
				if r.Status != http.StatusOK || string(r.Raw) != "{}" {
					t.Fatalf("POST %v: %d %s", list, r.Status, r.Raw)
				}
			}
			post()
			def, custom := whitelistOf(t, e, pathA, "", "")
			if !slices.Equal(def, serverDefault) || len(custom) != 0 {
				t.Fatalf("empty list: default %q custom %q", def, custom)
			}
			// Replace semantics: the second POST is the whole list; repeats
			// are dropped, order kept. Both spellings share the list.
			post("/srv/app/.env", "/opt/*/keys", "/srv/app/.env")
			post("/srv/app/config.env", "/opt/*/keys", "/srv/app/config.env", "/home/*/.aws")
			want := []string{"/srv/app/config.env", "/opt/*/keys", "/home/*/.aws"}
			for _, p := range []string{pathA, "/v5/" + projA + "/image/sensitive/" + other} {
				if _, custom := whitelistOf(t, e, p, "", ""); !slices.Equal(custom, want) {
					t.Fatalf("GET %s custom = %q; want %q", p, custom, want)
				}
			}
			// file_path keeps the entries containing it, in both lists.
			def, custom = whitelistOf(t, e, pathA+"?file_path=opt", "", "")
			if !slices.Equal(def, []string{"/opt/*/test-keys"}) || !slices.Equal(custom, []string{"/opt/*/keys"}) {
				t.Fatalf("file_path=opt: default %q custom %q", def, custom)
			}
			// The list is project A's: project B's is untouched.
			if _, custom := whitelistOf(t, e, "/v5/"+projB+"/image/sensitive/"+route, e.akB, e.skB); len(custom) != 0 {
				t.Fatalf("project B sees %q", custom)
			}
		})
	}
}

// TestFilePathWhitelistBadInput: every refused POST answers 400 with its
// code and leaves the stored list as it was.
func TestFilePathWhitelistBadInput(t *testing.T) {
	e := newEnv(t, withServerDefault)
	path := "/v5/" + projA + "/image/sensitive/filepath-whitelist"
	kept := []string{"/kept/one", "/kept/*.pem"}
	if r := e.do(t, reqSpec{Method: http.MethodPost, Target: path, Body: jsonBody(t, map[string]any{"customized_path": kept})}); r.Status != http.StatusOK {
		t.Fatalf("seed: %d %s", r.Status, r.Raw)
	}
	tooMany := make([]string, 1001)
	for i := range tooMany {
		tooMany[i] = "/p/" + strings.Repeat("x", i%50) + string(rune('a'+i%26))
	}
	list := func(l ...string) []byte { return jsonBody(t, map[string]any{"customized_path": l}) }
	for _, tc := range []struct {
		name, target string
		body         []byte
		code         string
	}{
		{"relative path", path, list("etc/ssl"), "HSS.0001"},
		{"empty entry", path, list("/ok", ""), "HSS.0001"},
		{"whole image", path, list("/"), "HSS.0001"},
		{"whole image glob", path, list("/*"), "HSS.0001"},
		{"bad glob", path, list("/srv/[a-"), "HSS.0001"},
		{"dot-dot", path, list("/srv/../etc"), "HSS.0001"},
		{"trailing slash", path, list("/srv/"), "HSS.0001"},
		{"double slash", path, list("//srv"), "HSS.0001"},
		{"too long", path, list("/" + strings.Repeat("a", 1024)), "HSS.0001"},
		{"control character", path, list("/srv/a\nb"), "HSS.0001"},
		{"NUL", path, list("/srv/a\x00b"), "HSS.0001"},
		{"too many entries", path, list(tooMany...), "HSS.0001"},
		{"field missing", path, []byte(`{}`), "HSS.0001"},
		{"field null", path, []byte(`{"customized_path":null}`), "HSS.0001"},
		{"not a list", path, []byte(`{"customized_path":"/srv"}`), "HSS.0002"},
		{"not strings", path, []byte(`{"customized_path":[1]}`), "HSS.0002"},
		{"not JSON", path, []byte(`customized_path=/srv`), "HSS.0002"},
		{"enterprise project twice", path + "?enterprise_project_id=0&enterprise_project_id=0", list("/srv"), "HSS.0001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do(t, reqSpec{Method: http.MethodPost, Target: tc.target, Body: tc.body}), http.StatusBadRequest, tc.code)
			if _, custom := whitelistOf(t, e, path, "", ""); !slices.Equal(custom, kept) {
				t.Fatalf("a refused POST changed the list to %q", custom)
			}
		})
	}
	// A GET with a bad parameter is refused too.
	wantError(t, e.do(t, reqSpec{Target: path + "?file_path=a&file_path=b"}), http.StatusBadRequest, "HSS.0001")
}

// TestWhitelistHidesScannedSecret scans a real image (pulled from a real
// registry) holding the same AWS key pair in two files, in projects A and
// B. Project A's whitelist entry hides the finding under its path from A's
// next read, the other file's finding stays, and project B, whose scan
// result is the same stored result, still sees both.
func TestWhitelistHidesScannedSecret(t *testing.T) {
	ctx := context.Background()
	var svc *scanjob.Service
	rt := registry.NewTransport(loopbackPolicy(t))
	e := newEnv(t, allowLoopback(t), withServerDefault, func(c *hssapi.Config) {
		st := c.Store.(*sqlite.Store)
		sec, err := secrets.New(secrets.Options{})
		if err != nil {
			t.Fatal(err)
		}
		svc = newScanService(t, st, c.Box, rt, slog.New(slog.DiscardHandler), sec)
		c.Scans = newRequester(t, svc, st, 0, 0)
		c.ScanResults = st
		c.Findings = st
	})
	const creds = "aws_access_key_id = AKIAQYLPMN5HHHFPZAM2\naws_secret_access_key = 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\n"
	reg := registrytest.New(t)
	img := reg.PushImage(t, "team/app", "1", registrytest.ImageOptions{Layers: []map[string]string{{
		"srv/app/credentials":       creds,
		"home/dev/.aws/credentials": creds,
	}}})
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}

	for _, p := range []struct{ project, ak, sk string }{{projA, e.akA, e.skA}, {projB, e.akB, e.skB}} {
		add := e.do(t, reqSpec{Method: http.MethodPost, Target: "/v5/" + p.project + "/image/registries", AK: p.ak, SK: p.sk,
			Body: jsonBody(t, map[string]any{"registry_name": "wl", "registry_type": "Other", "api_version": "V2", "protocol": "http",
				"registry_addr": reg.Addr(), "registry_username": "u", "registry_password": "p"})})
		if add.Status != http.StatusOK {
			t.Fatalf("add registry: %d %s", add.Status, add.Raw)
		}
		regs, _, err := e.store.ListRegistries(ctx, inventory.RegistryFilter{ProjectID: p.project, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(regs, func(r inventory.Registry) bool { return r.Addr == reg.Addr() })
		if res, err := e.syncer.SyncRegistry(ctx, regs[i]); err != nil || res.Err != nil {
			t.Fatalf("sync: %v / %v", err, res.Err)
		}
		scan := e.do(t, reqSpec{Method: http.MethodPost, Target: "/v5/" + p.project + "/image/batch-scan", AK: p.ak, SK: p.sk,
			Body: jsonBody(t, map[string]any{"image_type": "private_image",
				"image_info_list": []map[string]string{{"namespace": "team", "image_name": "app", "image_version": "1"}}})})
		if scan.Status != http.StatusOK {
			t.Fatalf("batch-scan: %d %s", scan.Status, scan.Raw)
		}
	}
	runner := newRunner(t, e.store, slog.New(slog.DiscardHandler))
	runner.Handle(scanjob.JobKind, svc.Handle)
	if err := runner.RunUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}

	sensitive := func(project, ak, sk string) []string {
		t.Helper()
		r := e.do(t, reqSpec{AK: ak, SK: sk, Target: "/v5/" + project + "/image/" + d.Hex +
			"/sensitive?image_type=private_image&namespace=team&image_name=app&image_version=1&limit=200"})
		if r.Status != http.StatusOK {
			t.Fatalf("sensitive: %d %s", r.Status, r.Raw)
		}
		var files []string
		for _, x := range r.JSON["data_list"].([]any) {
			if f := x.(map[string]any)["file_path"].(string); !slices.Contains(files, f) {
				files = append(files, f)
			}
		}
		slices.Sort(files)
		return files
	}
	both := []string{"/home/dev/.aws/credentials", "/srv/app/credentials"}
	if got := sensitive(projA, e.akA, e.skA); !slices.Equal(got, both) {
		t.Fatalf("before the whitelist, project A sees %q; want %q", got, both)
	}
	post := e.do(t, reqSpec{Method: http.MethodPost, Target: "/v5/" + projA + "/image/sensitive/filepath-whitelist",
		Body: jsonBody(t, map[string]any{"customized_path": []string{"/home/*/.aws"}})})
	if post.Status != http.StatusOK {
		t.Fatalf("POST whitelist: %d %s", post.Status, post.Raw)
	}
	if got := sensitive(projA, e.akA, e.skA); !slices.Equal(got, []string{"/srv/app/credentials"}) {
		t.Fatalf("with /home/*/.aws whitelisted, project A sees %q", got)
	}
	if got := sensitive(projB, e.akB, e.skB); !slices.Equal(got, both) {
		t.Fatalf("project A's whitelist changed project B's findings: %q", got)
	}
}
