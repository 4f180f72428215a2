package hssapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Pinger is what GET /healthz asks of the store: that it answers a trivial
// query. Both stores implement it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// DefaultHealthTimeout is how long GET /healthz waits for the store.
const DefaultHealthTimeout = 2 * time.Second

// health answers GET /healthz from one store check at a time: concurrent
// probes share the check in flight, so a flood of them costs the store one
// query, not one each.
type health struct {
	ping    Pinger // nil: no check, always healthy
	timeout time.Duration
	flight  singleflight.Group
	failing atomic.Bool // the last check failed: log only changes
}

// healthBody is the answer: "ok", or "unavailable" and the failed checks
// with a fixed word each ("timeout" or "error"), never the error's text,
// which could name hosts to an unauthenticated caller (it goes to the log).
type healthBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request, _ *call) error {
	if s.health.ping == nil {
		s.writeJSON(w, http.StatusOK, healthBody{Status: "ok"})
		return nil
	}
	ch := s.health.flight.DoChan("store", func() (any, error) {
		// Not the request's context: the check is shared, and one
		// caller hanging up must not fail the others'.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.health.timeout)
		defer cancel()
		return nil, s.health.ping.Ping(ctx)
	})
	// The answer comes within the timeout even from a store whose Ping
	// does not honour its context.
	timer := time.NewTimer(s.health.timeout)
	defer timer.Stop()
	var err error
	select {
	case res := <-ch:
		err = res.Err
	case <-timer.C:
		err = fmt.Errorf("no answer within %s: %w", s.health.timeout, context.DeadlineExceeded)
	case <-r.Context().Done():
		return nil // the caller is gone
	}
	if err == nil {
		if s.health.failing.Swap(false) {
			s.log.InfoContext(r.Context(), "health check: store answers again")
		}
		s.writeJSON(w, http.StatusOK, healthBody{Status: "ok"})
		return nil
	}
	if !s.health.failing.Swap(true) {
		s.log.ErrorContext(r.Context(), "health check: store does not answer", "timeout", s.health.timeout, "err", err)
	}
	word := "error"
	if errors.Is(err, context.DeadlineExceeded) {
		word = "timeout"
	}
	s.writeJSON(w, http.StatusServiceUnavailable, healthBody{Status: "unavailable", Checks: map[string]string{"store": word}})
	return nil
}
