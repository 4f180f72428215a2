package sqlstore

import "time"

// TokenCacheTTL is tokenCacheTTL, for the tests of package sqlstore_test.
const TokenCacheTTL = tokenCacheTTL

// SetTokenClock sets the clock of s's token cache.
func SetTokenClock(s *Store, now func() time.Time) { s.tokens.now = now }
