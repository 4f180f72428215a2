package netpolicy_test

import (
	"errors"
	"testing"

	"github.com/openhss/openhss/internal/netpolicy"
)

func TestCheckAddr(t *testing.T) {
	def := netpolicy.Default()
	allow, err := netpolicy.New(netpolicy.Options{Allow: []string{"127.0.0.1/32"}, Deny: []string{"10.9.0.0/16"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		addr               string
		byDefault, byAllow bool // allowed?
		spelling           bool // refused as a spelling, not by the policy
	}{
		{"127.0.0.1:5000", false, true, false},
		{"[::ffff:127.0.0.1]:5000", false, true, false},
		{"[::ffff:7f00:1]", false, true, false},
		{"127.0.0.2", false, false, false},
		{"[::1]:5000", false, false, false},
		{"0.0.0.0:80", false, false, false},
		{"[::]", false, false, false},
		{"169.254.169.254", false, false, false},
		{"[::ffff:169.254.169.254]", false, false, false},
		{"[fd00:ec2::254]", false, false, false},
		{"[fe80::1]:5000", false, false, false},
		{"224.0.0.1", false, false, false},
		{"10.0.0.1:5000", true, true, false},
		{"10.9.0.1:5000", true, false, false},
		{"registry.example:5000", true, true, false},
		{"localhost:5000", true, true, false}, // a name: checked on every connection instead
		{"127.1:5000", false, false, true},    // non-canonical spellings never pass
		{"2130706433", false, false, true},
	} {
		for _, p := range []struct {
			pol  *netpolicy.Policy
			want bool
		}{{def, c.byDefault}, {allow, c.byAllow}} {
			err := p.pol.CheckAddr(c.addr)
			if (err == nil) != p.want {
				t.Errorf("CheckAddr(%q) = %v, want allowed=%v", c.addr, err, p.want)
			}
			if err != nil && !c.spelling && !errors.Is(err, netpolicy.ErrDenied) {
				t.Errorf("CheckAddr(%q) = %v, not ErrDenied", c.addr, err)
			}
		}
	}
}
