// Package iamtest signs requests for tests the way the Huawei Cloud SDK's
// BasicCredentials do (docs/api.md, Authentication). It is written from
// those rules and does not import internal/iam, so a test of the verifier
// checks it against a second implementation, not against itself.
package iamtest

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

// DateFormat is the layout of X-Sdk-Date (UTC).
const DateFormat = "20060102T150405Z"

// SignRequest sets X-Sdk-Date to at and an SDK-HMAC-SHA256 Authorization
// header over body (the raw request body) signing every header already set
// except Content-Type, Authorization and names with '_', as the SDK does.
func SignRequest(r *http.Request, body []byte, accessKey, secretKey string, at time.Time) error {
	date := at.UTC().Format(DateFormat)
	r.Header.Set("X-Sdk-Date", date)
	var signed []string
	for k := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "content-type") || lk == "authorization" || strings.Contains(k, "_") {
			continue
		}
		signed = append(signed, lk)
	}
	slices.Sort(signed)
	cr, err := canonicalRequest(r, body, signed)
	if err != nil {
		return err
	}
	crSum := sha256.Sum256([]byte(cr))
	mac := hmac.New(sha256.New, []byte(secretKey))
	mac.Write([]byte("SDK-HMAC-SHA256\n" + date + "\n" + hex.EncodeToString(crSum[:])))
	r.Header.Set("Authorization", Authorization(accessKey, signed, hex.EncodeToString(mac.Sum(nil))))
	return nil
}

// Authorization renders an Authorization header in the SDK's exact format.
func Authorization(accessKey string, signedHeaders []string, signature string) string {
	return fmt.Sprintf("SDK-HMAC-SHA256 Access=%s, SignedHeaders=%s, Signature=%s",
		accessKey, strings.Join(signedHeaders, ";"), signature)
}

// canonicalRequest is METHOD \n URI \n QUERY \n HEADERS \n SIGNEDHEADERS \n
// BODYHASH, each part from the decoded URL as the SDK holds it.
func canonicalRequest(r *http.Request, body []byte, signed []string) (string, error) {
	segs := strings.Split(r.URL.Path, "/")
	for i, s := range segs {
		segs[i] = escape(s)
	}
	uri := strings.Join(segs, "/")
	if !strings.HasSuffix(uri, "/") {
		uri += "/"
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", fmt.Errorf("iamtest: query %q: %w", r.URL.RawQuery, err)
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var pairs []string
	for _, k := range keys {
		vs := slices.Clone(q[k])
		slices.Sort(vs)
		for _, v := range vs {
			pairs = append(pairs, escape(k)+"="+escape(v))
		}
	}
	var hdrs strings.Builder
	for _, h := range signed {
		hdrs.WriteString(h + ":" + strings.TrimSpace(r.Header.Get(h)) + "\n")
	}
	sum := sha256.Sum256(body)
	return strings.Join([]string{r.Method, uri, strings.Join(pairs, "&"), hdrs.String(), strings.Join(signed, ";"), hex.EncodeToString(sum[:])}, "\n"), nil
}

// escape is the SDK's URL escaping: everything but unreserved characters.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '~' || c == '.' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
