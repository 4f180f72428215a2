package registry

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/idna"

	"github.com/openhss/openhss/internal/netpolicy"
)

// ParseAddr validates a registry address as a connection stores it:
// host[:port] with no scheme, path, query or user info. The host is a DNS
// name (internationalized names are converted to their ASCII form), an
// IPv4 address, or an IPv6 address in brackets ("[::1]:5000"). It returns
// the address in canonical form: lower-case ASCII host, port kept as given.
// IPv4 spelt otherwise than a.b.c.d ("127.1", "2130706433", "0x7f000001")
// is refused (netpolicy.NumericHost). It does not apply the network
// policy: CheckAddr does, for IP literals.
func ParseAddr(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("registry address is empty")
	}
	if strings.Contains(addr, "://") {
		return "", fmt.Errorf("registry address %q must not have a scheme: give host[:port] and set the protocol", addr)
	}
	if i := strings.IndexAny(addr, "/?#@ \t\r\n\\"); i >= 0 {
		return "", fmt.Errorf("registry address %q must be host[:port] only (found %q)", addr, addr[i])
	}
	host, port := addr, ""
	switch {
	case strings.HasPrefix(addr, "["):
		end := strings.IndexByte(addr, ']')
		if end < 0 {
			return "", fmt.Errorf("registry address %q: missing ']'", addr)
		}
		host, port = addr[1:end], addr[end+1:]
		if port != "" {
			if port[0] != ':' {
				return "", fmt.Errorf("registry address %q: junk after ']'", addr)
			}
			port = port[1:]
			if port == "" {
				return "", fmt.Errorf("registry address %q: empty port", addr)
			}
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", fmt.Errorf("registry address %q: %q is not an IPv6 address", addr, host)
		}
		host = "[" + ip.String() + "]"
	case strings.Count(addr, ":") > 1:
		return "", fmt.Errorf("registry address %q: put an IPv6 address in brackets, as [%s]", addr, addr)
	default:
		if h, p, err := net.SplitHostPort(addr); err == nil {
			host, port = h, p
			if port == "" {
				return "", fmt.Errorf("registry address %q: empty port", addr)
			}
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			host = ip.String()
			break
		}
		ascii, err := idna.Lookup.ToASCII(host)
		if err != nil {
			return "", fmt.Errorf("registry address %q: invalid host name: %v", addr, err)
		}
		if netpolicy.NumericHost(host) || netpolicy.NumericHost(ascii) {
			// "127.1", "2130706433", "0x7f000001", "0177.0.0.1": IPv4 to URL
			// parsers and inet_aton, never a DNS name. Refused rather than
			// canonicalized, so that what is stored is what was meant.
			return "", fmt.Errorf("registry address %q: %q is not an IPv4 address in a.b.c.d form", addr, host)
		}
		if err := checkHostname(ascii); err != nil {
			return "", fmt.Errorf("registry address %q: %v", addr, err)
		}
		host = ascii
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strings.HasPrefix(port, "+") {
			return "", fmt.Errorf("registry address %q: port %q is not in 1..65535", addr, port)
		}
		return host + ":" + strconv.Itoa(n), nil
	}
	return host, nil
}

// checkHostname applies the letters-digits-hyphen rule of DNS host names.
func checkHostname(h string) error {
	if h == "" || len(h) > 253 {
		return fmt.Errorf("host name %q must be 1..253 characters", h)
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("host name %q has an empty or over-long label", h)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host name %q has a label starting or ending with '-'", h)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("host name %q contains %q", h, c)
			}
		}
	}
	return nil
}
