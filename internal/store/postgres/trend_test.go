package postgres

import (
	"testing"

	"github.com/openhss/openhss/internal/trend/trendtest"
)

func TestTrendStore(t *testing.T) {
	testDSN(t)
	trendtest.Run(t, func(t *testing.T) func(t *testing.T) trendtest.Store {
		dsn := newSchema(t)
		return func(t *testing.T) trendtest.Store { return open(t, dsn) }
	})
}
