-- Signed-in browsers. The cookie holds a random secret; only its SHA-256 is stored, so the
-- database cannot be used to sign in as anyone.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_name);
