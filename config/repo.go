package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/go-version"
	"go.yaml.in/yaml/v3"

	"github.com/planbot/planbot"
)

// RepoFile is the name of the repository configuration file. planbot reads
// it from the root of the PR's base branch, never from its head, so that a
// pull request cannot change the rules it is judged by.
const RepoFile = ".planbot.yaml"

// The apply requirements a repository may add on top of the CODEOWNERS rule,
// which is always enforced and cannot be turned off.
const (
	// RequireMergeable makes /apply wait until GitHub reports the PR as
	// mergeable (no conflicts with its base).
	RequireMergeable = "mergeable"
	// RequireUndiverged refuses /apply when the base branch has commits
	// that the PR's head does not contain.
	RequireUndiverged = "undiverged"
)

// Repo is the configuration a repository gives planbot in RepoFile.
//
// The file is optional. Without it DefaultRepo applies: projects are
// autodetected, the PR is merged after everything is applied, with the
// server's --merge-method or else the first method the repository allows.
// With it, planbot is strict: unknown keys, wrong types and invalid values
// are errors reported with their line, and the PR gets no plan until the
// base branch has a valid file.
//
// When Projects is not empty, exactly those projects exist and nothing is
// autodetected; a project is planned when a changed file matches one of its
// autoplan.when_modified globs.
type Repo struct {
	// Version is the file format version; only 1 exists.
	Version int `yaml:"version"`
	// Automerge reports whether planbot merges the PR once every project
	// is applied. It defaults to true.
	Automerge bool `yaml:"automerge"`
	// MergeMethod is merge, squash or rebase; "" falls back to the server's
	// --merge-method, then to the first method the repository allows.
	MergeMethod string `yaml:"merge_method"`
	// ApplyRequirements are extra gates for /apply: RequireMergeable and
	// RequireUndiverged.
	ApplyRequirements []string `yaml:"apply_requirements"`
	// TerraformVersion is a hashicorp/go-version constraint, such as
	// ">= 1.5, < 2.0", that the terraform binary must satisfy. "" accepts
	// any version.
	TerraformVersion string `yaml:"terraform_version"`
	// Projects, when not empty, are the only projects of the repository.
	Projects []RepoProject `yaml:"projects"`
}

// RepoProject is one project declared in RepoFile.
type RepoProject struct {
	// Name identifies the project in commands. It defaults to Dir.
	Name string `yaml:"name"`
	// Dir is the repo-relative, slash-separated, cleaned directory of the
	// project ("." for the root).
	Dir string `yaml:"dir"`
	// Workspace is the Terraform workspace; it defaults to "default".
	Workspace string `yaml:"workspace"`
	// Kind is terraform or kustomize. It is "" when the file leaves it to
	// detection; ResolveKinds fills it in from a checkout.
	Kind     planbot.Kind `yaml:"kind"`
	Autoplan Autoplan     `yaml:"autoplan"`
	// Line is the line of the project's entry in the file.
	Line int `yaml:"-"`
}

// Autoplan says when a declared project is planned.
type Autoplan struct {
	// WhenModified are globs relative to the project's dir. "**" matches
	// any number of path segments, a leading "!" excludes what an earlier
	// glob included, and leading ".." segments reach shared dirs. Nil
	// means the defaults of the project's kind (see DefaultWhenModified).
	WhenModified []string `yaml:"when_modified"`
}

// DefaultRepo returns the configuration of a repository without RepoFile.
func DefaultRepo() *Repo {
	return &Repo{Version: 1, Automerge: true}
}

// DefaultWhenModified returns the autoplan globs of a project of the given
// kind that does not set autoplan.when_modified. A project whose kind is
// not yet known is planned on any change in its dir.
func DefaultWhenModified(kind planbot.Kind) []string {
	switch kind {
	case planbot.KindTerraform:
		return []string{"**/*.tf", "**/*.tf.json", "**/*.tfvars", "**/*.tfvars.json", "**/*.hcl"}
	default:
		return []string{"**"}
	}
}

// Explicit reports whether the file declares its projects, which turns
// autodetection off.
func (r *Repo) Explicit() bool { return len(r.Projects) > 0 }

// Requires reports whether the repository asks for the apply requirement
// req (RequireMergeable or RequireUndiverged).
func (r *Repo) Requires(req string) bool { return slices.Contains(r.ApplyRequirements, req) }

// RepoError is one problem in RepoFile, at a 1-based line (0 when the line
// is unknown). Msg starts with the path of the offending key, as in
// "projects[1].dir: must be a relative path without \"..\"".
type RepoError struct {
	Line int
	Msg  string
}

// Error returns ".planbot.yaml:LINE: MSG".
func (e *RepoError) Error() string {
	if e.Line <= 0 {
		return RepoFile + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", RepoFile, e.Line, e.Msg)
}

// RepoErrors are all the problems found in RepoFile, in file order.
//
// They are safe to show on a pull request: errors.As finds a
// *planbot.Error with code EINVALID in them, so planbot.ErrorCode and
// planbot.ErrorMessage treat them as invalid input and show every line.
type RepoErrors []*RepoError

// Error returns one problem per line.
func (l RepoErrors) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// As lets errors.As find a *planbot.Error (code EINVALID) in l.
func (l RepoErrors) As(target any) bool {
	if p, ok := target.(**planbot.Error); ok {
		*p = planbot.Errorf(planbot.EINVALID, "%s", l.Error())
		return true
	}
	return false
}

// maxRepoFileSize bounds the size of RepoFile.
const maxRepoFileSize = 256 << 10

var (
	// nameRE is the syntax of project names.
	nameRE = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)
	// workspaceRE is the syntax of Terraform workspace names.
	workspaceRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)
	// yamlLineRE finds the line in a yaml syntax error.
	yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// ParseRepo parses and validates the contents of RepoFile. An empty file
// is an error (version is required); a missing file is not parsed at all
// and means DefaultRepo. The error, if any, is a RepoErrors that lists
// every problem with its line.
func ParseRepo(data []byte) (*Repo, error) {
	if len(data) > maxRepoFileSize {
		return nil, RepoErrors{{Msg: fmt.Sprintf("the file is larger than %d bytes", maxRepoFileSize)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, RepoErrors{yamlError(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, RepoErrors{yamlError(err)}
		}
		return nil, RepoErrors{{Line: extra.Line, Msg: "the file must hold a single YAML document"}}
	}

	d := &decoder{lines: map[string]int{}}
	r := DefaultRepo()
	r.Version = 0
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == 0 || root.Kind == yaml.DocumentNode {
		return nil, RepoErrors{{Line: 1, Msg: "version: is required"}}
	}
	d.lines[""] = root.Line
	d.decode(root, reflect.ValueOf(r).Elem(), "")
	if len(d.errs) == 0 {
		d.validate(r)
	}
	if len(d.errs) > 0 {
		slices.SortStableFunc(d.errs, func(a, b *RepoError) int { return a.Line - b.Line })
		return nil, d.errs
	}
	return r, nil
}

// yamlError turns a yaml syntax error into a RepoError.
func yamlError(err error) *RepoError {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &RepoError{Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &RepoError{Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// decoder decodes YAML nodes into the tagged fields of Repo, strictly,
// remembering the line of every key it sees.
type decoder struct {
	// lines maps a key path ("projects[1].dir") to its line.
	lines map[string]int
	errs  RepoErrors
}

func (d *decoder) errorf(line int, keyPath, format string, args ...any) {
	if keyPath == "" {
		keyPath = "top level"
	}
	d.errs = append(d.errs, &RepoError{Line: line, Msg: keyPath + ": " + fmt.Sprintf(format, args...)})
}

// line returns the line of keyPath, or of its closest parent that has one.
func (d *decoder) line(keyPath string) int {
	for {
		if l, ok := d.lines[keyPath]; ok {
			return l
		}
		i := strings.LastIndexAny(keyPath, ".[")
		if i < 0 {
			return d.lines[""]
		}
		keyPath = keyPath[:i]
	}
}

func joinKey(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// yamlKeys returns the keys a YAML mapping decoded into a value of type t
// may hold, in field order, read from the yaml struct tags.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		if k := yamlKey(f); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

func yamlKey(f reflect.StructField) string {
	k, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if k == "-" {
		return ""
	}
	return k
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, keyPath string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		d.errorf(n.Line, keyPath, "must not be empty")
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.errorf(n.Line, keyPath, "must be a mapping")
			return
		}
		fields := map[string]int{}
		for i := range v.NumField() {
			if k := yamlKey(v.Type().Field(i)); k != "" {
				fields[k] = i
			}
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			if kn.Kind != yaml.ScalarNode || kn.Tag != "!!str" {
				d.errorf(kn.Line, keyPath, "keys must be strings")
				continue
			}
			sub := joinKey(keyPath, kn.Value)
			idx, ok := fields[kn.Value]
			if !ok {
				d.errorf(kn.Line, sub, "unknown key (want one of %s)", strings.Join(yamlKeys(v.Type()), ", "))
				continue
			}
			if seen[kn.Value] {
				d.errorf(kn.Line, sub, "duplicate key")
				continue
			}
			seen[kn.Value] = true
			d.lines[sub] = kn.Line
			d.decode(vn, v.Field(idx), sub)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n.Line, keyPath, "must be a list")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			sub := fmt.Sprintf("%s[%d]", keyPath, i)
			d.lines[sub] = item.Line
			if et := s.Type().Elem(); et.Kind() != reflect.Struct {
				// Only structs record their line.
			} else if f, ok := et.FieldByName("Line"); ok && f.Type.Kind() == reflect.Int && yamlKey(f) == "" {
				s.Index(i).FieldByIndex(f.Index).SetInt(int64(item.Line))
			}
			d.decode(item, s.Index(i), sub)
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			d.errorf(n.Line, keyPath, "must be a string")
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.errorf(n.Line, keyPath, "must be true or false")
			return
		}
		v.SetBool(b)
	case reflect.Int:
		var i int
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
			d.errorf(n.Line, keyPath, "must be an integer")
			return
		}
		v.SetInt(int64(i))
	default:
		// Only reachable if a field of an unsupported type gets a tag.
		d.errorf(n.Line, keyPath, "cannot decode into %s", v.Type())
	}
}

// validate checks the values of a decoded Repo and fills in the defaults
// of its projects.
func (d *decoder) validate(r *Repo) {
	if _, ok := d.lines["version"]; !ok {
		d.errorf(d.line(""), "version", "is required")
	} else if r.Version != 1 {
		d.errorf(d.line("version"), "version", "must be 1, not %d", r.Version)
	}
	switch r.MergeMethod {
	case "", "merge", "squash", "rebase":
		if _, ok := d.lines["merge_method"]; ok && r.MergeMethod == "" {
			d.errorf(d.line("merge_method"), "merge_method", "must be merge, squash or rebase")
		}
	default:
		d.errorf(d.line("merge_method"), "merge_method", "must be merge, squash or rebase, not %q", r.MergeMethod)
	}
	seenReq := map[string]bool{}
	for i, req := range r.ApplyRequirements {
		k := fmt.Sprintf("apply_requirements[%d]", i)
		switch {
		case req == "approved":
			d.errorf(d.line(k), k, "approved is not an option: CODEOWNERS approval is always required")
		case req != RequireMergeable && req != RequireUndiverged:
			d.errorf(d.line(k), k, "must be %s or %s, not %q", RequireMergeable, RequireUndiverged, req)
		case seenReq[req]:
			d.errorf(d.line(k), k, "%s is listed twice", req)
		}
		seenReq[req] = true
	}
	if _, ok := d.lines["terraform_version"]; ok {
		if _, err := version.NewConstraint(r.TerraformVersion); err != nil {
			d.errorf(d.line("terraform_version"), "terraform_version", "invalid version constraint %q", r.TerraformVersion)
		}
	}
	if _, ok := d.lines["projects"]; ok && len(r.Projects) == 0 {
		d.errorf(d.line("projects"), "projects", "must list at least one project (remove the key to autodetect projects)")
	}

	names := map[string]int{}
	locks := map[string]int{}
	for i := range r.Projects {
		p := &r.Projects[i]
		k := fmt.Sprintf("projects[%d]", i)
		if _, ok := d.lines[k+".dir"]; !ok {
			d.errorf(d.line(k), k+".dir", "is required")
		} else if dir, msg := cleanDir(p.Dir); msg != "" {
			d.errorf(d.line(k+".dir"), k+".dir", "%s", msg)
		} else {
			p.Dir = dir
		}
		if _, ok := d.lines[k+".name"]; !ok {
			p.Name = p.Dir
		} else if !nameRE.MatchString(p.Name) || strings.HasPrefix(p.Name, "-") {
			d.errorf(d.line(k+".name"), k+".name", "%q must use only A-Z a-z 0-9 . _ / - and not start with -", p.Name)
		}
		if _, ok := d.lines[k+".workspace"]; !ok {
			p.Workspace = "default"
		} else if !workspaceRE.MatchString(p.Workspace) {
			d.errorf(d.line(k+".workspace"), k+".workspace", "%q must use only A-Z a-z 0-9 . _ - and start with a letter, digit or _", p.Workspace)
		}
		switch p.Kind {
		case planbot.KindTerraform, planbot.KindKustomize:
		default:
			if _, ok := d.lines[k+".kind"]; ok {
				d.errorf(d.line(k+".kind"), k+".kind", "must be terraform or kustomize, not %q", p.Kind)
			}
		}
		if _, ok := d.lines[k+".autoplan.when_modified"]; ok && len(p.Autoplan.WhenModified) == 0 {
			d.errorf(d.line(k+".autoplan.when_modified"), k+".autoplan.when_modified", "must list at least one glob")
		}
		for j, g := range p.Autoplan.WhenModified {
			gk := fmt.Sprintf("%s.autoplan.when_modified[%d]", k, j)
			if msg := checkGlob(g); msg != "" {
				d.errorf(d.line(gk), gk, "%q: %s", g, msg)
			} else if _, err := joinGlob(p.Dir, g); err != nil {
				d.errorf(d.line(gk), gk, "%q: %v", g, err)
			}
		}
		if first, ok := names[p.Name]; ok && p.Name != "" {
			d.errorf(d.line(k), k+".name", "%q is already the name of projects[%d] (set a distinct name)", p.Name, first)
		} else {
			names[p.Name] = i
		}
		lock := p.Dir + "@" + p.Workspace
		if first, ok := locks[lock]; ok && p.Dir != "" {
			d.errorf(d.line(k), k, "dir %q and workspace %q are already used by projects[%d]", p.Dir, p.Workspace, first)
		} else {
			locks[lock] = i
		}
	}
}

// cleanDir validates a project dir and returns it cleaned, or a message
// saying what is wrong with it.
func cleanDir(dir string) (string, string) {
	if dir == "" {
		return "", "must not be empty"
	}
	if path.IsAbs(dir) || slices.Contains(strings.Split(dir, "/"), "..") {
		return "", `must be a relative path without ".."`
	}
	if strings.HasPrefix(dir, "-") {
		return "", `must not start with "-"`
	}
	if !nameRE.MatchString(dir) {
		return "", fmt.Sprintf("%q must use only A-Z a-z 0-9 . _ / -", dir)
	}
	if strings.Contains(dir, "//") {
		return "", "must not contain empty path segments"
	}
	return path.Clean(dir), ""
}

// checkGlob returns what is wrong with the syntax of a when_modified glob,
// or "".
func checkGlob(g string) string {
	g = strings.TrimPrefix(g, "!")
	if g == "" {
		return "must not be empty"
	}
	if strings.HasPrefix(g, "!") {
		return `only one leading "!" is allowed`
	}
	if path.IsAbs(g) {
		return "must be relative to the project dir"
	}
	dots := true
	for seg := range strings.SplitSeq(g, "/") {
		if seg == ".." {
			if !dots {
				return `".." may only lead the glob`
			}
			continue
		}
		dots = false
		if _, err := path.Match(seg, ""); err != nil {
			return "invalid glob syntax"
		}
	}
	return ""
}

// joinGlob resolves a when_modified glob against the project dir into a
// repo-relative glob.
func joinGlob(dir, g string) (string, error) {
	j := path.Join(dir, strings.TrimPrefix(g, "!"))
	if j == ".." || strings.HasPrefix(j, "../") {
		return "", errors.New("leaves the repository")
	}
	return j, nil
}

// Match returns the declared projects that the changed paths (repo-relative,
// slash-separated; pass both names of a rename) affect, in file order. A
// project is affected when some changed path matches its when_modified
// globs: the last glob that matches a path decides, and it includes the
// path unless it starts with "!". Match returns nil when the file declares
// no projects; the caller then autodetects them.
//
// A project whose kind is still "" (see ResolveKinds) is returned with an
// empty Kind and matched with DefaultWhenModified("").
func (r *Repo) Match(changed []string) []planbot.Project {
	var out []planbot.Project
	for _, p := range r.Projects {
		globs := p.Autoplan.WhenModified
		if globs == nil {
			globs = DefaultWhenModified(p.Kind)
		}
		if p.matchesAny(globs, changed) {
			out = append(out, planbot.Project{Name: p.Name, Dir: p.Dir, Workspace: p.Workspace, Kind: p.Kind})
		}
	}
	return out
}

func (p RepoProject) matchesAny(globs, changed []string) bool {
	type rule struct {
		segs    []string
		exclude bool
	}
	rules := make([]rule, 0, len(globs))
	for _, g := range globs {
		j, err := joinGlob(p.Dir, g)
		if err != nil {
			continue // ParseRepo rejects these.
		}
		rules = append(rules, rule{segs: strings.Split(j, "/"), exclude: strings.HasPrefix(g, "!")})
	}
	for _, c := range changed {
		c, ok := cleanPath(c)
		if !ok {
			continue
		}
		name := strings.Split(c, "/")
		in := false
		for _, r := range rules {
			if globMatch(r.segs, name) {
				in = !r.exclude
			}
		}
		if in {
			return true
		}
	}
	return false
}

// cleanPath returns p cleaned, and false when it is absolute or leaves
// the repository.
func cleanPath(p string) (string, bool) {
	if p == "" || path.IsAbs(p) {
		return "", false
	}
	p = path.Clean(p)
	if p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

// globMatch reports whether the path segments name match the glob
// segments pat, where a "**" segment matches any number of segments and
// other segments follow path.Match. A glob of "." matches every path.
func globMatch(pat, name []string) bool {
	if len(pat) == 1 && pat[0] == "." {
		return true
	}
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return true
			}
			for i := range name {
				if globMatch(pat, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// CheckTerraformVersion returns an EINVALID *planbot.Error when the
// terraform version (such as "1.11.2" or "v1.11.2") does not satisfy
// TerraformVersion, and nil when it does or when no constraint is set.
func (r *Repo) CheckTerraformVersion(v string) error {
	if r.TerraformVersion == "" {
		return nil
	}
	c, err := version.NewConstraint(r.TerraformVersion)
	if err != nil {
		return planbot.Errorf(planbot.EINVALID, "%s: invalid terraform_version %q", RepoFile, r.TerraformVersion)
	}
	tv, err := version.NewVersion(v)
	if err != nil {
		return fmt.Errorf("check terraform version: parse %q: %w", v, err)
	}
	if !c.Check(tv) {
		return planbot.Errorf(planbot.EINVALID, "terraform %s does not satisfy terraform_version %q of %s", tv, r.TerraformVersion, RepoFile)
	}
	return nil
}

// ResolveKinds sets the kind of every declared project that does not name
// one: terraform when its dir holds *.tf or *.tf.json files, else kustomize
// when it holds a kustomization file. Each project's dir is looked up in
// the trees in order (typically the PR head, then its base, for a project
// the PR deletes); the first tree that has the dir decides. It fails, with
// an EINVALID error naming the project's line, when no tree has the dir or
// the dir is neither kind.
func (r *Repo) ResolveKinds(trees ...fs.FS) error {
	var errs RepoErrors
	for i := range r.Projects {
		p := &r.Projects[i]
		if p.Kind != "" {
			continue
		}
		kind, err := detectKind(p.Dir, trees)
		if err != nil {
			errs = append(errs, &RepoError{Line: p.Line, Msg: fmt.Sprintf("projects[%d].kind: %v", i, err)})
			continue
		}
		p.Kind = kind
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func detectKind(dir string, trees []fs.FS) (planbot.Kind, error) {
	for _, t := range trees {
		entries, err := fs.ReadDir(t, dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("cannot read %s to detect its kind; set kind", dir)
		}
		kust := false
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			switch n := e.Name(); {
			case strings.HasSuffix(n, ".tf"), strings.HasSuffix(n, ".tf.json"):
				return planbot.KindTerraform, nil
			case n == "kustomization.yaml", n == "kustomization.yml", n == "Kustomization":
				kust = true
			}
		}
		if kust {
			return planbot.KindKustomize, nil
		}
		return "", fmt.Errorf("%s holds no *.tf files and no kustomization; set kind", dir)
	}
	return "", fmt.Errorf("%s does not exist; set kind", dir)
}
