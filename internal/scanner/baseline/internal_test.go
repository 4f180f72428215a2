package baseline

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-crypt/crypt/algorithm/shacrypt"
)

func TestParseHashBounds(t *testing.T) {
	cases := []struct {
		hash string
		want hashStatus
		cost time.Duration // checked when non-zero
	}{
		{"*", hashLocked, 0},
		{"!", hashLocked, 0},
		{"!!", hashLocked, 0},
		{"!$6$salt$" + strings.Repeat("a", 86), hashLocked, 0},
		{"", hashLocked, 0}, // empty is the empty-password rule's business
		{"$6$salt$" + strings.Repeat("a", 86), hashUsable, 5000 * costSHA512PerRound},
		{"$6$rounds=500$salt$" + strings.Repeat("a", 86), hashUsable, 1000 * costSHA512PerRound}, // clamped like glibc
		{"$6$rounds=100000$salt$" + strings.Repeat("a", 86), hashUsable, 100000 * costSHA512PerRound},
		{"$6$rounds=999999999$salt$" + strings.Repeat("a", 86), hashTooCostly, 0},
		{"$6$rounds=99999999999999$salt$x", hashMalformed, 0},
		{"$5$rounds=2000000$salt$" + strings.Repeat("a", 43), hashTooCostly, 0},
		{"$1$saltsalt$" + strings.Repeat("a", 22), hashUsable, costMD5Crypt},
		{"$2b$05$mu1g9n7F1nqdRa1Ji6gJwOljZA41lk5ywX0uYfgtvRWx9q8xK4g6e", hashUsable, costBcryptPerUnit},
		{"$2b$31$mu1g9n7F1nqdRa1Ji6gJwOljZA41lk5ywX0uYfgtvRWx9q8xK4g6e", hashTooCostly, 0},
		{"$y$j9T$sY03VX4ibvI/m/I6nUjsz.$ur2Ffz7Z357tUgFjYjwdG6JmzKvdtVyRmqn4pdQzu45", hashUsable, 4096 * 32 * costYescryptPerNr},
		{"$y$jFT$Vpn8XbdgUHoHf1YcHV3Dr.$nnxqKFLvFniIeDC6QKoYyunNIg/Cm4kGBQU8le0Ni3C", hashTooCostly, 0},
		{"$y$jzz$salt$hash", hashUnsupported, 0},
		{"$y$j9T$salt", hashMalformed, 0},
		{"$gy$j9T$salt$hash", hashUnsupported, 0},
		{"$7$CU..../....salt$hash", hashUnsupported, 0},
		{"abJnggxhB/yWI", hashUnsupported, 0},
	}
	for _, c := range cases {
		v, cost, st := parseHash(c.hash)
		if st != c.want {
			t.Errorf("parseHash(%.24q) status %d, want %d", c.hash, st, c.want)
			continue
		}
		if (v != nil) != (st == hashUsable) {
			t.Errorf("parseHash(%.24q): verifier %v with status %d", c.hash, v, st)
		}
		if c.cost != 0 && cost != c.cost {
			t.Errorf("parseHash(%.24q) cost %v, want %v", c.hash, cost, c.cost)
		}
		if st == hashUsable && cost > maxAttemptCost {
			t.Errorf("parseHash(%.24q) usable at cost %v", c.hash, cost)
		}
	}
}

// TestCrackStaysInBudget: the estimated work never exceeds the budget, and
// every account gets the head of the list before any gets its tail.
func TestCrackStaysInBudget(t *testing.T) {
	h, err := shacrypt.New(shacrypt.WithSHA512(), shacrypt.WithIterations(5000))
	if err != nil {
		t.Fatal(err)
	}
	d, err := h.Hash(strings.Repeat("not-in-any-list-", 3))
	if err != nil {
		t.Fatal(err)
	}
	v, cost, st := parseHash(d.Encode())
	if st != hashUsable {
		t.Fatal(st)
	}
	dict := newDictionary(commonPasswords)
	var targets []*hashTarget
	for _, name := range []string{"a", "b", "c"} {
		targets = append(targets, &hashTarget{acct: &account{name: name}, v: v, cost: cost, own: dict.ownCandidates(name), dict: dict})
	}
	budget := 30 * cost
	st2, err := crack(context.Background(), targets, budget)
	if err != nil {
		t.Fatal(err)
	}
	if st2.attempts != 30 || st2.spent > budget || st2.outOfBudget != 3 {
		t.Fatalf("stats %+v, want 30 attempts within %v and 3 accounts out of budget", st2, budget)
	}
	for _, tg := range targets {
		if tg.next != 10 || tg.found {
			t.Errorf("account %s: %d candidates tried, found %v; want 10, false", tg.acct.name, tg.next, tg.found)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fresh := &hashTarget{acct: &account{name: "d"}, v: v, cost: cost, dict: dict}
	if _, err := crack(ctx, []*hashTarget{fresh}, time.Hour); err == nil {
		t.Error("crack ignored a cancelled context")
	}
}

func TestDictionary(t *testing.T) {
	seen := map[string]bool{}
	for _, w := range commonPasswords {
		if seen[w] {
			t.Errorf("duplicate word %q", w)
		}
		seen[w] = true
	}
	if len(commonPasswords) < 200 {
		t.Errorf("%d built-in words", len(commonPasswords))
	}
	d := newDictionary([]string{"site-word", "123456", "", strings.Repeat("x", maxCandidateLen+1)}, commonPasswords)
	if d.words[0] != "site-word" || d.words[1] != "123456" || len(d.words) != len(commonPasswords)+1 {
		t.Errorf("dictionary starts %q, has %d words", d.words[:3], len(d.words))
	}
	if got := d.ownCandidates("root"); len(got) != 0 { // root and root123 are in the list
		t.Errorf("own candidates for root: %q", got)
	}
	if got := d.ownCandidates("deploy"); len(got) != 2 || got[0] != "deploy" || got[1] != "deploy123" {
		t.Errorf("own candidates for deploy: %q", got)
	}
}

func TestSSHDConfigParsing(t *testing.T) {
	cases := []struct {
		line, key, val string
	}{
		{"PermitRootLogin yes", "permitrootlogin", "yes"},
		{"  permitrootlogin\tYES  # comment", "permitrootlogin", "YES  # comment"},
		{"PermitRootLogin=no", "permitrootlogin", "no"},
		{"PermitRootLogin = no", "permitrootlogin", "no"},
		{"# PermitRootLogin yes", "", ""},
		{"", "", ""},
	}
	for _, c := range cases {
		k, v := splitSSHDLine(c.line)
		if k != c.key || v != c.val {
			t.Errorf("splitSSHDLine(%q) = %q, %q; want %q, %q", c.line, k, v, c.key, c.val)
		}
	}
}
