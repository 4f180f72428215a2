-- +goose Up

-- image_namespaces counts rows per namespace and enterprise project: what
-- image_repos holds, summed over a namespace's repositories. A list
-- filtered by namespace alone resolves its substring here, reading a
-- project's tens of namespaces instead of every one of its repositories
-- (10^4 image_repos rows at 10^6 images), whose pages the counter
-- triggers leave spread through the file: that read was most of the
-- namespace filter's first call (docs/benchmarks.md, Namespace table).
-- Kept by triggers in the writing transaction, like image_repos.
CREATE TABLE image_namespaces (
    project_id            TEXT NOT NULL,
    image_type            TEXT NOT NULL,
    namespace             TEXT NOT NULL,
    enterprise_project_id TEXT NOT NULL,
    rows                  INTEGER NOT NULL,
    PRIMARY KEY (project_id, image_type, namespace, enterprise_project_id)
) WITHOUT ROWID;

INSERT INTO image_namespaces (project_id, image_type, namespace, enterprise_project_id, rows)
SELECT project_id, image_type, namespace, enterprise_project_id, count(*) FROM images GROUP BY 1, 2, 3, 4;

-- +goose StatementBegin
CREATE TRIGGER images_namespaces_ai AFTER INSERT ON images BEGIN
    INSERT INTO image_namespaces (project_id, image_type, namespace, enterprise_project_id, rows)
    VALUES (NEW.project_id, NEW.image_type, NEW.namespace, NEW.enterprise_project_id, 1)
    ON CONFLICT (project_id, image_type, namespace, enterprise_project_id) DO UPDATE SET rows = rows + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER images_namespaces_ad AFTER DELETE ON images BEGIN
    UPDATE image_namespaces SET rows = rows - 1
    WHERE project_id = OLD.project_id AND image_type = OLD.image_type AND namespace = OLD.namespace
      AND enterprise_project_id = OLD.enterprise_project_id;
    DELETE FROM image_namespaces
    WHERE project_id = OLD.project_id AND image_type = OLD.image_type AND namespace = OLD.namespace
      AND enterprise_project_id = OLD.enterprise_project_id AND rows <= 0;
END;
-- +goose StatementEnd

-- A registry moved to another enterprise project moves its rows' counts
-- (project, type and namespace never change: images_bu_keys).
-- +goose StatementBegin
CREATE TRIGGER images_namespaces_au_ep AFTER UPDATE OF enterprise_project_id ON images
WHEN NEW.enterprise_project_id IS NOT OLD.enterprise_project_id
BEGIN
    UPDATE image_namespaces SET rows = rows - 1
    WHERE project_id = OLD.project_id AND image_type = OLD.image_type AND namespace = OLD.namespace
      AND enterprise_project_id = OLD.enterprise_project_id;
    DELETE FROM image_namespaces
    WHERE project_id = OLD.project_id AND image_type = OLD.image_type AND namespace = OLD.namespace
      AND enterprise_project_id = OLD.enterprise_project_id AND rows <= 0;
    INSERT INTO image_namespaces (project_id, image_type, namespace, enterprise_project_id, rows)
    VALUES (NEW.project_id, NEW.image_type, NEW.namespace, NEW.enterprise_project_id, 1)
    ON CONFLICT (project_id, image_type, namespace, enterprise_project_id) DO UPDATE SET rows = rows + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER images_namespaces_au_ep;
DROP TRIGGER images_namespaces_ad;
DROP TRIGGER images_namespaces_ai;
DROP TABLE image_namespaces;
