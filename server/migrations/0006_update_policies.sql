-- Update policies kept by Berth: what it does when the image of a container (by name) or of
-- every container of a compose project has an update: auto, notify or off. A container's
-- `berth.update` label wins over both; `--update-policy` applies where none is set.
CREATE TABLE update_policies (
    engine TEXT NOT NULL,
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    policy TEXT NOT NULL,
    PRIMARY KEY (engine, scope, name)
);
