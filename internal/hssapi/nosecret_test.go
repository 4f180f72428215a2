package hssapi_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/netpolicy"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner/baseline"
	"github.com/openhss/openhss/internal/scanner/malware"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/scanner/secrets"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/tasks"
)

// The secrets planted in the image (and the registry's password). The
// AWS pair is letters and digits only, not AWS's documented example
// (gitleaks allows that one).
const (
	leakRootPassword = "123456"   // first of the built-in dictionary
	leakSvcPassword  = "P@ssw0rd" // further down the dictionary
	leakAWSKeyID     = "AKIAQYLPMN5HHHFPZAM2"
	leakAWSSecret    = "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"
	leakEnvSecret    = "Zx9-env-secret-Qw7pL3"
	leakRegistryPass = "reg-pass-Vb81-Hq2zK"
)

// leakCheck finds one secret in a body.
type leakCheck struct {
	what string
	re   *regexp.Regexp
}

// leakChecks: long secrets are searched as substrings. The two short
// dictionary passwords are searched as tokens (not inside a longer run of
// letters, digits or dots) so that a digest, a timestamp or a float that
// happens to contain "123456" is not taken for a leak; any way of
// returning or logging the password itself ("123456", root:123456,
// password=123456) is still caught.
func leakChecks(secrets map[string]string) []leakCheck {
	var out []leakCheck
	for what, s := range secrets {
		pat := regexp.QuoteMeta(s)
		if len(s) < 12 {
			pat = `(?:^|[^0-9A-Za-z.])` + pat + `(?:[^0-9A-Za-z.]|$)`
		}
		out = append(out, leakCheck{what, regexp.MustCompile(pat)})
	}
	slices.SortFunc(out, func(a, b leakCheck) int { return strings.Compare(a.what, b.what) })
	return out
}

func leaks(checks []leakCheck, body []byte) []string {
	var found []string
	for _, c := range checks {
		if c.re.Match(body) {
			found = append(found, c.what)
		}
	}
	return found
}

// secretImage holds every kind of secret the scanner looks at: weak
// passwords in /etc/shadow, a secret in Env (and in the history line that
// set it), an AWS key pair and a PEM private key in files.
func secretImage(t *testing.T) (img v1.Image, keyPEM, rootHash string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	rootHash = scannertest.SHA512Crypt(t, leakRootPassword)
	img = imagetest.Image(t, imagetest.Layer(t,
		imagetest.File{Name: "etc/os-release", Body: "ID=debian\nVERSION_ID=12\n"},
		imagetest.File{Name: "etc/passwd", Body: "root:x:0:0:root:/root:/bin/bash\nsvc:x:999:999::/srv:/bin/sh\n"},
		imagetest.File{Name: "etc/shadow", Mode: 0o640, Body: "root:" + rootHash + ":19700:0:90:7:::\nsvc:" + scannertest.SHA512Crypt(t, leakSvcPassword) + ":19700:0:90:7:::\n"},
		imagetest.File{Name: "root/.ssh/id_ecdsa", Mode: 0o600, Body: keyPEM},
		imagetest.File{Name: "srv/app/config.env", Body: "AWS_ACCESS_KEY_ID=" + leakAWSKeyID + "\nAWS_SECRET_ACCESS_KEY=" + leakAWSSecret + "\n"},
		imagetest.File{Name: "opt/av/eicar.com", Body: malware.EICAR},
	))
	img = imagetest.WithConfigFile(t, img, func(cf *v1.ConfigFile) {
		cf.Config.Env = []string{"PATH=/usr/bin:/bin", "DB_PASSWORD=" + leakEnvSecret}
		cf.History = []v1.History{
			{CreatedBy: "/bin/sh -c #(nop) ADD file:5d8fa1c0b2 in / "},
			{CreatedBy: "/bin/sh -c #(nop)  ENV DB_PASSWORD=" + leakEnvSecret, EmptyLayer: true},
		}
	})
	return img, keyPEM, rootHash
}

// imageHolds reads the image back from the registry and checks that each
// secret is really in it (config or layer bytes): a leak test over an
// image without its secrets would pass for nothing. The passwords are in
// it only as hashes: the weak-password findings prove those.
func imageHolds(t *testing.T, reg *registrytest.Registry, ref string, secrets map[string]string) {
	t.Helper()
	tag := reg.Repo(t, "team/risky").Tag(ref)
	img, err := remote.Image(tag, reg.RemoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	cfg, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	all.Write(cfg)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(&all, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	for what, s := range secrets {
		if !bytes.Contains(all.Bytes(), []byte(s)) {
			t.Fatalf("the pushed image does not hold the %s", what)
		}
	}
}

// getRoutes lists the GET routes hssapi.New registers, from its source:
// the test below must call each of them.
func getRoutes(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("hssapi.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`r\.handle\("GET", "([^"]+)"`).FindAllStringSubmatch(string(src), -1) {
		out = append(out, m[1])
	}
	if len(out) < 10 {
		t.Fatalf("found %d GET routes in hssapi.go: the pattern is out of step with the source", len(out))
	}
	slices.Sort(out)
	return out
}

// TestNoSecretInResponsesOrLogs scans a real image holding weak passwords,
// a secret in Env, an AWS key pair and a private key, pulled from a real
// registry that needs a password, then calls every GET route of the API
// for it and checks that no response and no log line holds any of those
// secrets, the root password hash, the registry password or the caller's
// secret key.
func TestNoSecretInResponsesOrLogs(t *testing.T) {
	ctx := context.Background()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	var svc *scanjob.Service
	// registrytest serves on 127.0.0.1, which the default policy denies.
	loopback, err := netpolicy.New(netpolicy.Options{Allow: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	rt := registry.NewTransport(loopback)
	e := newEnv(t, func(c *hssapi.Config) {
		c.NetPolicy = loopback
		st := c.Store.(*sqlite.Store)
		b, err := baseline.New(baseline.Options{Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		sec, err := secrets.New(secrets.Options{Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		mw, err := malware.New(malware.Options{Signatures: st, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		svc = newScanService(t, st, c.Box, rt, log, b, mw, sec)
		c.Scans = newRequester(t, svc, st, 0, 0)
		c.ScanResults = st
		c.Findings = st
		c.Whitelists = st
		c.Logger = log
	})

	reg := registrytest.New(t, registrytest.WithBasicAuth("robot", leakRegistryPass))
	img, keyPEM, rootHash := secretImage(t)
	if err := remote.Write(reg.Repo(t, "team/risky").Tag("1"), img, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	id := d.Hex

	secretsByName := map[string]string{
		"root password":         leakRootPassword,
		"svc password":          leakSvcPassword,
		"root password hash":    rootHash,
		"AWS access key id":     leakAWSKeyID,
		"AWS secret key":        leakAWSSecret,
		"Env secret":            leakEnvSecret,
		"registry password":     leakRegistryPass,
		"credential secret key": e.skA,
	}
	// Each base64 line of the key: the body leaks if any line does, and
	// JSON escapes the newlines between them.
	for i, line := range pemBody(keyPEM) {
		secretsByName[fmt.Sprintf("private key body line %d", i+1)] = line
	}
	checks := leakChecks(secretsByName)
	// The detector finds each secret where it is, even in JSON.
	for what, s := range secretsByName {
		b, _ := json.Marshal(map[string]string{"x": s})
		if found := leaks(checks, b); !slices.Contains(found, what) {
			t.Fatalf("the leak check does not find the %s in %s", what, b)
		}
	}
	inImage := map[string]string{}
	for what, s := range secretsByName {
		switch what {
		case "root password", "svc password", "registry password", "credential secret key":
		default:
			inImage[what] = s
		}
	}
	imageHolds(t, reg, "1", inImage)

	// Connect the registry through the API, sync it, scan through the API.
	add := e.do(t, reqSpec{Method: http.MethodPost, Target: "/v5/" + projA + "/image/registries", Body: jsonBody(t, map[string]any{
		"registry_name": "secret-test", "registry_type": "Other", "api_version": "V2", "protocol": "http",
		"registry_addr": reg.Addr(), "registry_username": "robot", "registry_password": leakRegistryPass,
	})})
	if add.Status != http.StatusOK {
		t.Fatalf("add registry: %d %s", add.Status, add.Raw)
	}
	regs, _, err := e.store.ListRegistries(ctx, inventory.RegistryFilter{ProjectID: projA, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(regs, func(r inventory.Registry) bool { return r.Addr == reg.Addr() })
	if i < 0 {
		t.Fatalf("the added registry is not stored: %+v", regs)
	}
	syncer := newSyncer(t, e.store, e.box, rt, log)
	if res, err := syncer.SyncRegistry(ctx, regs[i]); err != nil || res.Err != nil {
		t.Fatalf("sync: %v / %v", err, res.Err)
	}
	scan := e.do(t, reqSpec{Method: http.MethodPost, Target: "/v5/" + projA + "/image/batch-scan", Body: jsonBody(t, map[string]any{
		"image_type": "private_image", "image_info_list": []map[string]string{{"namespace": "team", "image_name": "risky", "image_version": "1"}},
	})})
	if scan.Status != http.StatusOK {
		t.Fatalf("batch-scan: %d %s", scan.Status, scan.Raw)
	}
	runner := newRunner(t, e.store, log)
	runner.Handle(scanjob.JobKind, svc.Handle)
	if err := runner.RunUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}

	// A sync task over the connection, for the task routes.
	if st := e.do(t, reqSpec{Method: http.MethodPost, Target: "/v5/" + projA + "/image/image-sync/tasks",
		Body: jsonBody(t, map[string]any{"sync_all_registries": true})}); st.Status != http.StatusOK {
		t.Fatalf("create sync task: %d %s", st.Status, st.Raw)
	}
	syncTasks, _, err := e.store.ListTasks(ctx, tasks.Filter{ProjectID: projA, Type: tasks.Sync, Limit: 1})
	if err != nil || len(syncTasks) != 1 {
		t.Fatalf("sync tasks: %+v, %v", syncTasks, err)
	}

	// Every GET route, with the parameters that make it answer about this
	// image. Each target names its route pattern.
	v5 := "/v5/" + projA + "/image/"
	q := "?image_type=private_image&namespace=team&image_name=risky"
	type call struct{ route, target string }
	calls := []call{
		{"/v5/{project_id}/image/swr-repository", v5 + "swr-repository" + q + "&limit=200"},
		{"/v5/{project_id}/image/registries", v5 + "registries"},
		{"/v5/{project_id}/image/registries/statistics", v5 + "registries/statistics"},
		{"/v5/{project_id}/image/registries/images", v5 + "registries/images" + q + "&limit=200"},
		{"/v5/{project_id}/image/{image_id}/vulnerabilities", v5 + id + "/vulnerabilities" + q},
		{"/v5/{project_id}/image/{image_id}/apps", v5 + id + "/apps" + q},
		{"/v5/{project_id}/image/{image_id}/sbom", v5 + id + "/sbom?format=cyclonedx"},
		{"/v5/{project_id}/image/{image_id}/sbom", v5 + id + "/sbom?format=spdx"},
		{"/v5/{project_id}/image/{image_id}/malwares", v5 + id + "/malwares" + q},
		{"/v5/{project_id}/image/{image_id}/sensitive", v5 + id + "/sensitive" + q + "&limit=200"},
		{"/v5/{project_id}/image/baseline/risk-configs", v5 + "baseline/risk-configs" + q + "&image_id=" + id},
		{"/v5/{project_id}/image/baseline/risk-configs", v5 + "baseline/risk-configs?image_type=private_image"},
		{"/v5/{project_id}/image/baseline/weak-password-users", v5 + "baseline/weak-password-users" + q + "&image_id=" + id},
		{"/v5/{project_id}/image/baseline/weak-password-users", v5 + "baseline/weak-password-users?image_type=private_image"},
		{"/v5/{project_id}/image/asset/statistics", v5 + "asset/statistics"},
		{"/v5/{project_id}/image/tasks", v5 + "tasks?type=image_scan"},
		{"/v5/{project_id}/image/tasks", v5 + "tasks?type=image_sync"},
		{"/v5/{project_id}/image/image-sync/tasks/{task_id}/registries", v5 + "image-sync/tasks/" + syncTasks[0].ID + "/registries"},
		{"/v5/{project_id}/image/scanner-policies", v5 + "scanner-policies?type=cycle&enterprise_project_id=all_granted_eps"},
		{"/v5/{project_id}/image/sensitive/filepath-whitelist", v5 + "sensitive/filepath-whitelist"},
		{"/v5/{project_id}/image/sensitive/filepath_whitelist", v5 + "sensitive/filepath_whitelist"},
		{"/v3/projects", "/v3/projects"},
		{"/healthz", "/healthz"},
		{"/metrics", "/metrics"},
	}
	for _, b := range baseline.Baselines() {
		calls = append(calls, call{"/v5/{project_id}/image/baseline/risk-configs/{check_name}/rules",
			v5 + "baseline/risk-configs/" + url.PathEscape(b.CheckName) + "/rules" + q + "&standard=" + b.Standard + "&image_id=" + id})
	}
	var covered []string
	for _, c := range calls {
		if !slices.Contains(covered, c.route) {
			covered = append(covered, c.route)
		}
	}
	slices.Sort(covered)
	if routes := getRoutes(t); !slices.Equal(covered, routes) {
		t.Fatalf("the test calls the GET routes %q, the API has %q: add the new route here", covered, routes)
	}

	bodies := map[string]result{}
	for _, c := range calls {
		r := e.do(t, reqSpec{Target: c.target, NoAuth: c.route == "/healthz" || c.route == "/metrics"})
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", c.target, r.Status, r.Raw)
		}
		if found := leaks(checks, r.Raw); len(found) > 0 {
			t.Errorf("GET %s answers with the %s:\n%s", c.target, strings.Join(found, ", "), r.Raw)
		}
		for k, vs := range r.Header {
			if found := leaks(checks, []byte(k+": "+strings.Join(vs, ", "))); len(found) > 0 {
				t.Errorf("GET %s: header %s holds the %s", c.target, k, strings.Join(found, ", "))
			}
		}
		bodies[c.target] = r
	}

	// The findings are there, masked: the responses above were about the
	// secrets, not about an image the scanner saw nothing in.
	rowsOf := func(target string) []map[string]any {
		var out []map[string]any
		for _, x := range bodies[target].JSON["data_list"].([]any) {
			out = append(out, x.(map[string]any))
		}
		return out
	}
	list := rowsOf(calls[0].target)
	if len(list) != 1 || list[0]["scan_status"] != "success" {
		t.Fatalf("image row: %s", bodies[calls[0].target].Raw)
	}
	var users []string
	for _, r := range rowsOf(v5 + "baseline/weak-password-users" + q + "&image_id=" + id) {
		users = append(users, r["user_name"].(string))
		if r["desensitized_weak_passwords"] == "" {
			t.Errorf("weak password row without a mask: %v", r)
		}
	}
	slices.Sort(users)
	if !slices.Equal(users, []string{"root", "svc"}) {
		t.Errorf("weak-password users %v, want root and svc", users)
	}
	contents := map[string]string{}
	for _, r := range rowsOf(v5 + id + "/sensitive" + q + "&limit=200") {
		contents[r["file_path"].(string)+" "+strings.SplitN(r["content"].(string), "…", 2)[0]] = r["content"].(string)
	}
	if contents["/srv/app/config.env AKIA"] != "AKIA…(20 chars)" || !strings.HasPrefix(contents["/root/.ssh/id_ecdsa -----BEGIN EC PRIVATE KEY-----"], "-----BEGIN EC PRIVATE KEY-----…(") {
		t.Errorf("sensitive findings (file, masked content) = %v, want the AWS key id and the private key, masked", contents)
	}
	failed := map[string]bool{}
	for _, b := range baseline.Baselines() {
		target := v5 + "baseline/risk-configs/" + url.PathEscape(b.CheckName) + "/rules" + q + "&standard=" + b.Standard + "&image_id=" + id
		for _, r := range rowsOf(target) {
			failed[r["check_rule_id"].(string)] = r["scan_result"] == "failed"
		}
	}
	for _, rule := range []string{baseline.RuleWeakPassword, baseline.RuleSecretInEnv, baseline.RulePrivateKey} {
		if !failed[rule] {
			t.Errorf("rule %s did not fail on the image", rule)
		}
	}

	// The logs: every component above logged into one handler at debug
	// level. They must show the work (or the check proves nothing) and
	// none of the secrets.
	out := logs.String()
	for _, want := range []string{`"msg":"scan finished"`, `"msg":"http request"`, `"msg":"baseline: weak password check"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the logs have no %s line: the logger is not wired where the secrets pass", want)
		}
	}
	if found := leaks(checks, []byte(out)); len(found) > 0 {
		t.Errorf("the logs hold the %s", strings.Join(found, ", "))
	}
	if t.Failed() && testing.Verbose() {
		t.Logf("logs:\n%s", out)
	}
}

// pemBody returns the base64 lines of a PEM block (no armour).
func pemBody(p string) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(p), "\n") {
		if !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}
