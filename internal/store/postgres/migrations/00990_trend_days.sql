-- +goose Up

-- trend_days is the Overview's daily snapshot (internal/trend): one row per
-- project, enterprise project and UTC day (days since 1970-01-01) holding
-- the figures the Overview showed that day. The key is the claim: every
-- server inserts with ON CONFLICT DO NOTHING, so a day keeps the first row
-- written however many servers share the database. The day index makes
-- the prune of old days (DELETE ... WHERE day < ?) a range scan.
CREATE TABLE trend_days (
    project_id            TEXT COLLATE "C" NOT NULL,
    enterprise_project_id TEXT COLLATE "C" NOT NULL,
    day                   BIGINT NOT NULL,
    taken_at              BIGINT NOT NULL,
    images                BIGINT NOT NULL,
    scanned               BIGINT NOT NULL,
    failed                BIGINT NOT NULL,
    unscanned             BIGINT NOT NULL,
    critical              BIGINT NOT NULL,
    critical_fixable      BIGINT NOT NULL,
    high                  BIGINT NOT NULL,
    high_fixable          BIGINT NOT NULL,
    medium                BIGINT NOT NULL,
    medium_fixable        BIGINT NOT NULL,
    low                   BIGINT NOT NULL,
    low_fixable           BIGINT NOT NULL,
    unknown               BIGINT NOT NULL,
    unknown_fixable       BIGINT NOT NULL,
    PRIMARY KEY (project_id, enterprise_project_id, day)
);
CREATE INDEX trend_days_day ON trend_days (day);

-- +goose Down
DROP TABLE trend_days;
