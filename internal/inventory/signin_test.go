package inventory

import (
	"testing"
	"time"
)

// TestSignInBudgetTake: the token bucket's arithmetic without a store (the
// stores' shared suite runs it through their rows and locks).
func TestSignInBudgetTake(t *testing.T) {
	b := SignInBudget{Burst: 3, Window: 3 * time.Second} // a token per second
	for _, tc := range []struct {
		name    string
		tokens  float64
		at, now int64
		left    float64
		last    int64
		wait    time.Duration
	}{
		{"a full bucket gives one", 3, 0, 0, 2, 0, 0},
		{"the last token", 1, 0, 0, 0, 0, 0},
		{"empty: a second until the next", 0, 0, 0, 0, 0, time.Second},
		{"empty, 400 ms on: 600 ms more", 0, 0, 400, 0.4, 400, 600 * time.Millisecond},
		{"a second refills a whole token, exactly", 0, 0, 1000, 0, 1000, 0},
		{"never past the burst", 0, 0, 3_000_000, 2, 3_000_000, 0},
		{"a clock behind refills nothing and waits to catch up", 0, 1000, 500, 0, 1000, 1500 * time.Millisecond},
		{"a clock behind takes what is there", 2, 1000, 500, 1, 1000, 0},
		{"just under a token waits a rounded-up ms", 0.9999, 0, 0, 0.9999, 0, time.Millisecond},
	} {
		left, last, wait := b.Take(tc.tokens, tc.at, tc.now)
		if left != tc.left || last != tc.last || wait != tc.wait {
			t.Errorf("%s: Take(%v, %d, %d) = %v, %d, %v; want %v, %d, %v", tc.name, tc.tokens, tc.at, tc.now,
				left, last, wait, tc.left, tc.last, tc.wait)
		}
	}
	for _, bad := range []SignInBudget{{}, {Burst: 1}, {Window: time.Second}, {Burst: 1, Window: time.Microsecond}, {Burst: -1, Window: time.Second}} {
		if bad.Valid() {
			t.Errorf("%+v is valid", bad)
		}
	}
	if !b.Valid() {
		t.Errorf("%+v is not valid", b)
	}
}
