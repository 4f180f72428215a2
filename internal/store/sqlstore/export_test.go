package sqlstore

import (
	"context"
	"time"
)

// TokenCacheTTL is tokenCacheTTL, for the tests of package sqlstore_test.
const TokenCacheTTL = tokenCacheTTL

// SetTokenClock sets the clock of s's token cache.
func SetTokenClock(s *Store, now func() time.Time) { s.tokens.now = now }

// ImageIndexes lists the names of the secondary indexes of images.
func ImageIndexes(ctx context.Context, s *Store) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, s.d.imageIndexes())
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (name string, err error) {
		var def string
		return name, r.Scan(&name, &def)
	})
}
