-- Who did what, when, from where. Kept for --audit-keep-days.
CREATE TABLE audit (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    address TEXT,
    ok BIGINT NOT NULL
);
CREATE INDEX audit_by_time ON audit (at);
