// Package netpolicy decides which addresses openhss may connect to on a
// tenant's behalf. A registry address is chosen by whoever adds a registry
// connection, so without a policy any tenant could make the server reach
// its own loopback services or a cloud metadata endpoint (SSRF).
//
// The policy is checked on the resolved address of every connection (see
// Policy.Control), so DNS names, redirects and token realms are all
// covered, and on the host name of every request (Policy.CheckHost), which
// is where host globs apply. docs/api.md ("Network policy") describes the
// defaults and the operator's switches.
package netpolicy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path"
	"strings"
	"syscall"
)

// ErrDenied is matched (errors.Is) by every *DeniedError.
var ErrDenied = errors.New("denied by network policy")

// DeniedError is a connection the policy refused.
type DeniedError struct {
	Host string     // the host name dialled or requested; "" when unknown
	Addr netip.Addr // the address refused; invalid when the name was refused
	Rule string     // why: "deny 10.1.0.0/16", "deny *.internal", "default: loopback"
}

func (e *DeniedError) Error() string {
	target := e.Host
	if e.Addr.IsValid() {
		if target != "" && target != e.Addr.String() {
			target += " (" + e.Addr.String() + ")"
		} else {
			target = e.Addr.String()
		}
	}
	return fmt.Sprintf("%s: %s (%s)", ErrDenied, target, e.Rule)
}

// Is makes errors.Is(err, ErrDenied) true.
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }

// Options are the operator's rules. Every entry is a CIDR ("10.0.0.0/8"),
// an IP address ("127.0.0.1", "::1") or a host glob ("*.corp.example",
// "registry-?.internal"; path.Match syntax, matched case-insensitively
// against the whole host name).
type Options struct {
	// Allow lifts the default deny for the addresses and names it
	// matches.
	Allow []string
	// Deny refuses what it matches, whatever Allow says.
	Deny []string
	// CredentialHosts are host globs of token servers that may receive a
	// connection's credentials although they are not on the registry's own
	// host (Docker Hub's auth.docker.io, for instance).
	CredentialHosts []string
}

// Policy is an immutable set of rules; the zero value is not usable, get
// one from New or Default.
type Policy struct {
	allowNets, denyNets   []netip.Prefix
	allowHosts, denyHosts []string
	credHosts             []string
}

// Default is the policy without operator rules: private ranges allowed;
// loopback, link-local, cloud metadata, unspecified, multicast and
// reserved addresses denied.
func Default() *Policy { return &Policy{} }

// New checks and compiles the operator's rules. A bad entry is an error
// naming it, so that a typo stops the server at start.
func New(o Options) (*Policy, error) {
	p := &Policy{}
	var err error
	if p.allowNets, p.allowHosts, err = parseEntries("allow", o.Allow); err != nil {
		return nil, err
	}
	if p.denyNets, p.denyHosts, err = parseEntries("deny", o.Deny); err != nil {
		return nil, err
	}
	for _, e := range o.CredentialHosts {
		g, err := parseGlob(e)
		if err != nil {
			return nil, fmt.Errorf("credential host %q: %w", e, err)
		}
		p.credHosts = append(p.credHosts, g)
	}
	return p, nil
}

// ParseEntry checks one allow or deny entry, as New would.
func ParseEntry(e string) error {
	_, _, err := parseEntries("entry", []string{e})
	return err
}

// ParseCredentialHost checks one credential host glob, as New would.
func ParseCredentialHost(e string) error {
	_, err := parseGlob(e)
	return err
}

func parseEntries(what string, entries []string) (nets []netip.Prefix, globs []string, err error) {
	for _, e := range entries {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
			return nil, nil, fmt.Errorf("%s: empty entry", what)
		case strings.Contains(e, "/"):
			pfx, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, nil, fmt.Errorf("%s %q: not a CIDR: %w", what, e, err)
			}
			if pfx.Addr().Zone() != "" {
				return nil, nil, fmt.Errorf("%s %q: zones are not allowed", what, e)
			}
			// An IPv4-mapped prefix is matched against unmapped addresses.
			if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
				pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
			}
			nets = append(nets, pfx.Masked())
		default:
			if ip, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
				if ip.Zone() != "" {
					return nil, nil, fmt.Errorf("%s %q: zones are not allowed", what, e)
				}
				ip = ip.Unmap()
				nets = append(nets, netip.PrefixFrom(ip, ip.BitLen()))
				continue
			}
			g, err := parseGlob(e)
			if err != nil {
				return nil, nil, fmt.Errorf("%s %q: %w", what, e, err)
			}
			globs = append(globs, g)
		}
	}
	return nets, globs, nil
}

// parseGlob checks a host glob: host name characters and the path.Match
// wildcards only. A glob that spells an IPv4 address in some other way
// ("127.1", "0x7f000001") is refused: it would never match the name a
// connection dials, only confuse.
func parseGlob(g string) (string, error) {
	g = strings.ToLower(strings.TrimSpace(g))
	if g == "" {
		return "", errors.New("empty host glob")
	}
	for _, c := range g {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune(".-_*?[]^!", c)) {
			return "", fmt.Errorf("not a CIDR, IP address or host glob (found %q)", c)
		}
	}
	if _, err := path.Match(g, ""); err != nil {
		return "", fmt.Errorf("bad host glob: %w", err)
	}
	if !strings.ContainsAny(g, "*?[") && NumericHost(g) {
		return "", errors.New("not a canonical IP address (write IPv4 as a.b.c.d)")
	}
	return g, nil
}

// NumericHost reports whether host, not a canonical IP address, would
// still be read as an IPv4 address by URL parsers and inet_aton: its last
// label is a number (decimal, octal "0177" or hex "0x7f"), as in "127.1",
// "2130706433", "0x7f000001" or "0177.0.0.1". No DNS name ends in such a
// label (WHATWG URL), so openhss refuses these spellings rather than guess
// which address they mean.
func NumericHost(host string) bool {
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return false
	}
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if l := strings.ToLower(last); strings.HasPrefix(l, "0x") {
		for _, c := range l[2:] {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
		return true
	}
	for _, c := range last {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// defaultDenied lists the address ranges refused unless an Allow entry
// covers them. Addresses are unmapped first (::ffff:127.0.0.1 is
// 127.0.0.1).
var defaultDenied = []struct {
	pfx    netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"}, // 169.254.169.254: AWS, GCP, Azure, OpenStack metadata
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "metadata"},  // AWS IPv6 metadata
	{netip.MustParsePrefix("100.100.100.200/32"), "metadata"}, // Alibaba Cloud metadata
	{netip.MustParsePrefix("168.63.129.16/32"), "metadata"},   // Azure WireServer
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},       // Linux connects 0.0.0.0 to itself
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // with 255.255.255.255, broadcast
	{netip.MustParsePrefix("::/96"), "reserved"},       // deprecated IPv4-compatible IPv6
}

// embeddedIPv4 are IPv6 ranges that carry an IPv4 address in their last
// 32 bits and reach it through a translator: the IPv4 address is checked
// too.
var embeddedIPv4 = []netip.Prefix{
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64
}

// Check decides one connection. host is the name dialled or requested
// ("" when unknown); ip is the address connected to (invalid when not
// known yet). The order: an operator Deny (address or name) refuses; an
// operator Allow (address or name) accepts; then the default ranges
// refuse; anything else is accepted.
func (p *Policy) Check(host string, ip netip.Addr) error {
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if lit, err := netip.ParseAddr(host); err == nil {
		if !ip.IsValid() {
			ip = lit
		}
		host = ""
	}
	nameAllowed := false
	if host != "" {
		if g := matchGlob(p.denyHosts, host); g != "" {
			return &DeniedError{Host: host, Addr: ip, Rule: "deny " + g}
		}
		nameAllowed = matchGlob(p.allowHosts, host) != ""
	}
	if !ip.IsValid() {
		return nil
	}
	ip = ip.WithZone("").Unmap()
	if n := matchNet(p.denyNets, ip); n.IsValid() {
		return &DeniedError{Host: host, Addr: ip, Rule: "deny " + n.String()}
	}
	if nameAllowed || matchNet(p.allowNets, ip).IsValid() {
		return nil
	}
	if reason := defaultReason(ip); reason != "" {
		return &DeniedError{Host: host, Addr: ip, Rule: "default: " + reason}
	}
	return nil
}

// CheckHost checks a host name or IP literal before anything is resolved:
// the deny globs for a name, the whole policy for a literal.
func (p *Policy) CheckHost(host string) error { return p.Check(host, netip.Addr{}) }

// CheckAddr checks a registry address (host[:port], bracketed IPv6) as it
// is added: an IP literal must be allowed, and IPv4 spelt otherwise than
// a.b.c.d is refused outright (NumericHost). A DNS name passes: what it
// resolves to can change, so it is checked on every connection instead.
func (p *Policy) CheckAddr(addr string) error {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if _, err := netip.ParseAddr(host); err == nil {
		return p.CheckHost(host)
	}
	if NumericHost(host) {
		return fmt.Errorf("%q is not an IPv4 address in a.b.c.d form", host)
	}
	return nil
}

// CredentialHost reports whether the operator lets token servers named
// host receive a connection's credentials.
func (p *Policy) CredentialHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return matchGlob(p.credHosts, host) != ""
}

func defaultReason(ip netip.Addr) string {
	for _, d := range defaultDenied {
		if d.pfx.Contains(ip) {
			return d.reason
		}
	}
	if ip.Is6() {
		for _, pfx := range embeddedIPv4 {
			if pfx.Contains(ip) {
				b := ip.As16()
				v4 := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
				if r := defaultReason(v4); r != "" {
					return r + " (embedded IPv4)"
				}
			}
		}
	}
	return ""
}

func matchNet(nets []netip.Prefix, ip netip.Addr) netip.Prefix {
	for _, n := range nets {
		if n.Contains(ip) {
			return n
		}
	}
	return netip.Prefix{}
}

func matchGlob(globs []string, host string) string {
	for _, g := range globs {
		if ok, _ := path.Match(g, host); ok {
			return g
		}
	}
	return ""
}

type hostKey struct{}

// WithHost records in ctx the host name a dial is for, so that Control
// can apply name rules (allow globs) to the addresses it resolves to.
func WithHost(ctx context.Context, host string) context.Context {
	return context.WithValue(ctx, hostKey{}, host)
}

// Control is a net.Dialer.ControlContext hook: it runs after name
// resolution, on the address of each connection attempt, and refuses the
// connection before it is made.
func (p *Policy) Control(ctx context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("network policy: unexpected dial address %q: %w", address, err)
	}
	host, _ := ctx.Value(hostKey{}).(string)
	return p.Check(host, ap.Addr())
}

// DialContext returns a dial function that applies the policy through
// d's ControlContext (which it sets on a copy of d) and refuses denied
// host names before resolving them.
func (p *Policy) DialContext(d net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d.ControlContext = p.Control
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if err := p.CheckHost(host); err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
		return d.DialContext(WithHost(ctx, host), network, addr)
	}
}
