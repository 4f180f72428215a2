package iam

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Signing constants shared with the SDK's core/auth/signer.
const (
	// DateFormat is the layout of X-Sdk-Date (UTC).
	DateFormat = "20060102T150405Z"
	// DefaultMaxClockSkew is how far X-Sdk-Date may be from the server clock.
	DefaultMaxClockSkew = 15 * time.Minute

	headerDate          = "X-Sdk-Date"
	headerContentSHA256 = "X-Sdk-Content-Sha256"
	headerProjectID     = "X-Project-Id"
	unsignedPayload     = "UNSIGNED-PAYLOAD"
)

// CanonicalRequest rebuilds the canonical request the SDK signs for r, whose
// raw body is body, over the given signed header names (lowercase, in the
// client's order):
//
//	METHOD \n URI \n QUERY \n HEADERS \n SIGNEDHEADERS \n BODYHASH
//
// The SDK signs the request before Go's transport encodes it, so each part is
// rebuilt from the decoded URL, which is what the SDK held.
func CanonicalRequest(r *http.Request, body []byte, signedHeaders []string) (string, error) {
	query, err := canonicalQuery(r.URL.RawQuery)
	if err != nil {
		return "", err
	}
	headers, err := canonicalHeaders(r, signedHeaders)
	if err != nil {
		return "", err
	}
	return strings.Join([]string{
		r.Method,
		canonicalURI(r.URL.Path),
		query,
		headers,
		strings.Join(signedHeaders, ";"),
		bodyHash(r, body, signedHeaders),
	}, "\n"), nil
}

// StringToSign is what the HMAC covers: the algorithm, the request time and
// the hash of the canonical request.
func StringToSign(canonicalRequest string, t time.Time) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return Algorithm + "\n" + t.UTC().Format(DateFormat) + "\n" + hex.EncodeToString(sum[:])
}

// Verify checks that a is a valid signature of r (raw body body) under
// secretKey at time now, allowing maxSkew (DefaultMaxClockSkew unless the
// operator set another) between X-Sdk-Date and now. Errors wrap
// ErrUnauthenticated and never contain the secret or the expected signature.
func Verify(r *http.Request, body []byte, a Authorization, secretKey string, now time.Time, maxSkew time.Duration) error {
	if !a.Signs(headerDate) {
		return unauthenticated("X-Sdk-Date must be a signed header")
	}
	dates := headerValues(r, headerDate)
	if len(dates) != 1 {
		return unauthenticated("exactly one X-Sdk-Date header is required")
	}
	t, err := time.Parse(DateFormat, dates[0])
	if err != nil {
		return unauthenticated("X-Sdk-Date is not in the format YYYYMMDDTHHMMSSZ")
	}
	if d := now.Sub(t); d > maxSkew || d < -maxSkew {
		return unauthenticated(fmt.Sprintf("X-Sdk-Date is more than %s from the server clock", maxSkew))
	}
	if a.Signs(headerContentSHA256) {
		// A client may sign a claimed body hash instead of hashing the body
		// into the canonical request; hold it to that claim.
		if v := strings.TrimSpace(r.Header.Get(headerContentSHA256)); v != unsignedPayload && v != sha256Hex(body) {
			return unauthenticated("body does not match X-Sdk-Content-Sha256")
		}
	}
	cr, err := CanonicalRequest(r, body, a.SignedHeaders)
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(a.Signature)
	if err != nil {
		return unauthenticated("malformed signature")
	}
	if !hmac.Equal(got, mac(secretKey, StringToSign(cr, t))) {
		return unauthenticated("signature does not match")
	}
	return nil
}

func mac(key, msg string) []byte {
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(msg))
	return h.Sum(nil)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// canonicalURI escapes each segment of the decoded path and ends it with '/',
// so "/x" and "/x/" sign the same, as in the SDK.
func canonicalURI(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = escape(s)
	}
	u := strings.Join(segs, "/")
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

// canonicalQuery sorts decoded keys and, per key, values, and renders them
// escaped as k=v joined by '&'. A bare key (the SDK sends "?image_type" for an
// empty value) becomes "k=".
func canonicalQuery(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "", unauthenticated("malformed query string")
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		vs := slices.Clone(q[k])
		slices.Sort(vs)
		for _, v := range vs {
			parts = append(parts, escape(k)+"="+escape(v))
		}
	}
	return strings.Join(parts, "&"), nil
}

// canonicalHeaders renders "name:value\n" per value of each signed header, in
// signed order, values sorted then trimmed as the SDK does. A signed header
// the request lacks fails: the SDK only signs headers it sends.
func canonicalHeaders(r *http.Request, signed []string) (string, error) {
	var b strings.Builder
	for _, name := range signed {
		vs := headerValues(r, name)
		if name == "host" {
			host := r.Host
			if host == "" {
				host = r.URL.Host
			}
			vs = []string{host}
		}
		if len(vs) == 0 {
			return "", unauthenticated("signed header " + name + " is missing")
		}
		vs = slices.Clone(vs)
		slices.Sort(vs)
		for _, v := range vs {
			b.WriteString(name)
			b.WriteByte(':')
			b.WriteString(strings.TrimSpace(v))
			b.WriteByte('\n')
		}
	}
	return b.String(), nil
}

// headerValues returns every value of header name whatever the case of its
// key, so a hand-built request with non-canonical keys verifies too.
func headerValues(r *http.Request, name string) []string {
	if vs := r.Header.Values(name); len(vs) > 0 {
		return vs
	}
	var out []string
	for k, vs := range r.Header {
		if strings.EqualFold(k, name) {
			out = append(out, vs...)
		}
	}
	return out
}

// bodyHash is the hex SHA-256 of body, or X-Sdk-Content-Sha256 verbatim when
// the client signed that header (it then vouches for the body with it).
func bodyHash(r *http.Request, body []byte, signed []string) string {
	if slices.Contains(signed, strings.ToLower(headerContentSHA256)) {
		if vs := headerValues(r, headerContentSHA256); len(vs) > 0 {
			return vs[0]
		}
	}
	return sha256Hex(body)
}

func shouldEscape(c byte) bool {
	return !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '~' || c == '.')
}

// escape percent-encodes every byte outside A-Za-z0-9_-~. with uppercase hex.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if shouldEscape(c) {
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}
