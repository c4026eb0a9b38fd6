// Package credentials holds the secret environment terraform runs with:
// one set for plans and another for applies, read from files the server
// holds, never from the repository.
//
// The model: a directory with plan.env and apply.env, and optionally
// <owner>/<repo>/plan.env and apply.env for one repository. A
// repository's file replaces the directory-wide file of the same phase
// for that repository (nothing is merged, so a repository never inherits
// credentials it was not meant to get). Each file holds KEY=VALUE lines;
// blank lines and lines starting with # are ignored, and a value wrapped
// in a pair of matching quotes loses them. Every value is a secret:
// [Set.Values] lists them for masking.
//
// A plan process gets only the plan set and an apply process only the
// apply set; with the sandbox on, the directory itself is never readable
// by terraform.
package credentials

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/planbot/planbot"
)

// Phase is the kind of terraform run a set of credentials is for.
type Phase string

const (
	// Plan is every run that plans: PR plans, re-plans, destroy plans.
	Plan Phase = "plan"
	// Apply is every run that applies a reviewed plan, and its init.
	Apply Phase = "apply"
)

// Set is the credentials loaded from one directory. The zero Set (and a
// nil *Set) has none. A Set is read-only once loaded.
type Set struct {
	// global maps a phase to its directory-wide variables.
	global map[Phase]map[string]string
	// repos maps "owner/repo" and a phase to a repository's own file.
	repos map[string]map[Phase]map[string]string
}

// namePattern is what a variable name may look like.
var namePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reserved are names planbot sets itself for every run, or that would
// change how terraform is run or confined. PLANBOT_* is refused too.
var reserved = map[string]bool{
	"PATH": true, "HOME": true, "TMPDIR": true, "CHECKPOINT_DISABLE": true,
	"TF_PLUGIN_CACHE_DIR": true, "TF_CLI_CONFIG_FILE": true, "TF_CLI_ARGS": true,
	"TF_IN_AUTOMATION": true, "TF_INPUT": true, "TF_LOG": true, "TF_LOG_CORE": true,
	"TF_LOG_PATH": true, "TF_LOG_PROVIDER": true, "TF_WORKSPACE": true,
	"TF_REATTACH_PROVIDERS": true, "TF_DISABLE_PLUGIN_TLS": true,
	"TF_SKIP_PROVIDER_VERIFY": true, "TF_APPEND_USER_AGENT": true,
	"LD_PRELOAD": true, "LD_LIBRARY_PATH": true,
}

// Load reads the credentials in dir. An empty dir means no credentials.
// Missing files are fine; a malformed line is an EINVALID error naming
// the file and line.
func Load(dir string) (*Set, error) {
	s := &Set{global: map[Phase]map[string]string{}, repos: map[string]map[Phase]map[string]string{}}
	if dir == "" {
		return s, nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, planbot.Errorf(planbot.EINVALID, "credentials directory: %v", err)
	}
	if !fi.IsDir() {
		return nil, planbot.Errorf(planbot.EINVALID, "credentials directory %s is not a directory", dir)
	}
	for _, ph := range []Phase{Plan, Apply} {
		vars, err := readFile(filepath.Join(dir, string(ph)+".env"))
		if err != nil {
			return nil, err
		}
		if vars != nil {
			s.global[ph] = vars
		}
		// <owner>/<repo>/<phase>.env
		matches, err := filepath.Glob(filepath.Join(dir, "*", "*", string(ph)+".env"))
		if err != nil {
			return nil, fmt.Errorf("credentials: %w", err)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(dir, filepath.Dir(m))
			repo := filepath.ToSlash(rel)
			vars, err := readFile(m)
			if err != nil {
				return nil, err
			}
			if s.repos[repo] == nil {
				s.repos[repo] = map[Phase]map[string]string{}
			}
			s.repos[repo][ph] = vars
		}
	}
	return s, nil
}

// readFile parses one KEY=VALUE file; a missing file is nil, nil.
func readFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, planbot.Errorf(planbot.EINVALID, "credentials: %v", err)
	}
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		bad := func(why string) error {
			// Never quote the line: it may hold a secret.
			return planbot.Errorf(planbot.EINVALID, "%s:%d: %s", path, n, why)
		}
		switch {
		case !ok:
			return nil, bad("want KEY=VALUE")
		case !namePattern.MatchString(k):
			return nil, bad(fmt.Sprintf("invalid variable name %q", k))
		case reserved[k] || strings.HasPrefix(strings.ToUpper(k), "PLANBOT_") || strings.HasPrefix(k, "TF_CLI_ARGS"):
			return nil, bad(fmt.Sprintf("%s is set by planbot and cannot be a credential", k))
		}
		if _, dup := vars[k]; dup {
			return nil, bad(fmt.Sprintf("%s is set twice", k))
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		vars[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, planbot.Errorf(planbot.EINVALID, "credentials %s: %v", path, err)
	}
	return vars, nil
}

// Env returns the variables of phase for repo: the repository's own file
// when it has one, else the directory-wide file. The map is a copy.
func (s *Set) Env(repo planbot.Repo, phase Phase) map[string]string {
	if s == nil {
		return nil
	}
	vars := s.global[phase]
	if r, ok := s.repos[repo.String()]; ok {
		if v, ok := r[phase]; ok {
			vars = v
		}
	}
	if len(vars) == 0 {
		return nil
	}
	out := make(map[string]string, len(vars))
	for k, v := range vars {
		out[k] = v
	}
	return out
}

// Values returns every value of every file, for masking, longest first
// so that a value containing another is masked whole. Empty values are
// left out.
func (s *Set) Values() []string {
	if s == nil {
		return nil
	}
	seen := map[string]bool{}
	add := func(m map[string]string) {
		for _, v := range m {
			if v != "" {
				seen[v] = true
			}
		}
	}
	for _, m := range s.global {
		add(m)
	}
	for _, r := range s.repos {
		for _, m := range r {
			add(m)
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}
