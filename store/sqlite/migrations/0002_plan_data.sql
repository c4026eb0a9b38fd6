-- plan_data holds the saved plan file's content, so that any replica can
-- apply it; NULL for kustomize projects and failed plans.
ALTER TABLE plans ADD COLUMN plan_data BLOB;
