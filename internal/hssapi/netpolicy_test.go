package hssapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/netpolicy"
)

// deniedSpellings are addresses the default network policy denies, in
// every spelling a tenant might try.
var deniedSpellings = []string{
	"127.0.0.1", "127.0.0.1:5000", "127.0.0.2:80", "127.1", "127.1:5000", "2130706433", "0x7f000001", "0X7F000001:443",
	"0177.0.0.1", "0177.0.0.1:5000", "127.000.000.001", "[::ffff:127.0.0.1]", "[::ffff:127.0.0.1]:5000", "[::ffff:7f00:1]",
	"[::1]", "[::1]:5000", "[0:0:0:0:0:0:0:1]", "0.0.0.0", "0.0.0.0:5000", "0", "[::]", "169.254.169.254",
	"169.254.169.254:80", "[::ffff:169.254.169.254]", "0xa9fea9fe", "[fd00:ec2::254]", "[fd00:ec2::254]:80",
	"[fe80::1]", "224.0.0.1", "[ff02::1]", "255.255.255.255", "[::127.0.0.1]", "[64:ff9b::a9fe:a9fe]",
}

// POST and PUT refuse a registry_addr that is an IP literal in a denied
// range, whatever its spelling, with 400 HSS.0001, and store nothing.
func TestRegistryAddrDeniedLiterals(t *testing.T) {
	e := newEnv(t)
	regPath := "/v5/" + projA + "/image/registries"
	r1 := strconv.FormatInt(e.regs["r1"].ID, 10)
	before := e.snapshot(t)
	for _, addr := range deniedSpellings {
		post := e.do(t, reqSpec{Method: http.MethodPost, Target: regPath, Body: jsonBody(t, map[string]any{
			"registry_name": "ssrf", "registry_type": "Other", "api_version": "V2", "protocol": "http",
			"registry_addr": addr,
		})})
		if post.Status != http.StatusBadRequest || post.JSON["error_code"] != "HSS.0001" {
			t.Errorf("POST %q: %d %s, want 400 HSS.0001", addr, post.Status, post.Raw)
		}
		put := e.do(t, reqSpec{Method: http.MethodPut, Target: regPath + "/" + r1, Body: jsonBody(t, map[string]any{
			"registry_addr": addr,
		})})
		if put.Status != http.StatusBadRequest || put.JSON["error_code"] != "HSS.0001" {
			t.Errorf("PUT %q: %d %s, want 400 HSS.0001", addr, put.Status, put.Raw)
		}
	}
	if after := e.snapshot(t); after != before {
		t.Error("refused requests changed the store")
	}
	// Private and public addresses, and names, are accepted.
	for i, addr := range []string{"10.0.0.5:5000", "192.168.1.2", "[fd12::1]:443", "registry.example.com", "localhost:5000"} {
		post := e.do(t, reqSpec{Method: http.MethodPost, Target: regPath, Body: jsonBody(t, map[string]any{
			"registry_name": "ok" + strconv.Itoa(i), "registry_type": "Other", "api_version": "V2", "protocol": "http",
			"registry_addr": addr,
		})})
		if post.Status != http.StatusOK {
			t.Errorf("POST %q: %d %s, want 200", addr, post.Status, post.Raw)
		}
	}
}

// The operator's allowance lifts the default deny for what it covers, and
// an operator deny refuses private addresses too.
func TestRegistryAddrOperatorPolicy(t *testing.T) {
	p, err := netpolicy.New(netpolicy.Options{Allow: []string{"127.0.0.1/32"}, Deny: []string{"10.9.0.0/16"}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *hssapi.Config) { c.NetPolicy = p })
	regPath := "/v5/" + projA + "/image/registries"
	for addr, want := range map[string]int{
		"127.0.0.1:5000": 200, "[::ffff:127.0.0.1]:5001": 200, "127.0.0.2:5000": 400, "127.1:5002": 400,
		"10.9.3.4": 400, "10.8.3.4": 200, "169.254.169.254": 400,
	} {
		post := e.do(t, reqSpec{Method: http.MethodPost, Target: regPath, Body: jsonBody(t, map[string]any{
			"registry_name": "r-" + addr, "registry_type": "Other", "api_version": "V2", "protocol": "http",
			"registry_addr": addr,
		})})
		if post.Status != want {
			t.Errorf("POST %q: %d %s, want %d", addr, post.Status, post.Raw, want)
		}
	}
	regs, _, err := e.store.ListRegistries(t.Context(), inventory.RegistryFilter{ProjectID: projA, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range regs {
		if r.Addr == "127.0.0.2:5000" || r.Addr == "10.9.3.4" {
			t.Errorf("denied address stored: %+v", r)
		}
	}
}
