-- What the image-update checks must remember across restarts.
--
-- The registry's digest for each tag, as last answered, and when Berth first saw it: the
-- minimum age of an update counts from then, so a restart must not reset it. One row per
-- tag (a new digest replaces the row); rows not answered for 30 days are removed.
CREATE TABLE image_tags (
    tag TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    created BIGINT,
    checked BIGINT NOT NULL
);
CREATE INDEX image_tags_by_check ON image_tags (checked);

-- Update runs: who updated which container, when, from which image to which, and how it
-- ended, with the last lines of its output (a JSON array). The last 100 per engine kept.
CREATE TABLE update_runs (
    engine TEXT NOT NULL,
    n BIGINT NOT NULL,
    container TEXT NOT NULL,
    image TEXT NOT NULL,
    by_user TEXT NOT NULL,
    started BIGINT NOT NULL,
    ended BIGINT,
    outcome TEXT,
    updated BIGINT NOT NULL,
    rolled_back TEXT,
    from_image TEXT,
    to_image TEXT,
    new_id TEXT,
    tail TEXT NOT NULL,
    PRIMARY KEY (engine, n)
);
