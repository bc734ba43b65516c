-- Issue 30: an engine's mute (no alert about it or its containers while it holds): its
-- `Mute` as JSON, by engine name.
CREATE TABLE alert_engine_mutes (
    engine TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    author TEXT NOT NULL,
    updated BIGINT NOT NULL
);
