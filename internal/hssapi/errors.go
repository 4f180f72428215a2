package hssapi

import (
	"fmt"
	"net/http"
	"time"
)

// Error codes of the HSS error envelope (docs/api.md names which answer
// carries which). Clients match on them,
// so they are exact copies of what Huawei's HSS and API gateway publish.
const (
	codeInvalidParam = "HSS.0001"
	codeBadRequest   = "HSS.0002"
	codeUnauthorized = "APIGW.0301"
	codeForbidden    = "HSS.0013"
	codeNotFound     = "HSS.0011"
	codeConflict     = "HSS.0014"
	codeRateLimited  = "APIGW.0308"
	codeInternal     = "HSS.0041"
)

// apiError is an error a handler answers with: a status and the HSS envelope.
// Its message is shown to the client, so it never carries Go error text.
type apiError struct {
	Status int
	Code   string
	Msg    string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Msg }

func invalidParam(name, format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, codeInvalidParam, "invalid parameter " + name + ": " + fmt.Sprintf(format, args...)}
}

func badRequest(msg string) *apiError {
	return &apiError{http.StatusBadRequest, codeBadRequest, msg}
}

var (
	errUnauthenticated = &apiError{http.StatusUnauthorized, codeUnauthorized, "Incorrect IAM authentication information"}
	errForbidden       = &apiError{http.StatusForbidden, codeForbidden, "insufficient permissions"}
	errRateLimited     = &apiError{http.StatusTooManyRequests, codeRateLimited, "the API rate limit for this credential is exceeded"}
	errInternal        = &apiError{http.StatusInternalServerError, codeInternal, "internal error"}
	errRouteNotFound   = &apiError{http.StatusNotFound, codeNotFound, "no such API"}
	errRegistryMissing = &apiError{http.StatusNotFound, codeNotFound, "registry not found"}
	errRegistryExists  = &apiError{http.StatusConflict, codeConflict, "a registry with the same address and namespace already exists"}
)

// throttled is a 429 with its Retry-After: errRateLimited plus how long the
// caller should wait. Handlers return it; writeError sends the header.
type throttled struct{ after time.Duration }

func (t *throttled) Error() string { return errRateLimited.Error() }

// retryAfterSeconds renders a wait as Retry-After's whole seconds, at least
// one: a client told "0" would retry at once.
func retryAfterSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return fmt.Sprint(max(1, s))
}
