package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/sqlstore"
)

// TestSignInFailuresAcrossStores takes a name's failures through two
// stores on one database, on each engine (two servers): one count, and of
// the two taking the last token at once exactly one gets it.
func TestSignInFailuresAcrossStores(t *testing.T) {
	b := inventory.SignInBudget{Burst: 4, Window: 4 * time.Second}
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			x, y, _ := open(t)
			for round := range 10 {
				key := fmt.Sprintf("k%d", round)
				// Three of four taken, alternately through each store.
				for i, st := range []engineStore{x, y, x} {
					if wait, err := st.TakeSignInFailure(ctx, key, b, 0); err != nil || wait != 0 {
						t.Fatalf("%s: take %d: %v, %v", key, i, wait, err)
					}
				}
				var wg sync.WaitGroup
				waits := make([]time.Duration, 2)
				errs := make([]error, 2)
				for i, st := range []engineStore{x, y} {
					wg.Go(func() { waits[i], errs[i] = st.TakeSignInFailure(ctx, key, b, 0) })
				}
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						t.Fatalf("%s: %v", key, err)
					}
				}
				if (waits[0] == 0) == (waits[1] == 0) {
					t.Fatalf("%s: the last token's racers waits %v, want one 0 and one 1s", key, waits)
				}
			}
		})
	}
}

// TestSignInFailuresStaleRows: names nobody tried for a window (an
// attacker's made-up ones) are deleted by later takes, StaleSignInRows per
// take, so the table holds about the names tried in the last window.
func TestSignInFailuresStaleRows(t *testing.T) {
	b := inventory.SignInBudget{Burst: 2, Window: time.Second}
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, _, shared := open(t)
			rows := func() int64 {
				t.Helper()
				n, err := sqlstore.SignInFailureRows(ctx, shared)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			take := func(key string, now int64) {
				t.Helper()
				if _, err := st.TakeSignInFailure(ctx, key, b, now); err != nil {
					t.Fatal(err)
				}
			}
			stale := 3*sqlstore.StaleSignInRows + 1
			for i := range stale {
				take(fmt.Sprintf("old%d", i), 0)
			}
			// Within the window nothing is stale.
			take("fresh", 999)
			if n := rows(); n != int64(stale+1) {
				t.Fatalf("%d rows within the window, want %d", n, stale+1)
			}
			// A window on, each take deletes up to StaleSignInRows.
			take("new0", 1000)
			if n, want := rows(), int64(stale+2-sqlstore.StaleSignInRows); n != want {
				t.Fatalf("%d rows after one take a window on, want %d", n, want)
			}
			for i := 1; i < 4; i++ {
				take(fmt.Sprintf("new%d", i), 1000)
			}
			// fresh and the four new rows are left.
			if n := rows(); n != 5 {
				t.Fatalf("%d rows after the stale ones went, want 5", n)
			}
		})
	}
}
