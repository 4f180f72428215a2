package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/store"
)

// run executes the root command with args and stdin, returning its output.
func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestQuickstart(t *testing.T) {
	data := t.TempDir()
	for round := 0; round < 2; round++ { // a second run reuses the data directory
		out, err := run(t, "", "quickstart", "--exit", "--data", data, "--listen", "127.0.0.1:0", "--log-level", "error")
		if err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, out)
		}
		for _, want := range []string{
			"total_num: 7", "demo/web:1.1", "demo/goapp:1.0", "demo/insecure:1.0", "tools/multiarch:2.0", "multi-arch (2)", "not scannable",
			"X-Auth-Token", "WithAk(", "WithSk(",
		} {
			if !strings.Contains(out, want) {
				t.Fatalf("round %d: output lacks %q:\n%s", round, want, out)
			}
		}
	}
	// The tour scanned its samples against real vulnerability data: the Go
	// program built with golang.org/x/text v0.3.7 has findings, the rest
	// none, and every scannable row ended in success.
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(data, "openhss.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	page, err := st.ListImages(context.Background(), inventory.Filter{ProjectID: quickstartProject, Type: inventory.PrivateImage, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range page.Images {
		ref := img.Namespace + "/" + img.Name + ":" + img.Tag
		switch {
		case !img.Scannable:
			if img.ScanStatus != inventory.Unscan {
				t.Errorf("%s: not scannable but %s", ref, img.ScanStatus)
			}
		case img.ScanStatus != inventory.ScanSuccess:
			t.Errorf("%s: scan %s %s", ref, img.ScanStatus, img.ScanFailedDesc)
		case ref == "demo/goapp:1.0" && img.VulNum == 0:
			t.Errorf("%s: no vulnerabilities found in a program linking golang.org/x/text v0.3.7", ref)
		case ref != "demo/goapp:1.0" && img.VulNum != 0:
			t.Errorf("%s: %d vulnerabilities in an image without software", ref, img.VulNum)
		case ref == "demo/insecure:1.0" && (img.MaliciousFileNum == 0 || img.UnsafeSettingNum < 3):
			t.Errorf("%s: malicious=%d unsafe=%d, want the EICAR file and the weak root password found",
				ref, img.MaliciousFileNum, img.UnsafeSettingNum)
		case ref != "demo/insecure:1.0" && img.MaliciousFileNum != 0:
			t.Errorf("%s: %d malicious files in a clean sample", ref, img.MaliciousFileNum)
		}
	}
}

// TestCLIFlow drives the stateful commands on one data directory the way an
// operator would: credential, user, registry, sync --wait, images.
func TestCLIFlow(t *testing.T) {
	data := t.TempDir()
	reg := registrytest.New(t, registrytest.WithBasicAuth("robot", "s3cret-pw"))
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	reg.PushImage(t, "team/api", "1.0", registrytest.ImageOptions{Created: t0})
	reg.PushImage(t, "team/api", "1.1", registrytest.ImageOptions{Created: t0.Add(time.Hour), Layers: []map[string]string{{"v": "1.1"}}})
	reg.PushHelmChart(t, "charts/web", "0.1.0")
	const project = "cliproject"
	g := []string{"--data", data, "--log-level", "error"}

	out, err := run(t, "", append([]string{"credential", "create", "--project", project, "--enterprise-projects", "all", "--json"}, g...)...)
	if err != nil {
		t.Fatal(err)
	}
	var cred map[string]string
	if err := json.Unmarshal([]byte(out), &cred); err != nil || len(cred["access_key"]) != 20 || len(cred["secret_key"]) != 40 {
		t.Fatalf("credential create: %q %v", out, err)
	}
	out, err = run(t, "", append([]string{"credential", "list"}, g...)...)
	if err != nil || !strings.Contains(out, cred["access_key"]) || strings.Contains(out, cred["secret_key"]) {
		t.Fatalf("credential list: %v\n%s", err, out)
	}
	if _, err := run(t, "password-123\n", append([]string{"user", "create", "--name", "ops", "--project", project, "--password-stdin"}, g...)...); err != nil {
		t.Fatal(err)
	}
	// A wrong registry password is stored, and the sync records the failure.
	if _, err := run(t, "wrong\n", append([]string{"registry", "add", "--registry-allow", loopbackAllow, "--project", project, "--name", "bad", "--addr", reg.Addr(),
		"--protocol", "http", "--namespace", "charts", "--username", "robot", "--password-stdin"}, g...)...); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "s3cret-pw\n", append([]string{"registry", "add", "--registry-allow", loopbackAllow, "--project", project, "--name", "good", "--addr", reg.Addr(),
		"--protocol", "http", "--namespace", "team", "--username", "robot", "--password-stdin"}, g...)...); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "", append([]string{"registry", "add", "--registry-allow", loopbackAllow, "--project", project, "--name", "dup", "--addr", reg.Addr(),
		"--protocol", "http", "--namespace", "team"}, g...)...); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate registry: %v", err)
	}
	if _, err := run(t, "", append([]string{"registry", "add", "--registry-allow", loopbackAllow, "--project", project, "--name", "x", "--addr", "http://x/y"}, g...)...); err == nil {
		t.Fatal("registry add accepted a URL as address")
	}

	// A sync requested by a process that then exits (as if it crashed
	// before any worker ran) is a durable job: the next --wait joins and
	// finishes it.
	out, err = run(t, "", append([]string{"sync", "--registry-allow", loopbackAllow, "--project", project}, g...)...)
	if err != nil || !strings.HasPrefix(out, "queued sync job 1") {
		t.Fatalf("sync: %v %q", err, out)
	}
	out, err = run(t, "", append([]string{"sync", "--registry-allow", loopbackAllow, "--project", project, "--wait"}, g...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "good ("+reg.Addr()+"): success, 2 images") || !strings.Contains(out, "bad ("+reg.Addr()+"): fail, 0 images") {
		t.Fatalf("sync --wait:\n%s", out)
	}

	out, err = run(t, "", append([]string{"images", "--project", project, "--image-name", "api", "--latest-version", "true", "--json"}, g...)...)
	if err != nil {
		t.Fatal(err)
	}
	// --json is exactly the API's response for the same query.
	st, err := store.Open(context.Background(), "sqlite://"+data+"/openhss.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want, err := hssapi.ListImagesJSON(context.Background(), st, project,
		url.Values{"image_type": {"private_image"}, "image_name": {"api"}, "latest_version": {"true"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != string(want) {
		t.Fatalf("images --json = %s\nAPI = %s", out, want)
	}
	var resp struct {
		TotalNum int `json:"total_num"`
		DataList []struct {
			ImageVersion string `json:"image_version"`
		} `json:"data_list"`
	}
	if err := json.Unmarshal(want, &resp); err != nil || resp.TotalNum != 1 || resp.DataList[0].ImageVersion != "1.1" {
		t.Fatalf("latest api image: %s (%v)", want, err)
	}
	if _, err := run(t, "", append([]string{"images", "--project", project, "--limit", "0"}, g...)...); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("images --limit 0: %v", err)
	}

	// A local image from a docker save tarball is a local_image row.
	tarPath := filepath.Join(t.TempDir(), "tool.tar")
	img := registrytest.Image(t, registrytest.ImageOptions{Created: t0, Layers: []map[string]string{{"bin/tool": "#!/bin/sh\n"}}})
	tag, err := name.NewTag("example.com/local/tool:3.2")
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(tarPath, tag, img); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, "", append([]string{"images", "import", "--project", project, tarPath}, g...)...)
	if err != nil || !strings.Contains(out, "imported local/tool:3.2") {
		t.Fatalf("images import: %v %q", err, out)
	}
	out, err = run(t, "", append([]string{"images", "--project", project, "--type", "local_image"}, g...)...)
	if err != nil || !strings.Contains(out, "local/tool:3.2") || !strings.Contains(out, "total_num: 1") {
		t.Fatalf("images --type local_image: %v\n%s", err, out)
	}

	out, err = run(t, "", append([]string{"credential", "revoke", cred["access_key"]}, g...)...)
	if err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %v %s", err, out)
	}
}

// TestMalwareImport reads a public-feed style hash list: valid hashes are
// stored once, bad lines are counted and skipped, a second import adds none.
func TestMalwareImport(t *testing.T) {
	data := t.TempDir()
	list := filepath.Join(t.TempDir(), "feed.txt")
	feed := "# sha256 feed\n" +
		"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f eicar\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855,empty-file\n" +
		"not-a-hash\n\n"
	if err := os.WriteFile(list, []byte(feed), 0o644); err != nil {
		t.Fatal(err)
	}
	g := []string{"--data", data, "--log-level", "error"}
	out, err := run(t, "", append([]string{"malware", "import", list}, g...)...)
	if err != nil || !strings.Contains(out, "2 signatures read, 2 new, 1 invalid lines skipped") {
		t.Fatalf("first import: %v\n%s", err, out)
	}
	out, err = run(t, "", append([]string{"malware", "import", list, "--json"}, g...)...)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Imports []struct {
			Read, Invalid, Added int
		} `json:"imports"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Imports) != 1 ||
		res.Imports[0].Read != 2 || res.Imports[0].Added != 0 || res.Imports[0].Invalid != 1 {
		t.Fatalf("second import --json: %v\n%s", err, out)
	}
	if _, err := run(t, "", append([]string{"malware", "import", filepath.Join(t.TempDir(), "missing.txt")}, g...)...); err == nil {
		t.Fatal("import of a missing file succeeded")
	}
}
