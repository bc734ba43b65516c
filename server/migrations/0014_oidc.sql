-- Issue 31: single sign-on (OpenID Connect). A sign-in under way, between Berth sending the
-- browser to the provider and the provider sending it back: its `state`, `nonce` and PKCE
-- verifier, keyed by the SHA-256 of the secret in the browser's short-lived cookie. A row
-- is taken (deleted) by the answer it waits for, so each is good once.
CREATE TABLE oidc_flows (
    id_hash TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    nonce TEXT NOT NULL,
    verifier TEXT NOT NULL,
    next TEXT NOT NULL,
    -- Who began it: one address may have only a few under way.
    address TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
-- The ID token a session was opened with (NULL for a password's): signing out hands it to
-- the provider's logout as `id_token_hint`, and such a session has no second factor of
-- Berth's to set up (the provider is the way in).
ALTER TABLE sessions ADD COLUMN oidc_id_token TEXT;
