-- Alerts (issue 30). Channels keep what is secret (a webhook's URL holds its token) sealed
-- with Berth's key, and what the API may show apart. Rules are kept as the JSON an operator
-- wrote (`app::model::NewRule`). An alert is written with one delivery per channel before
-- anything is sent: the deliveries still `pending` are the outbox, sent in the order of
-- their alerts, per channel. Ids come from `alert_ids` (no auto-increment, as in 0001), and
-- are never used twice: a rule naming a removed channel must not reach a new one.
CREATE TABLE alert_ids (
    kind TEXT PRIMARY KEY,
    last BIGINT NOT NULL
);
INSERT INTO alert_ids (kind, last) VALUES ('channel', 0), ('rule', 0), ('alert', 0);

CREATE TABLE alert_channels (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    settings TEXT NOT NULL,
    secret TEXT NOT NULL,
    target TEXT NOT NULL,
    dropped BIGINT NOT NULL,
    updated BIGINT NOT NULL
);

CREATE TABLE alert_rules (
    id BIGINT PRIMARY KEY,
    body TEXT NOT NULL,
    author TEXT NOT NULL,
    updated BIGINT NOT NULL
);

CREATE TABLE alerts (
    id BIGINT PRIMARY KEY,
    rule_id BIGINT,
    rule TEXT NOT NULL,
    engine TEXT NOT NULL,
    subject TEXT NOT NULL,
    state TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    -- The template's variables, as JSON.
    facts TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX alerts_by_time ON alerts (at);

CREATE TABLE alert_deliveries (
    alert_id BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL,
    channel TEXT NOT NULL,
    -- pending (the outbox), delivered, dropped.
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    last_error TEXT,
    next_try BIGINT,
    delivered BIGINT,
    PRIMARY KEY (alert_id, channel_id)
);
CREATE INDEX alert_deliveries_by_channel ON alert_deliveries (channel_id, state, alert_id);
