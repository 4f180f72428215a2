package registry_test

import (
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/registry"
)

func TestParseAddr(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"registry.example.com", "registry.example.com"},
		{"Registry.Example.COM:5000", "registry.example.com:5000"},
		{"127.0.0.1:5000", "127.0.0.1:5000"},
		{"[::1]:5000", "[::1]:5000"},
		{"[2001:DB8::1]", "[2001:db8::1]"},
		{"bücher.example:443", "xn--bcher-kva.example:443"},
		{"localhost:65535", "localhost:65535"},
		{"swr.cn-north-4.myhuaweicloud.com", "swr.cn-north-4.myhuaweicloud.com"},
		{"[0:0::1]", "[::1]"},
		{"10.0.0.1", "10.0.0.1"},
		{"My-Harbor.LOCAL:443", "my-harbor.local:443"},
	} {
		got, err := registry.ParseAddr(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseAddr(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{
		"", "https://registry.example.com", "registry.example.com/path", "user:pw@host", "host:0", "host:65536",
		"host:", "host:http", "::1", "[::1", "[::1]x", "[fe80::1%eth0]:5000", "-bad.example", "a..b", "host name",
		"host?x=1", "exa_mple.com\\x", "[127.0.0.1]:80", "http://x", "https://x:5000", "host:99999", "host:abc", "a/b",
		"user@host", "host#x", "bad-.com", "sp ace", "host:+80", strings.Repeat("a", 257), "[fe80::1%25eth0]:5000",
	} {
		if got, err := registry.ParseAddr(bad); err == nil {
			t.Errorf("ParseAddr(%q) = %q, want an error", bad, got)
		}
	}
}

// IPv4 spelt otherwise than a.b.c.d is refused: URL parsers and inet_aton
// read "127.1" or "2130706433" as 127.0.0.1, so accepting them as host
// names would let an address past a check of its canonical form.
func TestParseAddrNonCanonicalIPv4(t *testing.T) {
	for _, bad := range []string{"127.1", "127.1:5000", "2130706433", "2130706433:80", "0x7f000001", "0X7F000001:443",
		"0177.0.0.1", "0177.0.0.1:5000", "127.0.0.01", "127.000.000.001", "0x7f.0.0.1", "127.0.1", "127.0.0.1.", "10.0.0.0x1",
		"169.254.43518", "0xa9fea9fe", "１２７.１", "127。1"} {
		if got, err := registry.ParseAddr(bad); err == nil {
			t.Errorf("ParseAddr(%q) = %q, want an error", bad, got)
		}
	}
}
