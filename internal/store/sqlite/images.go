package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/openhss/openhss/internal/inventory"
)

// imageCols are the columns of images read into an inventory.Image, in
// scanImage's order, for a table aliased i.
const imageCols = `i.id, i.project_id, i.enterprise_project_id, i.registry_id, i.image_type,
	i.namespace, i.name, i.tag, i.digest, i.manifest_digest, i.image_size, i.latest_update_time,
	i.latest_version, i.scannable, i.scan_status, i.scan_failed_desc, i.latest_scan_time,
	i.vul_num, i.unsafe_setting_num, i.malicious_file_num, i.domain_name, i.shared_expires,
	i.instance_id, i.instance_name, i.instance_url,
	CASE WHEN i.is_index THEN (
		SELECT json_group_array(json_array(m.member_digest, m.platform, coalesce(mf.scan_status, 'unscan')) ORDER BY m.position)
		FROM index_members m LEFT JOIN manifests mf ON mf.digest = m.member_digest
		WHERE m.index_digest = i.digest
	) END`

type rowScanner interface{ Scan(dest ...any) error }

func scanImage(r rowScanner, now int64) (inventory.Image, error) {
	var (
		img           inventory.Image
		typ, status   string
		latest, scan  int
		sharedExpires int64
		assoc         sql.NullString
	)
	err := r.Scan(&img.ID, &img.ProjectID, &img.EnterpriseProjectID, &img.RegistryID, &typ,
		&img.Namespace, &img.Name, &img.Tag, &img.Digest, &img.ManifestDigest, &img.Size, &img.LatestUpdateTime,
		&latest, &scan, &status, &img.ScanFailedDesc, &img.LatestScanTime,
		&img.VulNum, &img.UnsafeSettingNum, &img.MaliciousFileNum, &img.DomainName, &sharedExpires,
		&img.InstanceID, &img.InstanceName, &img.InstanceURL, &assoc)
	if err != nil {
		return img, err
	}
	img.Type = inventory.ImageType(typ)
	img.ScanStatus = inventory.ScanStatus(status)
	img.LatestVersion = latest != 0
	img.Scannable = scan != 0
	img.SharedStatus = sharedStatus(img.Type, sharedExpires, now)
	if assoc.Valid && assoc.String != "" {
		var members [][3]string
		if err := json.Unmarshal([]byte(assoc.String), &members); err != nil {
			return img, fmt.Errorf("associations of image %d: %w", img.ID, err)
		}
		for _, m := range members {
			img.Associations = append(img.Associations, inventory.Association{
				Digest: m[0], Platform: m[1], ScanStatus: inventory.ScanStatus(m[2]),
			})
		}
	}
	return img, nil
}

// sharedStatus is computed when read, so that a share expires without a
// write: "effective" until SharedExpires (ms, 0 = never), then "expired".
func sharedStatus(t inventory.ImageType, expires, now int64) string {
	if t != inventory.SharedImage {
		return ""
	}
	if expires > 0 && now > expires {
		return "expired"
	}
	return "effective"
}

// GetImage returns one row of a project.
func (s *Store) GetImage(ctx context.Context, projectID string, id int64) (inventory.Image, error) {
	row := s.reads.queryRow(ctx, `SELECT `+imageCols+` FROM images i WHERE i.id = ? AND i.project_id = ?`, id, projectID)
	img, err := scanImage(row, time.Now().UnixMilli())
	if err != nil {
		return img, notFound(err, fmt.Sprintf("image %d", id))
	}
	return img, nil
}

// SetScanResult records the newest finished scan of a manifest and copies it
// onto every row describing that manifest, in one transaction. A digest the
// store has not seen yet gets a manifest row holding only the result, so the
// result is not lost if a sync records the manifest later.
func (s *Store) SetScanResult(ctx context.Context, digest string, r inventory.ScanResult) error {
	if r.Status == "" {
		r.Status = inventory.Unscan
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO manifests (digest, scan_status, scan_failed_desc, latest_scan_time, vul_num, unsafe_setting_num, malicious_file_num)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (digest) DO UPDATE SET scan_status = excluded.scan_status, scan_failed_desc = excluded.scan_failed_desc,
				latest_scan_time = excluded.latest_scan_time, vul_num = excluded.vul_num,
				unsafe_setting_num = excluded.unsafe_setting_num, malicious_file_num = excluded.malicious_file_num`,
			digest, string(r.Status), r.FailedDesc, r.ScanTime, r.VulNum, r.UnsafeSettingNum, r.MaliciousFileNum)
		if err != nil {
			return fmt.Errorf("sqlite: set scan result of %s: %w", digest, err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE images SET scan_status = ?, scan_failed_desc = ?, latest_scan_time = ?,
				vul_num = ?, unsafe_setting_num = ?, malicious_file_num = ?
			WHERE manifest_digest = ?`,
			string(r.Status), r.FailedDesc, r.ScanTime, r.VulNum, r.UnsafeSettingNum, r.MaliciousFileNum, digest)
		if err != nil {
			return fmt.Errorf("sqlite: set scan result of %s: %w", digest, err)
		}
		return nil
	})
}

// manifestInfo is what a row copies from the manifest it describes.
type manifestInfo struct {
	size, created                 int64
	scannable                     bool
	status, failedDesc            string
	scanTime                      int64
	vul, unsafeSetting, malicious int32
}

// manifestLookup reads manifests within a transaction, once per digest.
type manifestLookup struct {
	stmt  *sql.Stmt
	cache map[string]manifestInfo
}

func newManifestLookup(ctx context.Context, tx *sql.Tx) (*manifestLookup, error) {
	stmt, err := tx.PrepareContext(ctx, `SELECT size, created, scannable, scan_status, scan_failed_desc, latest_scan_time,
		vul_num, unsafe_setting_num, malicious_file_num FROM manifests WHERE digest = ?`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare manifest lookup: %w", err)
	}
	return &manifestLookup{stmt: stmt, cache: map[string]manifestInfo{}}, nil
}

// get returns the manifest's info; an unknown digest reads as an empty,
// never-scanned manifest.
func (l *manifestLookup) get(ctx context.Context, digest string) (manifestInfo, error) {
	if m, ok := l.cache[digest]; ok {
		return m, nil
	}
	var (
		m    manifestInfo
		scan int
	)
	err := l.stmt.QueryRowContext(ctx, digest).Scan(&m.size, &m.created, &scan, &m.status, &m.failedDesc, &m.scanTime,
		&m.vul, &m.unsafeSetting, &m.malicious)
	switch {
	case err == sql.ErrNoRows:
		m = manifestInfo{status: string(inventory.Unscan)}
	case err != nil:
		return m, fmt.Errorf("sqlite: manifest %s: %w", digest, err)
	}
	m.scannable = scan != 0
	l.cache[digest] = m
	return m, nil
}

// putManifests upserts what a sync or import learned about manifests. Scan
// fields of a known digest are kept: content is addressed by digest, so a
// known digest's scan result is still its result.
func putManifests(ctx context.Context, tx *sql.Tx, ms []inventory.Manifest) error {
	if len(ms) == 0 {
		return nil
	}
	up, err := tx.PrepareContext(ctx, `INSERT INTO manifests (digest, media_type, artifact_type, size, created, platform, scannable)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (digest) DO UPDATE SET media_type = excluded.media_type, artifact_type = excluded.artifact_type,
			size = excluded.size, created = excluded.created, platform = excluded.platform, scannable = excluded.scannable`)
	if err != nil {
		return fmt.Errorf("sqlite: prepare manifest upsert: %w", err)
	}
	defer up.Close()
	del, err := tx.PrepareContext(ctx, `DELETE FROM index_members WHERE index_digest = ?`)
	if err != nil {
		return fmt.Errorf("sqlite: prepare index members: %w", err)
	}
	defer del.Close()
	member, err := tx.PrepareContext(ctx, `INSERT INTO index_members (index_digest, position, member_digest, platform) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("sqlite: prepare index members: %w", err)
	}
	defer member.Close()
	for _, m := range ms {
		if _, err := up.ExecContext(ctx, m.Digest, m.MediaType, m.ArtifactType, m.Size, m.Created, m.Platform, b2i(m.Scannable)); err != nil {
			return fmt.Errorf("sqlite: upsert manifest %s: %w", m.Digest, err)
		}
		if len(m.Members) == 0 {
			continue
		}
		if _, err := del.ExecContext(ctx, m.Digest); err != nil {
			return fmt.Errorf("sqlite: index members of %s: %w", m.Digest, err)
		}
		for i, a := range m.Members {
			if _, err := member.ExecContext(ctx, m.Digest, i, a.Digest, a.Platform); err != nil {
				return fmt.Errorf("sqlite: index members of %s: %w", m.Digest, err)
			}
		}
	}
	return nil
}

// registryRow is what rows copy from their registry connection.
type registryRow struct {
	projectID, enterpriseProjectID string
	typ                            inventory.RegistryType
	domainName                     string
	sharedExpires                  int64
	instanceID, instanceName       string
	instanceURL                    string
}

func loadRegistryRow(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id int64) (registryRow, error) {
	var r registryRow
	err := q.QueryRowContext(ctx, `SELECT project_id, enterprise_project_id, type, domain_name, shared_expires,
		instance_id, instance_name, instance_url FROM registries WHERE id = ?`, id).
		Scan(&r.projectID, &r.enterpriseProjectID, &r.typ, &r.domainName, &r.sharedExpires, &r.instanceID, &r.instanceName, &r.instanceURL)
	if err != nil {
		return r, notFound(err, fmt.Sprintf("registry %d", id))
	}
	return r, nil
}

type repoKey struct{ namespace, name string }

type existingRow struct {
	id                     int64
	digest, manifestDigest string
	firstSeen              int64
}

// ApplySync makes the rows of s.RegistryID match the snapshot in one
// transaction.
//
// A moved tag (new digest) keeps its id and takes the new manifest's size,
// time and scan fields (zeros and unscan for a digest never scanned); its
// first-seen time becomes SeenAt, since API.md defines the fallback time as
// when openhss first saw this digest under this tag. Unchanged rows keep
// their first-seen time, so latest_update_time is stable across syncs.
func (s *Store) ApplySync(ctx context.Context, snap inventory.Snapshot) (inventory.SyncResult, error) {
	var res inventory.SyncResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res = inventory.SyncResult{}
		reg, err := loadRegistryRow(ctx, tx, snap.RegistryID)
		if err != nil {
			return err
		}
		if err := putManifests(ctx, tx, snap.Manifests); err != nil {
			return err
		}
		manifests, err := newManifestLookup(ctx, tx)
		if err != nil {
			return err
		}
		defer manifests.stmt.Close()

		existing := map[repoKey]map[string]existingRow{}
		rows, err := tx.QueryContext(ctx, `SELECT id, namespace, name, tag, digest, manifest_digest, first_seen
			FROM images WHERE registry_id = ? AND project_id = ?`, snap.RegistryID, reg.projectID)
		if err != nil {
			return fmt.Errorf("sqlite: rows of registry %d: %w", snap.RegistryID, err)
		}
		for rows.Next() {
			var (
				k   repoKey
				tag string
				e   existingRow
			)
			if err := rows.Scan(&e.id, &k.namespace, &k.name, &tag, &e.digest, &e.manifestDigest, &e.firstSeen); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: rows of registry %d: %w", snap.RegistryID, err)
			}
			if existing[k] == nil {
				existing[k] = map[string]existingRow{}
			}
			existing[k][tag] = e
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("sqlite: rows of registry %d: %w", snap.RegistryID, err)
		}

		ins, err := tx.PrepareContext(ctx, `INSERT INTO images (project_id, enterprise_project_id, registry_id, image_type,
			namespace, name, tag, digest, manifest_digest, is_index, image_size, first_seen, latest_update_time, scannable,
			scan_status, scan_failed_desc, latest_scan_time, vul_num, unsafe_setting_num, malicious_file_num,
			domain_name, shared_expires, instance_id, instance_name, instance_url)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("sqlite: prepare insert: %w", err)
		}
		defer ins.Close()
		move, err := tx.PrepareContext(ctx, `UPDATE images SET digest = ?, manifest_digest = ?, is_index = ?, image_size = ?,
			first_seen = ?, latest_update_time = ?, scannable = ?, scan_status = ?, scan_failed_desc = ?, latest_scan_time = ?,
			vul_num = ?, unsafe_setting_num = ?, malicious_file_num = ? WHERE id = ?`)
		if err != nil {
			return fmt.Errorf("sqlite: prepare update: %w", err)
		}
		defer move.Close()
		del, err := tx.PrepareContext(ctx, `DELETE FROM images WHERE id = ?`)
		if err != nil {
			return fmt.Errorf("sqlite: prepare delete: %w", err)
		}
		defer del.Close()

		typ := reg.typ.ImageType()
		touched := map[repoKey]bool{}
		for _, repo := range snap.Repositories {
			k := repoKey{repo.Namespace, repo.Name}
			if touched[k] {
				return fmt.Errorf("sqlite: snapshot lists repository %s/%s twice", k.namespace, k.name)
			}
			touched[k] = true
			old := existing[k]
			delete(existing, k)
			listed := make(map[string]bool, len(repo.Tags))
			for _, t := range repo.Tags {
				if listed[t.Tag] {
					continue // a registry listing a tag twice still has one tag
				}
				listed[t.Tag] = true
				md := t.ManifestDigest
				if md == "" {
					md = t.Digest
				}
				e, ok := old[t.Tag]
				if ok && e.digest == t.Digest && e.manifestDigest == md {
					res.Unchanged++
					continue
				}
				m, err := manifests.get(ctx, md)
				if err != nil {
					return err
				}
				lut := m.created
				if lut <= 0 {
					lut = snap.SeenAt
				}
				if ok {
					_, err = move.ExecContext(ctx, t.Digest, md, b2i(t.Digest != md), m.size, snap.SeenAt, lut, b2i(m.scannable),
						m.status, m.failedDesc, m.scanTime, m.vul, m.unsafeSetting, m.malicious, e.id)
					if err != nil {
						return fmt.Errorf("sqlite: update %s/%s:%s: %w", k.namespace, k.name, t.Tag, err)
					}
					res.Moved++
					continue
				}
				_, err = ins.ExecContext(ctx, reg.projectID, reg.enterpriseProjectID, snap.RegistryID, string(typ),
					k.namespace, k.name, t.Tag, t.Digest, md, b2i(t.Digest != md), m.size, snap.SeenAt, lut, b2i(m.scannable),
					m.status, m.failedDesc, m.scanTime, m.vul, m.unsafeSetting, m.malicious,
					reg.domainName, reg.sharedExpires, reg.instanceID, reg.instanceName, reg.instanceURL)
				if err != nil {
					return fmt.Errorf("sqlite: insert %s/%s:%s: %w", k.namespace, k.name, t.Tag, err)
				}
				res.Added++
			}
			for tag, e := range old {
				if listed[tag] {
					continue
				}
				if _, err := del.ExecContext(ctx, e.id); err != nil {
					return fmt.Errorf("sqlite: delete %s/%s:%s: %w", k.namespace, k.name, tag, err)
				}
				res.Removed++
			}
		}
		// Repositories no longer listed at all are gone, unless their listing
		// failed this time.
		failed := make(map[string]bool, len(snap.Failed))
		for _, f := range snap.Failed {
			failed[f] = true
		}
		for k, old := range existing {
			if failed[k.namespace+"/"+k.name] {
				continue
			}
			for _, e := range old {
				if _, err := del.ExecContext(ctx, e.id); err != nil {
					return fmt.Errorf("sqlite: delete %s/%s: %w", k.namespace, k.name, err)
				}
				res.Removed++
			}
		}
		return recomputeLatest(ctx, tx, snap.RegistryID, reg.projectID, touched)
	})
	if err != nil {
		return inventory.SyncResult{}, err
	}
	return res, nil
}

// recomputeLatest sets latest_version on exactly one row of each repository
// (greatest latest_update_time, ties broken by greatest tag), writing only
// rows whose flag changes.
func recomputeLatest(ctx context.Context, tx *sql.Tx, registryID int64, projectID string, repos map[repoKey]bool) error {
	best, err := tx.PrepareContext(ctx, `SELECT id FROM images WHERE registry_id = ? AND project_id = ? AND namespace = ? AND name = ?
		ORDER BY latest_update_time DESC, tag DESC LIMIT 1`)
	if err != nil {
		return fmt.Errorf("sqlite: prepare latest: %w", err)
	}
	defer best.Close()
	set, err := tx.PrepareContext(ctx, `UPDATE images SET latest_version = (id = ?1)
		WHERE registry_id = ?2 AND project_id = ?3 AND namespace = ?4 AND name = ?5 AND latest_version <> (id = ?1)`)
	if err != nil {
		return fmt.Errorf("sqlite: prepare latest: %w", err)
	}
	defer set.Close()
	for k := range repos {
		var id int64
		err := best.QueryRowContext(ctx, registryID, projectID, k.namespace, k.name).Scan(&id)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite: latest of %s/%s: %w", k.namespace, k.name, err)
		}
		if _, err := set.ExecContext(ctx, id, registryID, projectID, k.namespace, k.name); err != nil {
			return fmt.Errorf("sqlite: latest of %s/%s: %w", k.namespace, k.name, err)
		}
	}
	return nil
}

// PutLocalImage adds or replaces a local_image row (registry 0, unique per
// project, namespace, name and tag; replacing keeps the id) and its
// manifests. Size, time and scan fields come from the described manifest
// when the store knows it, else from img.
func (s *Store) PutLocalImage(ctx context.Context, img inventory.Image, manifests []inventory.Manifest) (inventory.Image, error) {
	if img.ProjectID == "" || img.Name == "" || img.Tag == "" || img.Digest == "" {
		return inventory.Image{}, fmt.Errorf("sqlite: local image needs project, name, tag and digest")
	}
	if img.EnterpriseProjectID == "" {
		img.EnterpriseProjectID = inventory.DefaultEnterpriseProject
	}
	md := img.ManifestDigest
	if md == "" {
		md = img.Digest
	}
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := putManifests(ctx, tx, manifests); err != nil {
			return err
		}
		look, err := newManifestLookup(ctx, tx)
		if err != nil {
			return err
		}
		defer look.stmt.Close()
		m, err := look.get(ctx, md)
		if err != nil {
			return err
		}
		size, scannable := img.Size, img.Scannable
		if _, known := knownManifest(manifests, md); known || m.size > 0 {
			size, scannable = m.size, m.scannable
		}
		now := time.Now().UnixMilli()
		firstSeen := img.LatestUpdateTime
		if firstSeen <= 0 {
			firstSeen = now
		}
		lut := m.created
		if lut <= 0 {
			lut = firstSeen
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO images (project_id, enterprise_project_id, registry_id, image_type,
			namespace, name, tag, digest, manifest_digest, is_index, image_size, first_seen, latest_update_time, scannable,
			scan_status, scan_failed_desc, latest_scan_time, vul_num, unsafe_setting_num, malicious_file_num)
			VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (registry_id, project_id, namespace, name, tag) DO UPDATE SET
				enterprise_project_id = excluded.enterprise_project_id, digest = excluded.digest,
				manifest_digest = excluded.manifest_digest, is_index = excluded.is_index, image_size = excluded.image_size,
				first_seen = CASE WHEN images.digest = excluded.digest THEN images.first_seen ELSE excluded.first_seen END,
				latest_update_time = CASE WHEN images.digest = excluded.digest AND ? <= 0 THEN images.latest_update_time ELSE excluded.latest_update_time END,
				scannable = excluded.scannable, scan_status = excluded.scan_status, scan_failed_desc = excluded.scan_failed_desc,
				latest_scan_time = excluded.latest_scan_time, vul_num = excluded.vul_num,
				unsafe_setting_num = excluded.unsafe_setting_num, malicious_file_num = excluded.malicious_file_num
			RETURNING id`,
			img.ProjectID, img.EnterpriseProjectID, string(inventory.LocalImage), img.Namespace, img.Name, img.Tag,
			img.Digest, md, b2i(img.Digest != md), size, firstSeen, lut, b2i(scannable),
			m.status, m.failedDesc, m.scanTime, m.vul, m.unsafeSetting, m.malicious, m.created).Scan(&id)
		if err != nil {
			return fmt.Errorf("sqlite: put local image %s/%s:%s: %w", img.Namespace, img.Name, img.Tag, err)
		}
		return recomputeLatest(ctx, tx, 0, img.ProjectID, map[repoKey]bool{{img.Namespace, img.Name}: true})
	})
	if err != nil {
		return inventory.Image{}, err
	}
	return s.GetImage(ctx, img.ProjectID, id)
}

func knownManifest(ms []inventory.Manifest, digest string) (inventory.Manifest, bool) {
	for _, m := range ms {
		if m.Digest == digest {
			return m, true
		}
	}
	return inventory.Manifest{}, false
}
