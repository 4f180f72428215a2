package iam

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/iam/iamtest"
)

const testSig = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseAuthorization(t *testing.T) {
	ok := func(ak string, hs ...string) Authorization {
		return Authorization{AccessKey: ak, SignedHeaders: hs, Signature: testSig}
	}
	tests := []struct {
		name   string
		header string
		want   Authorization
		err    bool
	}{
		{"sdk format", "SDK-HMAC-SHA256 Access=AKAKAKAKAKAKAKAKAKAK, SignedHeaders=user-agent;x-project-id;x-sdk-date, Signature=" + testSig,
			ok("AKAKAKAKAKAKAKAKAKAK", "user-agent", "x-project-id", "x-sdk-date"), false},
		{"no spaces after commas", "SDK-HMAC-SHA256 Access=AK1,SignedHeaders=x-sdk-date,Signature=" + testSig, ok("AK1", "x-sdk-date"), false},
		{"other order", "SDK-HMAC-SHA256 Signature=" + testSig + ", Access=AK1, SignedHeaders=x-sdk-date;host", ok("AK1", "x-sdk-date", "host"), false},
		{"empty", "", Authorization{}, true},
		{"other algorithm", "SDK-HMAC-SM3 Access=AK1, SignedHeaders=x-sdk-date, Signature=" + testSig, Authorization{}, true},
		{"lowercase algorithm", "sdk-hmac-sha256 Access=AK1, SignedHeaders=x-sdk-date, Signature=" + testSig, Authorization{}, true},
		{"two spaces", "SDK-HMAC-SHA256  Access=AK1, SignedHeaders=x-sdk-date, Signature=" + testSig, ok("AK1", "x-sdk-date"), false},
		{"missing signature", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date", Authorization{}, true},
		{"missing access", "SDK-HMAC-SHA256 SignedHeaders=x-sdk-date, Signature=" + testSig, Authorization{}, true},
		{"missing headers", "SDK-HMAC-SHA256 Access=AK1, Signature=" + testSig, Authorization{}, true},
		{"duplicate access", "SDK-HMAC-SHA256 Access=AK1, Access=AK2, SignedHeaders=x-sdk-date, Signature=" + testSig, Authorization{}, true},
		{"duplicate signature", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date, Signature=" + testSig + ", Signature=" + testSig, Authorization{}, true},
		{"unknown parameter", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date, Signature=" + testSig + ", Region=x", Authorization{}, true},
		{"empty access", "SDK-HMAC-SHA256 Access=, SignedHeaders=x-sdk-date, Signature=" + testSig, Authorization{}, true},
		{"access with space", "SDK-HMAC-SHA256 Access=A K, SignedHeaders=x-sdk-date, Signature=" + testSig, Authorization{}, true},
		{"access too long", "SDK-HMAC-SHA256 Access=" + strings.Repeat("A", 129) + ", SignedHeaders=x-sdk-date, Signature=" + testSig, Authorization{}, true},
		{"uppercase header name", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=X-Sdk-Date, Signature=" + testSig, Authorization{}, true},
		{"empty header name", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date;, Signature=" + testSig, Authorization{}, true},
		{"duplicate header name", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date;x-sdk-date, Signature=" + testSig, Authorization{}, true},
		{"too many headers", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=" + manyHeaders(33) + ", Signature=" + testSig, Authorization{}, true},
		{"short signature", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date, Signature=" + testSig[:63], Authorization{}, true},
		{"long signature", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date, Signature=" + testSig + "0", Authorization{}, true},
		{"uppercase hex", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date, Signature=" + strings.ToUpper(testSig), Authorization{}, true},
		{"non hex", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date, Signature=" + strings.Repeat("g", 64), Authorization{}, true},
		{"no equals", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders, Signature=" + testSig, Authorization{}, true},
		{"too long", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date, Signature=" + testSig + strings.Repeat(" ", 5000), Authorization{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAuthorization(tt.header)
			if tt.err {
				if err == nil {
					t.Fatalf("ParseAuthorization accepted %q as %+v", tt.header, got)
				}
				if !errors.Is(err, ErrUnauthenticated) {
					t.Fatalf("error %v does not wrap ErrUnauthenticated", err)
				}
				if strings.Contains(err.Error(), testSig) {
					t.Fatalf("error %q quotes the signature", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAuthorization(%q): %v", tt.header, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func manyHeaders(n int) string {
	hs := make([]string, n)
	for i := range hs {
		hs[i] = "h" + strings.Repeat("x", i+1)
	}
	return strings.Join(hs, ";")
}

// render is the header the SDK sends for a (iamtest.Authorization).
func render(a Authorization) string {
	return iamtest.Authorization(a.AccessKey, a.SignedHeaders, a.Signature)
}

func TestAuthorizationParsesSDKFormat(t *testing.T) {
	want := Authorization{AccessKey: "AK1", SignedHeaders: []string{"user-agent", "x-sdk-date"}, Signature: testSig}
	s := "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=user-agent;x-sdk-date, Signature=" + testSig
	if render(want) != s {
		t.Fatalf("iamtest.Authorization = %q, want %q", render(want), s)
	}
	if got, err := ParseAuthorization(s); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseAuthorization(%q) = %+v, %v; want %+v", s, got, err, want)
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"SDK-HMAC-SHA256 Access=AKAKAKAKAKAKAKAKAKAK, SignedHeaders=user-agent;x-project-id;x-sdk-date, Signature=" + testSig,
		"SDK-HMAC-SHA256 Signature=" + testSig + ",Access=a,SignedHeaders=host",
		"SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date;x-sdk-date, Signature=" + testSig,
		"SDK-HMAC-SHA256 Access=AK1, SignedHeaders=, Signature=",
		"SDK-HMAC-SHA256 ,,,",
		"SDK-HMAC-SHA256 Access==, SignedHeaders=;;, Signature==",
		"Basic dXNlcjpwYXNz",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAuthorization(s)
		if err != nil {
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("error %v does not wrap ErrUnauthenticated", err)
			}
			if !reflect.DeepEqual(a, Authorization{}) {
				t.Fatalf("error %v came with a non-zero Authorization %+v", err, a)
			}
			return
		}
		if !validAccessKey(a.AccessKey) || !validSignature(a.Signature) || len(a.SignedHeaders) == 0 {
			t.Fatalf("accepted %q as invalid %+v", s, a)
		}
		for _, h := range a.SignedHeaders {
			if h != strings.ToLower(h) || h == "" {
				t.Fatalf("accepted signed header %q", h)
			}
		}
		// Rendering and parsing again is the identity, and rendering is
		// idempotent: the canonical form is a fixed point.
		s2 := render(a)
		a2, err := ParseAuthorization(s2)
		if err != nil {
			t.Fatalf("the SDK rendering of %+v does not parse: %v", a, err)
		}
		if !reflect.DeepEqual(a, a2) {
			t.Fatalf("round trip changed %+v into %+v", a, a2)
		}
		if render(a2) != s2 {
			t.Fatalf("the SDK rendering is not a fixed point: %q vs %q", render(a2), s2)
		}
	})
}
