package netpolicy_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/openhss/openhss/internal/netpolicy"
)

func mustNew(t *testing.T, o netpolicy.Options) *netpolicy.Policy {
	t.Helper()
	p, err := netpolicy.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefault(t *testing.T) {
	p := netpolicy.Default()
	for _, c := range []struct {
		host    string
		ip      string
		allowed bool
	}{
		{"", "127.0.0.1", false},
		{"", "127.0.0.2", false}, // every loopback alias
		{"", "::1", false},
		{"", "::ffff:127.0.0.1", false},
		{"", "169.254.169.254", false},
		{"", "::ffff:169.254.169.254", false},
		{"", "fd00:ec2::254", false},
		{"", "fe80::1", false},
		{"", "0.0.0.0", false},
		{"", "::", false},
		{"", "::ffff:0.0.0.0", false},
		{"", "224.0.0.1", false},
		{"", "ff02::1", false},
		{"", "255.255.255.255", false},
		{"", "::127.0.0.1", false},        // IPv4-compatible
		{"", "64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{"", "10.0.0.1", true},            // private: allowed by default
		{"", "192.168.1.10", true},        // private
		{"", "172.16.0.5", true},          // private
		{"", "fd12:3456::1", true},        // unique local
		{"", "93.184.216.34", true},       // public
		{"", "64:ff9b::5db8:d822", true},  // NAT64 of a public address
		{"localhost", "127.0.0.1", false}, // a name is judged by its address
		{"[::1]", "", false},              // a literal without a resolved address
		{"169.254.169.254", "", false},    // idem
		{"registry.example", "", true},    // a name is only checked once resolved
		{"registry.example", "10.1.2.3", true},
	} {
		var ip netip.Addr
		if c.ip != "" {
			ip = netip.MustParseAddr(c.ip)
		}
		err := p.Check(c.host, ip)
		if (err == nil) != c.allowed {
			t.Errorf("Check(%q, %s) = %v, want allowed=%v", c.host, c.ip, err, c.allowed)
		}
		if err != nil && !errors.Is(err, netpolicy.ErrDenied) {
			t.Errorf("Check(%q, %s) = %v, not ErrDenied", c.host, c.ip, err)
		}
	}
}

// Allow lifts the default deny; Deny wins over Allow; globs apply to names.
func TestOperatorRules(t *testing.T) {
	p := mustNew(t, netpolicy.Options{
		Allow: []string{"127.0.0.1/32", "registry.local", "*.lab.example"},
		Deny:  []string{"10.9.0.0/16", "*.internal", "evil.lab.example", "::ffff:10.8.0.1"},
	})
	for _, c := range []struct {
		host    string
		ip      string
		allowed bool
	}{
		{"", "127.0.0.1", true},
		{"", "::ffff:127.0.0.1", true},
		{"", "127.0.0.2", false}, // only the allowed address
		{"registry.local", "127.0.0.5", true},
		{"Registry.Local.", "169.254.169.254", true}, // the operator trusts the name
		{"x.lab.example", "127.0.0.9", true},
		{"evil.lab.example", "93.184.216.34", false}, // deny glob beats allow glob
		{"git.internal", "", false},                  // deny glob before resolution
		{"GIT.INTERNAL", "10.0.0.1", false},
		{"", "10.9.1.1", false},
		{"registry.local", "10.9.1.1", false}, // deny CIDR beats allow glob
		{"", "10.8.0.1", false},               // mapped deny entry
		{"", "10.10.0.1", true},
	} {
		var ip netip.Addr
		if c.ip != "" {
			ip = netip.MustParseAddr(c.ip)
		}
		if err := p.Check(c.host, ip); (err == nil) != c.allowed {
			t.Errorf("Check(%q, %s) = %v, want allowed=%v", c.host, c.ip, err, c.allowed)
		}
	}
}

func TestBadEntries(t *testing.T) {
	for _, bad := range []string{"", "10.0.0.0/33", "10.0.0.0/x", "127.1", "2130706433", "0x7f000001", "0177.0.0.1",
		"http://x", "host:80", "a b", "[a", "fe80::1%eth0", "fe80::/10%eth0", "ho/st"} {
		if _, err := netpolicy.New(netpolicy.Options{Allow: []string{bad}}); err == nil {
			t.Errorf("allow %q accepted", bad)
		}
		if _, err := netpolicy.New(netpolicy.Options{Deny: []string{bad}}); err == nil {
			t.Errorf("deny %q accepted", bad)
		}
	}
	for _, good := range []string{"10.0.0.0/8", "10.1.2.3/8", "127.0.0.1", "::1", "[::1]", "fd00::/8", "*.example.com",
		"registry-?.corp", "localhost", "*"} {
		if err := netpolicy.ParseEntry(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
}

func TestNumericHost(t *testing.T) {
	for h, want := range map[string]bool{
		"127.1": true, "2130706433": true, "0x7f000001": true, "0X7F000001": true, "0177.0.0.1": true, "127.0.0.1.": true,
		"1.2.3.4": true, "example.com": false, "registry": false, "0x7g": false, "1e100.net": false, "a.0x": true,
		"swr.cn-north-4.myhuaweicloud.com": false, "": false,
	} {
		if got := netpolicy.NumericHost(h); got != want {
			t.Errorf("NumericHost(%q) = %v, want %v", h, got, want)
		}
	}
}

// The dial hook refuses a denied address after resolution, before any
// packet is sent: a listener on 127.0.0.2 never sees the connection.
func TestDialContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 on this machine: %v", err)
	}
	defer ln.Close()
	accepted := make(chan string, 4) // remote addresses, in accept order
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c.RemoteAddr().String()
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	dial := netpolicy.Default().DialContext(net.Dialer{})
	for _, addr := range []string{"127.0.0.2:" + port, "[::ffff:127.0.0.2]:" + port} {
		if c, err := dial(context.Background(), "tcp", addr); !errors.Is(err, netpolicy.ErrDenied) {
			if c != nil {
				c.Close()
			}
			t.Errorf("dial %s: %v, want ErrDenied", addr, err)
		}
	}
	allow := mustNew(t, netpolicy.Options{Allow: []string{"127.0.0.2"}}).DialContext(net.Dialer{})
	c, err := allow(context.Background(), "tcp", "127.0.0.2:"+port)
	if err != nil {
		t.Fatalf("allowed dial: %v", err)
	}
	defer c.Close()
	// Connections are accepted in the order they were made: any before
	// the allowed one came from a dial that should have been refused.
	if first := <-accepted; first != c.LocalAddr().String() {
		t.Fatalf("a denied dial reached the listener (from %s)", first)
	}
}
