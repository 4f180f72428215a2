-- +goose Up

-- trend_days is the Overview's daily snapshot (internal/trend): one row per
-- project, enterprise project and UTC day (days since 1970-01-01) holding
-- the figures the Overview showed that day. The key is the claim: every
-- server inserts with ON CONFLICT DO NOTHING, so a day keeps the first row
-- written however many servers share the database. The day index makes
-- the prune of old days (DELETE ... WHERE day < ?) a range scan.
CREATE TABLE trend_days (
    project_id            TEXT NOT NULL,
    enterprise_project_id TEXT NOT NULL,
    day                   INTEGER NOT NULL,
    taken_at              INTEGER NOT NULL,
    images                INTEGER NOT NULL,
    scanned               INTEGER NOT NULL,
    failed                INTEGER NOT NULL,
    unscanned             INTEGER NOT NULL,
    critical              INTEGER NOT NULL,
    critical_fixable      INTEGER NOT NULL,
    high                  INTEGER NOT NULL,
    high_fixable          INTEGER NOT NULL,
    medium                INTEGER NOT NULL,
    medium_fixable        INTEGER NOT NULL,
    low                   INTEGER NOT NULL,
    low_fixable           INTEGER NOT NULL,
    unknown               INTEGER NOT NULL,
    unknown_fixable       INTEGER NOT NULL,
    PRIMARY KEY (project_id, enterprise_project_id, day)
) WITHOUT ROWID;
CREATE INDEX trend_days_day ON trend_days (day);

-- +goose Down
DROP TABLE trend_days;
