package iam

import (
	"strings"
)

// Algorithm is the only signing algorithm openhss accepts: the one the SDK's
// BasicCredentials use by default.
const Algorithm = "SDK-HMAC-SHA256"

// Bounds on the parts of an Authorization header. They are far above what any
// SDK sends and only keep a hostile header from costing anything.
const (
	maxAuthorizationLen = 4096
	maxAccessKeyLen     = 128
	maxSignedHeaders    = 32
	maxHeaderNameLen    = 64
	signatureHexLen     = 64 // hex of a SHA-256 HMAC
)

// Authorization is a parsed "SDK-HMAC-SHA256 Access=..., SignedHeaders=...,
// Signature=..." header.
type Authorization struct {
	AccessKey     string
	SignedHeaders []string // lowercase, in the order the client signed them
	Signature     string   // 64 lowercase hex digits
}

// Signs reports whether header name (any case) is among the signed headers.
func (a Authorization) Signs(name string) bool {
	name = strings.ToLower(name)
	for _, h := range a.SignedHeaders {
		if h == name {
			return true
		}
	}
	return false
}

// ParseAuthorization parses an Authorization header value. It accepts the
// three parameters in any order, separated by commas with optional spaces,
// each exactly once; anything else is an error wrapping ErrUnauthenticated.
// Errors never quote the signature.
func ParseAuthorization(header string) (Authorization, error) {
	var a Authorization
	if len(header) > maxAuthorizationLen {
		return a, unauthenticated("Authorization header too long")
	}
	alg, params, ok := strings.Cut(header, " ")
	if !ok || alg != Algorithm {
		return a, unauthenticated("Authorization header must start with " + Algorithm)
	}
	var seenAccess, seenHeaders, seenSig bool
	for _, p := range strings.Split(params, ",") {
		p = strings.Trim(p, " ")
		key, val, ok := strings.Cut(p, "=")
		if !ok {
			return Authorization{}, unauthenticated("malformed Authorization parameter")
		}
		switch key {
		case "Access":
			if seenAccess {
				return Authorization{}, unauthenticated("duplicate Access in Authorization header")
			}
			seenAccess = true
			if !validAccessKey(val) {
				return Authorization{}, unauthenticated("malformed Access in Authorization header")
			}
			a.AccessKey = val
		case "SignedHeaders":
			if seenHeaders {
				return Authorization{}, unauthenticated("duplicate SignedHeaders in Authorization header")
			}
			seenHeaders = true
			hs, err := parseSignedHeaders(val)
			if err != nil {
				return Authorization{}, err
			}
			a.SignedHeaders = hs
		case "Signature":
			if seenSig {
				return Authorization{}, unauthenticated("duplicate Signature in Authorization header")
			}
			seenSig = true
			if !validSignature(val) {
				return Authorization{}, unauthenticated("Signature must be 64 lowercase hex digits")
			}
			a.Signature = val
		default:
			return Authorization{}, unauthenticated("unknown Authorization parameter")
		}
	}
	if !seenAccess || !seenHeaders || !seenSig {
		return Authorization{}, unauthenticated("Authorization header needs Access, SignedHeaders and Signature")
	}
	return a, nil
}

func parseSignedHeaders(v string) ([]string, error) {
	names := strings.Split(v, ";")
	if len(names) > maxSignedHeaders {
		return nil, unauthenticated("too many SignedHeaders")
	}
	for i, n := range names {
		if !validHeaderName(n) {
			return nil, unauthenticated("malformed SignedHeaders (want lowercase names joined by ';')")
		}
		for _, prev := range names[:i] {
			if prev == n {
				return nil, unauthenticated("duplicate name in SignedHeaders")
			}
		}
	}
	return names, nil
}

// validAccessKey accepts the alphanumeric keys openhss issues and the
// longer ones other IAM systems use, nothing that could smuggle syntax.
func validAccessKey(s string) bool {
	if s == "" || len(s) > maxAccessKeyLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > maxHeaderNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func validSignature(s string) bool {
	if len(s) != signatureHexLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
