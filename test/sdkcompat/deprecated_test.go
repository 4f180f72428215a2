package sdkcompat

import (
	hss "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// The three operations openhss has served from the start are marked
// Deprecated in SDK v0.1.215 ("will be removed in the future versions"; not
// yet in v0.1.207). Clients built against older SDKs still call them, and
// these tests exist to prove that those calls keep working against openhss,
// so they make them on purpose. They go through these wrappers only, so the
// deprecation (staticcheck SA1019) is acknowledged in one place and any
// other deprecated call in the tests is still reported.

func listSwrImageRepository(c *hss.HssClient, r *model.ListSwrImageRepositoryRequest) (*model.ListSwrImageRepositoryResponse, error) {
	//lint:ignore SA1019 the deprecated operation is what these tests prove still works
	return c.ListSwrImageRepository(r)
}

func runImageSynchronize(c *hss.HssClient, r *model.RunImageSynchronizeRequest) (*model.RunImageSynchronizeResponse, error) {
	//lint:ignore SA1019 the deprecated operation is what these tests prove still works
	return c.RunImageSynchronize(r)
}

func batchScanSwrImage(c *hss.HssClient, r *model.BatchScanSwrImageRequest) (*model.BatchScanSwrImageResponse, error) {
	//lint:ignore SA1019 the deprecated operation is what these tests prove still works
	return c.BatchScanSwrImage(r)
}
