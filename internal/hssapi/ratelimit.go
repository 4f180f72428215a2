package hssapi

import (
	"sync"
	"time"
)

// limiter is a token bucket per key (a credential): burst calls at once,
// refilled at burst per period.
type limiter struct {
	mu      sync.Mutex
	burst   float64
	perSec  float64
	now     func() time.Time
	buckets map[string]*bucket
	// nextSweep is the map size at which idle buckets are dropped next.
	nextSweep int
}

type bucket struct {
	tokens float64
	last   time.Time
}

// sweepAt bounds the bucket map: past this many keys, full buckets (idle
// callers) are dropped, since a new bucket starts full anyway.
const sweepAt = 10_000

func newLimiter(burst int, period time.Duration, now func() time.Time) *limiter {
	return &limiter{
		burst:     float64(burst),
		perSec:    float64(burst) / period.Seconds(),
		now:       now,
		buckets:   map[string]*bucket{},
		nextSweep: sweepAt,
	}
}

// allow takes a token from key's bucket; when there is none it says how
// long until there is (the Retry-After of the 429).
func (l *limiter) allow(key string) (bool, time.Duration) {
	return l.take(key, true)
}

// check reports whether key's bucket holds a token, without taking it.
func (l *limiter) check(key string) (bool, time.Duration) {
	return l.take(key, false)
}

func (l *limiter) take(key string, consume bool) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok && !consume {
		// A caller never seen has a full bucket; checking it must not
		// add an entry for every address that sends a request.
		return true, 0
	}
	if !ok && len(l.buckets) >= l.nextSweep {
		for k, b := range l.buckets {
			if l.refill(b, now) >= l.burst {
				delete(l.buckets, k)
			}
		}
		// Amortized: when most buckets are busy (many callers, e.g. a
		// flood from many addresses), sweeping at every new key would
		// cost a walk of the whole map per request.
		l.nextSweep = max(sweepAt, 2*len(l.buckets))
	}
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / l.perSec * float64(time.Second))
	}
	if consume {
		b.tokens--
	}
	return true, 0
}

func (l *limiter) refill(b *bucket, now time.Time) float64 {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(l.burst, b.tokens+d.Seconds()*l.perSec)
		b.last = now
	}
	return b.tokens
}
