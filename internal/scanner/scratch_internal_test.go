package scanner

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// A request that could leave two scans waiting for each other forever is
// not granted; it is once the other scan gives its space back.
func TestScratchPoolAvoidsDeadlock(t *testing.T) {
	p := newScratchPool(10, 6)
	a, b := p.account(), p.account()
	ctx := context.Background()
	for _, r := range []struct {
		acct *scratchAccount
		n    int64
	}{{a, 5}, {b, 3}} {
		if err := r.acct.reserve(ctx, r.n); err != nil {
			t.Fatal(err)
		}
	}
	// b at 5 would leave 0 free while a and b each need 1 more.
	if p.grantable(b, 2) {
		t.Fatal("granted a request that can deadlock")
	}
	// a at 6 has its whole claim: it can finish, then b can.
	if !p.grantable(a, 1) {
		t.Fatal("refused a safe request")
	}
	done := make(chan error, 1)
	go func() { done <- b.reserve(ctx, 2) }()
	a.close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := b.reserve(ctx, 2); !isOversize(err) {
		t.Fatalf("over the per-scan share: %v, want an oversize error", err)
	}
	b.close()
	if u := p.usage(); u.Held != 0 || u.PeakHeld > 10 {
		t.Errorf("usage %+v", u)
	}
}

// Many scans reserving and giving back at random always finish, and the
// pool never holds more than its limit.
func TestScratchPoolConcurrent(t *testing.T) {
	p := newScratchPool(100, 40)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			a := p.account()
			defer a.close()
			for j := range 50 {
				n := int64(1 + (i*7+j*13)%9)
				if err := a.reserve(context.Background(), n); err != nil {
					if !isOversize(err) {
						t.Error(err)
					}
					a.give(a.held)
					continue
				}
				if j%3 == 0 {
					a.give(n)
				}
			}
		})
	}
	wg.Wait()
	if u := p.usage(); u.Held != 0 || u.PeakHeld > 100 {
		t.Errorf("usage %+v", u)
	}
}

func isOversize(err error) bool {
	var oe *oversizeError
	return errors.As(err, &oe)
}
