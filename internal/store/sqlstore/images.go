package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/openhss/openhss/internal/inventory"
)

// GetImage returns one row of a project.
func (s *Store) GetImage(ctx context.Context, projectID string, id int64) (inventory.Image, error) {
	row := s.queryRow(ctx, `SELECT `+s.d.ImageCols()+` FROM images i WHERE i.id = $1 AND i.project_id = $2`, id, projectID)
	img, err := ScanImage(row, time.Now().UnixMilli())
	return img, s.notFound(err, fmt.Sprintf("image %d", id))
}

// maxBulkRows bounds the rows one bulk statement carries, so that no
// statement of a large sync holds its locks or its arguments for long.
const maxBulkRows = 5000

// bulkRows is how many rows of cols columns, plus a few constants, one
// statement binds in the store's dialect.
func (s *Store) bulkRows(cols int) int {
	return min(maxBulkRows, s.d.MaxRows(cols+1))
}

// lookupManifests reads the manifests of digests, a chunk per query; an
// unknown digest reads as an empty, never-scanned manifest.
func (s *Store) lookupManifests(ctx context.Context, tx *sql.Tx, digests []string) (map[string]ManifestInfo, error) {
	out := make(map[string]ManifestInfo, len(digests))
	for _, d := range digests {
		out[d] = UnknownManifest()
	}
	for chunk := range slices.Chunk(digests, s.bulkRows(1)) {
		b := newBuilder(s.d)
		b.In("digest", chunk)
		err := queryEach(ctx, tx, func(r rowScanner) error {
			var (
				d string
				m ManifestInfo
			)
			if err := r.Scan(&d, &m.Size, &m.Created, &m.Scannable, &m.Status, &m.FailedDesc, &m.ScanTime,
				&m.Vul, &m.UnsafeSetting, &m.Malicious, &m.Severity); err != nil {
				return err
			}
			out[d] = m
			return nil
		}, `SELECT digest, size, created, scannable, scan_status, scan_failed_desc, latest_scan_time,
			vul_num, unsafe_setting_num, malicious_file_num, severity_level FROM manifests WHERE `+b.SQL(), b.Args()...)
		if err != nil {
			return nil, s.errf("manifests: %w", err)
		}
	}
	return out, nil
}

// putManifests upserts what a sync or import learned about manifests. Scan
// fields of a known digest are kept: content is addressed by digest, so a
// known digest's scan result is still its result. A digest listed twice
// takes its last listing, as one upsert per listing would.
func (s *Store) putManifests(ctx context.Context, tx *sql.Tx, ms []inventory.Manifest) error {
	if len(ms) == 0 {
		return nil
	}
	// Digest order: concurrent syncs sharing manifests lock them in one
	// order and so never deadlock. Reversed first, so that the stable sort
	// puts a digest's last listing first, the one Compact keeps.
	uniq := slices.Clone(ms)
	slices.Reverse(uniq)
	slices.SortStableFunc(uniq, func(a, b inventory.Manifest) int { return cmp.Compare(a.Digest, b.Digest) })
	uniq = slices.CompactFunc(uniq, func(a, b inventory.Manifest) bool { return a.Digest == b.Digest })
	for chunk := range slices.Chunk(uniq, s.bulkRows(7)) {
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
		b := newBuilder(s.d)
		// WHERE true: SQLite reads an upsert after INSERT ... SELECT only
		// past a WHERE clause.
		_, err := tx.ExecContext(ctx, `INSERT INTO manifests (digest, media_type, artifact_type, size, created, platform, scannable)
			SELECT * FROM (`+b.Rows(col{Type: "text", Values: digest}, col{Type: "text", Values: media},
			col{Type: "text", Values: artifact}, col{Type: "int8", Values: size}, col{Type: "int8", Values: created},
			col{Type: "text", Values: platform}, col{Type: "bool", Values: scannable})+`) AS m WHERE true
			ON CONFLICT (digest) DO UPDATE SET media_type = excluded.media_type, artifact_type = excluded.artifact_type,
				size = excluded.size, created = excluded.created, platform = excluded.platform, scannable = excluded.scannable`,
			b.Args()...)
		if err != nil {
			return s.errf("upsert manifests: %w", err)
		}
		if len(withMembers) == 0 {
			continue
		}
		del := newBuilder(s.d)
		del.In("index_digest", withMembers)
		if _, err := tx.ExecContext(ctx, `DELETE FROM index_members WHERE `+del.SQL(), del.Args()...); err != nil {
			return s.errf("index members: %w", err)
		}
		for lo := 0; lo < len(memberIdx); lo += s.bulkRows(4) {
			hi := min(lo+s.bulkRows(4), len(memberIdx))
			b := newBuilder(s.d)
			_, err = tx.ExecContext(ctx, `INSERT INTO index_members (index_digest, position, member_digest, platform) `+
				b.Rows(col{Type: "text", Values: memberIdx[lo:hi]}, col{Type: "int4", Values: pos[lo:hi]},
					col{Type: "text", Values: memberDigest[lo:hi]}, col{Type: "text", Values: memberPl[lo:hi]}),
				b.Args()...)
			if err != nil {
				return s.errf("index members: %w", err)
			}
		}
	}
	return nil
}

// StoredTags returns the rows a connection has, by repository and tag: what
// a sync lists against, so that a tag still at its stored digest costs the
// registry one HEAD request and nothing more (docs/benchmarks.md, Registry
// sync).
func (s *Store) StoredTags(ctx context.Context, projectID string, registryID int64) (inventory.StoredTags, error) {
	return s.storedTags(ctx, s.read, projectID, registryID)
}

// storedTags reads the rows of a connection through q (the store, or the
// transaction of ApplySync).
func (s *Store) storedTags(ctx context.Context, q querier, projectID string, registryID int64) (inventory.StoredTags, error) {
	out := inventory.StoredTags{}
	err := queryEach(ctx, q, func(r rowScanner) error {
		var (
			k   inventory.Repo
			tag string
			e   inventory.StoredTag
		)
		if err := r.Scan(&e.ID, &k.Namespace, &k.Name, &tag, &e.Digest, &e.ManifestDigest); err != nil {
			return err
		}
		out.Add(k, tag, e)
		return nil
	}, `SELECT id, namespace, name, tag, digest, manifest_digest
		FROM images WHERE registry_id = $1 AND project_id = $2`, registryID, projectID)
	if err != nil {
		return nil, s.errf("rows of registry %d: %w", registryID, err)
	}
	return out, nil
}

// newRow is a row to insert or a moved row's new content.
type newRow struct {
	id                     int64 // moved rows only
	namespace, name, tag   string
	digest, manifestDigest string
	lut                    int64
	m                      ManifestInfo
}

// ApplySync makes the rows of s.RegistryID match the snapshot in one
// transaction (the diff is inventory.DiffSync):
//
// A moved tag (new digest) keeps its id and takes the new manifest's size,
// time and scan fields (zeros and unscan for a digest never scanned); its
// first-seen time becomes SeenAt, since docs/ defines the fallback time as
// when openhss first saw this digest under this tag. Unchanged rows keep
// their first-seen time, so latest_update_time is stable across syncs.
// Repositories missing from the snapshot lose their rows unless listed in
// Failed.
//
// The connection's row is locked first (Dialect.forUpdate), so writers of
// one connection's rows run one at a time. The writes are set-based, a few
// thousand rows per statement: one round trip per chunk, not per tag.
func (s *Store) ApplySync(ctx context.Context, snap inventory.Snapshot) (inventory.SyncResult, error) {
	var res inventory.SyncResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res = inventory.SyncResult{}
		reg, err := s.lockRegistry(ctx, tx, snap.RegistryID)
		if err != nil {
			return err
		}
		if err := s.putManifests(ctx, tx, snap.Manifests); err != nil {
			return err
		}

		existing, err := s.storedTags(ctx, tx, reg.projectID, snap.RegistryID)
		if err != nil {
			return err
		}

		// The diff is collected, then written set-based.
		var (
			inserts, moves []newRow
			deletes        []int64
		)
		changed := map[inventory.Repo]bool{}
		counts, touched, err := inventory.DiffSync(snap, existing, func(c inventory.TagChange) error {
			changed[c.Repo] = true
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
			return s.errf("sync of registry %d: %w", snap.RegistryID, err)
		}
		res = counts

		var digests []string
		for _, r := range append(slices.Clip(inserts), moves...) {
			digests = append(digests, r.manifestDigest)
		}
		slices.Sort(digests)
		manifests, err := s.lookupManifests(ctx, tx, slices.Compact(digests))
		if err != nil {
			return err
		}
		for _, rs := range [][]newRow{inserts, moves} {
			for i := range rs {
				m := manifests[rs[i].manifestDigest]
				rs[i].m, rs[i].lut = m, inventory.UpdateTime(m.Created, snap.SeenAt)
			}
		}
		if err := s.deleteImageRows(ctx, tx, snap.RegistryID, deletes); err != nil {
			return err
		}
		if err := s.moveImageRows(ctx, tx, snap, moves); err != nil {
			return err
		}
		if err := s.insertImageRows(ctx, tx, snap, reg, inserts); err != nil {
			return err
		}
		// latest_version only moves in a repository whose rows changed: a
		// re-sync of an unchanged registry rewrites no row (docs/benchmarks.md,
		// Registry sync).
		touched = slices.DeleteFunc(touched, func(k inventory.Repo) bool { return !changed[k] })
		return s.recomputeLatest(ctx, tx, snap.RegistryID, reg.projectID, touched)
	})
	if err != nil {
		return inventory.SyncResult{}, err
	}
	return res, nil
}

func (s *Store) deleteImageRows(ctx context.Context, tx *sql.Tx, registryID int64, ids []int64) error {
	slices.Sort(ids)
	for chunk := range slices.Chunk(ids, s.bulkRows(1)) {
		b := newBuilder(s.d)
		b.InInts("id", chunk)
		if _, err := tx.ExecContext(ctx, `DELETE FROM images WHERE `+b.SQL(), b.Args()...); err != nil {
			return s.errf("delete rows of registry %d: %w", registryID, err)
		}
	}
	return nil
}

// rowColumns is a chunk of newRows as one slice per column.
type rowColumns struct {
	id                                           []int64
	namespace, name, tag, digest, manifestDigest []string
	size, lut, scanTime                          []int64
	scannable                                    []bool
	status, failedDesc, severity                 []string
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
		c.severity = append(c.severity, r.m.Severity)
	}
	return c
}

// scanCols are the manifest-derived columns of rowColumns, in the order
// of moveImageRows' and insertImageRows' u.
func (c rowColumns) scanCols() []col {
	return []col{{Type: "int8", Values: c.size}, {Type: "int8", Values: c.lut}, {Type: "bool", Values: c.scannable},
		{Type: "text", Values: c.status}, {Type: "text", Values: c.failedDesc}, {Type: "int8", Values: c.scanTime},
		{Type: "int4", Values: c.vul}, {Type: "int4", Values: c.unsafe}, {Type: "int4", Values: c.mal},
		{Type: "text", Values: c.severity}}
}

func (s *Store) moveImageRows(ctx context.Context, tx *sql.Tx, snap inventory.Snapshot, moves []newRow) error {
	slices.SortFunc(moves, func(a, b newRow) int { return cmp.Compare(a.id, b.id) })
	for chunk := range slices.Chunk(moves, s.bulkRows(13)) {
		c := columnsOf(chunk)
		b := newBuilder(s.d)
		u := b.Rows(append([]col{{Type: "int8", Values: c.id}, {Type: "text", Values: c.digest},
			{Type: "text", Values: c.manifestDigest}}, c.scanCols()...)...)
		_, err := tx.ExecContext(ctx, `WITH u (id, digest, manifest_digest, size, lut, scannable, status, failed_desc, scan_time,
				vul, unsafe, mal, severity) AS (`+u+`)
			UPDATE images SET digest = u.digest, manifest_digest = u.manifest_digest,
				is_index = u.digest <> u.manifest_digest, image_size = u.size, first_seen = `+b.Arg(snap.SeenAt)+`,
				latest_update_time = u.lut, scannable = u.scannable, scan_status = u.status, scan_failed_desc = u.failed_desc,
				latest_scan_time = u.scan_time, vul_num = u.vul, unsafe_setting_num = u.unsafe, malicious_file_num = u.mal,
				severity_level = u.severity
			FROM u WHERE images.id = u.id`, b.Args()...)
		if err != nil {
			return s.errf("update rows of registry %d: %w", snap.RegistryID, err)
		}
	}
	return nil
}

func (s *Store) insertImageRows(ctx context.Context, tx *sql.Tx, snap inventory.Snapshot, reg registryRow, inserts []newRow) error {
	typ := reg.typ.ImageType()
	for chunk := range slices.Chunk(inserts, s.bulkRows(15)) {
		c := columnsOf(chunk)
		b := newBuilder(s.d)
		u := b.Rows(append([]col{{Type: "text", Values: c.namespace}, {Type: "text", Values: c.name},
			{Type: "text", Values: c.tag}, {Type: "text", Values: c.digest}, {Type: "text", Values: c.manifestDigest}},
			c.scanCols()...)...)
		q := `WITH u (namespace, name, tag, digest, manifest_digest, size, lut, scannable, status, failed_desc, scan_time,
				vul, unsafe, mal, severity) AS (` + u + `)
			INSERT INTO images (project_id, enterprise_project_id, registry_id, image_type,
				namespace, name, tag, digest, manifest_digest, is_index, image_size, first_seen, latest_update_time, scannable,
				scan_status, scan_failed_desc, latest_scan_time, vul_num, unsafe_setting_num, malicious_file_num, severity_level,
				domain_name, shared_expires, instance_id, instance_name, instance_url)
			SELECT ` + b.List(reg.projectID, reg.enterpriseProjectID, snap.RegistryID, string(typ)) + `,
				u.namespace, u.name, u.tag, u.digest, u.manifest_digest, u.digest <> u.manifest_digest,
				u.size, ` + b.Arg(snap.SeenAt) + `, u.lut, u.scannable, u.status, u.failed_desc, u.scan_time, u.vul, u.unsafe, u.mal, u.severity,
				` + b.List(reg.domainName, reg.sharedExpires, reg.instanceID, reg.instanceName, reg.instanceURL) + `
			FROM u`
		if _, err := tx.ExecContext(ctx, q, b.Args()...); err != nil {
			return s.errf("insert rows of registry %d: %w", snap.RegistryID, err)
		}
	}
	return nil
}

// recomputeLatest sets latest_version on exactly one row of each repository
// (greatest latest_update_time, ties broken by the bytewise greatest tag),
// writing only rows whose flag changes: one read of the best row of each
// repository (an index walk of images_tag per repository), then one update
// clearing the flag elsewhere and one setting it on the best rows. A
// single UPDATE ... FROM a join with the best rows, which PostgreSQL runs
// well, SQLite planned as a scan per repository, six times slower.
func (s *Store) recomputeLatest(ctx context.Context, tx *sql.Tx, registryID int64, projectID string, repos []inventory.Repo) error {
	for chunk := range slices.Chunk(repos, s.bulkRows(2)) {
		var ns, names []string
		for _, k := range chunk {
			ns = append(ns, k.Namespace)
			names = append(names, k.Name)
		}
		repoRows := func(b *builder) string {
			return b.Rows(col{Type: "text", Values: ns}, col{Type: "text", Values: names})
		}
		// Arguments are bound in the order of the text: a SQLite ? is a
		// parameter of its own each time.
		b := newBuilder(s.d)
		q := `WITH r (namespace, name) AS (` + repoRows(b) + `)
			SELECT (SELECT i.id FROM images i
				WHERE i.registry_id = ` + b.Arg(registryID) + ` AND i.project_id = ` + b.Arg(projectID) + `
					AND i.namespace = r.namespace AND i.name = r.name
				ORDER BY i.latest_update_time DESC, i.tag DESC LIMIT 1) FROM r`
		var best []int64
		err := queryEach(ctx, tx, func(r rowScanner) error {
			var id sql.NullInt64 // NULL: the repository has no row left
			err := r.Scan(&id)
			if id.Valid {
				best = append(best, id.Int64)
			}
			return err
		}, q, b.Args()...)
		if err != nil {
			return s.errf("latest versions: %w", err)
		}

		clear := newBuilder(s.d)
		q = `WITH r (namespace, name) AS (` + repoRows(clear) + `)
			UPDATE images SET latest_version = ` + clear.Arg(false) + `
			WHERE registry_id = ` + clear.Arg(registryID) + ` AND project_id = ` + clear.Arg(projectID) + `
				AND (namespace, name) IN (SELECT namespace, name FROM r) AND ` + s.d.IsTrue("latest_version")
		if len(best) > 0 {
			keep := newBuilder(s.d, clear.Args()...)
			keep.InInts("id", best)
			q += ` AND NOT (` + keep.SQL() + `)`
			clear = keep
		}
		if _, err := tx.ExecContext(ctx, q, clear.Args()...); err != nil {
			return s.errf("latest versions: %w", err)
		}
		if len(best) == 0 {
			continue
		}
		set := newBuilder(s.d)
		q = `UPDATE images SET latest_version = ` + set.Arg(true) + ` WHERE `
		set.InInts("id", best)
		if _, err := tx.ExecContext(ctx, q+set.SQL()+` AND NOT (`+s.d.IsTrue("latest_version")+`)`, set.Args()...); err != nil {
			return s.errf("latest versions: %w", err)
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
		return inventory.Image{}, s.errf("%w", err)
	}
	var id int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// Local rows have no registry row to lock: a per-project lock
		// serialises their writers instead.
		if q, args := s.d.xactLock("openhss-local:" + img.ProjectID); q != "" {
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return s.errf("lock local images: %w", err)
			}
		}
		if err := s.putManifests(ctx, tx, manifests); err != nil {
			return err
		}
		ms, err := s.lookupManifests(ctx, tx, []string{md})
		if err != nil {
			return err
		}
		st := PutLocalImage(s.d, img, md, ms[md], manifests, time.Now().UnixMilli())
		if err := tx.QueryRowContext(ctx, st.SQL, st.Args...).Scan(&id); err != nil {
			return s.errf("put local image %s/%s:%s: %w", img.Namespace, img.Name, img.Tag, err)
		}
		return s.recomputeLatest(ctx, tx, 0, img.ProjectID, []inventory.Repo{{Namespace: img.Namespace, Name: img.Name}})
	})
	if err != nil {
		return inventory.Image{}, err
	}
	return s.GetImage(ctx, img.ProjectID, id)
}
