-- Issue 31: a second factor for local accounts (TOTP, RFC 6238). The secret is sealed with
-- Berth's secret key, as registry passwords are; `confirmed_at` is NULL while it is being
-- set up (not asked at sign-in until a first code proves the app has it); `last_step` is
-- the last time step accepted, so a code is good once.
CREATE TABLE second_factors (
    user_name TEXT PRIMARY KEY REFERENCES users (name) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    confirmed_at BIGINT,
    last_step BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    -- Wrong codes for this account since `failed_since`: past a limit, no code is taken
    -- until the window ends, whichever addresses they came from.
    failures BIGINT NOT NULL DEFAULT 0,
    failed_since BIGINT NOT NULL DEFAULT 0
);
-- Ten one-time codes for a lost phone: only their SHA-256 is kept, and when each was used.
CREATE TABLE recovery_codes (
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_name, code_hash)
);
-- An admin's requirement: this user sets up a second factor before anything else.
ALTER TABLE users ADD COLUMN second_factor_required BIGINT NOT NULL DEFAULT 0;
