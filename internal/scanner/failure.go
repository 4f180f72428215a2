package scanner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/openhss/openhss/internal/inventory"
)

// FetchFailure maps an error from fetching an image (remote.Image,
// remote.Get, reading a blob) to its Failure:
//   - a registry 401 or 403 → download_failed + authentication_failed;
//   - a deadline or network timeout → download_failed + response_timed_out;
//   - anything else (refused connection, 404, broken transfer, digest
//     mismatch) → download_failed + download_failed.
//
// Callers that resolve the image before Scan use it for those errors, so
// that both paths map alike.
func FetchFailure(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return &Failure{Status: inventory.DownloadFailed, Desc: DescAuthenticationFailed, Err: err}
	}
	if isTimeout(err) {
		return &Failure{Status: inventory.DownloadFailed, Desc: DescResponseTimedOut, Err: err}
	}
	return &Failure{Status: inventory.DownloadFailed, Desc: DescDownloadFailed, Err: err}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// contextFailure is a scan stopped by its context: a deadline is the
// registry not answering in time; a cancellation (shutdown) keeps
// context.Canceled in the chain so callers can requeue rather than record.
func contextFailure(err error) *Failure {
	if errors.Is(err, context.DeadlineExceeded) {
		return &Failure{Status: inventory.DownloadFailed, Desc: DescResponseTimedOut, Err: err}
	}
	return &Failure{Status: inventory.ScanFailed, Desc: DescUnknown, Err: err}
}

// oversizeError is a limit of Options exceeded.
type oversizeError struct{ what string }

func (e *oversizeError) Error() string { return e.what }

func oversized(format string, args ...any) *Failure {
	return &Failure{Status: inventory.ImageOversized, Desc: DescImageOversized, Err: &oversizeError{fmt.Sprintf(format, args...)}}
}

// fetchError marks an error that came from reading the registry's bytes,
// as opposed to making sense of them.
type fetchError struct{ err error }

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// isTransferError recognises go-containerregistry's verification errors
// (digest or size mismatch), which it does not export as types.
func isTransferError(err error) bool {
	var fe *fetchError
	if errors.As(err, &fe) {
		return true
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return strings.Contains(err.Error(), "error verifying")
}

// classify maps an error met while walking a layer. content is the
// fallback for errors in what was received (tar, decompression).
func classify(ctx context.Context, err error, content func(error) *Failure) *Failure {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return contextFailure(ctxErr)
	}
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	var oe *oversizeError
	if errors.As(err, &oe) {
		return &Failure{Status: inventory.ImageOversized, Desc: DescImageOversized, Err: err}
	}
	if isTransferError(err) {
		return FetchFailure(err)
	}
	return content(err)
}

func softwareFailure(err error) *Failure {
	return &Failure{Status: inventory.ScanFailed, Desc: DescFailedToScanSoftware, Err: err}
}
