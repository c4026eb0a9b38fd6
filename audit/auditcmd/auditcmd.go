// Package auditcmd implements `planbot audit`, which lists, exports and
// verifies planbot's hash-chained audit log.
//
// The model: the command reads the log through the store (the same SQLite
// file or PostgreSQL database the server writes) and never writes to it.
// Listing applies the --repo, --pr and --since filters in the store.
// Verification always reads the whole chain from seq 1, because a filtered
// subset of a chain cannot be checked, and recomputes every entry's hash and
// its link to the one before. The --json output is the export format: an
// unfiltered export can be verified offline with --verify --file.
//
// The package lives apart from package audit because it needs the store's
// filter type, and package store imports package audit.
package auditcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/store"
)

// synopsis and about head `planbot audit -h`.
const (
	synopsis = `planbot audit [--data-dir DIR | --database URL] [--repo OWNER/NAME] [--pr N] [--since T] [--json]
       planbot audit --verify [--data-dir DIR | --database URL]
       planbot audit --verify --file FILE`
	about = `Lists planbot's audit log: every plan, apply request, apply, refusal, merge
and unlock, with the approvals that allowed it, oldest first.

Export and verify:
  planbot audit --json > audit.jsonl         export the whole log
  planbot audit --verify --file audit.jsonl  verify the export offline
Only an unfiltered export can be verified: a chain is checked from seq 1.
A successful --verify prints the head hash; record it elsewhere to detect
later truncation of the log.

Exit status: 0 on success, 1 on an error or a broken chain, 2 on a usage
error.`
)

// WriteUsage writes the help of `planbot audit`.
func WriteUsage(w io.Writer) {
	var o Options
	var since string
	config.WriteUsage(w, synopsis, about, flags(&o, &since), true)
}

// Lister reads audit entries; store.Store is one.
type Lister interface {
	Audit(ctx context.Context, f store.AuditFilter) ([]audit.Entry, error)
}

// Opener opens the store a database value names (a postgres:// URL or a
// SQLite file) and returns it with the function that closes it. Main checks
// that a SQLite file exists before it calls an Opener, so an Opener may
// create missing files as the store's own Open does.
type Opener func(ctx context.Context, database string) (Lister, func() error, error)

// Main runs `planbot audit` with args (without the program and subcommand
// names), reading PLANBOT_* variables from the environment. It returns the
// exit status: 0 on success, 1 on an error or a broken chain, 2 on a usage
// error.
func Main(ctx context.Context, args []string, open Opener, stdout, stderr io.Writer) int {
	o, err := ParseOptions(args, os.Getenv, time.Now())
	if errors.Is(err, flag.ErrHelp) {
		WriteUsage(stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "planbot audit: %s\nRun \"planbot audit -h\" for every flag.\n", planbot.ErrorMessage(err))
		return 2
	}
	return Run(ctx, o, open, stdout, stderr)
}

// Run runs `planbot audit` with parsed options. It returns the exit status
// as Main does.
func Run(ctx context.Context, o Options, open Opener, stdout, stderr io.Writer) int {
	if o.Verify {
		if flags := o.FilterFlags(); len(flags) > 0 {
			fmt.Fprintf(stderr, "planbot audit: --verify checks the whole chain; ignoring %s\n", strings.Join(flags, ", "))
		}
	}
	if o.File != "" {
		entries, err := readFile(o.File)
		if err != nil {
			fmt.Fprintf(stderr, "planbot audit: %v\n", err)
			return 1
		}
		return verify(entries, o.File, true, stdout, stderr)
	}

	if err := checkExists(o.Database); err != nil {
		fmt.Fprintf(stderr, "planbot audit: %v\n", err)
		return 1
	}
	l, closeStore, err := open(ctx, o.Database)
	if err != nil {
		fmt.Fprintf(stderr, "planbot audit: open %s: %v\n", redact(o.Database), err)
		return 1
	}
	closeOnce := sync.OnceValue(closeStore)
	defer closeOnce()

	filter := o.Filter()
	if o.Verify {
		filter = store.AuditFilter{}
	}
	entries, err := l.Audit(ctx, filter)
	if err != nil {
		fmt.Fprintf(stderr, "planbot audit: read the audit log: %v\n", err)
		return 1
	}
	if o.Verify {
		return verify(entries, redact(o.Database), false, stdout, stderr)
	}
	write := audit.WriteTable
	if o.JSON {
		write = audit.WriteJSON
	}
	if err := write(stdout, entries); err != nil {
		fmt.Fprintf(stderr, "planbot audit: %v\n", err)
		return 1
	}
	if len(entries) == 0 {
		fmt.Fprintln(stderr, "planbot audit: no matching entries")
	}
	if err := closeOnce(); err != nil {
		fmt.Fprintf(stderr, "planbot audit: close %s: %v\n", redact(o.Database), err)
		return 1
	}
	return 0
}

// checkExists reports an error when database names a SQLite file that does
// not exist or is empty, so that listing never creates a database.
func checkExists(database string) error {
	if config.IsPostgres(database) {
		return nil
	}
	st, err := os.Stat(database)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("no planbot database at %s (set --data-dir or --database)", database)
	case err != nil:
		return err
	case st.IsDir():
		return fmt.Errorf("%s is a directory, not a planbot database", database)
	case st.Size() == 0:
		return fmt.Errorf("no planbot database at %s (the file is empty)", database)
	}
	return nil
}

// readFile reads an exported JSON lines file.
func readFile(name string) ([]audit.Entry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := audit.ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return entries, nil
}

// verify checks a whole chain read from source (an exported file when
// fromFile) and reports the result: the head on stdout when intact, the
// first broken entry on stderr otherwise.
func verify(entries []audit.Entry, source string, fromFile bool, stdout, stderr io.Writer) int {
	bad, ok := audit.Verify(entries)
	if !ok {
		fmt.Fprintf(stderr, "audit chain broken at seq %d\n", bad)
		fmt.Fprintf(stderr, "planbot audit: %s: %s\n", source, why(entries, bad, fromFile))
		return 1
	}
	if len(entries) == 0 {
		fmt.Fprintf(stdout, "audit chain intact: %s has no entries\n", source)
		return 0
	}
	first, last := entries[0], entries[len(entries)-1]
	fmt.Fprintf(stdout, "audit chain intact: %d entries, seq %d..%d, head hash %s\n",
		len(entries), first.Seq, last.Seq, last.Hash)
	return 0
}

// why explains why Verify stopped at the entry with seq bad.
func why(entries []audit.Entry, bad int64, fromFile bool) string {
	for i, e := range entries {
		if e.Seq != bad {
			continue
		}
		switch {
		case i == 0 && e.PrevHash != "" && fromFile:
			return fmt.Sprintf("the file does not start at the beginning of the chain (seq %d links to an earlier entry); only an unfiltered export can be verified", e.Seq)
		case i == 0 && e.PrevHash != "":
			return fmt.Sprintf("seq %d links to an earlier entry that is missing: the start of the log was removed", e.Seq)
		case e.ComputeHash() != e.Hash:
			return fmt.Sprintf("entry %d does not match its hash: it was modified after it was written", e.Seq)
		default:
			return fmt.Sprintf("entry %d does not link to the entry before it: an entry was removed, reordered or rewritten", e.Seq)
		}
	}
	return "unknown entry"
}
