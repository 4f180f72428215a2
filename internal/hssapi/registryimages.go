package hssapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

// Bounds of ListRegistryImages' text filters, as the SDK documents them
// (docs/api.md, ListRegistryImages).
const (
	maxRegImagesText    = 128 // namespace, image_name, registry_name, instance_*
	maxRegImagesVersion = 64  // image_version
	maxRegImagesSize    = 2147483547
)

// registryImageInfo is the SDK's RegistryImagesInfo with every field always
// present (see imageInfo).
type registryImageInfo struct {
	ID                int64                 `json:"id"`
	Namespace         string                `json:"namespace"`
	ImageName         string                `json:"image_name"`
	ImageID           string                `json:"image_id"`
	ImageDigest       string                `json:"image_digest"`
	ImageVersion      string                `json:"image_version"`
	ImageType         string                `json:"image_type"`
	RegistryID        string                `json:"registry_id"`
	RegistryName      string                `json:"registry_name"`
	RegistryType      string                `json:"registry_type"`
	LatestVersion     bool                  `json:"latest_version"`
	ScanStatus        string                `json:"scan_status"`
	ScanFailedCode    string                `json:"scan_failed_code"`
	ScanFailedDesc    string                `json:"scan_failed_desc"`
	ImageSize         int64                 `json:"image_size"`
	LatestUpdateTime  int64                 `json:"latest_update_time"`
	LatestScanTime    int64                 `json:"latest_scan_time"`
	LatestSyncTime    int64                 `json:"latest_sync_time"`
	VulNum            int32                 `json:"vul_num"`
	UnsafeSettingNum  int32                 `json:"unsafe_setting_num"`
	MaliciousFileNum  int32                 `json:"malicious_file_num"`
	DomainName        string                `json:"domain_name"`
	SharedStatus      string                `json:"shared_status"`
	Scannable         bool                  `json:"scannable"`
	IsMultipleArch    bool                  `json:"is_multiple_arch"`
	InstanceName      string                `json:"instance_name"`
	InstanceID        string                `json:"instance_id"`
	InstanceURL       string                `json:"instance_url"`
	SeverityLevel     string                `json:"severity_level"`
	AssociationImages []associateImagesInfo `json:"association_images"`
}

// associateImagesInfo is the SDK's AssociateImagesInfo: one platform
// member of a multi-arch tag.
type associateImagesInfo struct {
	// ID is the id of the row listing the member: members have no row of
	// their own (docs/api.md).
	ID               int64  `json:"id"`
	ImageID          string `json:"image_id"`
	ImageName        string `json:"image_name"`
	ImageVersion     string `json:"image_version"`
	ImageType        string `json:"image_type"`
	Namespace        string `json:"namespace"`
	ImageDigest      string `json:"image_digest"`
	ScanStatus       string `json:"scan_status"`
	VulNum           int32  `json:"vul_num"`
	UnsafeSettingNum int32  `json:"unsafe_setting_num"`
	MaliciousFileNum int32  `json:"malicious_file_num"`
}

// parseRegistryImagesQuery validates a ListRegistryImages query. It is
// pure: the caller resolves EnterpriseProject and fills ProjectID.
func parseRegistryImagesQuery(v url.Values) (listQuery, *apiError) {
	q := &imagequery.Reader{V: v}
	var lq listQuery
	f := &lq.Filter

	// Optional here (every type when absent). harbor and jfrog are the
	// private_image rows of connections of that type.
	if typ, ok := q.Raw("image_type"); ok && typ != "" {
		switch typ {
		case "harbor":
			f.Type, f.RegistryTypes = inventory.PrivateImage, []inventory.RegistryType{inventory.Harbor}
		case "jfrog":
			f.Type, f.RegistryTypes = inventory.PrivateImage, []inventory.RegistryType{inventory.Jfrog}
		default:
			if !inventory.ImageType(typ).Valid() {
				return listQuery{}, invalidParam("image_type", "must be private_image, shared_image, instance_image, local_image, harbor or jfrog")
			}
			f.Type = inventory.ImageType(typ)
		}
	}

	lq.EnterpriseProject = q.Text("enterprise_project_id", maxEnterpriseID)
	f.Namespace = q.Text("namespace", maxRegImagesText)
	f.ImageName = q.Text("image_name", maxRegImagesText)
	f.ImageVersion = q.Text("image_version", maxRegImagesVersion)
	f.RegistryName = q.Text("registry_name", maxRegImagesText)
	f.InstanceName = q.Text("instance_name", maxRegImagesText)
	f.InstanceID = q.Text("instance_id", maxRegImagesText)

	if s, ok := q.Raw("sort_key"); ok && s != "" {
		if s != "latest_scan_time" {
			return listQuery{}, invalidParam("sort_key", "must be latest_scan_time")
		}
		f.SortByScanTime = true
	}
	if s, ok := q.Raw("sort_dir"); ok && s != "" {
		switch s {
		case "asc":
		case "desc":
			f.SortDesc = true
		default:
			return listQuery{}, invalidParam("sort_dir", "must be asc or desc")
		}
		if !f.SortByScanTime {
			return listQuery{}, invalidParam("sort_dir", "needs sort_key")
		}
	}
	if s, ok := q.Raw("severity_level"); ok && s != "" {
		switch s {
		case scanresult.LevelSecurity, scanresult.LevelLow, scanresult.LevelMedium, scanresult.LevelHigh:
			f.SeverityLevel = s
		default:
			return listQuery{}, invalidParam("severity_level", "must be Security, Low, Medium or High")
		}
	}
	if s, ok := q.Raw("scan_status"); ok && s != "" {
		if !inventory.ScanStatus(s).Valid() {
			return listQuery{}, invalidParam("scan_status", "must be one of unscan, waiting_for_scan, scanning, success, failed, download_failed, image_oversized")
		}
		f.ScanStatus = inventory.ScanStatus(s)
	}
	f.StartLatestSyncTime = q.Integer("start_latest_sync_time", 0, maxInt64)
	f.EndLatestSyncTime = q.Integer("end_latest_sync_time", 0, maxInt64)
	f.Risky = q.Boolean("risky")
	f.MultiArch = q.Boolean("is_multarch")
	if perr := imagequery.ReadFilters(q, f, maxRegImagesSize); perr != nil {
		return listQuery{}, paramError(perr)
	}
	return lq, nil
}

func (s *server) listRegistryImages(w http.ResponseWriter, r *http.Request, c *call) error {
	lq, aerr := parseRegistryImagesQuery(r.URL.Query())
	if aerr != nil {
		return aerr
	}
	eps, err := s.enterpriseProjects(c.Principal, lq.EnterpriseProject)
	if err != nil {
		return err
	}
	f := lq.Filter
	f.ProjectID = c.ProjectID
	f.EnterpriseProjects = eps
	page, err := s.cfg.Store.ListImages(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list registry images: %w", err)
	}
	regs, err := s.pageRegistries(r.Context(), c.ProjectID, page.Images)
	if err != nil {
		return err
	}
	resp := listResponse[registryImageInfo]{TotalNum: page.Total, DataList: make([]registryImageInfo, 0, len(page.Images))}
	for _, img := range page.Images {
		resp.DataList = append(resp.DataList, toRegistryImageInfo(img, regs[img.RegistryID]))
	}
	s.writeJSON(w, http.StatusOK, resp)
	return nil
}

// pageRegistries reads the connections owning a page's rows. They are read
// per request, not stored on the rows, so that a rename or a sync shows at
// once without a write to every row (and without invalidating the list's
// caches). A connection deleted since the page was read is left out.
func (s *server) pageRegistries(ctx context.Context, projectID string, imgs []inventory.Image) (map[int64]inventory.Registry, error) {
	regs := map[int64]inventory.Registry{}
	for _, img := range imgs {
		id := img.RegistryID
		if _, ok := regs[id]; ok || id == 0 {
			continue
		}
		reg, err := s.cfg.Store.GetRegistry(ctx, projectID, id)
		if errors.Is(err, inventory.ErrNotFound) {
			regs[id] = inventory.Registry{}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("registry %d of the page: %w", id, err)
		}
		regs[id] = reg
	}
	return regs, nil
}

func toRegistryImageInfo(img inventory.Image, reg inventory.Registry) registryImageInfo {
	old := toImageInfo(img)
	out := registryImageInfo{
		ID:                old.ID,
		Namespace:         old.Namespace,
		ImageName:         old.ImageName,
		ImageID:           old.ImageID,
		ImageDigest:       old.ImageDigest,
		ImageVersion:      old.ImageVersion,
		ImageType:         old.ImageType,
		RegistryName:      reg.Name,
		RegistryType:      string(reg.Type),
		LatestVersion:     old.LatestVersion,
		ScanStatus:        old.ScanStatus,
		ScanFailedCode:    scanFailedCode(inventory.ScanStatus(old.ScanStatus)),
		ScanFailedDesc:    old.ScanFailedDesc,
		ImageSize:         old.ImageSize,
		LatestUpdateTime:  old.LatestUpdateTime,
		LatestScanTime:    old.LatestScanTime,
		LatestSyncTime:    reg.LatestSyncTime,
		VulNum:            old.VulNum,
		UnsafeSettingNum:  old.UnsafeSettingNum,
		MaliciousFileNum:  old.MaliciousFileNum,
		DomainName:        old.DomainName,
		SharedStatus:      old.SharedStatus,
		Scannable:         old.Scannable,
		IsMultipleArch:    img.Digest != img.ManifestDigest && img.ManifestDigest != "",
		InstanceName:      old.InstanceName,
		InstanceID:        old.InstanceID,
		InstanceURL:       old.InstanceURL,
		SeverityLevel:     img.SeverityLevel,
		AssociationImages: make([]associateImagesInfo, 0, len(img.Associations)),
	}
	if reg.ID != 0 {
		out.RegistryID = fmt.Sprint(reg.ID)
	}
	for _, a := range img.Associations {
		out.AssociationImages = append(out.AssociationImages, associateImagesInfo{
			ID:               img.ID,
			ImageID:          digestHex(a.Digest),
			ImageName:        img.Name,
			ImageVersion:     img.Tag,
			ImageType:        string(img.Type),
			Namespace:        img.Namespace,
			ImageDigest:      a.Digest,
			ScanStatus:       string(orUnscan(a.ScanStatus)),
			VulNum:           a.VulNum,
			UnsafeSettingNum: a.UnsafeSettingNum,
			MaliciousFileNum: a.MaliciousFileNum,
		})
	}
	return out
}

// scanFailedCode is the SDK's scan_failed_code of a failed status: the
// store keeps the status and a human description, not the cause's code,
// so a generic failure is unknown_error (docs/api.md).
func scanFailedCode(s inventory.ScanStatus) string {
	switch s {
	case inventory.DownloadFailed:
		return "download_failed"
	case inventory.ImageOversized:
		return "image_over_sized"
	case inventory.ScanFailed:
		return "unknown_error"
	}
	return ""
}
