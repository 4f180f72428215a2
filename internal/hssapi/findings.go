package hssapi

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/openhss/openhss/internal/findingquery"
	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanner/baseline"
	"github.com/openhss/openhss/internal/scanresult"
)

// FindingReader reads what the analyzers beyond the software inventory
// stored for a manifest (baseline results, weak-password accounts,
// malware, sensitive information), and aggregates the baseline lists over
// many images in the store.
type FindingReader interface {
	GetAnalysis(ctx context.Context, digest string) (scanresult.Analysis, error)
	scanresult.FindingsAggregator
}

// rowSelector is the image selection of the baseline APIs: an optional
// image_id and the list's filters.
type rowSelector struct {
	typ             inventory.ImageType
	digest          string // "" when no image_id was given
	namespace, name string
	version         string
	instanceID, eps string
	offset, limit   int
}

func parseSelector(q *imagequery.Reader, versionParam string) *rowSelector {
	sel := &rowSelector{}
	typ := q.Text("image_type", maxFilterLen)
	switch {
	case typ == "":
		q.Fail("image_type", "is required (private_image, shared_image, local_image or instance_image)")
	case !inventory.ImageType(typ).Valid():
		q.Fail("image_type", "must be private_image, shared_image, local_image or instance_image")
	}
	sel.typ = inventory.ImageType(typ)
	if id := q.Text("image_id", maxFilterLen); id != "" {
		if !imageIDPattern.MatchString(id) {
			q.Fail("image_id", "must be the image's digest (hex, as image_id in the image list)")
		}
		sel.digest = id
		if !strings.Contains(id, ":") {
			sel.digest = "sha256:" + id
		}
	}
	sel.eps = q.Text("enterprise_project_id", maxEnterpriseID)
	sel.namespace = q.Text("namespace", maxFilterLen)
	sel.name = q.Text("image_name", maxFilterLen)
	sel.version = q.Text(versionParam, maxFilterLen)
	sel.instanceID = q.Text("instance_id", maxFilterLen)
	sel.offset, sel.limit = q.Page()
	return sel
}

// selection is the rows sel selects within the caller's enterprise
// projects: the rows of image_id narrowed by the filters (exact match, as
// the detail APIs do), or without an image_id every successfully scanned
// row the list's filters (substrings) select.
func (s *server) selection(ctx context.Context, c *call, sel *rowSelector) (scanresult.RowSelection, error) {
	eps, err := s.enterpriseProjects(c.Principal, sel.eps)
	if err != nil {
		return scanresult.RowSelection{}, err
	}
	if sel.digest == "" {
		return scanresult.RowSelection{Filter: inventory.Filter{ProjectID: c.ProjectID, EnterpriseProjects: eps,
			Type: sel.typ, Namespace: sel.namespace, ImageName: sel.name, ImageVersion: sel.version,
			InstanceID: sel.instanceID, ScanStatus: inventory.ScanSuccess}}, nil
	}
	rows, err := s.cfg.ScanResults.ImagesByDigest(ctx, c.ProjectID, sel.digest)
	if err != nil {
		return scanresult.RowSelection{}, fmt.Errorf("find image %s: %w", sel.digest, err)
	}
	ids := []int64{}
	for _, img := range rows {
		if visible(img, eps) && img.Type == sel.typ &&
			(sel.namespace == "" || img.Namespace == sel.namespace) && (sel.name == "" || img.Name == sel.name) &&
			(sel.version == "" || img.Tag == sel.version) && (sel.instanceID == "" || img.InstanceID == sel.instanceID) {
			ids = append(ids, img.ID)
		}
	}
	if len(ids) == 0 {
		return scanresult.RowSelection{}, errImageAbsent
	}
	return scanresult.RowSelection{Filter: inventory.Filter{ProjectID: c.ProjectID}, IDs: ids}, nil
}

// pageOf is the offset/limit page of a list filtered in memory, as the
// list answer; data_list is [] rather than null when the page is empty.
func pageOf[T any](list []T, offset, limit int) listResponse[T] {
	lo := min(offset, len(list))
	hi := min(lo+limit, len(list))
	return listResponse[T]{TotalNum: int64(len(list)), DataList: append([]T{}, list[lo:hi]...)}
}

// imageRiskConfigInfo is the SDK's ImageRiskConfigsInfoResponseInfo.
type imageRiskConfigInfo struct {
	Severity      string `json:"severity"`
	CheckName     string `json:"check_name"`
	CheckType     string `json:"check_type"`
	Standard      string `json:"standard"`
	CheckRuleNum  int32  `json:"check_rule_num"`
	FailedRuleNum int32  `json:"failed_rule_num"`
	CheckTypeDesc string `json:"check_type_desc"`
}

// listImageRiskConfigs is ListImageRiskConfigs: per baseline (check_name)
// the number of rules evaluated and failed over the selected images. A
// baseline's severity is that of its most severe failed rule, "Security"
// when every rule passed.
func (s *server) listImageRiskConfigs(w http.ResponseWriter, r *http.Request, c *call) error {
	q := &imagequery.Reader{V: r.URL.Query()}
	sel := parseSelector(q, "image_version")
	f := findingquery.RiskConfigs(q)
	if q.Err != nil {
		return paramError(q.Err)
	}
	rs, err := s.selection(r.Context(), c, sel)
	if err != nil {
		return err
	}
	f.Offset, f.Limit = sel.offset, sel.limit
	total, configs, err := s.cfg.Findings.RiskConfigs(r.Context(), rs, f)
	if err != nil {
		return fmt.Errorf("risk configs: %w", err)
	}
	desc := map[string]string{}
	for _, b := range baseline.Baselines() {
		desc[b.CheckName] = b.Description
	}
	list := make([]imageRiskConfigInfo, 0, len(configs))
	for _, rc := range configs {
		list = append(list, imageRiskConfigInfo{Severity: rc.Severity, CheckName: rc.CheckName, CheckType: rc.CheckType,
			Standard: rc.Standard, CheckRuleNum: rc.Rules, FailedRuleNum: rc.Failed, CheckTypeDesc: desc[rc.CheckName]})
	}
	s.writeJSON(w, http.StatusOK, listResponse[imageRiskConfigInfo]{TotalNum: total, DataList: list})
	return nil
}

// imageRiskConfigRuleInfo is the SDK's ImageRiskConfigsCheckRulesResponseInfo.
type imageRiskConfigRuleInfo struct {
	Severity      string `json:"severity"`
	CheckName     string `json:"check_name"`
	CheckType     string `json:"check_type"`
	Standard      string `json:"standard"`
	CheckRuleName string `json:"check_rule_name"`
	CheckRuleID   string `json:"check_rule_id"`
	ScanResult    string `json:"scan_result"`
}

// listImageRiskConfigRules is ListImageRiskConfigRules: the rules of one
// baseline with their result. Over several images a rule failed by any of
// them is "failed".
func (s *server) listImageRiskConfigRules(w http.ResponseWriter, r *http.Request, c *call) error {
	checkName := r.PathValue("check_name")
	if aerr := checkText("check_name", checkName, 1, maxFilterLen); aerr != nil {
		return aerr
	}
	q := &imagequery.Reader{V: r.URL.Query()}
	sel := parseSelector(q, "image_version")
	f := findingquery.RiskRules(q, true)
	if q.Err != nil {
		return paramError(q.Err)
	}
	rs, err := s.selection(r.Context(), c, sel)
	if err != nil {
		return err
	}
	f.CheckName, f.Offset, f.Limit = checkName, sel.offset, sel.limit
	total, rules, err := s.cfg.Findings.RiskConfigRules(r.Context(), rs, f)
	if err != nil {
		return fmt.Errorf("risk config rules: %w", err)
	}
	list := make([]imageRiskConfigRuleInfo, 0, len(rules))
	for _, rr := range rules {
		info := imageRiskConfigRuleInfo{Severity: rr.Severity, CheckName: rr.CheckName, CheckType: rr.CheckType,
			Standard: rr.Standard, CheckRuleName: rr.Name, CheckRuleID: rr.RuleID, ScanResult: "pass"}
		if rr.Failed {
			info.ScanResult = "failed"
		}
		list = append(list, info)
	}
	s.writeJSON(w, http.StatusOK, listResponse[imageRiskConfigRuleInfo]{TotalNum: total, DataList: list})
	return nil
}

// imageWeakPwdInfo is the SDK's ImageWeakPwdListInfoResponseInfo. The
// password is never stored, so desensitized_weak_passwords is only ever a
// mask.
type imageWeakPwdInfo struct {
	Namespace                 string `json:"namespace"`
	ImageName                 string `json:"image_name"`
	ImageVersion              string `json:"image_version"`
	ImageID                   string `json:"image_id"`
	ImageType                 string `json:"image_type"`
	LatestScanTime            int64  `json:"latest_scan_time"`
	UserName                  string `json:"user_name"`
	ServiceType               string `json:"service_type"`
	Duration                  int32  `json:"duration"`
	DesensitizedWeakPasswords string `json:"desensitized_weak_passwords"`
	Suggestion                string `json:"suggestion"`
}

// weakPasswordMask stands for any password (scanresult.WeakPasswordMask).
const weakPasswordMask = scanresult.WeakPasswordMask

func (s *server) listImageWeakPwdUsers(w http.ResponseWriter, r *http.Request, c *call) error {
	q := &imagequery.Reader{V: r.URL.Query()}
	sel := parseSelector(q, "tag_name")
	f := findingquery.WeakPasswords(q)
	if q.Err != nil {
		return paramError(q.Err)
	}
	rs, err := s.selection(r.Context(), c, sel)
	if err != nil {
		return err
	}
	f.Offset, f.Limit = sel.offset, sel.limit
	total, users, err := s.cfg.Findings.WeakPasswordUsers(r.Context(), rs, f)
	if err != nil {
		return fmt.Errorf("weak passwords: %w", err)
	}
	list := make([]imageWeakPwdInfo, 0, len(users))
	for _, wp := range users {
		suggestion := "Set a strong password for the account, or lock it (passwd -l " + wp.User + ")."
		if wp.WeakPassword.Type == "empty_password" {
			suggestion = "The account has an empty password: set a strong one or lock it (passwd -l " + wp.User + ")."
		}
		list = append(list, imageWeakPwdInfo{
			Namespace: wp.Namespace, ImageName: wp.Name, ImageVersion: wp.Tag, ImageID: digestHex(wp.Digest),
			ImageType: string(wp.Type), LatestScanTime: wp.LatestScanTime, UserName: wp.User,
			ServiceType: wp.UserType, DesensitizedWeakPasswords: weakPasswordMask, Suggestion: suggestion,
		})
	}
	s.writeJSON(w, http.StatusOK, listResponse[imageWeakPwdInfo]{TotalNum: total, DataList: list})
	return nil
}

// imageMalwareInfo is the SDK's ImageMalwareInfo. size is an int32 there:
// see sdkSize.
type imageMalwareInfo struct {
	FileName    string `json:"file_name"`
	FilePath    string `json:"file_path"`
	Size        int32  `json:"size"`
	Description string `json:"description"`
}

// sdkSize fits a file size into the SDK's int32 size: a larger number
// makes the SDK fail to decode the whole page, so a file of 2 GiB or more
// reports the int32 maximum.
func sdkSize(n int64) int32 { return int32(min(max(n, 0), math.MaxInt32)) }

func (s *server) listImageMalware(w http.ResponseWriter, r *http.Request, c *call) error {
	d, aerr := parseDetail(r, true)
	if aerr != nil {
		return aerr
	}
	f := findingquery.Malware(d.q)
	if d.q.Err != nil {
		return paramError(d.q.Err)
	}
	img, err := s.image(r.Context(), c, d)
	if err != nil {
		return err
	}
	a, err := s.cfg.Findings.GetAnalysis(r.Context(), scannedDigest(img))
	if err != nil {
		return fmt.Errorf("malware of %s: %w", img.Digest, err)
	}
	var list []imageMalwareInfo
	for _, m := range a.Malware {
		if !f.Match(m) {
			continue
		}
		list = append(list, imageMalwareInfo{FileName: m.FileName, FilePath: m.FilePath, Size: sdkSize(m.Size), Description: m.Description})
	}
	s.writeJSON(w, http.StatusOK, pageOf(list, d.offset, d.limit))
	return nil
}

// imageSensitiveInfo is the SDK's ImageSensitiveInfo. content is masked
// by the analyzer before it is stored.
type imageSensitiveInfo struct {
	SensitiveInfoID string `json:"sensitive_info_id"`
	Severity        string `json:"severity"`
	Name            string `json:"name"`
	Description     string `json:"description"`
	Position        string `json:"position"`
	FilePath        string `json:"file_path"`
	Content         string `json:"content"`
	LatestScanTime  int64  `json:"latest_scan_time"`
	HandleStatus    string `json:"handle_status"`
	OperateAccept   string `json:"operate_accept"`
}

// listImageSensitive is ListImageSensitive. Its version parameter is
// image_version (the other detail APIs say tag_name).
func (s *server) listImageSensitive(w http.ResponseWriter, r *http.Request, c *call) error {
	d, aerr := parseDetail(r, true)
	if aerr != nil {
		return aerr
	}
	if v := d.q.Text("image_version", maxFilterLen); v != "" {
		d.tag = v
	}
	f := findingquery.Sensitive(d.q)
	if d.q.Err != nil {
		return paramError(d.q.Err)
	}
	img, err := s.image(r.Context(), c, d)
	if err != nil {
		return err
	}
	if f.Handled { // openhss does not record handling: every finding is unhandled
		s.writeJSON(w, http.StatusOK, listResponse[imageSensitiveInfo]{DataList: []imageSensitiveInfo{}})
		return nil
	}
	a, err := s.cfg.Findings.GetAnalysis(r.Context(), scannedDigest(img))
	if err != nil {
		return fmt.Errorf("sensitive information of %s: %w", img.Digest, err)
	}
	hidden, err := s.sensitiveFilter(r, c.ProjectID)
	if err != nil {
		return err
	}
	var list []imageSensitiveInfo
	for _, sc := range a.Secrets {
		if !f.Match(sc) || hidden.Match(sc.FilePath) {
			continue
		}
		list = append(list, imageSensitiveInfo{SensitiveInfoID: sc.ID, Severity: sc.Severity, Name: sc.Name,
			Description: sc.Description, Position: sc.LayerDigest, FilePath: sc.FilePath, Content: sc.Content,
			LatestScanTime: img.LatestScanTime, HandleStatus: "unhandled", OperateAccept: "false"})
	}
	s.writeJSON(w, http.StatusOK, pageOf(list, d.offset, d.limit))
	return nil
}

// imageAssetStatistics is the SDK's ShowImageAssetStatisticsResponse.
type imageAssetStatistics struct {
	LocalNum    int64 `json:"local_num"`
	CicdNum     int64 `json:"cicd_num"`
	RegistryNum int64 `json:"registry_num"`
}

// showImageAssetStatistics is ShowImageAssetStatistics: the project's
// image counts. registry_num counts the rows of every registry image type
// (private, shared, instance); openhss has no CI/CD images.
func (s *server) showImageAssetStatistics(w http.ResponseWriter, r *http.Request, c *call) error {
	eps, err := s.requestEnterpriseProjects(r, c.Principal)
	if err != nil {
		return err
	}
	var out imageAssetStatistics
	for _, t := range []inventory.ImageType{inventory.LocalImage, inventory.PrivateImage, inventory.SharedImage, inventory.InstanceImage} {
		page, err := s.cfg.Store.ListImages(r.Context(), inventory.Filter{ProjectID: c.ProjectID, EnterpriseProjects: eps, Type: t, Limit: 1})
		if err != nil {
			return fmt.Errorf("count %s rows: %w", t, err)
		}
		if t == inventory.LocalImage {
			out.LocalNum = page.Total
		} else {
			out.RegistryNum += page.Total
		}
	}
	s.writeJSON(w, http.StatusOK, out)
	return nil
}
