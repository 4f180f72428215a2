package baseline

import (
	"context"
	"crypto/subtle"
	"strconv"
	"strings"
	"time"

	"github.com/go-crypt/crypt/algorithm"
	"github.com/go-crypt/crypt/algorithm/bcrypt"
	"github.com/go-crypt/crypt/algorithm/md5crypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
	"github.com/go-crypt/x/yescrypt"
)

// Hashing is slow by design, so the weak-password check works against a
// budget of estimated time rather than a clock: the same image always gets
// the same answer, whatever the machine's load. The estimates are per
// attempt, measured with these libraries on one x86-64 core (sha512-crypt
// at 5000 rounds ≈ 2.3 ms, sha256-crypt ≈ 1.25 ms, md5-crypt ≈ 0.18 ms,
// bcrypt cost 5 ≈ 3 ms, yescrypt N=4096 r=32 — the Debian/Ubuntu default
// "$y$j9T$" — 35 ms warm but up to 200 ms for the first attempts of a
// process, as its 16 MiB are faulted in; 46 ms is the average measured
// over a whole budget).
const (
	costMD5Crypt        = 180 * time.Microsecond
	costSHA256PerRound  = 250 * time.Nanosecond
	costSHA512PerRound  = 470 * time.Nanosecond
	costBcryptPerUnit   = 95 * time.Microsecond // per 2^cost / 32
	costYescryptPerNr   = 350 * time.Nanosecond // per N*r
	shaDefaultRounds    = 5000
	shaMinRounds        = 1000
	maxAttemptCost      = 250 * time.Millisecond // a single attempt above this is absurd: skipped, not tried
	maxYescryptMemory   = 64 << 20               // 128*N*r bytes
	maxHashedAccounts   = 32                     // accounts with a usable hash that get dictionary checks
	maxCandidateLen     = 128
	defaultCrackBudget  = time.Second
	maxWeakPasswordRows = 256 // WeakPassword findings kept per image
)

// verifier checks one password against one stored hash.
type verifier interface {
	match(pw []byte) bool
}

// digestVerifier is a go-crypt/crypt digest (md5-crypt, sha-crypt, bcrypt).
type digestVerifier struct{ d algorithm.Digest }

func (v digestVerifier) match(pw []byte) bool { return v.d.MatchBytes(pw) }

// yescryptVerifier recomputes the hash with the stored setting (salt and
// parameters) and compares the whole encoding.
type yescryptVerifier struct{ hash []byte }

func (v yescryptVerifier) match(pw []byte) bool {
	got, err := yescrypt.Hash(pw, v.hash)
	return err == nil && subtle.ConstantTimeCompare(got, v.hash) == 1
}

// hashStatus says why a password field gets no dictionary check.
type hashStatus int

const (
	hashUsable      hashStatus = iota
	hashLocked                 // "*", "!", "!!", "!$6$...", "x": no password login
	hashUnsupported            // DES crypt, $7$, $gy$, $sha1$, ...
	hashTooCostly              // parameters beyond maxAttemptCost or memory
	hashMalformed
)

// parseHash returns a verifier for a crypt(3) hash and the estimated cost
// of one attempt. It never runs the hash.
func parseHash(h string) (verifier, time.Duration, hashStatus) {
	switch {
	case h == "" || h[0] == '!' || h[0] == '*' || h == "x" || h == "locked":
		return nil, 0, hashLocked
	case strings.HasPrefix(h, "$1$"):
		d, err := md5crypt.Decode(h)
		if err != nil {
			return nil, 0, hashMalformed
		}
		return digestVerifier{d}, costMD5Crypt, hashUsable
	case strings.HasPrefix(h, "$5$"), strings.HasPrefix(h, "$6$"):
		rounds, ok := shaRounds(h)
		if !ok {
			return nil, 0, hashMalformed
		}
		per := costSHA512PerRound
		if h[1] == '5' {
			per = costSHA256PerRound
		}
		cost := time.Duration(rounds) * per
		if cost > maxAttemptCost {
			return nil, cost, hashTooCostly
		}
		d, err := shacrypt.Decode(h)
		if err != nil {
			return nil, 0, hashMalformed
		}
		return digestVerifier{d}, cost, hashUsable
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		if len(h) < 7 || h[6] != '$' {
			return nil, 0, hashMalformed
		}
		c, err := strconv.Atoi(h[4:6])
		if err != nil || c < 4 || c > 31 {
			return nil, 0, hashMalformed
		}
		cost := costBcryptPerUnit * time.Duration(1<<c) / 32
		if c > 20 || cost > maxAttemptCost {
			return nil, cost, hashTooCostly
		}
		d, err := bcrypt.Decode(h)
		if err != nil {
			return nil, 0, hashMalformed
		}
		return digestVerifier{d}, cost, hashUsable
	case strings.HasPrefix(h, "$y$"):
		return parseYescrypt(h)
	default:
		return nil, 0, hashUnsupported
	}
}

// shaRounds reads the optional "rounds=N$" of a sha-crypt hash, as glibc
// does: absent means 5000, and values are clamped to at least 1000.
func shaRounds(h string) (int64, bool) {
	parts := strings.Split(h, "$")
	if len(parts) < 4 {
		return 0, false
	}
	v, ok := strings.CutPrefix(parts[2], "rounds=")
	if !ok {
		return shaDefaultRounds, true
	}
	r, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, false
	}
	return max(int64(r), shaMinRounds), true
}

// parseYescrypt accepts the parameter encoding libxcrypt writes
// ("$y$j" + N + r + "$salt$hash"), which is what the library supports too,
// and estimates the cost from N and r before anything is allocated.
func parseYescrypt(h string) (verifier, time.Duration, hashStatus) {
	// "$y$jNr$salt$hash"
	if len(h) < 8 || h[6] != '$' {
		return nil, 0, hashMalformed
	}
	if h[3] != 'j' {
		return nil, 0, hashUnsupported
	}
	nlog2 := atoi64(h[4]) + 1
	r := atoi64(h[5]) + 1
	if nlog2 < 1 || nlog2 > 64 || r < 1 || r > 64 {
		return nil, 0, hashMalformed
	}
	if strings.Count(h, "$") != 4 {
		return nil, 0, hashMalformed
	}
	if nlog2 < 10 || nlog2 > 18 || r > 32 {
		return nil, 0, hashUnsupported
	}
	nr := (int64(1) << nlog2) * int64(r)
	cost := time.Duration(nr) * costYescryptPerNr
	if 128*nr > maxYescryptMemory || cost > maxAttemptCost {
		return nil, cost, hashTooCostly
	}
	return yescryptVerifier{hash: []byte(h)}, cost, hashUsable
}

// atoi64 decodes one character of crypt's base-64 alphabet, or -1.
func atoi64(c byte) int {
	const alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	return strings.IndexByte(alphabet, c)
}

// hashTarget is one account whose hash gets dictionary checks.
type hashTarget struct {
	acct  *account
	v     verifier
	cost  time.Duration
	own   []string // candidates from the account itself, tried first
	dict  *dictionary
	next  int
	done  bool // found, or out of budget
	found bool
}

// crackStats summarise a dictionary run for the log; no passwords.
type crackStats struct {
	attempts    int
	spent       time.Duration
	outOfBudget int // accounts left before their candidates ran out
}

// crack tries each target's candidates, most likely first, round-robin
// across accounts so that every account gets the top of the list before
// any gets its tail, until the candidates or the budget run out.
func crack(ctx context.Context, targets []*hashTarget, budget time.Duration) (crackStats, error) {
	var st crackStats
	for {
		progressed := false
		for _, t := range targets {
			if t.done {
				continue
			}
			pw, ok := t.candidate(t.next)
			if !ok {
				t.done = true
				continue
			}
			if st.spent+t.cost > budget {
				t.done = true
				st.outOfBudget++
				continue
			}
			if err := ctx.Err(); err != nil {
				return st, err
			}
			st.spent += t.cost
			st.attempts++
			t.next++
			if t.v.match([]byte(pw)) {
				t.found, t.done = true, true
			}
			progressed = true
		}
		if !progressed {
			return st, nil
		}
	}
}

func (t *hashTarget) candidate(i int) (string, bool) {
	if i < len(t.own) {
		return t.own[i], true
	}
	i -= len(t.own)
	if i < len(t.dict.words) {
		return t.dict.words[i], true
	}
	return "", false
}

// dictionary is the candidate list shared by every account: the lists in
// the order given, without duplicates.
type dictionary struct {
	words []string
	set   map[string]bool
}

func newDictionary(lists ...[]string) *dictionary {
	d := &dictionary{set: map[string]bool{}}
	for _, l := range lists {
		for _, w := range l {
			if w != "" && len(w) <= maxCandidateLen && !d.set[w] {
				d.set[w] = true
				d.words = append(d.words, w)
			}
		}
	}
	return d
}

// ownCandidates are the guesses made from the account's name ("admin" with
// password "admin" or "admin123"), unless the dictionary has them anyway.
func (d *dictionary) ownCandidates(name string) []string {
	var out []string
	for _, w := range []string{name, name + "123"} {
		if name != "" && len(w) <= maxCandidateLen && !d.set[w] {
			out = append(out, w)
		}
	}
	return out
}
