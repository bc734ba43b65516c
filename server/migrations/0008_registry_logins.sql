-- Registry credentials stored by admins: the username, and the password sealed with
-- Berth's secret key (ChaCha20-Poly1305, the registry's name bound in), never in clear.
CREATE TABLE registry_logins (
    registry TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    secret TEXT NOT NULL,
    updated BIGINT NOT NULL
);
