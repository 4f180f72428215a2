package registry

import "time"

// Knobs only tests turn: a binary lists with the defaults (and the caps,
// WithTransport, WithLogger of lister.go).

// WithRequestTimeout bounds each HTTP request, body included (default 30s).
func WithRequestTimeout(d time.Duration) Option { return func(l *Lister) { l.requestTimeout = d } }

// WithListTimeout bounds the whole listing of one connection (default 30m).
func WithListTimeout(d time.Duration) Option { return func(l *Lister) { l.listTimeout = d } }

// WithConcurrency bounds the requests in flight per listing (default 16).
func WithConcurrency(n int) Option { return func(l *Lister) { l.concurrency = max(n, 1) } }

// WithPageSize sets the n asked of catalog and tag list pages (default
// 1000). A registry that refuses n gets asked without it and chooses.
func WithPageSize(n int) Option { return func(l *Lister) { l.pageSize = n } }

// WithRetry sets how requests that failed for a transient reason
// (connection refused, timeout, 429, 5xx) are retried; the zero
// RetryPolicy is the default (see RetryPolicy).
func WithRetry(p RetryPolicy) Option { return func(l *Lister) { l.retry = p } }

// WithClock sets the clock for Snapshot.SeenAt.
func WithClock(now func() time.Time) Option { return func(l *Lister) { l.now = now } }
