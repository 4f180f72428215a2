-- +goose Up

-- image_namespaces counts rows per connection, namespace and enterprise
-- project: what image_repos holds, summed over a namespace's
-- repositories. A list filtered by namespace alone resolves its substring
-- here, reading a project's tens of namespaces instead of every one of its
-- repositories (docs/benchmarks.md, Namespace table). registry_id is part
-- of the key for image_repos' reason: only writers of one connection,
-- which hold its row lock, touch its counters, so syncs of different
-- connections never wait on each other here.
CREATE TABLE image_namespaces (
    registry_id           BIGINT NOT NULL,
    project_id            TEXT COLLATE "C" NOT NULL,
    image_type            TEXT COLLATE "C" NOT NULL,
    namespace             TEXT COLLATE "C" NOT NULL,
    enterprise_project_id TEXT COLLATE "C" NOT NULL,
    rows                  BIGINT NOT NULL,
    PRIMARY KEY (project_id, image_type, namespace, enterprise_project_id, registry_id)
);

INSERT INTO image_namespaces (registry_id, project_id, image_type, namespace, enterprise_project_id, rows)
SELECT registry_id, project_id, image_type, namespace, enterprise_project_id, count(*) FROM images GROUP BY 1, 2, 3, 4, 5;

-- Statement-level, over transition tables, as images_counted_insert and
-- its siblings: one grouped statement per write, not one per row.
-- +goose StatementBegin
CREATE FUNCTION image_namespaces_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO image_namespaces AS r (registry_id, project_id, image_type, namespace, enterprise_project_id, rows)
    SELECT registry_id, project_id, image_type, namespace, enterprise_project_id, count(*)
    FROM new_rows GROUP BY 1, 2, 3, 4, 5 ORDER BY 2, 3, 4, 5, 1
    ON CONFLICT (project_id, image_type, namespace, enterprise_project_id, registry_id)
    DO UPDATE SET rows = r.rows + excluded.rows;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION image_namespaces_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE image_namespaces r SET rows = r.rows - o.c
    FROM (SELECT registry_id, project_id, image_type, namespace, enterprise_project_id, count(*) AS c
          FROM old_rows GROUP BY 1, 2, 3, 4, 5) o
    WHERE r.registry_id = o.registry_id AND r.project_id = o.project_id AND r.image_type = o.image_type
      AND r.namespace = o.namespace AND r.enterprise_project_id = o.enterprise_project_id;
    DELETE FROM image_namespaces r USING (SELECT DISTINCT registry_id, project_id, image_type, namespace, enterprise_project_id FROM old_rows) o
    WHERE r.registry_id = o.registry_id AND r.project_id = o.project_id AND r.image_type = o.image_type
      AND r.namespace = o.namespace AND r.enterprise_project_id = o.enterprise_project_id AND r.rows <= 0;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- Only rows moved to another enterprise project (a registry edited into
-- another one) move counts.
-- +goose StatementBegin
CREATE FUNCTION image_namespaces_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
                   WHERE o.enterprise_project_id <> n.enterprise_project_id) THEN
        RETURN NULL;
    END IF;
    UPDATE image_namespaces r SET rows = r.rows - m.c
    FROM (SELECT o.registry_id, o.project_id, o.image_type, o.namespace, o.enterprise_project_id, count(*) AS c
          FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.enterprise_project_id <> n.enterprise_project_id
          GROUP BY 1, 2, 3, 4, 5) m
    WHERE r.registry_id = m.registry_id AND r.project_id = m.project_id AND r.image_type = m.image_type
      AND r.namespace = m.namespace AND r.enterprise_project_id = m.enterprise_project_id;
    DELETE FROM image_namespaces r WHERE r.rows <= 0 AND (r.registry_id, r.project_id, r.image_type, r.namespace) IN
        (SELECT registry_id, project_id, image_type, namespace FROM old_rows);
    INSERT INTO image_namespaces AS r (registry_id, project_id, image_type, namespace, enterprise_project_id, rows)
    SELECT n.registry_id, n.project_id, n.image_type, n.namespace, n.enterprise_project_id, count(*)
    FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.enterprise_project_id <> n.enterprise_project_id
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 2, 3, 4, 5, 1
    ON CONFLICT (project_id, image_type, namespace, enterprise_project_id, registry_id)
    DO UPDATE SET rows = r.rows + excluded.rows;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER images_namespaces_ai AFTER INSERT ON images REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION image_namespaces_insert();
CREATE TRIGGER images_namespaces_ad AFTER DELETE ON images REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION image_namespaces_delete();
CREATE TRIGGER images_namespaces_au AFTER UPDATE ON images REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION image_namespaces_update();

-- +goose Down
DROP TRIGGER images_namespaces_au ON images;
DROP TRIGGER images_namespaces_ad ON images;
DROP TRIGGER images_namespaces_ai ON images;
DROP FUNCTION image_namespaces_insert, image_namespaces_delete, image_namespaces_update;
DROP TABLE image_namespaces;
