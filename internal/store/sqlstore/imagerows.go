package sqlstore

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/openhss/openhss/internal/inventory"
)

// The columns of images read into an inventory.Image, in ScanImage's order,
// for a table aliased i: the dialects differ only in how an index's members
// are aggregated into one JSON text.
const (
	imageColsHead = `i.id, i.project_id, i.enterprise_project_id, i.registry_id, i.image_type,
	i.namespace, i.name, i.tag, i.digest, i.manifest_digest, i.image_size, i.latest_update_time,
	i.latest_version, i.scannable, i.scan_status, i.scan_failed_desc, i.latest_scan_time,
	i.vul_num, i.unsafe_setting_num, i.malicious_file_num, i.domain_name, i.shared_expires,
	i.instance_id, i.instance_name, i.instance_url, i.severity_level,
	CASE WHEN i.is_index THEN (
		SELECT `
	imageColsMember = `m.member_digest, m.platform, coalesce(mf.scan_status, 'unscan'),
		CAST(coalesce(mf.vul_num, 0) AS TEXT), CAST(coalesce(mf.unsafe_setting_num, 0) AS TEXT),
		CAST(coalesce(mf.malicious_file_num, 0) AS TEXT)`
	imageColsTail = `
		FROM index_members m LEFT JOIN manifests mf ON mf.digest = m.member_digest
		WHERE m.index_digest = i.digest
	) END`
)

// ImageCols are the dialect's image columns, read by ScanImage.
func (d Dialect) ImageCols() string {
	if d == Postgres {
		return imageColsHead + `json_agg(json_build_array(` + imageColsMember + `) ORDER BY m.position)::text` + imageColsTail
	}
	return imageColsHead + `json_group_array(json_array(` + imageColsMember + `) ORDER BY m.position)` + imageColsTail
}

// ScanImage reads a row of the dialect's image columns (ImageCols) at time
// now (ms).
func ScanImage(row rowScanner, now int64) (inventory.Image, error) {
	var (
		img           inventory.Image
		typ, status   string
		sharedExpires int64
		assoc         *string
	)
	err := row.Scan(&img.ID, &img.ProjectID, &img.EnterpriseProjectID, &img.RegistryID, &typ,
		&img.Namespace, &img.Name, &img.Tag, &img.Digest, &img.ManifestDigest, &img.Size, &img.LatestUpdateTime,
		&img.LatestVersion, &img.Scannable, &status, &img.ScanFailedDesc, &img.LatestScanTime,
		&img.VulNum, &img.UnsafeSettingNum, &img.MaliciousFileNum, &img.DomainName, &sharedExpires,
		&img.InstanceID, &img.InstanceName, &img.InstanceURL, &img.SeverityLevel, &assoc)
	if err != nil {
		return img, err
	}
	img.Type = inventory.ImageType(typ)
	img.ScanStatus = inventory.ScanStatus(status)
	img.SharedStatus = inventory.SharedStatus(img.Type, sharedExpires, now)
	if assoc != nil && *assoc != "" {
		var members [][6]string
		if err := json.Unmarshal([]byte(*assoc), &members); err != nil {
			return img, fmt.Errorf("associations of image %d: %w", img.ID, err)
		}
		for _, m := range members {
			var n [3]int32
			for i, v := range m[3:] {
				x, err := strconv.ParseInt(v, 10, 32)
				if err != nil {
					return img, fmt.Errorf("associations of image %d: %w", img.ID, err)
				}
				n[i] = int32(x)
			}
			img.Associations = append(img.Associations, inventory.Association{
				Digest: m[0], Platform: m[1], ScanStatus: inventory.ScanStatus(m[2]),
				VulNum: n[0], UnsafeSettingNum: n[1], MaliciousFileNum: n[2],
			})
		}
	}
	return img, nil
}

// Stmt is a statement and its arguments.
type Stmt struct {
	SQL  string
	Args []any
}

// SetScanResult are the statements recording r as the newest finished scan
// of the manifest digest, in order: the manifest row (created holding only
// the result when the digest is not known yet, so the result is not lost
// if a sync records the manifest later), then every image row describing it.
func SetScanResult(d Dialect, digest string, r inventory.ScanResult) [2]Stmt {
	r.Status = cmp.Or(r.Status, inventory.Unscan)
	up := newBuilder(d)
	upsert := `INSERT INTO manifests (digest, scan_status, scan_failed_desc, latest_scan_time, vul_num, unsafe_setting_num, malicious_file_num, severity_level)
			VALUES (` + up.List(digest, string(r.Status), r.FailedDesc, r.ScanTime, r.VulNum, r.UnsafeSettingNum, r.MaliciousFileNum, r.SeverityLevel) + `)
			ON CONFLICT (digest) DO UPDATE SET scan_status = excluded.scan_status, scan_failed_desc = excluded.scan_failed_desc,
				latest_scan_time = excluded.latest_scan_time, vul_num = excluded.vul_num,
				unsafe_setting_num = excluded.unsafe_setting_num, malicious_file_num = excluded.malicious_file_num,
				severity_level = excluded.severity_level`
	set := newBuilder(d)
	update := `UPDATE images SET scan_status = ` + set.Arg(string(r.Status)) + `, scan_failed_desc = ` + set.Arg(r.FailedDesc) +
		`, latest_scan_time = ` + set.Arg(r.ScanTime) + `,
				vul_num = ` + set.Arg(r.VulNum) + `, unsafe_setting_num = ` + set.Arg(r.UnsafeSettingNum) +
		`, malicious_file_num = ` + set.Arg(r.MaliciousFileNum) + `, severity_level = ` + set.Arg(r.SeverityLevel) + `
			WHERE manifest_digest = ` + set.Arg(digest)
	return [2]Stmt{{upsert, up.Args()}, {update, set.Args()}}
}

// ManifestInfo is what an image row copies from the manifest it describes.
type ManifestInfo struct {
	Size, Created                 int64
	Scannable                     bool
	Status, FailedDesc            string
	ScanTime                      int64
	Vul, UnsafeSetting, Malicious int32
	Severity                      string
}

// UnknownManifest is how a digest the store has no manifest row for reads:
// an empty, never-scanned manifest.
func UnknownManifest() ManifestInfo {
	return ManifestInfo{Status: string(inventory.Unscan)}
}

// PutLocalImage is the statement adding or replacing img (checked by
// inventory.LocalImageDefaults) as a local_image row (registry 0; replacing keeps the id)
// describing manifest md, read as m, with manifests the ones put with it,
// at time now (ms); it returns the row's id. Size and scannable come from
// the manifest when the store knows it, else from img; an unchanged digest
// keeps its first-seen time, and its update time unless m has a created
// time.
func PutLocalImage(d Dialect, img inventory.Image, md string, m ManifestInfo, manifests []inventory.Manifest, now int64) Stmt {
	size, scannable := img.Size, img.Scannable
	if slices.ContainsFunc(manifests, func(x inventory.Manifest) bool { return x.Digest == md }) || m.Size > 0 {
		size, scannable = m.Size, m.Scannable
	}
	firstSeen := img.LatestUpdateTime
	if firstSeen <= 0 {
		firstSeen = now
	}
	lut := inventory.UpdateTime(m.Created, firstSeen)
	// The row being replaced: SQLite names it by its table, PostgreSQL by
	// the alias the upsert gives it.
	into, old := "images", "images"
	if d == Postgres {
		into, old = "images AS i", "i"
	}
	b := newBuilder(d)
	q := `INSERT INTO ` + into + ` (project_id, enterprise_project_id, registry_id, image_type,
			namespace, name, tag, digest, manifest_digest, is_index, image_size, first_seen, latest_update_time, scannable,
			scan_status, scan_failed_desc, latest_scan_time, vul_num, unsafe_setting_num, malicious_file_num, severity_level)
			VALUES (` + b.List(img.ProjectID, img.EnterpriseProjectID) + `, 0, ` +
		b.List(string(inventory.LocalImage), img.Namespace, img.Name, img.Tag,
			img.Digest, md, img.Digest != md, size, firstSeen, lut, scannable,
			m.Status, m.FailedDesc, m.ScanTime, m.Vul, m.UnsafeSetting, m.Malicious, m.Severity) + `)
			ON CONFLICT (registry_id, project_id, namespace, name, tag) DO UPDATE SET
				enterprise_project_id = excluded.enterprise_project_id, digest = excluded.digest,
				manifest_digest = excluded.manifest_digest, is_index = excluded.is_index, image_size = excluded.image_size,
				first_seen = CASE WHEN ` + old + `.digest = excluded.digest THEN ` + old + `.first_seen ELSE excluded.first_seen END,
				latest_update_time = CASE WHEN ` + old + `.digest = excluded.digest AND ` + b.Arg(m.Created) + ` <= 0 THEN ` + old + `.latest_update_time ELSE excluded.latest_update_time END,
				scannable = excluded.scannable, scan_status = excluded.scan_status, scan_failed_desc = excluded.scan_failed_desc,
				latest_scan_time = excluded.latest_scan_time, vul_num = excluded.vul_num,
				unsafe_setting_num = excluded.unsafe_setting_num, malicious_file_num = excluded.malicious_file_num,
				severity_level = excluded.severity_level
			RETURNING id`
	return Stmt{q, b.Args()}
}
