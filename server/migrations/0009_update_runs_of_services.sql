-- A swarm service's image update: the update's record names the service (by id); its
-- `container` column holds the service's name.
ALTER TABLE update_runs ADD COLUMN service TEXT;
