-- passes holds one row per kind of scheduled pass (drift detection): the
-- scheduled time of the latest pass started, the replica holding its
-- lease, and when it finished (NULL while it runs). Replicas claim a pass
-- by its scheduled time, so each scheduled pass runs once, passes never
-- overlap, and a pass whose replica died is claimed again.
CREATE TABLE passes (
    name        TEXT    PRIMARY KEY,
    slot        INTEGER NOT NULL,
    owner       TEXT    NOT NULL,
    lease_until INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER
);
