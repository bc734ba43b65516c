-- Issue 31: who a user is outside Berth: the name a trusted proxy passes (`proxy`) or an
-- OpenID provider's subject (`oidc`), each tied to one Berth user. A row is made when the
-- identity first signs in (with a new user of its own), or when an admin links an existing
-- user to it: never by a name or an e-mail that merely looks the same.
CREATE TABLE identities (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    email TEXT,
    created_at BIGINT NOT NULL,
    -- Its last sign-in (a proxy's user: a request), written at most once a minute; a
    -- proxy's user idle longer than a session may be has their sockets ended.
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX identities_by_user ON identities (user_name);
