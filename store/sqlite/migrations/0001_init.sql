-- Times are INTEGER microseconds since the Unix epoch, UTC; NULL for unset.

CREATE TABLE jobs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	delivery_id TEXT    NOT NULL UNIQUE,
	event       TEXT    NOT NULL,
	payload     BLOB    NOT NULL,
	key         TEXT    NOT NULL DEFAULT '',
	state       TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
	attempts    INTEGER NOT NULL DEFAULT 0,
	owner       TEXT    NOT NULL DEFAULT '',
	lease_until INTEGER,
	last_error  TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL
);
CREATE INDEX jobs_pending ON jobs (state, id) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_key_pending ON jobs (key, state, id) WHERE state IN ('queued', 'running');

CREATE TABLE locks (
	repo       TEXT    NOT NULL,
	dir        TEXT    NOT NULL,
	workspace  TEXT    NOT NULL,
	pr         INTEGER NOT NULL,
	head_sha   TEXT    NOT NULL,
	user       TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (repo, dir, workspace)
);
CREATE INDEX locks_pr ON locks (repo, pr);

CREATE TABLE plans (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	repo        TEXT    NOT NULL,
	pr          INTEGER NOT NULL,
	head_sha    TEXT    NOT NULL,
	base_sha    TEXT    NOT NULL,
	project     TEXT    NOT NULL,
	dir         TEXT    NOT NULL,
	workspace   TEXT    NOT NULL,
	kind        TEXT    NOT NULL,
	status      TEXT    NOT NULL,
	plan_file   TEXT    NOT NULL,
	plan_sha256 TEXT    NOT NULL,
	result      BLOB    NOT NULL,
	created_at  INTEGER NOT NULL,
	UNIQUE (repo, pr, head_sha, project)
);
CREATE INDEX plans_latest ON plans (repo, pr, project, created_at, id);

CREATE TABLE audit (
	seq             INTEGER PRIMARY KEY,
	time            INTEGER NOT NULL,
	repo            TEXT    NOT NULL,
	pr              INTEGER NOT NULL,
	head_sha        TEXT    NOT NULL,
	base_sha        TEXT    NOT NULL,
	project         TEXT    NOT NULL,
	action          TEXT    NOT NULL,
	actor           TEXT    NOT NULL,
	approvers       TEXT    NOT NULL, -- JSON array of {"login","rule"}
	outcome         TEXT    NOT NULL,
	detail          TEXT    NOT NULL,
	plan_sha256     TEXT    NOT NULL,
	delivery_id     TEXT    NOT NULL,
	prev_hash       TEXT    NOT NULL,
	hash            TEXT    NOT NULL,
	idempotency_key TEXT    NOT NULL UNIQUE
);
CREATE INDEX audit_repo_pr ON audit (repo, pr, seq);
CREATE INDEX audit_time ON audit (time);
