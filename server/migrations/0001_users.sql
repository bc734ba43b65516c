-- People who may sign in. Portable between SQLite and PostgreSQL: text keys, integer times
-- (Unix milliseconds), no auto-increment.
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    -- argon2id in PHC form; never the password itself.
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
