package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
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
)

// Kind classifies a SyncError.
type Kind string

const (
	KindAuth        Kind = "auth"
	KindUnreachable Kind = "unreachable"
	KindTimeout     Kind = "timeout"
	KindProtocol    Kind = "protocol"
	KindLimit       Kind = "limit"
)

var kindErrors = map[Kind]error{
	KindAuth:        ErrAuth,
	KindUnreachable: ErrUnreachable,
	KindTimeout:     ErrTimeout,
	KindProtocol:    ErrProtocol,
	KindLimit:       ErrLimit,
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

// Reason is the connection's fail_reason for this error. It starts with
// the value HSS documents for an unreachable registry (REQUEST_API_ERROR)
// so that clients matching on it keep working, then says what happened.
func (e *SyncError) Reason() string {
	var detail string
	switch e.Kind {
	case KindAuth:
		detail = "authentication failed: the registry refused the credentials"
		if code := httpStatus(e.Err); code != 0 {
			detail += fmt.Sprintf(" (HTTP %d)", code)
		}
	case KindTimeout:
		detail = "the registry did not answer in time while trying to " + e.Op
	case KindUnreachable:
		detail = "cannot reach the registry: " + shortCause(e.Err)
	case KindLimit:
		// The cause is this server's own message (a *LimitError), never
		// the registry's text.
		detail = "the registry is over a limit of this server, nothing was changed: " + e.Err.Error()
	default:
		detail = "unexpected answer from the registry while trying to " + e.Op + ": " + shortCause(e.Err)
	}
	return "REQUEST_API_ERROR: " + detail
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
	return KindProtocol
}

func httpStatus(err error) int {
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.StatusCode
	}
	return 0
}

// shortCause keeps fail reasons to one readable line.
func shortCause(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
