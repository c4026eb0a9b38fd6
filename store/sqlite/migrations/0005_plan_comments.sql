-- plan_comments remembers the comments that hold a pull request's plan
-- comment, one row per part, so that a re-plan edits them by id instead of
-- listing the pull request's comments. body_sha256 is the digest of the
-- body planbot last wrote to the part.
CREATE TABLE plan_comments (
	repo        TEXT    NOT NULL,
	pr          INTEGER NOT NULL,
	part        INTEGER NOT NULL,
	comment_id  INTEGER NOT NULL,
	body_sha256 TEXT    NOT NULL,
	PRIMARY KEY (repo, pr, part)
);
