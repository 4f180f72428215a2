package registry

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

var errPlainHTTP = errors.New("refusing plain http to a registry configured for https")

// NewTransport returns the keep-alive transport a Lister shares across all
// registries: one connection pool, reused by every sync.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// connTransport applies one connection's rules to every request: a
// deadline per request (as http.Client.Timeout would: it covers reading the
// body) and, for https connections, no plain http to the registry host.
// go-containerregistry otherwise silently downgrades to http for
// loopback and private addresses.
type connTransport struct {
	next     http.RoundTripper
	timeout  time.Duration
	httpsFor string // registry host that must use https; "" for http connections
}

func (t *connTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.httpsFor != "" && req.URL.Scheme == "http" && req.URL.Host == t.httpsFor {
		return nil, errPlainHTTP
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

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
