package hssapi

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/openhss/openhss/internal/netpolicy"
)

// Field lengths of registry connections, as the SDK documents them.
const (
	maxNameLen      = 128
	maxAddrLen      = 256
	maxUserLen      = 128
	maxPasswordLen  = 128
	maxNamespaceLen = 128
	maxClusterIDLen = 64
)

// parseAddr accepts what HSS calls "URL/IP:port": a host name or IP
// address with an optional port, and nothing else. A scheme, path or user
// part would change which server a sync talks to (or leak credentials into
// logs), so they are refused rather than stripped. It returns the address
// with the host in canonical form (lower case; IPv6 compressed, bracketed).
func parseAddr(addr string) (string, error) {
	host, port, err := splitAddr(addr)
	if err != nil {
		return "", err
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() {
		host = "[" + ip.String() + "]"
	} else if err == nil {
		host = ip.String()
	} else {
		host = strings.ToLower(host)
	}
	if port != "" {
		return host + ":" + port, nil
	}
	return host, nil
}

func splitAddr(addr string) (host, port string, err error) {
	if addr == "" {
		return "", "", errors.New("is required")
	}
	if len(addr) > maxAddrLen {
		return "", "", errors.New("is longer than 256 bytes")
	}
	if strings.Contains(addr, "://") {
		return "", "", errors.New("must not contain a scheme (set protocol instead)")
	}
	if strings.ContainsAny(addr, "/@?#\\") {
		return "", "", errors.New("must be host[:port] without path, query or user")
	}
	host, port = addr, ""
	if strings.HasPrefix(addr, "[") || strings.Count(addr, ":") == 1 {
		h, p, err := net.SplitHostPort(addr)
		if err != nil {
			if strings.HasPrefix(addr, "[") && strings.HasSuffix(addr, "]") {
				h, p = addr[1:len(addr)-1], ""
			} else {
				return "", "", errors.New("must be host[:port]")
			}
		} else if p == "" {
			return "", "", errors.New("has an empty port")
		}
		host, port = h, p
	} else if strings.Contains(addr, ":") {
		// More than one colon without brackets: an IPv6 literal must be
		// bracketed, as in a URL.
		return "", "", errors.New("IPv6 addresses must be in brackets")
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' || port[0] == '+' {
			return "", "", errors.New("has an invalid port")
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return "", "", errors.New("must not carry an IPv6 zone")
		}
		return host, port, nil
	}
	if netpolicy.NumericHost(host) {
		// 127.1, 2130706433, 0x7f000001: IPv4 to URL parsers and
		// inet_aton, never a DNS name.
		return "", "", errors.New("is not an IPv4 address in a.b.c.d form")
	}
	if !validHostname(host) {
		return "", "", errors.New("has an invalid host name")
	}
	return host, port, nil
}

// validHostname checks RFC 1123 labels (letters, digits, hyphens; 1-63
// bytes; no leading or trailing hyphen). Underscores are refused.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
