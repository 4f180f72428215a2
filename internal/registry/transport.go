package registry

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/http/httpproxy"

	"github.com/openhss/openhss/internal/netpolicy"
)

var errPlainHTTP = errors.New("refusing plain http to a registry configured for https")

// Transport is the keep-alive transport every registry request goes
// through (syncs and scan pulls alike), guarded by a network policy: the
// host of every request is checked (host globs, IP literals) and the
// resolved address of every connection, through the dialer's Control hook,
// so DNS names, redirects and token realms are all covered.
type Transport struct {
	base    *http.Transport
	policy  *netpolicy.Policy
	proxies map[string]bool // host:port of the proxies the environment names
}

// NewTransport returns a Transport guarded by p; nil means
// netpolicy.Default(), never "no policy".
//
// A proxy named by HTTP_PROXY/HTTPS_PROXY is configured by the operator,
// so connections to it are not checked; through a proxy only the request's
// host (globs, IP literals) is, as the proxy resolves DNS names.
func NewTransport(p *netpolicy.Policy) *Transport {
	if p == nil {
		p = netpolicy.Default()
	}
	t := &Transport{policy: p, proxies: envProxies()}
	guarded := p.DialContext(net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second})
	plain := (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.base = &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if t.proxies[addr] {
				return plain(ctx, network, addr)
			}
			return guarded(ctx, network, addr)
		},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return t
}

// RoundTrip refuses a request to a denied host before any connection.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.policy.CheckHost(req.URL.Hostname()); err != nil {
		return nil, err
	}
	return t.base.RoundTrip(req)
}

// CloseIdleConnections closes the pool's idle connections.
func (t *Transport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// Policy is the transport's network policy.
func (t *Transport) Policy() *netpolicy.Policy { return t.policy }

func envProxies() map[string]bool {
	cfg := httpproxy.FromEnvironment()
	out := map[string]bool{}
	for _, s := range []string{cfg.HTTPProxy, cfg.HTTPSProxy} {
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			if u, err = url.Parse("http://" + s); err != nil {
				continue
			}
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"https": "443", "socks5": "1080", "socks5h": "1080"}[u.Scheme]
			if port == "" {
				port = "80"
			}
		}
		out[net.JoinHostPort(u.Hostname(), port)] = true
	}
	return out
}

// ForConnection wraps rt, a Transport, with the rules of one registry
// connection at addr (host[:port]): no plain http when it is https, and
// its credentials sent only to its own host (see connTransport).
func ForConnection(rt http.RoundTripper, addr string, https bool) http.RoundTripper {
	ct := &connTransport{next: rt, registry: addr}
	if https {
		ct.httpsFor = addr
	}
	return ct
}

// connTransport applies one connection's rules to every request: a
// deadline per request (as http.Client.Timeout would: it covers reading the
// body); for https connections, no plain http to the registry host
// (go-containerregistry otherwise silently downgrades to http for loopback
// and private addresses); and Basic credentials only to the registry's own
// host name (any port, for a token realm beside it) or to a credential
// host the operator names. go-containerregistry sends them to whatever
// token realm the registry's WWW-Authenticate names.
type connTransport struct {
	next     http.RoundTripper
	timeout  time.Duration
	httpsFor string // registry host that must use https; "" for http connections
	registry string // the connection's host[:port]
}

func (t *connTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.httpsFor != "" && req.URL.Scheme == "http" && req.URL.Host == t.httpsFor {
		return nil, errPlainHTTP
	}
	if strings.HasPrefix(strings.ToLower(req.Header.Get("Authorization")), "basic ") && !t.mayReceiveCredentials(req.URL) {
		req = req.Clone(req.Context())
		req.Header.Del("Authorization")
	}
	if t.timeout <= 0 {
		return t.next.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

func (t *connTransport) mayReceiveCredentials(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	own := t.registry
	if h, _, err := net.SplitHostPort(own); err == nil {
		own = h
	}
	if t.registry != "" && host == strings.ToLower(strings.Trim(own, "[]")) {
		return true
	}
	if pt, ok := t.next.(interface{ Policy() *netpolicy.Policy }); ok {
		return pt.Policy().CredentialHost(host)
	}
	return false
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
