package postgres

import (
	"testing"

	"github.com/openhss/openhss/internal/scanresult/scanstoretest"
)

func TestScanStore(t *testing.T) {
	testDSN(t)
	scanstoretest.Run(t, func(t *testing.T) scanstoretest.Store {
		return open(t, newSchema(t))
	})
}
