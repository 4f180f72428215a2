package scanner

import (
	"context"
	"fmt"
	"sync"
)

// Scratch-space defaults for Options left zero (docs/scanner.md, "Scratch
// space").
const (
	// DefaultMaxScratchSize bounds the kept files one scan holds on disk at
	// once: package databases, Java archives, Go binaries, and the files
	// the analyzers read. Real images keep a few to a few tens of MiB.
	DefaultMaxScratchSize = 512 << 20
	// DefaultScratchLimit bounds the kept files all the scans of one
	// Scanner (one process) hold on disk at once.
	DefaultScratchLimit = 1 << 30
)

// ScratchUsage is a Scanner's use of its scratch directory, for metrics and
// tests: the bytes of kept files on disk now and at most, and the bytes
// ever written (a gated executable that turns out not to be Go is written,
// then dropped).
type ScratchUsage struct {
	Held, PeakHeld, Written int64
}

// scratchPool shares the process-wide scratch limit between concurrent
// scans. Each scan may claim up to perScan bytes; a request is granted at
// once when the pool stays safe, in the banker's-algorithm sense: every
// scan could still get the rest of its claim if the others finished one
// after another and gave their bytes back. Otherwise the request waits
// until a scan gives bytes back, or its context ends. A state in which
// scans wait for each other forever is never entered, so a full pool only
// ever delays a scan (within --scan-timeout), never fails it.
type scratchPool struct {
	limit, perScan int64

	mu      sync.Mutex
	held    map[*scratchAccount]int64
	free    int64
	changed chan struct{} // closed and replaced whenever bytes come back
	peak    int64
	written int64
}

func newScratchPool(limit, perScan int64) *scratchPool {
	return &scratchPool{limit: limit, perScan: min(perScan, limit), held: map[*scratchAccount]int64{}, free: limit,
		changed: make(chan struct{})}
}

// scratchAccount is one scan's share of the pool.
type scratchAccount struct {
	pool *scratchPool
	held int64
}

func (p *scratchPool) account() *scratchAccount { return &scratchAccount{pool: p} }

// reserve claims n bytes for a, waiting while granting them could leave
// the scans deadlocked. Over the scan's own share it fails at once with
// an *oversizeError: the image is what is too big. An account is used by
// its scan's goroutine only.
func (a *scratchAccount) reserve(ctx context.Context, n int64) error {
	p := a.pool
	if n <= 0 {
		return nil
	}
	if a.held+n > p.perScan {
		return &oversizeError{fmt.Sprintf("kept files need more than %d bytes of scratch space (the limit of one scan)", p.perScan)}
	}
	for {
		p.mu.Lock()
		if p.grantable(a, n) {
			a.held += n
			p.held[a] = a.held
			p.free -= n
			p.peak = max(p.peak, p.limit-p.free)
			p.mu.Unlock()
			return nil
		}
		wait := p.changed
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// grantable reports whether giving a n more bytes keeps the pool safe.
// Every scan claims at most perScan; the one holding the most needs the
// least to finish, so finishing them in order of holdings is the best
// order to try. Called with p.mu held.
func (p *scratchPool) grantable(a *scratchAccount, n int64) bool {
	if n > p.free {
		return false
	}
	holdings := make([]int64, 0, len(p.held)+1)
	for b, h := range p.held {
		if b != a {
			holdings = append(holdings, h)
		}
	}
	holdings = append(holdings, a.held+n)
	free := p.free - n
	// Largest holding first: a few scans at most, a simple sort.
	for i := 1; i < len(holdings); i++ {
		for j := i; j > 0 && holdings[j] > holdings[j-1]; j-- {
			holdings[j], holdings[j-1] = holdings[j-1], holdings[j]
		}
	}
	for _, h := range holdings {
		if p.perScan-h > free {
			return false
		}
		free += h
	}
	return true
}

// give returns n bytes of a's to the pool.
func (a *scratchAccount) give(n int64) {
	p := a.pool
	if n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n = min(n, a.held)
	a.held -= n
	p.free += n
	if a.held == 0 {
		delete(p.held, a)
	} else {
		p.held[a] = a.held
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

// wrote counts bytes written to scratch files.
func (a *scratchAccount) wrote(n int64) {
	p := a.pool
	p.mu.Lock()
	p.written += n
	p.mu.Unlock()
}

// close gives back whatever a still holds: the scan is over.
func (a *scratchAccount) close() { a.give(a.held) }

func (p *scratchPool) usage() ScratchUsage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return ScratchUsage{Held: p.limit - p.free, PeakHeld: p.peak, Written: p.written}
}
