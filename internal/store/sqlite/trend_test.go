package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/openhss/openhss/internal/trend/trendtest"
)

func TestTrendStore(t *testing.T) {
	trendtest.Run(t, func(t *testing.T) func(t *testing.T) trendtest.Store {
		path := filepath.Join(t.TempDir(), "openhss.db")
		return func(t *testing.T) trendtest.Store { return open(t, path) }
	})
}
