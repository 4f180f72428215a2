package hssapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/openhss/openhss/internal/iam"
	"github.com/openhss/openhss/internal/inventory"
)

// imageInfo is the SDK's PrivateImageRepositoryInfo with every field always
// present: the SDK decodes absent fields as nil pointers, and HSS clients
// index them without checking.
type imageInfo struct {
	ID                int64            `json:"id"`
	Namespace         string           `json:"namespace"`
	ImageName         string           `json:"image_name"`
	ImageID           string           `json:"image_id"`
	ImageDigest       string           `json:"image_digest"`
	ImageVersion      string           `json:"image_version"`
	ImageType         string           `json:"image_type"`
	LatestVersion     bool             `json:"latest_version"`
	ScanStatus        string           `json:"scan_status"`
	ScanFailedDesc    string           `json:"scan_failed_desc"`
	ImageSize         int64            `json:"image_size"`
	LatestUpdateTime  int64            `json:"latest_update_time"`
	LatestScanTime    int64            `json:"latest_scan_time"`
	VulNum            int32            `json:"vul_num"`
	UnsafeSettingNum  int32            `json:"unsafe_setting_num"`
	MaliciousFileNum  int32            `json:"malicious_file_num"`
	DomainName        string           `json:"domain_name"`
	SharedStatus      string           `json:"shared_status"`
	Scannable         bool             `json:"scannable"`
	InstanceName      string           `json:"instance_name"`
	InstanceID        string           `json:"instance_id"`
	InstanceURL       string           `json:"instance_url"`
	AssociationImages []associateImage `json:"association_images"`
}

// associateImage is the SDK's AssociateImages.
type associateImage struct {
	ImageName    string `json:"image_name"`
	ImageVersion string `json:"image_version"`
	ImageType    string `json:"image_type"`
	Namespace    string `json:"namespace"`
	ImageDigest  string `json:"image_digest"`
	ScanStatus   string `json:"scan_status"`
}

// listResponse is the shape of every HSS list answer: the count of all
// matching items and one page of them.
type listResponse[T any] struct {
	TotalNum int64 `json:"total_num"`
	DataList []T   `json:"data_list"`
}

func (s *server) listImages(w http.ResponseWriter, r *http.Request, c *call) error {
	lq, aerr := parseListQuery(r.URL.Query())
	if aerr != nil {
		return aerr
	}
	eps, err := s.enterpriseProjects(c.Principal, lq.EnterpriseProject)
	if err != nil {
		return err
	}
	resp, err := listImages(r.Context(), s.cfg.Store, c.ProjectID, lq, eps)
	if err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, resp)
	return nil
}

func listImages(ctx context.Context, store ImageLister, projectID string, lq listQuery, eps []string) (listResponse[imageInfo], error) {
	f := lq.Filter
	f.ProjectID = projectID
	f.EnterpriseProjects = eps
	page, err := store.ListImages(ctx, f)
	if err != nil {
		return listResponse[imageInfo]{}, fmt.Errorf("list images: %w", err)
	}
	resp := listResponse[imageInfo]{TotalNum: page.Total, DataList: make([]imageInfo, 0, len(page.Images))}
	for _, img := range page.Images {
		resp.DataList = append(resp.DataList, toImageInfo(img))
	}
	return resp, nil
}

// ListImagesJSON answers an swr-repository query outside HTTP — the CLI's
// `openhss images` — with the same parsing, validation, query and JSON as
// the API, for the operator: eps nil means every enterprise project, or the
// one the query's enterprise_project_id names. A bad parameter is an error
// naming it.
func ListImagesJSON(ctx context.Context, store ImageLister, projectID string, q url.Values, eps []string) ([]byte, error) {
	lq, aerr := parseListQuery(q)
	if aerr != nil {
		return nil, errors.New(aerr.Msg)
	}
	if eps == nil {
		switch lq.EnterpriseProject {
		case "", "all_granted_eps":
		default:
			eps = []string{lq.EnterpriseProject}
		}
	}
	resp, err := listImages(ctx, store, projectID, lq, eps)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// requestEnterpriseProjects resolves the request's one
// enterprise_project_id query parameter for p (see enterpriseProjects).
func (s *server) requestEnterpriseProjects(r *http.Request, p iam.Principal) ([]string, error) {
	q, aerr := singleQueryValue(r, "enterprise_project_id")
	if aerr != nil {
		return nil, aerr
	}
	return s.enterpriseProjects(p, q)
}

// enterpriseProjects resolves an enterprise_project_id parameter; nil
// means every enterprise project of the project.
func (s *server) enterpriseProjects(p iam.Principal, param string) ([]string, error) {
	eps, err := p.EnterpriseProjects(param)
	if ae := iamError(err); ae != nil {
		return nil, ae
	}
	if err != nil {
		return nil, fmt.Errorf("resolve enterprise project %q: %w", param, err)
	}
	return eps, nil
}

func toImageInfo(img inventory.Image) imageInfo {
	status := orUnscan(img.ScanStatus)
	failedDesc := ""
	if failedStatus(status) {
		failedDesc = img.ScanFailedDesc
	}
	out := imageInfo{
		ID:                img.ID,
		Namespace:         img.Namespace,
		ImageName:         img.Name,
		ImageID:           digestHex(img.Digest),
		ImageDigest:       img.Digest,
		ImageVersion:      img.Tag,
		ImageType:         string(img.Type),
		LatestVersion:     img.LatestVersion,
		ScanStatus:        string(status),
		ScanFailedDesc:    failedDesc,
		ImageSize:         img.Size,
		LatestUpdateTime:  img.LatestUpdateTime,
		LatestScanTime:    img.LatestScanTime,
		VulNum:            img.VulNum,
		UnsafeSettingNum:  img.UnsafeSettingNum,
		MaliciousFileNum:  img.MaliciousFileNum,
		DomainName:        img.DomainName,
		SharedStatus:      img.SharedStatus,
		Scannable:         img.Scannable,
		InstanceName:      img.InstanceName,
		InstanceID:        img.InstanceID,
		InstanceURL:       img.InstanceURL,
		AssociationImages: make([]associateImage, 0, len(img.Associations)),
	}
	for _, a := range img.Associations {
		out.AssociationImages = append(out.AssociationImages, associateImage{
			ImageName:    img.Name,
			ImageVersion: img.Tag,
			ImageType:    string(img.Type),
			Namespace:    img.Namespace,
			ImageDigest:  a.Digest,
			ScanStatus:   string(orUnscan(a.ScanStatus)),
		})
	}
	return out
}

func orUnscan(s inventory.ScanStatus) inventory.ScanStatus {
	if s == "" {
		return inventory.Unscan
	}
	return s
}

func failedStatus(s inventory.ScanStatus) bool {
	switch s {
	case inventory.ScanFailed, inventory.DownloadFailed, inventory.ImageOversized:
		return true
	}
	return false
}

// digestHex is the image_id HSS shows: the digest without its algorithm.
func digestHex(d string) string {
	if _, hex, ok := strings.Cut(d, ":"); ok {
		return hex
	}
	return d
}
