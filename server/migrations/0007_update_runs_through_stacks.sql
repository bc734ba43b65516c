-- A compose member is updated through its stack: the update's record names the stack and
-- the number of the stack's run that pulled and recreated it.
ALTER TABLE update_runs ADD COLUMN stack TEXT;
ALTER TABLE update_runs ADD COLUMN stack_run BIGINT;
