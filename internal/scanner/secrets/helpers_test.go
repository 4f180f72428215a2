package secrets_test

import "github.com/openhss/openhss/internal/scanner/scannertest"

// Short local names for the shared image-building helpers.
type file = scannertest.File

var (
	reg         = scannertest.Reg
	whiteout    = scannertest.Whiteout
	layerOf     = scannertest.Layer
	imageOf     = scannertest.Image
	digestOf    = scannertest.Digest
	scanWith    = scannertest.Scan
	debianLayer = scannertest.DebianLayer
)
