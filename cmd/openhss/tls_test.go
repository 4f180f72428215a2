package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key as
// PEM files in dir, and returns their paths and the certificate.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "openhss test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// TestServeTLSFlags: half a pair, a key of another certificate and a file
// that is no certificate all stop serve at start, before it listens.
func TestServeTLSFlags(t *testing.T) {
	dir := t.TempDir()
	cert, key, _ := selfSigned(t, dir, "a")
	_, otherKey, _ := selfSigned(t, dir, "b")
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"cert without key", []string{"--tls-cert", cert}, "go together"},
		{"key without cert", []string{"--tls-key", key}, "go together"},
		{"mismatched pair", []string{"--tls-cert", cert, "--tls-key", otherKey}, "does not match"},
		{"not a certificate", []string{"--tls-cert", junk, "--tls-key", key}, "junk.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OPENHSS_TLS_CERT", "")
			t.Setenv("OPENHSS_TLS_KEY", "")
			args := append([]string{"serve", "--data", t.TempDir(), "--log-level", "error", "--listen", "127.0.0.1:0", "--workers", "0"}, tc.args...)
			_, err := run(t, "", args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("serve %v = %v; want an error saying %q", tc.args, err, tc.want)
			}
		})
	}
}

// TestServeHTTPS runs `openhss serve --tls-cert --tls-key` and talks to it
// with a TLS client that trusts only the test's certificate; a plain HTTP
// request to the same port is not served.
func TestServeHTTPS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, cert := selfSigned(t, dir, "server")
	// A free port for --listen: serve prints its address only to its log.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()

	ctx, cancel := context.WithCancel(context.Background())
	cmd := newRootCmd()
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"serve", "--data", t.TempDir(), "--log-level", "error", "--listen", addr, "--workers", "0",
		"--tls-cert", certFile, "--tls-key", keyFile})
	done := make(chan struct{})
	var serveErr error
	go func() { defer close(done); serveErr = cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if serveErr != nil {
			t.Errorf("serve: %v", serveErr)
		}
	})

	roots := x509.NewCertPool()
	roots.AddCert(cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	var res *http.Response
	for {
		res, err = client.Get("https://" + addr + "/healthz")
		if err == nil {
			break
		}
		var opErr *net.OpError
		if !errors.As(err, &opErr) || opErr.Op != "dial" {
			t.Fatalf("HTTPS request: %v", err)
		}
		select {
		case <-done:
			t.Fatalf("serve ended: %v", serveErr)
		case <-time.After(20 * time.Millisecond): // not listening yet
		}
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.TLS == nil || !res.TLS.PeerCertificates[0].Equal(cert) {
		t.Fatalf("HTTPS /healthz: %d %s, TLS %v", res.StatusCode, body, res.TLS != nil)
	}

	plain, err := http.Get("http://" + addr + "/healthz")
	if err == nil {
		b, _ := io.ReadAll(plain.Body)
		plain.Body.Close()
		if plain.StatusCode == http.StatusOK || !bytes.Contains(b, []byte("HTTPS")) {
			t.Fatalf("plain HTTP on the TLS port: %d %s", plain.StatusCode, b)
		}
	}
}
