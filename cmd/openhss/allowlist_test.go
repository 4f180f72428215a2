package main

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/store"
)

// --sensitive-allowlist reaches the secrets analyzer of the scan workers:
// the same image scanned without it reports both tokens, with it only the
// one outside the allowlisted paths.
func TestSensitiveAllowlistFlag(t *testing.T) {
	data := t.TempDir()
	reg := registrytest.New(t)
	// Generated per run: no credential-shaped string in the source.
	token := func() string { return "ghp_" + strings.ReplaceAll(rand.Text()+rand.Text(), "=", "")[:36] }
	img := reg.PushImage(t, "team/app", "1.0", registrytest.ImageOptions{Layers: []map[string]string{{
		"opt/vendor/keys/app.env": "GITHUB_TOKEN=" + token() + "\n",
		"srv/app/app.env":         "GITHUB_TOKEN=" + token() + "\n",
	}}})
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	const project = "allowproject"
	g := []string{"--data", data, "--log-level", "error"}
	if _, err := run(t, "", append([]string{"registry", "add", "--registry-allow", loopbackAllow, "--project", project, "--name", "r", "--addr", reg.Addr(),
		"--protocol", "http", "--namespace", "team"}, g...)...); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "", append([]string{"sync", "--registry-allow", loopbackAllow, "--project", project, "--wait"}, g...)...); err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}

	secretPaths := func(extra ...string) []string {
		t.Helper()
		args := append([]string{"scan", "--registry-allow", loopbackAllow, "--project", project, "team/app:1.0", "--wait"}, extra...)
		out, err := run(t, "", append(args, g...)...)
		if err != nil || !strings.Contains(out, "success") {
			t.Fatalf("scan %v: %v\n%s", extra, err, out)
		}
		st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(data, "openhss.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		an, err := st.GetAnalysis(context.Background(), digest.String())
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, s := range an.Secrets {
			paths = append(paths, s.FilePath)
		}
		slices.Sort(paths)
		return slices.Compact(paths)
	}

	if got, want := secretPaths(), []string{"/opt/vendor/keys/app.env", "/srv/app/app.env"}; !slices.Equal(got, want) {
		t.Fatalf("without the allowlist: secrets in %v, want %v", got, want)
	}
	// A glob in one value, a plain path in another, both kept.
	if got, want := secretPaths("--sensitive-allowlist", "/opt/*/keys,/etc/ssl/private", "--sensitive-allowlist", "/root/.ssh"),
		[]string{"/srv/app/app.env"}; !slices.Equal(got, want) {
		t.Fatalf("with the allowlist: secrets in %v, want %v", got, want)
	}
}

// A bad allowlist entry stops serve and scan before they open anything.
func TestSensitiveAllowlistFlagInvalid(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--sensitive-allowlist", "/srv/["}, `allowlist entry "/srv/[": syntax error in pattern`},
		{[]string{"serve", "--sensitive-allowlist", "/etc/ssl/private,/"}, `allowlist entry "/" covers the whole image`},
		{[]string{"scan", "--project", "p", "--all", "--sensitive-allowlist", ".."}, `allowlist entry ".." covers the whole image`},
	} {
		data := filepath.Join(t.TempDir(), "data")
		_, err := run(t, "", append(tc.args, "--data", data)...)
		if err == nil || !strings.Contains(err.Error(), "--sensitive-allowlist") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one naming the flag and %q", tc.args, err, tc.want)
		}
		if _, statErr := os.Stat(data); statErr == nil {
			t.Errorf("%v: the data directory was created", tc.args)
		}
	}
}
