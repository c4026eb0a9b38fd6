package codeowners

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/config"
)

// cliSynopsis and cliAbout head `planbot owners -h`.
const (
	cliSynopsis = "planbot owners [--repo DIR] [--codeowners FILE] [--json] PATH..."
	cliAbout    = `Prints the CODEOWNERS rule that decides the owners of each PATH, with the
same matching planbot's /apply gate uses. The file is read from DIR
(.github/CODEOWNERS, then CODEOWNERS, then docs/CODEOWNERS) unless
--codeowners names one. Invalid lines are reported on stderr.`
)

// cliFlags returns the flag set of `planbot owners`.
func cliFlags(repoDir, file *string, asJSON *bool) *flag.FlagSet {
	fset := config.NewFlagSet("planbot owners")
	fset.StringVar(repoDir, "repo", ".", "repository `DIR` to read CODEOWNERS from")
	fset.StringVar(file, "codeowners", "", "CODEOWNERS `FILE` to use instead of looking in the repository")
	fset.BoolVar(asJSON, "json", false, "print one JSON object per path")
	return fset
}

// WriteUsage writes the help of `planbot owners`.
func WriteUsage(w io.Writer) {
	var repoDir, file string
	var asJSON bool
	config.WriteUsage(w, cliSynopsis, cliAbout, cliFlags(&repoDir, &file, &asJSON), true)
}

// ownersJSON is one line of `planbot owners --json` output.
type ownersJSON struct {
	Path   string   `json:"path"`
	Owners []string `json:"owners"`
	Line   int      `json:"line"`
}

// Main runs `planbot owners` with args (without the program and subcommand
// names). It returns the exit status: 0 on success, 2 on a usage error, 1
// on any other error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var repoDir, file string
	var asJSON bool
	fset := cliFlags(&repoDir, &file, &asJSON)
	if err := config.ParseFlags(fset, args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			WriteUsage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "planbot owners: %s\nRun \"planbot owners -h\" for every flag.\n", planbot.ErrorMessage(err))
		return 2
	}
	if fset.NArg() == 0 {
		fmt.Fprintln(stderr, "planbot owners: no PATH given\nRun \"planbot owners -h\" for every flag.")
		return 2
	}
	paths := make([]string, 0, fset.NArg())
	for _, p := range fset.Args() {
		rel, err := repoPath(repoDir, p)
		if err != nil {
			fmt.Fprintf(stderr, "planbot owners: %v\n", err)
			return 2
		}
		paths = append(paths, rel)
	}

	f, err := loadLocal(ctx, repoDir, file)
	if err != nil {
		fmt.Fprintf(stderr, "planbot owners: %v\n", err)
		return 1
	}
	if f.Path == "" {
		fmt.Fprintf(stderr, "planbot owners: no CODEOWNERS file in %s; every path is unowned\n", repoDir)
	}
	for _, e := range f.Errors {
		fmt.Fprintf(stderr, "%s:%d: skipped: %s\n", f.Path, e.Line, e.Message)
	}

	if asJSON {
		enc := json.NewEncoder(stdout)
		for _, p := range paths {
			out := ownersJSON{Path: p, Owners: []string{}}
			if r, ok := f.Match(p); ok {
				out.Line = r.Line
				out.Owners = append(out.Owners, r.Owners...)
			}
			if err := enc.Encode(out); err != nil {
				fmt.Fprintf(stderr, "planbot owners: %v\n", err)
				return 1
			}
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tLINE\tOWNERS")
	for _, p := range paths {
		r, ok := f.Match(p)
		switch {
		case !ok:
			fmt.Fprintf(tw, "%s\t-\t(no matching rule)\n", p)
		case len(r.Owners) == 0:
			fmt.Fprintf(tw, "%s\t%d\t(unowned)\n", p, r.Line)
		default:
			fmt.Fprintf(tw, "%s\t%d\t%s\n", p, r.Line, strings.Join(r.Owners, " "))
		}
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "planbot owners: %v\n", err)
		return 1
	}
	return 0
}

// repoPath turns a command-line path into a repo-relative slash path.
// Absolute paths must lie inside repoDir.
func repoPath(repoDir, p string) (string, error) {
	if filepath.IsAbs(p) {
		root, err := filepath.Abs(repoDir)
		if err != nil {
			return "", err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "", fmt.Errorf("%s is outside the repository %s", p, repoDir)
		}
		p = rel
	}
	p = path.Clean(filepath.ToSlash(p))
	if p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("%q is not a path inside the repository", p)
	}
	return p, nil
}

// loadLocal reads CODEOWNERS from file, or from the standard locations in
// repoDir, refusing files of MaxSize or more.
func loadLocal(ctx context.Context, repoDir, file string) (*File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if file != "" {
		data, err := readLimited(file)
		if err != nil {
			return nil, err
		}
		return Parse(filepath.ToSlash(file), data)
	}
	for _, p := range Locations() {
		data, err := readLimited(filepath.Join(repoDir, filepath.FromSlash(p)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return Parse(p, data)
	}
	return &File{}, nil
}

// readLimited reads at most MaxSize bytes of a regular file, so that Parse
// sees an oversized file as such without reading all of it.
func readLimited(name string) ([]byte, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", name)
	}
	return io.ReadAll(io.LimitReader(fh, MaxSize))
}
