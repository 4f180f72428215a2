package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/openhss/openhss/internal/netpolicy"
)

// Sentinel errors of a failed listing; test with errors.Is. Every
// *SyncError matches exactly one of them.
var (
	// ErrAuth: the registry refused the credentials (HTTP 401/403).
	ErrAuth = errors.New("authentication failed")
	// ErrUnreachable: no connection, DNS or TLS failure, or a 5xx answer.
	ErrUnreachable = errors.New("registry unreachable")
	// ErrTimeout: a request or the whole listing ran out of time.
	ErrTimeout = errors.New("registry timed out")
	// ErrProtocol: the server answered, but not as a registry would
	// (e.g. no catalog API, malformed JSON).
	ErrProtocol = errors.New("unexpected registry response")
	// ErrLimit: the registry holds more than this server lists for one
	// connection (a cap of the Lister; the error wraps a *LimitError).
	ErrLimit = errors.New("registry exceeds a listing limit")
	// ErrDenied: the network policy refused a connection (the registry,
	// a redirect or a token realm). It is netpolicy.ErrDenied.
	ErrDenied = netpolicy.ErrDenied
)

// opParseAddress is the Op of a connection whose stored address or
// protocol cannot be used (Lister.open).
const opParseAddress = "parse address"

// Kind classifies a SyncError.
type Kind string

const (
	KindAuth        Kind = "auth"
	KindUnreachable Kind = "unreachable"
	KindTimeout     Kind = "timeout"
	KindProtocol    Kind = "protocol"
	KindLimit       Kind = "limit"
	KindDenied      Kind = "denied"
)

var kindErrors = map[Kind]error{
	KindAuth:        ErrAuth,
	KindUnreachable: ErrUnreachable,
	KindTimeout:     ErrTimeout,
	KindProtocol:    ErrProtocol,
	KindLimit:       ErrLimit,
	KindDenied:      ErrDenied,
}

// SyncError is why a registry connection could not be listed. The caller
// records it on the connection and leaves its rows untouched.
type SyncError struct {
	Kind Kind
	Addr string // the connection's host[:port]
	Op   string // what was being done: "list repositories", ...
	Err  error  // the underlying error
}

func (e *SyncError) Error() string {
	return fmt.Sprintf("registry %s: %s: %v: %v", e.Addr, e.Op, kindErrors[e.Kind], e.Err)
}

// Unwrap exposes both the kind's sentinel and the cause.
func (e *SyncError) Unwrap() []error { return []error{kindErrors[e.Kind], e.Err} }

// Reason is the connection's fail_reason for this error: the value HSS
// documents for an unreachable registry (REQUEST_API_ERROR), so that
// clients matching on it keep working, then a phrase of a fixed
// vocabulary, the HTTP status when there was one, and the step. Nothing
// the remote server wrote and no address is part of it: a tenant must not
// learn from it what answers on an internal address (the body of an
// internal service, whether a port is open beyond "connection failed").
// The server log has the detail (Syncer logs the error).
//
// Vocabulary: denied by network policy, connection failed, TLS error,
// timeout, authentication failed, not found, rate limited, server error,
// bad response, invalid registry address; and for a registry over a cap
// of the Lister, that cap in this server's own words.
func (e *SyncError) Reason() string {
	if e.Kind == KindLimit {
		// The cause is this server's own message (a *LimitError), never
		// the registry's text.
		return "REQUEST_API_ERROR: the registry is over a limit of this server, nothing was changed: " + e.Err.Error()
	}
	code := httpStatus(e.Err)
	phrase := e.phrase(code)
	if code != 0 {
		phrase += fmt.Sprintf(" (HTTP %d)", code)
	}
	return "REQUEST_API_ERROR: " + phrase + " while trying to " + e.Op
}

func (e *SyncError) phrase(code int) string {
	switch e.Kind {
	case KindDenied:
		return "denied by network policy"
	case KindAuth:
		return "authentication failed"
	case KindTimeout:
		return "timeout"
	case KindUnreachable:
		switch {
		case code == http.StatusTooManyRequests:
			return "rate limited"
		case code >= 500:
			return "server error"
		case isCertError(e.Err):
			return "TLS error"
		}
		return "connection failed"
	}
	switch {
	case e.Op == opParseAddress:
		return "invalid registry address"
	case code == http.StatusNotFound:
		return "not found"
	}
	return "bad response"
}

// isCertError is a certificate the registry presented and openhss refused:
// only a TLS server gets that far, so it says no more about the port than
// any answer does, and it is what the operator has to fix.
func isCertError(err error) bool {
	var (
		certErr *tls.CertificateVerificationError
		hostErr x509.HostnameError
		authErr x509.UnknownAuthorityError
		invErr  x509.CertificateInvalidError
	)
	return errors.As(err, &certErr) || errors.As(err, &hostErr) || errors.As(err, &authErr) || errors.As(err, &invErr)
}

// FailReason is the fail_reason to record for an error of Lister.List or
// Syncer: the SyncError's Reason, else an internal error.
func FailReason(err error) string {
	var se *SyncError
	if errors.As(err, &se) {
		return se.Reason()
	}
	if errors.Is(err, context.Canceled) {
		return "SERVER_ERROR: sync interrupted (server stopping); it will be retried"
	}
	return "SERVER_ERROR: internal error, see the server log"
}

// classify turns an error of go-containerregistry into a *SyncError. It
// returns errors of a cancelled parent context unchanged: a shutdown is not
// the registry's fault.
func classify(parent context.Context, addr, op string, err error) error {
	if err == nil {
		return nil
	}
	if parent.Err() != nil && errors.Is(parent.Err(), context.Canceled) {
		return err
	}
	var se *SyncError
	if errors.As(err, &se) {
		return err
	}
	return &SyncError{Kind: kindOf(err), Addr: addr, Op: op, Err: err}
}

func kindOf(err error) Kind {
	if errors.Is(err, netpolicy.ErrDenied) {
		return KindDenied
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden:
			return KindAuth
		case terr.StatusCode >= 500 || terr.StatusCode == http.StatusTooManyRequests:
			return KindUnreachable
		case terr.StatusCode == http.StatusRequestTimeout:
			return KindTimeout
		}
		return KindProtocol
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return KindTimeout
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return KindTimeout
	}
	var (
		opErr   *net.OpError
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		hostErr x509.HostnameError
		authErr x509.UnknownAuthorityError
		recErr  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &opErr), errors.As(err, &dnsErr), errors.As(err, &certErr),
		errors.As(err, &hostErr), errors.As(err, &authErr), errors.As(err, &recErr),
		errors.Is(err, errPlainHTTP):
		return KindUnreachable
	}
	// go-containerregistry's ping reports connection failures of every
	// scheme it tried as one flat message.
	if msg := err.Error(); strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") {
		return KindUnreachable
	}
	// A port that accepts and then closes or resets the connection (not an
	// HTTP server) fails like one that refuses it: a fail_reason must not
	// tell the two apart.
	var uerr *url.Error
	if errors.As(err, &uerr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return KindUnreachable
	}
	return KindProtocol
}

func httpStatus(err error) int {
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.StatusCode
	}
	return 0
}
