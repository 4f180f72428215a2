package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/openhss/openhss/internal/scanresult/scanstoretest"
)

func TestScanStore(t *testing.T) {
	scanstoretest.Run(t, func(t *testing.T) scanstoretest.Store {
		return open(t, filepath.Join(t.TempDir(), "openhss.db"))
	})
}
