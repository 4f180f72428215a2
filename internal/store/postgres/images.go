package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/sqlq"
)

// imageCols are the columns of images read into an inventory.Image, in
// scanImage's order, for a table aliased i.
const imageCols = sqlq.PostgresImageCols

func scanImage(r pgx.Row, now int64) (inventory.Image, error) {
	return sqlq.ScanImage(sqlq.Postgres, r, now)
}

// GetImage returns one row of a project.
func (s *Store) GetImage(ctx context.Context, projectID string, id int64) (inventory.Image, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+imageCols+` FROM images i WHERE i.id = $1 AND i.project_id = $2`, id, projectID)
	img, err := scanImage(row, time.Now().UnixMilli())
	if err != nil {
		return img, notFound(err, fmt.Sprintf("image %d", id))
	}
	return img, nil
}

// lookupManifests reads the manifests of digests in one query; an unknown
// digest reads as an empty, never-scanned manifest.
func lookupManifests(ctx context.Context, tx pgx.Tx, digests []string) (map[string]sqlq.ManifestInfo, error) {
	out := make(map[string]sqlq.ManifestInfo, len(digests))
	for _, d := range digests {
		out[d] = sqlq.UnknownManifest()
	}
	for chunk := range slices.Chunk(digests, chunkRows) {
		rows, err := tx.Query(ctx, `SELECT digest, size, created, scannable, scan_status, scan_failed_desc, latest_scan_time,
			vul_num, unsafe_setting_num, malicious_file_num FROM manifests WHERE digest = ANY($1)`, chunk)
		if err != nil {
			return nil, fmt.Errorf("postgres: manifests: %w", err)
		}
		for rows.Next() {
			var (
				d string
				m sqlq.ManifestInfo
			)
			if err := rows.Scan(&d, &m.Size, &m.Created, &m.Scannable, &m.Status, &m.FailedDesc, &m.ScanTime,
				&m.Vul, &m.UnsafeSetting, &m.Malicious); err != nil {
				rows.Close()
				return nil, fmt.Errorf("postgres: manifests: %w", err)
			}
			out[d] = m
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("postgres: manifests: %w", err)
		}
	}
	return out, nil
}

// chunkRows bounds the rows one array-parameter statement carries.
const chunkRows = 5000

// putManifests upserts what a sync or import learned about manifests. Scan
// fields of a known digest are kept: content is addressed by digest, so a
// known digest's scan result is still its result. A digest listed twice
// takes its last listing, as one upsert per listing would.
func putManifests(ctx context.Context, tx pgx.Tx, ms []inventory.Manifest) error {
	if len(ms) == 0 {
		return nil
	}
	last := make(map[string]int, len(ms))
	for i, m := range ms {
		last[m.Digest] = i
	}
	uniq := make([]inventory.Manifest, 0, len(last))
	for i, m := range ms {
		if last[m.Digest] == i {
			uniq = append(uniq, m)
		}
	}
	// Digest order: concurrent syncs sharing manifests lock them in one
	// order and so never deadlock.
	slices.SortFunc(uniq, func(a, b inventory.Manifest) int { return cmp.Compare(a.Digest, b.Digest) })
	for chunk := range slices.Chunk(uniq, chunkRows) {
		var (
			digest, media, artifact, platform []string
			size, created                     []int64
			scannable                         []bool
			pos                               []int32
			memberIdx, memberDigest, memberPl []string
			withMembers                       []string
		)
		for _, m := range chunk {
			digest = append(digest, m.Digest)
			media = append(media, m.MediaType)
			artifact = append(artifact, m.ArtifactType)
			size = append(size, m.Size)
			created = append(created, m.Created)
			platform = append(platform, m.Platform)
			scannable = append(scannable, m.Scannable)
			if len(m.Members) == 0 {
				continue
			}
			withMembers = append(withMembers, m.Digest)
			for i, a := range m.Members {
				memberIdx = append(memberIdx, m.Digest)
				pos = append(pos, int32(i))
				memberDigest = append(memberDigest, a.Digest)
				memberPl = append(memberPl, a.Platform)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO manifests (digest, media_type, artifact_type, size, created, platform, scannable)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::text[], $7::bool[])
			ON CONFLICT (digest) DO UPDATE SET media_type = excluded.media_type, artifact_type = excluded.artifact_type,
				size = excluded.size, created = excluded.created, platform = excluded.platform, scannable = excluded.scannable`,
			digest, media, artifact, size, created, platform, scannable)
		if err != nil {
			return fmt.Errorf("postgres: upsert manifests: %w", err)
		}
		if len(withMembers) == 0 {
			continue
		}
		if _, err := tx.Exec(ctx, `DELETE FROM index_members WHERE index_digest = ANY($1)`, withMembers); err != nil {
			return fmt.Errorf("postgres: index members: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO index_members (index_digest, position, member_digest, platform)
			SELECT * FROM unnest($1::text[], $2::int4[], $3::text[], $4::text[])`, memberIdx, pos, memberDigest, memberPl)
		if err != nil {
			return fmt.Errorf("postgres: index members: %w", err)
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

// lockRegistry reads a connection and holds its row lock until the
// transaction ends: every writer of a connection's rows (sync, edit,
// delete) takes it first, so they run one at a time per connection and the
// per-connection counters kept by the images triggers never contend.
func lockRegistry(ctx context.Context, tx pgx.Tx, id int64) (registryRow, error) {
	var (
		r   registryRow
		typ string
	)
	err := tx.QueryRow(ctx, `SELECT project_id, enterprise_project_id, type, domain_name, shared_expires,
		instance_id, instance_name, instance_url FROM registries WHERE id = $1 FOR UPDATE`, id).
		Scan(&r.projectID, &r.enterpriseProjectID, &typ, &r.domainName, &r.sharedExpires, &r.instanceID, &r.instanceName, &r.instanceURL)
	if err != nil {
		return r, notFound(err, fmt.Sprintf("registry %d", id))
	}
	r.typ = inventory.RegistryType(typ)
	return r, nil
}

// newRow is a row to insert or a moved row's new content.
type newRow struct {
	id                     int64 // moved rows only
	namespace, name, tag   string
	digest, manifestDigest string
	lut                    int64
	m                      sqlq.ManifestInfo
}

// ApplySync makes the rows of s.RegistryID match the snapshot in one
// transaction, with the rules of the SQLite store:
//
// A moved tag (new digest) keeps its id and takes the new manifest's size,
// time and scan fields (zeros and unscan for a digest never scanned); its
// first-seen time becomes SeenAt. Unchanged rows keep their first-seen
// time, so latest_update_time is stable across syncs. Repositories missing
// from the snapshot lose their rows unless listed in Failed.
//
// The writes are set-based (arrays unnested server-side, a few thousand
// rows per statement): one round trip per chunk, not per tag.
func (s *Store) ApplySync(ctx context.Context, snap inventory.Snapshot) (inventory.SyncResult, error) {
	var res inventory.SyncResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		res = inventory.SyncResult{}
		reg, err := lockRegistry(ctx, tx, snap.RegistryID)
		if err != nil {
			return err
		}
		if err := putManifests(ctx, tx, snap.Manifests); err != nil {
			return err
		}

		existing := inventory.StoredTags{}
		rows, err := tx.Query(ctx, `SELECT id, namespace, name, tag, digest, manifest_digest
			FROM images WHERE registry_id = $1 AND project_id = $2`, snap.RegistryID, reg.projectID)
		if err != nil {
			return fmt.Errorf("postgres: rows of registry %d: %w", snap.RegistryID, err)
		}
		for rows.Next() {
			var (
				k   inventory.Repo
				tag string
				e   inventory.StoredTag
			)
			if err := rows.Scan(&e.ID, &k.Namespace, &k.Name, &tag, &e.Digest, &e.ManifestDigest); err != nil {
				rows.Close()
				return fmt.Errorf("postgres: rows of registry %d: %w", snap.RegistryID, err)
			}
			existing.Add(k, tag, e)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: rows of registry %d: %w", snap.RegistryID, err)
		}

		// The diff is collected, then written set-based.
		var (
			inserts, moves []newRow
			deletes        []int64
		)
		counts, touched, err := inventory.DiffSync(snap, existing, func(c inventory.TagChange) error {
			n := newRow{namespace: c.Repo.Namespace, name: c.Repo.Name, tag: c.Tag, digest: c.Digest, manifestDigest: c.ManifestDigest}
			switch c.Kind {
			case inventory.TagAdded:
				inserts = append(inserts, n)
			case inventory.TagMoved:
				n.id = c.Old.ID
				moves = append(moves, n)
			default:
				deletes = append(deletes, c.Old.ID)
			}
			return nil
		})
		if err != nil {
			return err
		}
		res = counts

		var digests []string
		for _, r := range append(slices.Clip(inserts), moves...) {
			digests = append(digests, r.manifestDigest)
		}
		slices.Sort(digests)
		manifests, err := lookupManifests(ctx, tx, slices.Compact(digests))
		if err != nil {
			return err
		}
		fill := func(rs []newRow) {
			for i := range rs {
				m := manifests[rs[i].manifestDigest]
				rs[i].m = m
				rs[i].lut = inventory.UpdateTime(m.Created, snap.SeenAt)
			}
		}
		fill(inserts)
		fill(moves)

		slices.Sort(deletes)
		for chunk := range slices.Chunk(deletes, chunkRows) {
			if _, err := tx.Exec(ctx, `DELETE FROM images WHERE id = ANY($1)`, chunk); err != nil {
				return fmt.Errorf("postgres: delete rows of registry %d: %w", snap.RegistryID, err)
			}
		}
		slices.SortFunc(moves, func(a, b newRow) int { return cmp.Compare(a.id, b.id) })
		for chunk := range slices.Chunk(moves, chunkRows) {
			c := columnsOf(chunk)
			_, err := tx.Exec(ctx, `UPDATE images i SET digest = u.digest, manifest_digest = u.manifest_digest,
					is_index = u.digest <> u.manifest_digest, image_size = u.size, first_seen = $1, latest_update_time = u.lut,
					scannable = u.scannable, scan_status = u.status, scan_failed_desc = u.failed_desc,
					latest_scan_time = u.scan_time, vul_num = u.vul, unsafe_setting_num = u.unsafe, malicious_file_num = u.mal
				FROM unnest($2::int8[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::bool[], $8::text[], $9::text[],
					$10::int8[], $11::int4[], $12::int4[], $13::int4[])
					AS u(id, digest, manifest_digest, size, lut, scannable, status, failed_desc, scan_time, vul, unsafe, mal)
				WHERE i.id = u.id`,
				snap.SeenAt, c.id, c.digest, c.manifestDigest, c.size, c.lut, c.scannable, c.status, c.failedDesc,
				c.scanTime, c.vul, c.unsafe, c.mal)
			if err != nil {
				return fmt.Errorf("postgres: update rows of registry %d: %w", snap.RegistryID, err)
			}
		}
		typ := reg.typ.ImageType()
		for chunk := range slices.Chunk(inserts, chunkRows) {
			c := columnsOf(chunk)
			_, err := tx.Exec(ctx, `INSERT INTO images (project_id, enterprise_project_id, registry_id, image_type,
					namespace, name, tag, digest, manifest_digest, is_index, image_size, first_seen, latest_update_time, scannable,
					scan_status, scan_failed_desc, latest_scan_time, vul_num, unsafe_setting_num, malicious_file_num,
					domain_name, shared_expires, instance_id, instance_name, instance_url)
				SELECT $1, $2, $3, $4, u.namespace, u.name, u.tag, u.digest, u.manifest_digest, u.digest <> u.manifest_digest,
					u.size, $5, u.lut, u.scannable, u.status, u.failed_desc, u.scan_time, u.vul, u.unsafe, u.mal,
					$6, $7, $8, $9, $10
				FROM unnest($11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::int8[], $17::int8[], $18::bool[],
					$19::text[], $20::text[], $21::int8[], $22::int4[], $23::int4[], $24::int4[])
					AS u(namespace, name, tag, digest, manifest_digest, size, lut, scannable, status, failed_desc, scan_time, vul, unsafe, mal)`,
				reg.projectID, reg.enterpriseProjectID, snap.RegistryID, string(typ), snap.SeenAt,
				reg.domainName, reg.sharedExpires, reg.instanceID, reg.instanceName, reg.instanceURL,
				c.namespace, c.name, c.tag, c.digest, c.manifestDigest, c.size, c.lut, c.scannable,
				c.status, c.failedDesc, c.scanTime, c.vul, c.unsafe, c.mal)
			if err != nil {
				return fmt.Errorf("postgres: insert rows of registry %d: %w", snap.RegistryID, err)
			}
		}
		return recomputeLatest(ctx, tx, snap.RegistryID, reg.projectID, touched)
	})
	if err != nil {
		return inventory.SyncResult{}, err
	}
	return res, nil
}

// rowColumns is a chunk of newRows as one array per column.
type rowColumns struct {
	id                                           []int64
	namespace, name, tag, digest, manifestDigest []string
	size, lut, scanTime                          []int64
	scannable                                    []bool
	status, failedDesc                           []string
	vul, unsafe, mal                             []int32
}

func columnsOf(rs []newRow) rowColumns {
	var c rowColumns
	for _, r := range rs {
		c.id = append(c.id, r.id)
		c.namespace = append(c.namespace, r.namespace)
		c.name = append(c.name, r.name)
		c.tag = append(c.tag, r.tag)
		c.digest = append(c.digest, r.digest)
		c.manifestDigest = append(c.manifestDigest, r.manifestDigest)
		c.size = append(c.size, r.m.Size)
		c.lut = append(c.lut, r.lut)
		c.scannable = append(c.scannable, r.m.Scannable)
		c.status = append(c.status, r.m.Status)
		c.failedDesc = append(c.failedDesc, r.m.FailedDesc)
		c.scanTime = append(c.scanTime, r.m.ScanTime)
		c.vul = append(c.vul, r.m.Vul)
		c.unsafe = append(c.unsafe, r.m.UnsafeSetting)
		c.mal = append(c.mal, r.m.Malicious)
	}
	return c
}

// recomputeLatest sets latest_version on exactly one row of each repository
// (greatest latest_update_time, ties broken by the bytewise greatest tag),
// writing only rows whose flag changes.
func recomputeLatest(ctx context.Context, tx pgx.Tx, registryID int64, projectID string, repos []inventory.Repo) error {
	for chunk := range slices.Chunk(repos, chunkRows) {
		var ns, names []string
		for _, k := range chunk {
			ns = append(ns, k.Namespace)
			names = append(names, k.Name)
		}
		_, err := tx.Exec(ctx, `WITH best AS (
				SELECT DISTINCT ON (i.namespace, i.name) i.namespace, i.name, i.id
				FROM images i JOIN unnest($3::text[], $4::text[]) AS r(namespace, name)
					ON i.namespace = r.namespace AND i.name = r.name
				WHERE i.registry_id = $1 AND i.project_id = $2
				ORDER BY i.namespace, i.name, i.latest_update_time DESC, i.tag DESC)
			UPDATE images i SET latest_version = (i.id = b.id)
			FROM best b
			WHERE i.registry_id = $1 AND i.project_id = $2 AND i.namespace = b.namespace AND i.name = b.name
				AND i.latest_version <> (i.id = b.id)`, registryID, projectID, ns, names)
		if err != nil {
			return fmt.Errorf("postgres: latest versions: %w", err)
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
		return inventory.Image{}, fmt.Errorf("postgres: %w", err)
	}
	var id int64
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// Local rows have no registry row to lock: a per-project lock
		// serialises their writers instead.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("openhss-local:"+img.ProjectID)); err != nil {
			return fmt.Errorf("postgres: lock local images: %w", err)
		}
		if err := putManifests(ctx, tx, manifests); err != nil {
			return err
		}
		ms, err := lookupManifests(ctx, tx, []string{md})
		if err != nil {
			return err
		}
		st := sqlq.PutLocalImage(sqlq.Postgres, img, md, ms[md], manifests, time.Now().UnixMilli())
		if err := tx.QueryRow(ctx, st.SQL, st.Args...).Scan(&id); err != nil {
			return fmt.Errorf("postgres: put local image %s/%s:%s: %w", img.Namespace, img.Name, img.Tag, err)
		}
		return recomputeLatest(ctx, tx, 0, img.ProjectID, []inventory.Repo{{Namespace: img.Namespace, Name: img.Name}})
	})
	if err != nil {
		return inventory.Image{}, err
	}
	return s.GetImage(ctx, img.ProjectID, id)
}
