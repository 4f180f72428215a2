-- +goose Up

-- sign_in_failures is the failed sign-in budget of each user name
-- (docs/security.md, Password guessing per user), kept in the database so
-- that every server on it draws on one count: a token bucket of tokens
-- failures, refilled at the burst per window since updated_at (ms).
-- name_key is the SHA-256 of the name, hex. A row refilled to full is the
-- same as no row, and takes delete such rows (updated_at a window old)
-- by the index on updated_at.
CREATE TABLE sign_in_failures (
    name_key   TEXT COLLATE "C" PRIMARY KEY,
    tokens     DOUBLE PRECISION NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX sign_in_failures_updated_at ON sign_in_failures (updated_at);

-- +goose Down
DROP TABLE sign_in_failures;
