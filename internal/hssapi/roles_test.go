package hssapi_test

import (
	"context"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

// TestViewerTokenChangesNothing: a viewer's token (docs/security.md, Web
// console) reads every route and is refused every one that changes the
// project, 403 HSS.0013 with nothing changed; an operator's token and an
// AK/SK credential are not refused by role.
func TestViewerTokenChangesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	token := func(name string, role inventory.Role) string {
		t.Helper()
		if _, err := e.iam.CreateUserWithRole(ctx, projA, name, "correct-horse", inventory.Grant{All: true}, role); err != nil {
			t.Fatal(err)
		}
		tk, _, _, err := e.iam.SignIn(ctx, name, "correct-horse")
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	viewer, operator := token("vic", inventory.RoleViewer), token("olga", inventory.RoleOperator)
	v5 := "/v5/" + projA + "/image/"
	if r := e.do(t, reqSpec{Target: v5 + "swr-repository?image_type=private_image", Token: viewer}); r.Status != 200 {
		t.Fatalf("viewer list: %d %s", r.Status, r.Raw)
	}
	writes := []struct{ method, path, body string }{
		{"POST", "registries", `{"registry_name":"x","registry_type":"Harbor","protocol":"https","registry_addr":"registry.example.com"}`},
		{"POST", "registries/batch-delete", `{"ids":[1]}`},
		{"PUT", "registries/1", `{"protocol":"https"}`},
		{"DELETE", "registries/1", ``},
		{"POST", "synchronize", `{"image_type":"private_image"}`},
		{"POST", "batch-scan", `{"image_type":"private_image","operate_all":true}`},
		{"POST", "image-sync/tasks", `{}`},
		{"POST", "image-scan/tasks", `{}`},
		{"PUT", "image-scan/tasks/x/stop", ``},
		{"PUT", "scanner-policies", `{}`},
		{"POST", "sensitive/filepath-whitelist", `{"customized_path":["/opt/x"]}`},
		{"POST", "sensitive/filepath_whitelist", `{"customized_path":["/opt/x"]}`},
	}
	before := e.snapshot(t)
	for _, w := range writes {
		wantError(t, e.do(t, reqSpec{Method: w.method, Target: v5 + w.path, Body: []byte(w.body), Token: viewer}), 403, "HSS.0013")
	}
	if after := e.snapshot(t); after != before {
		t.Fatalf("a viewer's refused requests changed the project:\n%s\nwas\n%s", after, before)
	}
	if wl, err := e.store.SensitivePathWhitelist(ctx, projA); err != nil || len(wl) != 0 {
		t.Fatalf("a viewer's refused request set the whitelist: %v, %v", wl, err)
	}
	for _, c := range []reqSpec{{Token: operator}, {}} { // the operator's token, then project A's AK/SK
		c.Method, c.Target, c.Body = "POST", v5+"sensitive/filepath-whitelist", []byte(`{"customized_path":["/opt/x"]}`)
		if r := e.do(t, c); r.Status == 403 {
			t.Errorf("whitelist by %+v refused: %s", c, r.Raw)
		}
	}
}
