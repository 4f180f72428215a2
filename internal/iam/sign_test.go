package iam

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/iam/iamtest"
)

const (
	testAK = "HPUAXXXXXXXXXXXXXXXX"
	testSK = "secretsecretsecretsecretsecretsecret0123"
)

var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// TestCanonicalRequestGolden pins the canonical request and signature to a
// value written out by hand from the SDK's rules and signed with crypto/hmac
// directly, so the verifier is not only checked against itself.
func TestCanonicalRequestGolden(t *testing.T) {
	r := httptest.NewRequest("GET", "http://127.0.0.1:8080/v5/proj1/image/swr-repository?offset=0&image_type=private_image&namespace&limit=10&name=a%20b%2Bc", nil)
	r.Header.Set("User-Agent", "huaweicloud-usdk-go/3.0")
	r.Header.Set("X-Project-Id", "proj1")
	r.Header.Set("X-Sdk-Date", "20240102T030405Z")
	r.Header.Set("Content-Type", "application/json;charset=UTF-8")
	signed := []string{"user-agent", "x-project-id", "x-sdk-date"}

	want := "GET\n" +
		"/v5/proj1/image/swr-repository/\n" +
		"image_type=private_image&limit=10&name=a%20b%2Bc&namespace=&offset=0\n" +
		"user-agent:huaweicloud-usdk-go/3.0\n" +
		"x-project-id:proj1\n" +
		"x-sdk-date:20240102T030405Z\n" +
		"\n" +
		"user-agent;x-project-id;x-sdk-date\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	got, err := CanonicalRequest(r, nil, signed)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("canonical request\n%s\nwant\n%s", got, want)
	}

	crHash := sha256.Sum256([]byte(want))
	sts := "SDK-HMAC-SHA256\n20240102T030405Z\n" + hex.EncodeToString(crHash[:])
	m := hmac.New(sha256.New, []byte(testSK))
	m.Write([]byte(sts))
	a := Authorization{AccessKey: testAK, SignedHeaders: signed, Signature: hex.EncodeToString(m.Sum(nil))}
	if err := Verify(r, nil, a, testSK, t0.Add(time.Minute), DefaultMaxClockSkew); err != nil {
		t.Fatalf("Verify rejected the hand-signed request: %v", err)
	}
}

func TestCanonicalURI(t *testing.T) {
	tests := []struct{ path, want string }{
		{"", "/"},
		{"/", "/"},
		{"/v5/p/image", "/v5/p/image/"},
		{"/v5/p/image/", "/v5/p/image/"},
		{"/a b/c+d/é", "/a%20b/c%2Bd/%C3%A9/"},
		{"/x~y_z-.w", "/x~y_z-.w/"},
		{"/a%b", "/a%25b/"},
	}
	for _, tt := range tests {
		if got := canonicalURI(tt.path); got != tt.want {
			t.Errorf("canonicalURI(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"", ""},
		{"b=2&a=1", "a=1&b=2"},
		{"a", "a="},
		{"a=", "a="},
		{"k=b&k=a", "k=a&k=b"},
		{"q=x%20y", "q=x%20y"},
		{"q=x+y", "q=x%20y"},
		{"q=%2F%3D%26", "q=%2F%3D%26"},
		{"n%20k=v", "n%20k=v"},
	}
	for _, tt := range tests {
		got, err := canonicalQuery(tt.raw)
		if err != nil || got != tt.want {
			t.Errorf("canonicalQuery(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
		}
	}
	if _, err := canonicalQuery("a=%zz"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("canonicalQuery accepted a bad escape: %v", err)
	}
}

// newSigned builds an SDK-like request and signs it at time at.
func newSigned(t *testing.T, method, target, body string, at time.Time) (*http.Request, []byte, Authorization) {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("User-Agent", "huaweicloud-usdk-go/3.0")
	r.Header.Set("X-Project-Id", "proj1")
	r.Header.Set("Region", "local-1")
	r.Header.Set("Content-Type", "application/json;charset=UTF-8")
	if err := iamtest.SignRequest(r, []byte(body), testAK, testSK, at); err != nil {
		t.Fatal(err)
	}
	a, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	return r, []byte(body), a
}

func TestVerify(t *testing.T) {
	const target = "http://127.0.0.1:8080/v5/proj1/image/swr-repository?image_type=private_image&limit=10&namespace"
	const body = `{"name":"x"}`
	tests := []struct {
		name   string
		at     time.Time // signing time; verification is at t0
		mutate func(r *http.Request, body []byte, a *Authorization) []byte
		ok     bool
	}{
		{"as signed", t0, nil, true},
		{"signed 14 minutes ago", t0.Add(-14 * time.Minute), nil, true},
		{"signed 14 minutes ahead", t0.Add(14 * time.Minute), nil, true},
		{"signed 16 minutes ago", t0.Add(-16 * time.Minute), nil, false},
		{"signed 16 minutes ahead", t0.Add(16 * time.Minute), nil, false},
		{"trailing slash added", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.URL.Path += "/"
			return b
		}, true},
		{"bare key sent as k=", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.URL.RawQuery = "image_type=private_image&limit=10&namespace="
			return b
		}, true},
		{"query reordered", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.URL.RawQuery = "namespace&limit=10&image_type=private_image"
			return b
		}, true},
		{"unsigned header added", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.Header.Set("X-Forwarded-For", "127.0.0.2")
			return b
		}, true},
		{"content type changed (unsigned)", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.Header.Set("Content-Type", "text/plain")
			return b
		}, true},
		{"signed header value padded", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.Header.Set("User-Agent", "  huaweicloud-usdk-go/3.0 ")
			return b
		}, true},
		{"method", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.Method = "DELETE"
			return b
		}, false},
		{"path", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.URL.Path = "/v5/proj2/image/swr-repository"
			return b
		}, false},
		{"query value", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.URL.RawQuery = "image_type=private_image&limit=11&namespace"
			return b
		}, false},
		{"query param added", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.URL.RawQuery += "&offset=0"
			return b
		}, false},
		{"bare key given a value", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.URL.RawQuery = "image_type=private_image&limit=10&namespace=x"
			return b
		}, false},
		{"signed header value", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.Header.Set("Region", "local-2")
			return b
		}, false},
		{"signed header removed", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.Header.Del("Region")
			return b
		}, false},
		{"signed header repeated", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.Header.Add("Region", "local-1")
			return b
		}, false},
		{"x-project-id", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.Header.Set("X-Project-Id", "proj2")
			return b
		}, false},
		{"body", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			return []byte(`{"name":"y"}`)
		}, false},
		{"body emptied", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			return nil
		}, false},
		{"date moved one second", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.Header.Set("X-Sdk-Date", t0.Add(time.Second).Format(DateFormat))
			return b
		}, false},
		{"date malformed", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.Header.Set("X-Sdk-Date", t0.Format(time.RFC3339))
			return b
		}, false},
		{"date missing", t0, func(r *http.Request, b []byte, _ *Authorization) []byte {
			r.Header.Del("X-Sdk-Date")
			return b
		}, false},
		{"x-sdk-date not signed", t0, func(r *http.Request, b []byte, a *Authorization) []byte {
			// A valid signature over everything but the date: replayable
			// forever, so it must not pass.
			a.SignedHeaders = []string{"region", "user-agent", "x-project-id"}
			cr, err := CanonicalRequest(r, b, a.SignedHeaders)
			if err != nil {
				panic(err)
			}
			a.Signature = hex.EncodeToString(mac(testSK, StringToSign(cr, t0)))
			return b
		}, false},
		{"signed header list changed", t0, func(r *http.Request, b []byte, a *Authorization) []byte {
			a.SignedHeaders = []string{"user-agent", "x-sdk-date"}
			return b
		}, false},
		{"signature flipped", t0, func(r *http.Request, b []byte, a *Authorization) []byte {
			sig := []byte(a.Signature)
			sig[0] ^= 1
			a.Signature = string(sig)
			return b
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, b, a := newSigned(t, "POST", target, body, tt.at)
			if tt.mutate != nil {
				b = tt.mutate(r, b, &a)
			}
			err := Verify(r, b, a, testSK, t0, DefaultMaxClockSkew)
			if tt.ok {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Verify accepted the changed request")
			}
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("error %v does not wrap ErrUnauthenticated", err)
			}
			if strings.Contains(err.Error(), testSK) {
				t.Fatalf("error %q leaks the secret key", err)
			}
		})
	}
}

func TestVerifyWrongSecret(t *testing.T) {
	r, b, a := newSigned(t, "GET", "http://h/v5/proj1/x", "", t0)
	err := Verify(r, b, a, testSK+"x", t0, DefaultMaxClockSkew)
	if !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("Verify with the wrong secret: %v", err)
	}
	// The expected signature must never reach an error (or a log line).
	want := hex.EncodeToString(mac(testSK+"x", StringToSign(mustCanonical(t, r, b, a.SignedHeaders), t0)))
	if strings.Contains(err.Error(), want) || strings.Contains(err.Error(), a.Signature) {
		t.Fatalf("error %q quotes a signature", err)
	}
}

func mustCanonical(t *testing.T, r *http.Request, b []byte, signed []string) string {
	t.Helper()
	cr, err := CanonicalRequest(r, b, signed)
	if err != nil {
		t.Fatal(err)
	}
	return cr
}

func TestVerifySignedHost(t *testing.T) {
	r := httptest.NewRequest("GET", "http://hss.local:8080/v5/proj1/x", nil)
	r.Header.Set("X-Sdk-Date", t0.Format(DateFormat))
	signed := []string{"host", "x-sdk-date"}
	cr := mustCanonical(t, r, nil, signed)
	if !strings.Contains(cr, "\nhost:hss.local:8080\n") {
		t.Fatalf("canonical request does not use r.Host:\n%s", cr)
	}
	a := Authorization{AccessKey: testAK, SignedHeaders: signed, Signature: hex.EncodeToString(mac(testSK, StringToSign(cr, t0)))}
	if err := Verify(r, nil, a, testSK, t0, DefaultMaxClockSkew); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	r.Host = "evil.local:8080"
	if err := Verify(r, nil, a, testSK, t0, DefaultMaxClockSkew); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("Verify after changing Host: %v", err)
	}
}

func TestVerifyContentSHA256(t *testing.T) {
	sign := func(t *testing.T, hash string, signIt bool, body string) (*http.Request, Authorization) {
		r := httptest.NewRequest("PUT", "http://h/v5/proj1/x", strings.NewReader(body))
		r.Header.Set("X-Sdk-Date", t0.Format(DateFormat))
		r.Header.Set("X-Sdk-Content-Sha256", hash)
		signed := []string{"x-sdk-date"}
		if signIt {
			signed = []string{"x-sdk-content-sha256", "x-sdk-date"}
		}
		cr := mustCanonical(t, r, []byte(body), signed)
		return r, Authorization{AccessKey: testAK, SignedHeaders: signed, Signature: hex.EncodeToString(mac(testSK, StringToSign(cr, t0)))}
	}
	t.Run("signed UNSIGNED-PAYLOAD leaves the body out", func(t *testing.T) {
		r, a := sign(t, "UNSIGNED-PAYLOAD", true, "abc")
		if err := Verify(r, []byte("other"), a, testSK, t0, DefaultMaxClockSkew); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	})
	t.Run("unsigned UNSIGNED-PAYLOAD is ignored", func(t *testing.T) {
		r, a := sign(t, "UNSIGNED-PAYLOAD", false, "abc")
		if err := Verify(r, []byte("abc"), a, testSK, t0, DefaultMaxClockSkew); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if err := Verify(r, []byte("other"), a, testSK, t0, DefaultMaxClockSkew); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("Verify of another body: %v", err)
		}
	})
	t.Run("signed hash must match the body", func(t *testing.T) {
		r, a := sign(t, sha256Hex([]byte("abc")), true, "abc")
		if err := Verify(r, []byte("abc"), a, testSK, t0, DefaultMaxClockSkew); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if err := Verify(r, []byte("other"), a, testSK, t0, DefaultMaxClockSkew); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("Verify of another body: %v", err)
		}
	})
}
