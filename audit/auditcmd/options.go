package auditcmd

import (
	"flag"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/store"
)

// Options is the configuration of `planbot audit`.
type Options struct {
	// DataDir is the server's data directory; the SQLite database is
	// <DataDir>/planbot.db unless Database says otherwise.
	DataDir string
	// Database is the resolved database: a postgres:// URL or a SQLite
	// file path. Empty when File is set.
	Database string
	// Repo, PR and Since select entries to list.
	Repo  string
	PR    int
	Since time.Time
	// JSON selects the JSON lines (export) format.
	JSON bool
	// Verify checks the whole hash chain instead of listing entries.
	Verify bool
	// File is an exported JSON lines file to verify instead of a database.
	File string
}

// flags returns the flag set of `planbot audit`, bound to o and, for
// --since, to since.
func flags(o *Options, since *string) *flag.FlagSet {
	fs := flag.NewFlagSet("planbot audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&o.DataDir, "data-dir", "./planbot-data", "the server's data directory `DIR`; the database is DIR/planbot.db")
	fs.StringVar(&o.Database, "database", "", "a postgres:// `URL` or a SQLite file; overrides --data-dir")
	fs.StringVar(&o.Repo, "repo", "", "only entries of this repository `OWNER/NAME`")
	fs.IntVar(&o.PR, "pr", 0, "only entries of pull request `N`")
	fs.StringVar(since, "since", "", "only entries at or after `T`: an RFC 3339 time (2024-05-01T12:00:00Z), a date (2024-05-01) or a duration back from now (90m, 24h, 7d)")
	fs.BoolVar(&o.JSON, "json", false, "print JSON lines (the export format) instead of a table")
	fs.BoolVar(&o.Verify, "verify", false, "recompute the hash chain of the whole log; exit 0 only if it is intact (filters are ignored)")
	fs.StringVar(&o.File, "file", "", "with --verify, check the exported `FILE` instead of the database")
	return fs
}

// ParseOptions parses the flags of `planbot audit`. A flag that is not given
// takes its PLANBOT_* environment twin, read through getenv, and then its
// default. A relative --since duration is taken back from now. It returns
// flag.ErrHelp for -h, and otherwise an EINVALID planbot.Error for any
// usage problem.
func ParseOptions(args []string, getenv func(string) string, now time.Time) (Options, error) {
	var o Options
	var since string
	fs := flags(&o, &since)
	if err := config.ParseFlags(fs, args, getenv); err != nil {
		return Options{}, err
	}
	if fs.NArg() > 0 {
		return Options{}, planbot.Errorf(planbot.EINVALID, "unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	if since != "" {
		t, err := parseSince(since, now)
		if err != nil {
			return Options{}, err
		}
		o.Since = t
	}
	if o.File != "" {
		if given["database"] || given["data-dir"] {
			return Options{}, planbot.Errorf(planbot.EINVALID, "--file verifies an exported file; it cannot be combined with --database or --data-dir")
		}
		o.Database = ""
	} else if o.Database == "" && o.DataDir != "" {
		o.Database = filepath.Join(o.DataDir, "planbot.db")
	}
	return o, o.Validate()
}

// Validate reports the first problem with the options.
func (o Options) Validate() error {
	switch {
	case o.File == "" && o.Database == "":
		return planbot.Errorf(planbot.EINVALID, "--data-dir or --database must name a database")
	case o.File != "" && !o.Verify:
		return planbot.Errorf(planbot.EINVALID, "--file requires --verify (it verifies an exported file)")
	case o.Verify && o.JSON:
		return planbot.Errorf(planbot.EINVALID, "--json and --verify cannot be combined")
	case o.PR < 0:
		return planbot.Errorf(planbot.EINVALID, "--pr must be a positive number")
	}
	if o.Repo != "" {
		if _, err := planbot.ParseRepo(o.Repo); err != nil {
			return err
		}
	}
	return nil
}

// Filter returns the store filter the listing flags select.
func (o Options) Filter() store.AuditFilter {
	return store.AuditFilter{Repo: o.Repo, PR: o.PR, Since: o.Since}
}

// FilterFlags names the given listing flags, which --verify ignores.
func (o Options) FilterFlags() []string {
	var names []string
	if o.Repo != "" {
		names = append(names, "--repo")
	}
	if o.PR != 0 {
		names = append(names, "--pr")
	}
	if !o.Since.IsZero() {
		names = append(names, "--since")
	}
	return names
}

// parseSince parses a --since value: an RFC 3339 time, a date (midnight
// UTC), or a duration back from now such as 90m, 24h or 7d.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*366 {
			return time.Time{}, sinceError(s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		d, err = time.ParseDuration(s)
		if err != nil || d < 0 {
			return time.Time{}, sinceError(s)
		}
	}
	return now.Add(-d).UTC(), nil
}

func sinceError(s string) error {
	return planbot.Errorf(planbot.EINVALID, "invalid --since %q: want an RFC 3339 time (2024-05-01T12:00:00Z), a date (2024-05-01) or a duration (24h, 7d)", s)
}

// redact hides the password of a postgres:// URL.
func redact(database string) string {
	if !config.IsPostgres(database) {
		return database
	}
	u, err := url.Parse(database)
	if err != nil {
		return "(unparsable postgres URL)"
	}
	return u.Redacted()
}
