package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
)

// testSignInFailures: the failed sign-in budget is a token bucket per key
// (docs/security.md, Password guessing per user): Burst takes at once, then
// refusals saying when the next token comes; refilled by the caller's
// clock at Burst per Window, never past Burst; a refund gives one token
// back, up to Burst; forgetting refills it; keys do not share tokens.
func testSignInFailures(t *testing.T, e *env) {
	ctx := e.ctx
	b := inventory.SignInBudget{Burst: 3, Window: 3 * time.Second} // a token per second
	take := func(key string, now int64, want time.Duration) {
		t.Helper()
		wait, err := e.st.TakeSignInFailure(ctx, key, b, now)
		if err != nil {
			t.Fatalf("take %s at %d: %v", key, now, err)
		}
		if wait != want {
			t.Fatalf("take %s at %d: wait %v, want %v", key, now, wait, want)
		}
	}
	refund := func(key string) {
		t.Helper()
		if err := e.st.RefundSignInFailure(ctx, key, b); err != nil {
			t.Fatalf("refund %s: %v", key, err)
		}
	}

	// The burst, then refusals until a token has refilled.
	for range 3 {
		take("a", 0, 0)
	}
	take("a", 0, time.Second)
	take("a", 400, 600*time.Millisecond)
	take("b", 400, 0) // another key's bucket is full
	take("a", 1000, 0)
	take("a", 1000, time.Second)
	// A clock behind the row's refills nothing, and takes nothing.
	take("a", 500, 1500*time.Millisecond)

	// A refund gives one back.
	refund("a")
	take("a", 1000, 0)
	take("a", 1000, time.Second)

	// Refunds stop at the burst: b has taken one, gets three back.
	for range 3 {
		refund("b")
	}
	for range 3 {
		take("b", 400, 0)
	}
	take("b", 400, time.Second)
	// A refund of a key never taken changes nothing, and is no error.
	refund("never")
	for range 3 {
		take("never", 0, 0)
	}
	take("never", 0, time.Second)

	// Refilled by the clock, never past the burst.
	take("a", 1000+3_000_000, 0)
	take("a", 1000+3_000_000, 0)
	take("a", 1000+3_000_000, 0)
	take("a", 1000+3_000_000, time.Second)

	// Forgetting refills the bucket; forgetting a key with no row is no error.
	for _, key := range []string{"b", "nothing"} {
		if err := e.st.ForgetSignInFailures(ctx, key); err != nil {
			t.Fatalf("forget %s: %v", key, err)
		}
	}
	for range 3 {
		take("b", 400, 0)
	}
	take("b", 400, time.Second)

	// Takes racing for a key: exactly the burst of them win, whether the
	// key's row exists yet or not (one racer inserts it).
	for round := range 6 {
		key := fmt.Sprintf("race%d", round)
		if round%2 == 1 {
			take(key, 0, 0) // the row exists; two tokens left
		}
		const racers = 8
		waits := make([]time.Duration, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() { waits[i], errs[i] = e.st.TakeSignInFailure(ctx, key, b, 0) })
		}
		wg.Wait()
		won := 0
		for i := range racers {
			switch {
			case errs[i] != nil:
				t.Fatalf("%s: %v", key, errs[i])
			case waits[i] == 0:
				won++
			case waits[i] != time.Second:
				t.Fatalf("%s: a refused racer waits %v, want 1s", key, waits[i])
			}
		}
		if want := 3 - round%2; won != want {
			t.Fatalf("%s: %d racers took a token, want %d", key, won, want)
		}
	}

	// A budget without tokens or window is an error, not a free pass.
	for _, bad := range []inventory.SignInBudget{{Burst: 0, Window: time.Second}, {Burst: 1}} {
		if _, err := e.st.TakeSignInFailure(ctx, "a", bad, 0); err == nil {
			t.Fatalf("take with budget %+v: no error", bad)
		}
	}
}
