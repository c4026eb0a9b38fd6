-- result holds what a job that answers someone (an API release) produced,
-- as JSON, for them to read back by its delivery ID; NULL for others.
ALTER TABLE jobs ADD COLUMN result BYTEA;
