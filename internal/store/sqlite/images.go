package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/sqlq"
)

// imageCols are the columns of images read into an inventory.Image, in
// scanImage's order, for a table aliased i.
const imageCols = sqlq.SQLiteImageCols

type rowScanner interface{ Scan(dest ...any) error }

func scanImage(r rowScanner, now int64) (inventory.Image, error) {
	return sqlq.ScanImage(sqlq.SQLite, r, now)
}

// GetImage returns one row of a project.
func (s *Store) GetImage(ctx context.Context, projectID string, id int64) (inventory.Image, error) {
	row := s.reads.QueryRow(ctx, `SELECT `+imageCols+` FROM images i WHERE i.id = ? AND i.project_id = ?`, id, projectID)
	img, err := scanImage(row, time.Now().UnixMilli())
	if err != nil {
		return img, notFound(err, fmt.Sprintf("image %d", id))
	}
	return img, nil
}

// manifestLookup reads manifests within a transaction, once per digest.
type manifestLookup struct {
	stmt  *sql.Stmt
	cache map[string]sqlq.ManifestInfo
}

func newManifestLookup(ctx context.Context, tx *sql.Tx) (*manifestLookup, error) {
	stmt, err := tx.PrepareContext(ctx, `SELECT size, created, scannable, scan_status, scan_failed_desc, latest_scan_time,
		vul_num, unsafe_setting_num, malicious_file_num FROM manifests WHERE digest = ?`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare manifest lookup: %w", err)
	}
	return &manifestLookup{stmt: stmt, cache: map[string]sqlq.ManifestInfo{}}, nil
}

// get returns the manifest's info; an unknown digest reads as an empty,
// never-scanned manifest.
func (l *manifestLookup) get(ctx context.Context, digest string) (sqlq.ManifestInfo, error) {
	if m, ok := l.cache[digest]; ok {
		return m, nil
	}
	var (
		m    sqlq.ManifestInfo
		scan int
	)
	err := l.stmt.QueryRowContext(ctx, digest).Scan(&m.Size, &m.Created, &scan, &m.Status, &m.FailedDesc, &m.ScanTime,
		&m.Vul, &m.UnsafeSetting, &m.Malicious)
	switch {
	case err == sql.ErrNoRows:
		m = sqlq.UnknownManifest()
	case err != nil:
		return m, fmt.Errorf("sqlite: manifest %s: %w", digest, err)
	}
	m.Scannable = scan != 0
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

		existing := inventory.StoredTags{}
		rows, err := tx.QueryContext(ctx, `SELECT id, namespace, name, tag, digest, manifest_digest, first_seen
			FROM images WHERE registry_id = ? AND project_id = ?`, snap.RegistryID, reg.projectID)
		if err != nil {
			return fmt.Errorf("sqlite: rows of registry %d: %w", snap.RegistryID, err)
		}
		for rows.Next() {
			var (
				k         inventory.Repo
				tag       string
				e         inventory.StoredTag
				firstSeen int64 // read, as ever, though a sync sets it anew
			)
			if err := rows.Scan(&e.ID, &k.Namespace, &k.Name, &tag, &e.Digest, &e.ManifestDigest, &firstSeen); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: rows of registry %d: %w", snap.RegistryID, err)
			}
			existing.Add(k, tag, e)
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
		// Each row is written as the diff reaches it, with statements
		// prepared once per sync.
		counts, touched, err := inventory.DiffSync(snap, existing, func(c inventory.TagChange) error {
			k := c.Repo
			switch c.Kind {
			case inventory.TagRemoved, inventory.RepoRemoved:
				if _, err := del.ExecContext(ctx, c.Old.ID); err != nil {
					if c.Kind == inventory.RepoRemoved {
						return fmt.Errorf("sqlite: delete %s/%s: %w", k.Namespace, k.Name, err)
					}
					return fmt.Errorf("sqlite: delete %s/%s:%s: %w", k.Namespace, k.Name, c.Tag, err)
				}
				return nil
			}
			md := c.ManifestDigest
			m, err := manifests.get(ctx, md)
			if err != nil {
				return err
			}
			lut := inventory.UpdateTime(m.Created, snap.SeenAt)
			if c.Kind == inventory.TagMoved {
				_, err = move.ExecContext(ctx, c.Digest, md, b2i(c.Digest != md), m.Size, snap.SeenAt, lut, b2i(m.Scannable),
					m.Status, m.FailedDesc, m.ScanTime, m.Vul, m.UnsafeSetting, m.Malicious, c.Old.ID)
				if err != nil {
					return fmt.Errorf("sqlite: update %s/%s:%s: %w", k.Namespace, k.Name, c.Tag, err)
				}
				return nil
			}
			_, err = ins.ExecContext(ctx, reg.projectID, reg.enterpriseProjectID, snap.RegistryID, string(typ),
				k.Namespace, k.Name, c.Tag, c.Digest, md, b2i(c.Digest != md), m.Size, snap.SeenAt, lut, b2i(m.Scannable),
				m.Status, m.FailedDesc, m.ScanTime, m.Vul, m.UnsafeSetting, m.Malicious,
				reg.domainName, reg.sharedExpires, reg.instanceID, reg.instanceName, reg.instanceURL)
			if err != nil {
				return fmt.Errorf("sqlite: insert %s/%s:%s: %w", k.Namespace, k.Name, c.Tag, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		res = counts
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
func recomputeLatest(ctx context.Context, tx *sql.Tx, registryID int64, projectID string, repos []inventory.Repo) error {
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
	for _, k := range repos {
		var id int64
		err := best.QueryRowContext(ctx, registryID, projectID, k.Namespace, k.Name).Scan(&id)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite: latest of %s/%s: %w", k.Namespace, k.Name, err)
		}
		if _, err := set.ExecContext(ctx, id, registryID, projectID, k.Namespace, k.Name); err != nil {
			return fmt.Errorf("sqlite: latest of %s/%s: %w", k.Namespace, k.Name, err)
		}
	}
	return nil
}

// PutLocalImage adds or replaces a local_image row (registry 0, unique per
// project, namespace, name and tag; replacing keeps the id) and its
// manifests. Size, time and scan fields come from the described manifest
// when the store knows it, else from img.
func (s *Store) PutLocalImage(ctx context.Context, img inventory.Image, manifests []inventory.Manifest) (inventory.Image, error) {
	img, md, err := inventory.LocalImageDefaults(img)
	if err != nil {
		return inventory.Image{}, fmt.Errorf("sqlite: %w", err)
	}
	var id int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
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
		st := sqlq.PutLocalImage(sqlq.SQLite, img, md, m, manifests, time.Now().UnixMilli())
		if err := tx.QueryRowContext(ctx, st.SQL, st.Args...).Scan(&id); err != nil {
			return fmt.Errorf("sqlite: put local image %s/%s:%s: %w", img.Namespace, img.Name, img.Tag, err)
		}
		return recomputeLatest(ctx, tx, 0, img.ProjectID, []inventory.Repo{{Namespace: img.Namespace, Name: img.Name}})
	})
	if err != nil {
		return inventory.Image{}, err
	}
	return s.GetImage(ctx, img.ProjectID, id)
}
