package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/pathallow"
	"github.com/openhss/openhss/internal/scanresult"
)

// detailLimit is a detail tab's page size.
const detailLimit = 50

// tab is one tab of the image detail.
type tab struct {
	Key, Label string
}

// imageTabs are the image detail's tabs; the key is the URL's tab=.
var imageTabs = []tab{{"", "Vulnerabilities"}, {"packages", "Packages"}, {"settings", "Unsafe settings"},
	{"passwords", "Weak passwords"}, {"malware", "Malicious files"}, {"sensitive", "Sensitive information"}}

// imageRow loads the row of a detail path: another project's row, or one
// of an enterprise project the session is not granted, is not found.
func (c *Console) imageRow(r *http.Request, s *session, idText string) (inventory.Image, bool, error) {
	return scopedRow(r, s, "image", idText, c.opts.Store.GetImage,
		func(img inventory.Image) string { return img.EnterpriseProjectID })
}

// scopedRow loads the record of a path's id with get, within the session's
// project and its granted enterprise projects (ep names a record's):
// anything else, or an id that is not one, is not found, as in the API.
func scopedRow[T any](r *http.Request, s *session, what, idText string,
	get func(ctx context.Context, projectID string, id int64) (T, error), ep func(T) string) (T, bool, error) {
	var zero T
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return zero, false, nil
	}
	v, err := get(r.Context(), s.principal.ProjectID, id)
	if errors.Is(err, inventory.ErrNotFound) {
		return zero, false, nil
	}
	if err != nil {
		return zero, false, fmt.Errorf("console: %s %d: %w", what, id, err)
	}
	eps, err := s.enterpriseProjects()
	if err != nil {
		return zero, false, err
	}
	if eps != nil && !slices.Contains(eps, ep(v)) {
		return zero, false, nil
	}
	return v, true, nil
}

// image is one row's detail: its header and one tab, each read through
// the store call of the matching API route (vulnerabilities, apps,
// risk configs, weak-password users, malware, sensitive information).
func (c *Console) image(w http.ResponseWriter, r *http.Request, s *session) {
	idText := strings.TrimPrefix(r.URL.Path, "/images/")
	img, ok, err := c.imageRow(r, s, idText)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if !ok {
		c.notFound(w, r, s, "Image")
		return
	}
	q := r.URL.Query()
	rq := &imagequery.Reader{V: q}
	offset := 0
	if n := rq.Integer("offset", 0, imagequery.MaxOffset); n != nil {
		offset = int(*n)
	}
	if rq.Err != nil {
		c.render(w, r, http.StatusBadRequest, "error", s, map[string]any{"Message": rq.Err.Error()})
		return
	}
	key := q.Get("tab")
	i := slices.IndexFunc(imageTabs, func(t tab) bool { return t.Key == key })
	if i < 0 {
		c.render(w, r, http.StatusBadRequest, "error", s, map[string]any{"Message": "No such tab: " + key + "."})
		return
	}
	self := "/images/" + idText
	data := map[string]any{"Title": img.Namespace + "/" + img.Name + ":" + img.Tag, "Image": img, "Tab": key,
		"Tabs": imageTabs, "Self": self}
	ctx := r.Context()
	digest := img.ScannedDigest()
	// One row, as the API's detail routes select it by image_id.
	sel := scanresult.RowSelection{Filter: inventory.Filter{ProjectID: s.principal.ProjectID}, IDs: []int64{img.ID}}
	var total int64
	switch key {
	case "":
		var vulns []scanresult.VulnRow
		total, vulns, err = c.opts.Store.ListVulns(ctx, scanresult.VulnFilter{Digest: digest, Offset: offset, Limit: detailLimit})
		data["Vulns"] = vulns
	case "packages":
		var apps []scanresult.AppRow
		total, apps, err = c.opts.Store.ListApps(ctx, scanresult.AppFilter{Digest: digest, Offset: offset, Limit: detailLimit})
		data["Apps"] = apps
	case "settings":
		var configs []scanresult.RiskConfig
		total, configs, err = c.opts.Store.RiskConfigs(ctx, sel, scanresult.RiskConfigFilter{Offset: offset, Limit: detailLimit})
		data["Configs"] = configs
	case "passwords":
		var users []scanresult.WeakPasswordRow
		total, users, err = c.opts.Store.WeakPasswordUsers(ctx, sel, scanresult.WeakPasswordFilter{Offset: offset, Limit: detailLimit})
		data["Users"], data["Mask"] = users, scanresult.WeakPasswordMask
	case "malware", "sensitive":
		var a scanresult.Analysis
		a, err = c.opts.Store.GetAnalysis(ctx, digest)
		if err != nil {
			break
		}
		if key == "malware" {
			total = int64(len(a.Malware))
			data["Malware"] = window(a.Malware, offset)
			break
		}
		// Masked by the analyzer before it was stored, and hidden under
		// the sensitive-path whitelist, as ListImageSensitive shows them.
		hidden, ferr := pathallow.ForProject(ctx, c.opts.Store, c.opts.SensitiveDefault, s.principal.ProjectID)
		if ferr != nil {
			err = ferr
			break
		}
		var shown []scanresult.Secret
		for _, f := range a.Secrets {
			if !hidden.Match(f.FilePath) {
				shown = append(shown, f)
			}
		}
		total = int64(len(shown))
		data["Secrets"] = window(shown, offset)
	}
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: %s of image %d: %w", imageTabs[i].Label, img.ID, err))
		return
	}
	data["Total"] = total
	at := func(o int) string {
		p := url.Values{}
		if key != "" {
			p.Set("tab", key)
		}
		if o > 0 {
			p.Set("offset", strconv.Itoa(o))
		}
		if len(p) == 0 {
			return self
		}
		return self + "?" + p.Encode()
	}
	if offset > 0 {
		data["Prev"] = at(max(0, offset-detailLimit))
	}
	if int64(offset+detailLimit) < total {
		data["Next"] = at(offset + detailLimit)
	}
	c.render(w, r, http.StatusOK, "image", s, data)
}

// window is the detail page of a list read whole.
func window[T any](list []T, offset int) []T {
	if offset >= len(list) {
		return nil
	}
	return list[offset:min(len(list), offset+detailLimit)]
}

// sbom downloads the row's stored inventory as CycloneDX 1.5 (default) or
// SPDX 2.3 JSON, encoded as the API's /sbom route encodes it.
func (c *Console) sbom(w http.ResponseWriter, r *http.Request, s *session) {
	idText, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/images/"), "/")
	img, ok, err := c.imageRow(r, s, idText)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if !ok {
		c.notFound(w, r, s, "Image")
		return
	}
	encode, ctype, ext := scanresult.CycloneDX, "application/vnd.cyclonedx+json", "cdx.json"
	switch r.URL.Query().Get("format") {
	case "", "cyclonedx":
	case "spdx":
		encode, ctype, ext = scanresult.SPDX, "application/spdx+json", "spdx.json"
	default:
		c.render(w, r, http.StatusBadRequest, "error", s, map[string]any{"Message": "format must be cyclonedx or spdx."})
		return
	}
	sb, err := c.opts.Store.GetSBOM(r.Context(), img.ScannedDigest())
	if errors.Is(err, inventory.ErrNotFound) {
		c.render(w, r, http.StatusNotFound, "error", s, map[string]any{"Message": "The image has no software inventory: it has not been scanned successfully."})
		return
	}
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: sbom of image %d: %w", img.ID, err))
		return
	}
	ref := img.Name + ":" + img.Tag
	if img.Namespace != "" {
		ref = img.Namespace + "/" + ref
	}
	body, err := encode(sb, scanresult.Subject{Name: ref})
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: encode sbom of image %d: %w", img.ID, err))
		return
	}
	w.Header().Set("Content-Type", ctype)
	// The file name is the row id: names may hold any character.
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="image-%d.%s"`, img.ID, ext))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
