package sqlstore

import (
	"slices"
	"sync"
	"time"

	"github.com/openhss/openhss/internal/inventory"
)

// tokenCache keeps token rows read by GetToken for a short time: every
// token-authenticated request looks its token up, and that read (a read
// transaction of its own) cost as much as the whole cached list request.
//
// Revocation stays exact within the process: RevokeToken drops the entry
// once its transaction has committed, and a lookup that raced with a
// revocation does not store what it read. A revocation made by another
// process (or another Store on the same database) is seen after at most
// tokenCacheTTL, on either engine: nothing notifies this cache of another
// process's writes (a generation read, as the list cache makes, would cost
// the very round trip the cache saves). Expiry is unaffected: the caller compares expires_at with
// its clock on every request. Unknown tokens are not cached, so a token
// issued by another process works at once.
type tokenCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.RWMutex
	epoch   uint64 // bumped by every revocation
	entries map[string]cachedToken
}

type cachedToken struct {
	t       inventory.Token
	expires time.Time
}

// tokenCacheTTL bounds how long a revocation by another process can go
// unseen.
const tokenCacheTTL = 2 * time.Second

func newTokenCache(ttl time.Duration, max int) *tokenCache {
	return &tokenCache{ttl: ttl, max: max, now: time.Now, entries: map[string]cachedToken{}}
}

func (c *tokenCache) get(hash string) (inventory.Token, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.entries[hash]
	if !ok || !c.now().Before(e.expires) {
		return inventory.Token{}, false
	}
	return cloneToken(e.t), true
}

// begin returns the epoch a lookup starts in, for put.
func (c *tokenCache) begin() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.epoch
}

// put stores t read by a lookup that began at epoch, unless a revocation
// committed since.
func (c *tokenCache) put(epoch uint64, t inventory.Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[t.Hash] = cachedToken{t: cloneToken(t), expires: c.now().Add(c.ttl)}
}

// revoked forgets hash and fails the puts of lookups in flight.
func (c *tokenCache) revoked(hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	delete(c.entries, hash)
}

// revokedAll forgets every entry and fails the puts of lookups in flight:
// a revocation whose token hashes are not known (a deleted user's).
func (c *tokenCache) revokedAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	clear(c.entries)
}

func cloneToken(t inventory.Token) inventory.Token {
	t.Grant.IDs = slices.Clone(t.Grant.IDs)
	return t
}
