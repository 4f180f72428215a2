package secrets_test

import (
	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/scanner/scannertest"
)

// Short local names for the shared image-building helpers.
type file = imagetest.File

var (
	reg         = imagetest.Reg
	whiteout    = imagetest.Whiteout
	layerOf     = imagetest.Layer
	imageOf     = imagetest.Image
	digestOf    = imagetest.Digest
	scanWith    = scannertest.Scan
	debianLayer = scannertest.DebianLayer
)
