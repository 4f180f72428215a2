package hssapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/openhss/openhss/internal/findingquery"
	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/tasks"
)

// scanScopeAll is the scan_scope of a scan of every risk type: the
// deprecated batch-scan's tasks and CreateManualImageScanTask's default
// (docs/api.md, Tasks).
const scanScopeAll = tasks.ScanScopeAll

// ScanRequester queues scans of rows (one per distinct manifest digest).
type ScanRequester interface {
	// RequestScans queues the scans of images for the scan task taskID,
	// spaced as the task's rate_limit says (docs/api.md, "Tasks").
	RequestScans(ctx context.Context, projectID, taskID string, images []inventory.Image) error
	// RequestScanAll queues, as one job, the scans of every row of the
	// project that f selects (f.Offset and f.Limit are ignored): listing
	// and queueing a whole project's rows takes longer than a client
	// waits for an answer. The job adds the rows to the scan task taskID
	// (created listing) as its items.
	RequestScanAll(ctx context.Context, projectID, taskID string, f inventory.Filter) error
	// CancelScans cancels the scans (queued or running) of digests in the
	// project that no running scan task waits for any more, and returns
	// those it cancelled (StopImageScanTask).
	CancelScans(ctx context.Context, projectID string, digests []string) ([]string, error)
}

// ScanReader reads what scans stored, and finds the rows the scan APIs
// name.
type ScanReader interface {
	ImagesByDigest(ctx context.Context, projectID, digest string) ([]inventory.Image, error)
	ImagesByRef(ctx context.Context, projectID string, t inventory.ImageType, namespace, name, tag string) ([]inventory.Image, error)
	ListVulns(ctx context.Context, f scanresult.VulnFilter) (int64, []scanresult.VulnRow, error)
	ListApps(ctx context.Context, f scanresult.AppFilter) (int64, []scanresult.AppRow, error)
	GetSBOM(ctx context.Context, digest string) (scanresult.SBOM, error)
}

var errImageAbsent = &apiError{http.StatusNotFound, codeNotFound, "image not found"}

// batchScanBody is the SDK's BatchScanPrivateImageRequestInfo.
type batchScanBody struct {
	RepoType              *string         `json:"repo_type"`
	ImageInfoList         []batchScanItem `json:"image_info_list"`
	OperateAll            *bool           `json:"operate_all"`
	Namespace             string          `json:"namespace"`
	ImageName             string          `json:"image_name"`
	ImageVersion          string          `json:"image_version"`
	ImageType             string          `json:"image_type"`
	ScanStatus            string          `json:"scan_status"`
	LatestVersion         *bool           `json:"latest_version"`
	ImageSize             *int64          `json:"image_size"`
	StartLatestUpdateTime *int64          `json:"start_latest_update_time"`
	EndLatestUpdateTime   *int64          `json:"end_latest_update_time"`
	StartLatestScanTime   *int64          `json:"start_latest_scan_time"`
	EndLatestScanTime     *int64          `json:"end_latest_scan_time"`
}

// batchScanItem is the SDK's BatchScanSwrImageInfo.
type batchScanItem struct {
	Namespace    string `json:"namespace"`
	ImageName    string `json:"image_name"`
	ImageVersion string `json:"image_version"`
	InstanceID   string `json:"instance_id"`
	InstanceURL  string `json:"instance_url"`
}

func (s *server) batchScan(w http.ResponseWriter, r *http.Request, c *call) error {
	eps, err := s.requestEnterpriseProjects(r, c.Principal)
	if err != nil {
		return err
	}
	var b batchScanBody
	if aerr := decodeJSON(r, c.Body, &b); aerr != nil {
		return aerr
	}
	t := inventory.ImageType(b.ImageType)
	if b.ImageType == "" {
		return invalidParam("image_type", "is required (private_image, shared_image, instance_image or local_image)")
	}
	if !t.Valid() {
		return invalidParam("image_type", "must be private_image, shared_image, instance_image or local_image")
	}
	switch {
	case len(b.ImageInfoList) > 0:
		images, err := s.resolveBatch(r.Context(), c.ProjectID, t, eps, b.ImageInfoList)
		if err != nil {
			return err
		}
		_, err = s.starter.StartScan(r.Context(), tasks.Task{ProjectID: c.ProjectID, Kind: tasks.Manual,
			ScanScope: scanScopeAll}, images)
		if err != nil {
			return err
		}
	case b.OperateAll != nil && *b.OperateAll:
		// Validated here, listed and queued by a job: the answer does not
		// wait for a whole project's rows.
		f, aerr := allFilter(c.ProjectID, t, eps, b)
		if aerr != nil {
			return aerr
		}
		_, err := s.starter.StartScanAll(r.Context(), tasks.Task{ProjectID: c.ProjectID, Kind: tasks.Manual,
			ScanScope: scanScopeAll}, f)
		if err != nil {
			return err
		}
	default:
		return invalidParam("image_info_list", "is required unless operate_all is true")
	}
	s.writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// resolveBatch finds the rows an image_info_list names. Any unknown image
// fails the whole request, naming every unknown one, before anything is
// queued.
func (s *server) resolveBatch(ctx context.Context, projectID string, t inventory.ImageType, eps []string, items []batchScanItem) ([]inventory.Image, error) {
	var (
		out     []inventory.Image
		missing []string
	)
	for i, it := range items {
		field := fmt.Sprintf("image_info_list[%d]", i)
		if it.ImageName == "" || it.ImageVersion == "" {
			return nil, invalidParam(field, "needs image_name and image_version")
		}
		for _, v := range []string{it.Namespace, it.ImageName, it.ImageVersion, it.InstanceID} {
			if aerr := checkText(field, v, 0, maxFilterLen); aerr != nil {
				return nil, aerr
			}
		}
		rows, err := s.cfg.ScanResults.ImagesByRef(ctx, projectID, t, it.Namespace, it.ImageName, it.ImageVersion)
		if err != nil {
			return nil, fmt.Errorf("find %s/%s:%s: %w", it.Namespace, it.ImageName, it.ImageVersion, err)
		}
		rows = slices.DeleteFunc(rows, func(img inventory.Image) bool {
			return !visible(img, eps) || (it.InstanceID != "" && img.InstanceID != it.InstanceID)
		})
		ref := refString(it.Namespace, it.ImageName, it.ImageVersion)
		if len(rows) == 0 {
			missing = append(missing, ref)
			continue
		}
		for _, img := range rows {
			if notAnImage(img) {
				return nil, invalidParam(field, "%s is not a container image and cannot be scanned", ref)
			}
		}
		out = append(out, rows...)
	}
	if len(missing) > 0 {
		return nil, &apiError{http.StatusNotFound, codeNotFound, "images not found: " + strings.Join(missing, ", ")}
	}
	return out, nil
}

// allFilter checks the operate_all filters and returns the filter that
// selects their rows.
func allFilter(projectID string, t inventory.ImageType, eps []string, b batchScanBody) (inventory.Filter, *apiError) {
	f := inventory.Filter{
		ProjectID: projectID, EnterpriseProjects: eps, Type: t,
		Namespace: b.Namespace, ImageName: b.ImageName, ImageVersion: b.ImageVersion,
		MaxImageSize:          b.ImageSize,
		StartLatestUpdateTime: b.StartLatestUpdateTime, EndLatestUpdateTime: b.EndLatestUpdateTime,
		StartLatestScanTime: b.StartLatestScanTime, EndLatestScanTime: b.EndLatestScanTime,
	}
	for name, v := range map[string]string{"namespace": b.Namespace, "image_name": b.ImageName, "image_version": b.ImageVersion} {
		if aerr := checkText(name, v, 0, maxFilterLen); aerr != nil {
			return f, aerr
		}
	}
	if b.LatestVersion != nil {
		f.LatestVersionOnly = *b.LatestVersion
	}
	if b.ScanStatus != "" {
		if !inventory.ScanStatus(b.ScanStatus).Valid() {
			return f, invalidParam("scan_status", "must be one of unscan, waiting_for_scan, scanning, success, failed, download_failed, image_oversized")
		}
		f.ScanStatus = inventory.ScanStatus(b.ScanStatus)
	}
	for name, v := range map[string]*int64{"image_size": b.ImageSize, "start_latest_update_time": b.StartLatestUpdateTime,
		"end_latest_update_time": b.EndLatestUpdateTime, "start_latest_scan_time": b.StartLatestScanTime, "end_latest_scan_time": b.EndLatestScanTime} {
		if v != nil && *v < 0 {
			return f, invalidParam(name, "must not be negative")
		}
	}
	if perr := imagequery.CheckRanges(&f); perr != nil {
		return f, paramError(perr)
	}
	return f, nil
}

// notAnImage reports rows that can never be scanned: artifacts that are not
// container images. An image once found oversized may be asked again (the
// limit may have been raised).
func notAnImage(img inventory.Image) bool {
	return !img.Scannable && img.ScanStatus != inventory.ImageOversized
}

func visible(img inventory.Image, eps []string) bool {
	return eps == nil || slices.Contains(eps, img.EnterpriseProjectID)
}

func refString(ns, name, tag string) string {
	if ns == "" {
		return name + ":" + tag
	}
	return ns + "/" + name + ":" + tag
}

// imageIDPattern is an image_id: a digest's hex, or a whole digest.
var imageIDPattern = regexp.MustCompile(`^(?:[a-z0-9]+(?:[+._-][a-z0-9]+)*:)?[a-fA-F0-9]{32,128}$`)

// detailQuery is what the per-image detail APIs share: which row, and the
// page.
type detailQuery struct {
	q             *imagequery.Reader
	digest        string
	typ           inventory.ImageType // "" when optional and absent
	namespace     string
	name, tag     string
	instanceID    string
	eps           string
	offset, limit int
}

func parseDetail(r *http.Request, typeRequired bool) (*detailQuery, *apiError) {
	id := r.PathValue("image_id")
	if !imageIDPattern.MatchString(id) {
		return nil, invalidParam("image_id", "must be the image's digest (hex, as image_id in the image list)")
	}
	d := &detailQuery{q: &imagequery.Reader{V: r.URL.Query()}}
	d.digest = id
	if !strings.Contains(id, ":") {
		d.digest = "sha256:" + id
	}
	typ := d.q.Text("image_type", maxFilterLen)
	switch {
	case typ == "" && typeRequired:
		return nil, invalidParam("image_type", "is required (private_image, shared_image, local_image or instance_image)")
	case typ != "" && !inventory.ImageType(typ).Valid():
		return nil, invalidParam("image_type", "must be private_image, shared_image, local_image or instance_image")
	}
	d.typ = inventory.ImageType(typ)
	d.eps = d.q.Text("enterprise_project_id", maxEnterpriseID)
	d.namespace = d.q.Text("namespace", maxFilterLen)
	d.name = d.q.Text("image_name", maxFilterLen)
	d.tag = d.q.Text("tag_name", maxFilterLen)
	d.instanceID = d.q.Text("instance_id", maxFilterLen)
	d.offset, d.limit = d.q.Page()
	if d.q.Err != nil {
		return nil, paramError(d.q.Err)
	}
	return d, nil
}

// image finds the row a detail request names: the project's rows with that
// digest, narrowed by the optional type, namespace, name, tag and instance,
// within the caller's enterprise projects.
func (s *server) image(ctx context.Context, c *call, d *detailQuery) (inventory.Image, error) {
	eps, err := s.enterpriseProjects(c.Principal, d.eps)
	if err != nil {
		return inventory.Image{}, err
	}
	rows, err := s.cfg.ScanResults.ImagesByDigest(ctx, c.ProjectID, d.digest)
	if err != nil {
		return inventory.Image{}, fmt.Errorf("find image %s: %w", d.digest, err)
	}
	for _, img := range rows {
		if !visible(img, eps) ||
			(d.typ != "" && img.Type != d.typ) ||
			(d.namespace != "" && img.Namespace != d.namespace) ||
			(d.name != "" && img.Name != d.name) ||
			(d.tag != "" && img.Tag != d.tag) ||
			(d.instanceID != "" && img.InstanceID != d.instanceID) {
			continue
		}
		return img, nil
	}
	return inventory.Image{}, errImageAbsent
}

// scannedDigest is the manifest whose scan results a row shows.
func scannedDigest(img inventory.Image) string { return ScannedDigest(img) }

// ScannedDigest is the manifest whose scan results a row shows: the
// described manifest (a multi-arch tag's member), else the tag's digest.
// The detail APIs, and the CLI reading the same findings, key on it.
func ScannedDigest(img inventory.Image) string { return img.ScannedDigest() }

// ImageVulInfo is the SDK's ImageVulInfo with every field present: one
// item of ListImageVulnerabilities' data_list, and of `openhss scan --wait
// --json`'s vulnerabilities.
type ImageVulInfo struct {
	VulID           string `json:"vul_id"`
	RepairNecessity string `json:"repair_necessity"`
	Description     string `json:"description"`
	Position        string `json:"position"`
	AppName         string `json:"app_name"`
	AppPath         string `json:"app_path"`
	Version         string `json:"version"`
	Solution        string `json:"solution"`
	URL             string `json:"url"`
}

// VulInfo is the item ListImageVulnerabilities answers for a stored
// finding; the CLI prints the same items.
func VulInfo(v scanresult.VulnRow) ImageVulInfo {
	return ImageVulInfo{
		VulID: v.VulnID, RepairNecessity: v.RepairNecessity, Description: v.Description, Position: v.LayerDigest,
		AppName: v.AppName, AppPath: v.AppPath, Version: v.Version, Solution: v.FixedVersion, URL: v.URL,
	}
}

func (s *server) listImageVulns(w http.ResponseWriter, r *http.Request, c *call) error {
	d, aerr := parseDetail(r, true)
	if aerr != nil {
		return aerr
	}
	vq := findingquery.Vulns(d.q)
	f, handled := vq.Filter, vq.Handled
	f.Offset, f.Limit = d.offset, d.limit
	if d.q.Err != nil {
		return paramError(d.q.Err)
	}
	img, err := s.image(r.Context(), c, d)
	if err != nil {
		return err
	}
	resp := listResponse[ImageVulInfo]{DataList: []ImageVulInfo{}}
	if !handled { // openhss does not record handling: every finding is unhandled
		f.Digest = scannedDigest(img)
		total, rows, err := s.cfg.ScanResults.ListVulns(r.Context(), f)
		if err != nil {
			return fmt.Errorf("list vulnerabilities of %s: %w", f.Digest, err)
		}
		resp.TotalNum = total
		for _, v := range rows {
			resp.DataList = append(resp.DataList, VulInfo(v))
		}
	}
	s.writeJSON(w, http.StatusOK, resp)
	return nil
}

// imageAppInfo is the SDK's ImageAppsInfo plus where the package was found.
type imageAppInfo struct {
	AppName     string `json:"app_name"`
	AppType     string `json:"app_type"`
	AppVersion  string `json:"app_version"`
	AppPath     string `json:"app_path"`
	LayerDigest string `json:"layer_digest"`
	VulNum      int32  `json:"vul_num"`
}

func (s *server) listImageApps(w http.ResponseWriter, r *http.Request, c *call) error {
	d, aerr := parseDetail(r, true)
	if aerr != nil {
		return aerr
	}
	f := findingquery.Apps(d.q)
	f.Offset, f.Limit = d.offset, d.limit
	if d.q.Err != nil {
		return paramError(d.q.Err)
	}
	img, err := s.image(r.Context(), c, d)
	if err != nil {
		return err
	}
	f.Digest = scannedDigest(img)
	total, rows, err := s.cfg.ScanResults.ListApps(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list software of %s: %w", f.Digest, err)
	}
	resp := listResponse[imageAppInfo]{TotalNum: total, DataList: make([]imageAppInfo, 0, len(rows))}
	for _, a := range rows {
		resp.DataList = append(resp.DataList, imageAppInfo{AppName: a.Name, AppType: a.Type, AppVersion: a.Version,
			AppPath: a.Path, LayerDigest: a.LayerDigest, VulNum: a.VulNum})
	}
	s.writeJSON(w, http.StatusOK, resp)
	return nil
}

// imageSBOM serves the stored inventory as CycloneDX 1.5 (default) or SPDX
// 2.3 JSON. Not an HSS API: image_type is optional here.
func (s *server) imageSBOM(w http.ResponseWriter, r *http.Request, c *call) error {
	d, aerr := parseDetail(r, false)
	if aerr != nil {
		return aerr
	}
	format := d.q.Text("format", maxFilterLen)
	if d.q.Err != nil {
		return paramError(d.q.Err)
	}
	encode, ctype := scanresult.CycloneDX, "application/vnd.cyclonedx+json"
	switch format {
	case "", "cyclonedx":
	case "spdx":
		encode, ctype = scanresult.SPDX, "application/spdx+json"
	default:
		return invalidParam("format", "must be cyclonedx or spdx")
	}
	img, err := s.image(r.Context(), c, d)
	if err != nil {
		return err
	}
	sb, err := s.cfg.ScanResults.GetSBOM(r.Context(), scannedDigest(img))
	if errors.Is(err, inventory.ErrNotFound) {
		return &apiError{http.StatusNotFound, codeNotFound, "the image has no software inventory: it has not been scanned successfully"}
	}
	if err != nil {
		return fmt.Errorf("sbom of %s: %w", img.Digest, err)
	}
	body, err := encode(sb, scanresult.Subject{Name: refString(img.Namespace, img.Name, img.Tag)})
	if err != nil {
		return fmt.Errorf("encode sbom of %s: %w", img.Digest, err)
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}
