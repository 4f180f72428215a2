package main

import (
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/registry/registrytest"
)

// loopbackAllow lets the commands reach registrytest's registries, which
// listen on 127.0.0.1: the default network policy denies loopback.
const loopbackAllow = "127.0.0.1/32"

// The registry commands run under the network policy: a loopback registry
// is refused by default (registry add refuses the literal, sync records
// the denial), reachable with --registry-allow or OPENHSS_REGISTRY_ALLOW,
// and refused again by --registry-deny, which wins. A bad entry stops the
// command before it does anything.
func TestRegistryNetworkPolicyFlags(t *testing.T) {
	data := t.TempDir()
	reg := registrytest.New(t)
	reg.PushImage(t, "team/app", "1.0", registrytest.ImageOptions{})
	const project = "netproject"
	g := []string{"--data", data, "--log-level", "error"}
	add := []string{"registry", "add", "--project", project, "--name", "r", "--addr", reg.Addr(), "--protocol", "http"}

	if _, err := run(t, "", append(add, g...)...); err == nil || !strings.Contains(err.Error(), "network policy") {
		t.Fatalf("registry add of a loopback address: %v, want a network policy error", err)
	}
	for _, bad := range [][]string{
		{"--registry-allow", "10.0.0.0/33"}, {"--registry-allow", "127.1"}, {"--registry-deny", "http://x"},
		{"--registry-credential-hosts", "a b"},
	} {
		for _, cmd := range [][]string{add, {"sync", "--project", project, "--wait"}, {"serve", "--listen", "127.0.0.1:0"},
			{"scan", "--project", project, "--all", "--wait"}, {"quickstart", "--exit", "--listen", "127.0.0.1:0"}} {
			args := append(append(append([]string{}, cmd...), bad...), g...)
			if _, err := run(t, "", args...); err == nil {
				t.Fatalf("%v: accepted", args)
			}
		}
	}
	if _, err := run(t, "", append(append(add, "--registry-allow", loopbackAllow), g...)...); err != nil {
		t.Fatalf("registry add with --registry-allow: %v", err)
	}

	sync := func(extra ...string) string {
		t.Helper()
		out, err := run(t, "", append(append([]string{"sync", "--project", project, "--wait"}, extra...), g...)...)
		if err != nil {
			t.Fatalf("sync %v: %v\n%s", extra, err, out)
		}
		return out
	}
	if out := sync(); !strings.Contains(out, "fail, 0 images: REQUEST_API_ERROR: denied by network policy") {
		t.Fatalf("sync without an allowance:\n%s", out)
	}
	if out := sync("--registry-allow", "10.0.0.0/8,"+loopbackAllow); !strings.Contains(out, "success, 1 images") {
		t.Fatalf("sync --registry-allow:\n%s", out)
	}
	if out := sync("--registry-allow", loopbackAllow, "--registry-deny", "127.0.0.0/8"); !strings.Contains(out, "denied by network policy") {
		t.Fatalf("deny must win over allow:\n%s", out)
	}
	t.Setenv("OPENHSS_REGISTRY_ALLOW", "127.0.0.1")
	if out := sync(); !strings.Contains(out, "success, 1 images") {
		t.Fatalf("sync with OPENHSS_REGISTRY_ALLOW:\n%s", out)
	}
	t.Setenv("OPENHSS_REGISTRY_DENY", "*.example,127.0.0.1")
	if out := sync(); !strings.Contains(out, "denied by network policy") {
		t.Fatalf("sync with OPENHSS_REGISTRY_DENY:\n%s", out)
	}
	t.Setenv("OPENHSS_REGISTRY_DENY", "10.0.0.0/33")
	if _, err := run(t, "", append([]string{"sync", "--project", project, "--wait"}, g...)...); err == nil {
		t.Fatal("a bad OPENHSS_REGISTRY_DENY was accepted")
	}
}
