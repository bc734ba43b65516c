-- API tokens for scripts and Prometheus. Only the SHA-256 of a token is stored; `id` is a
-- public handle for lists and revocation.
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    secret_hash TEXT NOT NULL UNIQUE,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    last_used BIGINT
);
