package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// PruneJobsIn is PruneJobs with a batch size of the test's choosing.
func PruneJobsIn(ctx context.Context, db *DB, finishedBefore time.Time, batch int) (int, error) {
	return db.pruneJobs(ctx, finishedBefore, batch)
}

// Writer returns db's write pool.
func Writer(db *DB) *sql.DB { return db.w }
