package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/console"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/osvtestdata"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/vulndb"
)

var secretField = regexp.MustCompile(`id="new-secret-key">([^<]+)<`)

func (e *env) credentials(project string) []inventory.Credential {
	e.t.Helper()
	creds, err := e.iam.ListCredentials(context.Background(), project)
	if err != nil {
		e.t.Fatal(err)
	}
	return creds
}

func (e *env) whitelist(project string) []string {
	e.t.Helper()
	list, err := e.st.SensitivePathWhitelist(context.Background(), project)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

func (e *env) createCredential(project string) string {
	e.t.Helper()
	ak, _, err := e.iam.CreateCredential(context.Background(), project, inventory.Grant{All: true}, "stored")
	if err != nil {
		e.t.Fatal(err)
	}
	return ak
}

// TestSettingsFormsNeedCSRF: every Settings form without its session's
// token answers 403 and changes neither credentials nor the whitelist.
func TestSettingsFormsNeedCSRF(t *testing.T) {
	e := newEnv(t)
	alice, _ := e.signIn("alice")
	_, bobCSRF := e.signIn("bob")
	ak := e.createCredential(projA)
	if err := e.st.SetSensitivePathWhitelist(context.Background(), projA, []string{"/etc/keep"}); err != nil {
		t.Fatal(err)
	}
	beforeCreds, beforeList := e.credentials(""), e.whitelist(projA)
	form := url.Values{"customized_path": {"/srv/new"}, "description": {"x"}}
	e.checkCSRFRefused(alice, bobCSRF, form, "/settings/whitelist", "/settings/credentials/create", "/settings/credentials/"+ak+"/delete")
	if after := e.credentials(""); !reflect.DeepEqual(beforeCreds, after) {
		t.Errorf("refused forms changed the credentials:\n%+v\n%+v", beforeCreds, after)
	}
	if after := e.whitelist(projA); !reflect.DeepEqual(beforeList, after) {
		t.Errorf("refused forms changed the whitelist: %q, want %q", after, beforeList)
	}
}

// TestCredentialSecretShownOnce: the answer to Create shows the secret key
// (not cached), the credential is the session's project's with its grant,
// and no page shows the secret again; Delete revokes it.
func TestCredentialSecretShownOnce(t *testing.T) {
	e := newEnv(t)
	eve, csrf := e.signIn("eve") // granted ep1 only
	resp, body := e.do("POST", "/settings/credentials/create", url.Values{"csrf": {csrf}, "description": {"ci <pipeline>"}}, eve)
	m := secretField.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("create: %s, no secret key on the page:\n%s", resp.Status, body)
	}
	secret := m[1]
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("create answer Cache-Control %q, want no-store", cc)
	}
	creds := e.credentials(projA)
	if len(creds) != 1 || creds[0].Grant.All || !reflect.DeepEqual(creds[0].Grant.IDs, []string{"ep1"}) || creds[0].Description != "ci <pipeline>" {
		t.Fatalf("credentials of %s: %+v, want one with eve's grant [ep1]", projA, creds)
	}
	if len(e.credentials(projB)) != 0 {
		t.Errorf("a credential was created in %s", projB)
	}
	ak := creds[0].AccessKey
	if !strings.Contains(body, ak) {
		t.Errorf("create answer does not show the access key %s", ak)
	}
	for _, p := range []string{"/settings", "/", "/images", "/tasks", "/registries"} {
		resp, body := e.do("GET", p, nil, eve)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", p, resp.Status)
		}
		if strings.Contains(body, secret) {
			t.Errorf("GET %s shows the secret key again", p)
		}
		if p == "/settings" && (!strings.Contains(body, ak) || !strings.Contains(body, "ci &lt;pipeline&gt;")) {
			t.Errorf("/settings does not list %s with its description:\n%s", ak, body)
		}
	}
	resp, body = e.do("POST", "/settings/credentials/"+ak+"/delete", url.Values{"csrf": {csrf}}, eve)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("delete: %s\n%s", resp.Status, body)
	}
	if creds := e.credentials(projA); len(creds) != 1 || creds[0].RevokedAt == 0 {
		t.Errorf("after delete: %+v, want it revoked", creds)
	}
}

// TestSettingsCredentialOtherProject: another project's access key, or an
// unknown one, answers 404 and stays active.
func TestSettingsCredentialOtherProject(t *testing.T) {
	e := newEnv(t)
	alice, csrf := e.signIn("alice")
	bobs := e.createCredential(projB)
	before := e.credentials("")
	for _, ak := range []string{bobs, "NOSUCHKEY00000000000"} {
		resp, body := e.do("POST", "/settings/credentials/"+ak+"/delete", url.Values{"csrf": {csrf}}, alice)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("delete %s as alice: %s, want 404\n%s", ak, resp.Status, body)
		}
	}
	if after := e.credentials(""); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused delete changed the credentials:\n%+v\n%+v", before, after)
	}
	_, body := e.do("GET", "/settings", nil, alice)
	if strings.Contains(body, bobs) {
		t.Errorf("alice's Settings lists %s's credential %s", projB, bobs)
	}
}

// TestSettingsWhitelist: the form replaces the project's own list through
// the API's check; a refused list shows the API's message and stores
// nothing; the other project's list is untouched.
func TestSettingsWhitelist(t *testing.T) {
	e := newEnv(t)
	alice, csrf := e.signIn("alice")
	if err := e.st.SetSensitivePathWhitelist(context.Background(), projB, []string{"/bob"}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.do("POST", "/settings/whitelist", url.Values{"csrf": {csrf}, "customized_path": {"/etc/ssl/private\r\n\r\n/opt/*/keys\n/etc/ssl/private\n"}}, alice)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("set: %s\n%s", resp.Status, body)
	}
	want := []string{"/etc/ssl/private", "/opt/*/keys"}
	if got := e.whitelist(projA); !reflect.DeepEqual(got, want) {
		t.Fatalf("stored %q, want %q", got, want)
	}
	for _, tc := range []struct{ in, msg string }{
		{"/ok\nrelative/path", "invalid parameter customized_path[1]: must be an absolute path"},
		{"/a/../b", "invalid parameter customized_path[0]: must be a clean path"},
		{"/", "invalid parameter customized_path[0]: covers the whole image"},
		{"/srv/[x", "invalid parameter customized_path[0]: is not a valid glob"},
		{strings.Repeat("/a\n", 1001), "invalid parameter customized_path: has 1001 entries"},
	} {
		resp, body := e.do("POST", "/settings/whitelist", url.Values{"csrf": {csrf}, "customized_path": {tc.in}}, alice)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tc.msg) {
			t.Errorf("set %.20q: %s, want 400 with %q", tc.in, resp.Status, tc.msg)
		}
		if got := e.whitelist(projA); !reflect.DeepEqual(got, want) {
			t.Errorf("a refused list %.20q stored %q", tc.in, got)
		}
	}
	if got := e.whitelist(projB); !reflect.DeepEqual(got, []string{"/bob"}) {
		t.Errorf("%s's list became %q", projB, got)
	}
	resp, _ = e.do("POST", "/settings/whitelist", url.Values{"csrf": {csrf}, "customized_path": {""}}, alice)
	if resp.StatusCode != http.StatusOK || len(e.whitelist(projA)) != 0 {
		t.Errorf("an empty form: %s, list %q, want it cleared", resp.Status, e.whitelist(projA))
	}
}

// TestSettingsVulnData: an empty vulnerability database is warned about.
func TestSettingsVulnData(t *testing.T) {
	e := newEnv(t)
	alice, _ := e.signIn("alice")
	resp, body := e.do("GET", "/settings", nil, alice)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="vuln-warning"`) || !strings.Contains(body, "No vulnerability data is imported") {
		t.Errorf("GET /settings on an empty database: %s, want the empty-data warning\n%s", resp.Status, body)
	}
}

// TestSettingsVulnDataAge: after a real import the page lists its sources
// and the last import without a warning; the same data read 8 days later is
// warned about as older than 7 days.
func TestSettingsVulnDataAge(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	db, err := vulndb.New(vulndb.Options{Store: e.st, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Import(ctx, osvtestdata.Dir(t, "alpine")); err != nil {
		t.Fatal(err)
	}
	st, err := e.st.VulnStatus(ctx)
	if err != nil || st.Records == 0 || len(st.Ecosystems) == 0 || st.LastImport == nil {
		t.Fatalf("status after import: %+v, %v", st, err)
	}
	alice, _ := e.signIn("alice")
	resp, body := e.do("GET", "/settings", nil, alice)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `id="vuln-warning"`) {
		t.Errorf("fresh data: %s, want no warning\n%s", resp.Status, body)
	}
	for _, want := range []string{fmt.Sprintf("%d records", st.Records), "<td>" + st.Ecosystems[0].Ecosystem + "</td>", "Last import: ", " ago) from "} {
		if !strings.Contains(body, want) {
			t.Errorf("fresh data: the page lacks %q", want)
		}
	}

	// The same store and sessions, read by a console whose clock is 8 days on.
	lister, err := registry.NewLister(registry.ListerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	later, err := console.New(console.Options{Store: e.st, Auth: e.iam, Scans: e.scans, Tasks: e.starter, VulnUpdate: e.updater, Box: e.box, Registries: lister,
		Fallback: http.NotFoundHandler(), Now: func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(later)
	t.Cleanup(srv.Close)
	e2 := *e
	e2.url = srv.URL
	resp, body = e2.do("GET", "/settings", nil, alice)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="vuln-warning"`) || !strings.Contains(body, "last imported 8 days ago") {
		t.Errorf("8 days later: %s, want the stale-data warning\n%s", resp.Status, body)
	}
}
