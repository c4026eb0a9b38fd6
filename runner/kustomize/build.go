package kustomize

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/planbot/planbot"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// Resource is one rendered Kubernetes resource.
type Resource struct {
	Group, Version, Kind, Namespace, Name string
	// YAML is the normalized manifest: keys sorted, and for a Secret the
	// data and stringData fields removed.
	YAML string
	// SecretKeys maps each key of a Secret's data and stringData to a
	// digest of its decoded value. It is nil for other kinds. The digests
	// are compared, never rendered.
	SecretKeys map[string]string `json:",omitempty"`
}

// Options bounds and equips a build.
type Options struct {
	// Timeout bounds one build; 0 means DefaultTimeout. The context's
	// deadline applies too.
	Timeout time.Duration
	// MaxOutputBytes bounds the size of one overlay's rendered YAML; 0
	// means DefaultMaxOutputBytes.
	MaxOutputBytes int
	// Cache, when set, holds rendered overlays keyed by the content of
	// their inputs.
	Cache *Cache
	// Renders, when set, bounds the renders that run at once across every
	// plan given the same channel: a render holds one of its buffered
	// places until kustomize returns. Renders are pure CPU work, so more
	// of them than there are CPUs only makes each slower and raises the
	// peak memory; base and head of one overlay, rendered concurrently,
	// are two.
	Renders chan struct{}
	// Logger receives debug records of each build; nil discards them.
	Logger *slog.Logger
}

// The defaults of Options.
const (
	DefaultTimeout        = 2 * time.Minute
	DefaultMaxOutputBytes = 64 << 20
)

func (o Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

func (o Options) maxOutput() int {
	if o.MaxOutputBytes > 0 {
		return o.MaxOutputBytes
	}
	return DefaultMaxOutputBytes
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Build renders the overlay in dir, a slash path relative to root, and
// returns its resources in kustomize's output order, Secret values already
// replaced by digests.
//
// Before krusty runs, Build walks the overlay's reference graph and refuses
// remote bases ("remote bases are not allowed: URL"), paths that resolve
// outside root (symbolic links included), references that do not exist
// (which krusty would try to fetch), KRM function and exec plugin configs,
// and Helm charts; those errors carry the code planbot.EINVALID. krusty runs
// with the root-only load restrictor and plugins disabled on a read-only
// file system confined to root.
//
// krusty cannot be cancelled: Build runs it in a goroutine and returns when
// ctx ends or Options.Timeout passes, leaving that goroutine to finish on
// its own.
func Build(ctx context.Context, root, dir string, opts Options) ([]Resource, error) {
	in, err := prepare(root, dir)
	if err != nil {
		return nil, err
	}
	return build(ctx, in, opts)
}

// build renders a prepared overlay, through the cache when there is one.
func build(ctx context.Context, in *input, opts Options) ([]Resource, error) {
	log := opts.logger().With("project", in.dir)
	if opts.Cache == nil {
		return render(ctx, in, opts)
	}
	key, err := in.key()
	if err != nil {
		return nil, err
	}
	res, hit, err := opts.Cache.do(ctx, key, func() ([]Resource, error) {
		return render(ctx, in, opts)
	})
	log.Debug("kustomize build", "cache_hit", hit, "resources", len(res), "err", err)
	return res, err
}

// input is an overlay whose reference graph has been checked.
type input struct {
	root    string // absolute, symlinks resolved
	dir     string // slash path relative to root
	absDir  string
	kdirs   []string // every kustomization dir the overlay reads, sorted
	secrets []string // secretGenerator literal and env values, to redact
}

// prepare checks dir and the reference graph of its kustomization.
func prepare(root, dir string) (*input, error) {
	r, err := realPath(root)
	if err != nil {
		return nil, fmt.Errorf("kustomize workspace %s: %w", root, err)
	}
	if fi, err := os.Stat(r); err != nil || !fi.IsDir() {
		return nil, planbot.Errorf(planbot.ENOTFOUND, "kustomize workspace %s is not a directory", root)
	}
	clean := path.Clean(filepath.ToSlash(dir))
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return nil, planbot.Errorf(planbot.EINVALID, "overlay %s escapes the workspace root", dir)
	}
	abs := filepath.Join(r, filepath.FromSlash(clean))
	if ra, err := realPath(abs); err != nil || !within(r, ra) {
		return nil, planbot.Errorf(planbot.EINVALID, "overlay %s escapes the workspace root through a symbolic link", dir)
	}
	in := &input{root: r, dir: clean, absDir: abs}
	seen := make(map[string]bool)
	if err := in.walk(clean, seen); err != nil {
		return nil, err
	}
	for d := range seen {
		in.kdirs = append(in.kdirs, d)
	}
	sort.Strings(in.kdirs)
	return in, nil
}

// walk checks the kustomization in dir and the kustomizations it includes.
func (in *input) walk(dir string, seen map[string]bool) error {
	if seen[dir] {
		return nil
	}
	seen[dir] = true
	n, err := parseNode(in.root, dir)
	if err != nil {
		return planbot.Errorf(planbot.EINVALID, "%s", err.Error())
	}
	if n == nil {
		return planbot.Errorf(planbot.ENOTFOUND, "no kustomization in %s", dir)
	}
	file := path.Join(dir, n.File)
	if len(n.K.HelmCharts) > 0 || n.K.HelmGlobals != nil {
		return planbot.Errorf(planbot.EINVALID, "helm charts are not allowed (%s)", file)
	}
	for _, g := range n.K.SecretGenerator {
		in.collectSecrets(dir, g.KvPairSources)
	}
	for _, field := range []struct {
		name string
		list []string
	}{{"generators", n.K.Generators}, {"transformers", n.K.Transformers}, {"validators", n.K.Validators}} {
		for _, v := range field.list {
			if isInline(v) {
				if err := checkPluginConfig([]byte(v)); err != nil {
					return planbot.Errorf(planbot.EINVALID, "%v (inline %s of %s)", err, field.name, file)
				}
			}
		}
	}
	for _, ref := range n.Refs {
		where := fmt.Sprintf("%s of %s", ref.Field, file)
		if ref.Remote {
			return planbot.Errorf(planbot.EINVALID, "remote bases are not allowed: %s (%s)", ref.Value, where)
		}
		if ref.Escapes {
			return planbot.Errorf(planbot.EINVALID, "path escapes the workspace root: %s (%s)", ref.Value, where)
		}
		abs := filepath.Join(in.root, filepath.FromSlash(ref.Path))
		real, err := realPath(abs)
		if err != nil || !within(in.root, real) {
			return planbot.Errorf(planbot.EINVALID, "path escapes the workspace root through a symbolic link: %s (%s)", ref.Value, where)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			if ref.Dir {
				// krusty would try to fetch a missing resource as a
				// remote base.
				return planbot.Errorf(planbot.EINVALID, "%s does not exist in the workspace; remote bases are not allowed (%s)", ref.Value, where)
			}
			continue // krusty reports missing patches and files itself
		}
		switch {
		case fi.IsDir() && ref.Dir:
			if err := in.walk(ref.Path, seen); err != nil {
				return err
			}
		case ref.Field == "generators" || ref.Field == "transformers" || ref.Field == "validators":
			data, err := os.ReadFile(abs)
			if err != nil {
				return fmt.Errorf("read %s: %w", ref.Path, err)
			}
			if err := checkPluginConfig(data); err != nil {
				return planbot.Errorf(planbot.EINVALID, "%v: %s (%s)", err, ref.Value, where)
			}
		}
	}
	return nil
}

// functionAnnotations mark a plugin config as a KRM function, run as an
// executable or a container.
var functionAnnotations = []string{"config.kubernetes.io/function", "config.k8s.io/function"}

// docSeparator splits a YAML stream into documents.
var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// checkPluginConfig refuses generator, transformer and validator configs
// that name a KRM function or an exec plugin.
func checkPluginConfig(data []byte) error {
	for _, doc := range docSeparator.Split(string(data), -1) {
		var obj struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			continue // krusty reports malformed configs
		}
		for _, a := range functionAnnotations {
			if _, ok := obj.Metadata.Annotations[a]; ok {
				return fmt.Errorf("KRM functions and exec plugins are not allowed: %s %s has annotation %s", obj.APIVersion, obj.Kind, a)
			}
		}
	}
	return nil
}

// collectSecrets remembers the values of a secretGenerator's literals and
// env files, so that they can be removed from error messages.
func (in *input) collectSecrets(dir string, src types.KvPairSources) {
	add := func(v string) {
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		if len(v) >= 3 {
			in.secrets = append(in.secrets, v)
		}
	}
	for _, l := range src.LiteralSources {
		if _, v, ok := strings.Cut(l, "="); ok {
			add(v)
		} else {
			add(l) // malformed, and quoted whole in kustomize's error
		}
	}
	for _, e := range src.EnvSources {
		p := filepath.Join(in.root, filepath.FromSlash(path.Join(dir, e)))
		if r, err := realPath(p); err != nil || !within(in.root, r) {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
		for sc.Scan() {
			if _, v, ok := strings.Cut(sc.Text(), "="); ok {
				add(v)
			}
		}
		f.Close()
	}
}

// redact removes the overlay's known secret values from s.
func (in *input) redact(s string) string {
	for _, v := range in.secrets {
		s = strings.ReplaceAll(s, v, "(redacted)")
	}
	return s
}

// render runs krusty on a prepared overlay.
func render(ctx context.Context, in *input, opts Options) ([]Resource, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.timeout())
	defer cancel()
	fsys, err := newConfinedFS(in.root)
	if err != nil {
		return nil, err
	}
	ko := krusty.MakeDefaultOptions()
	ko.LoadRestrictions = types.LoadRestrictionsRootOnly
	ko.PluginConfig = types.DisabledPluginConfig()

	type outcome struct {
		res []Resource
		err error
	}
	if opts.Renders != nil {
		select {
		case opts.Renders <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("kustomize build %s: %w", in.dir, ctx.Err())
		}
	}
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		defer func() {
			if opts.Renders != nil {
				<-opts.Renders // when kustomize returns, even after ctx ended
			}
			if p := recover(); p != nil {
				o = outcome{err: fmt.Errorf("kustomize panicked: %v", p)}
			}
			done <- o
		}()
		m, err := krusty.MakeKustomizer(ko).Run(fsys, in.absDir)
		if err != nil {
			o.err = err
			return
		}
		o.res, o.err = convert(m.Resources(), opts.maxOutput())
	}()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("kustomize build %s: %w", in.dir, ctx.Err())
	case o := <-done:
		if o.err != nil {
			// Workspace paths are shown relative to the root.
			msg := strings.ReplaceAll(o.err.Error(), in.root+string(filepath.Separator), "")
			return nil, fmt.Errorf("kustomize build %s: %s", in.dir, in.redact(msg))
		}
		return o.res, nil
	}
}

// mapper is the part of a kustomize resource that convert reads.
type mapper interface {
	Map() (map[string]interface{}, error)
}

// convert turns krusty's resources into Resources, enforcing the output
// size limit.
func convert[M mapper](rs []M, limit int) ([]Resource, error) {
	out := make([]Resource, 0, len(rs))
	size := 0
	for _, r := range rs {
		obj, err := r.Map()
		if err != nil {
			return nil, err
		}
		res, err := newResource(obj)
		if err != nil {
			return nil, err
		}
		size += len(res.YAML)
		if size > limit {
			return nil, fmt.Errorf("rendered output exceeds the limit of %d bytes", limit)
		}
		out = append(out, res)
	}
	return out, nil
}

// newResource normalizes one object, replacing Secret values by digests.
func newResource(obj map[string]any) (Resource, error) {
	var r Resource
	apiVersion, _ := obj["apiVersion"].(string)
	r.Kind, _ = obj["kind"].(string)
	if g, v, ok := strings.Cut(apiVersion, "/"); ok {
		r.Group, r.Version = g, v
	} else {
		r.Version = apiVersion
	}
	if md, ok := obj["metadata"].(map[string]any); ok {
		r.Name, _ = md["name"].(string)
		r.Namespace, _ = md["namespace"].(string)
	}
	if isSecret(r.Group, r.Kind) {
		r.SecretKeys = make(map[string]string)
		if data, ok := obj["data"].(map[string]any); ok {
			for k, v := range data {
				s := fmt.Sprint(v)
				if b, err := base64.StdEncoding.DecodeString(s); err == nil {
					s = string(b)
				}
				r.SecretKeys[k] = digest(s)
			}
		}
		if data, ok := obj["stringData"].(map[string]any); ok {
			for k, v := range data {
				r.SecretKeys[k] = digest(fmt.Sprint(v))
			}
		}
		delete(obj, "data")
		delete(obj, "stringData")
	}
	y, err := yaml.Marshal(obj)
	if err != nil {
		return Resource{}, fmt.Errorf("normalize %s %s: %w", r.Kind, r.Name, err)
	}
	r.YAML = string(y)
	return r, nil
}

// isSecret reports whether group and kind name a core Secret.
func isSecret(group, kind string) bool { return group == "" && kind == "Secret" }

// digest returns a hex SHA-256 digest of a Secret value.
func digest(v string) string {
	h := sha256.Sum256([]byte("planbot secret value\x00" + v))
	return hex.EncodeToString(h[:])
}

// keyVersion changes whenever the rendering or normalization changes, so
// that old cache entries are not reused.
const keyVersion = "planbot-kustomize-1 kustomize/api v0.21.0"

// key returns a content hash of every file the overlay can read: the files
// under each kustomization directory it includes (the root-only load
// restrictor keeps a kustomization's files under its directory). A
// symbolic link contributes its target and, when that stays inside the
// root, the target's content. The key does not depend on where the
// workspace is, so base and head trees with equal inputs share it.
func (in *input) key() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", keyVersion, in.dir)
	seen := make(map[string]bool)
	var files []string
	for _, d := range in.kdirs {
		err := filepath.WalkDir(filepath.Join(in.root, filepath.FromSlash(d)), func(p string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				if e.Name() == ".git" {
					return filepath.SkipDir
				}
				return nil
			}
			rel, err := filepath.Rel(in.root, p)
			if err != nil {
				return err
			}
			if rel = filepath.ToSlash(rel); !seen[rel] {
				seen[rel] = true
				files = append(files, rel)
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("hash inputs of %s: %w", in.dir, err)
		}
	}
	sort.Strings(files)
	for _, rel := range files {
		p := filepath.Join(in.root, filepath.FromSlash(rel))
		fi, err := os.Lstat(p)
		if err != nil {
			return "", fmt.Errorf("hash inputs of %s: %w", in.dir, err)
		}
		fmt.Fprintf(h, "%s\x00", rel)
		if fi.Mode()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			fmt.Fprintf(h, "-> %s\x00", target)
			r, err := realPath(p)
			if err != nil || !within(in.root, r) {
				continue
			}
			if fi, err = os.Stat(r); err != nil {
				continue
			}
			p = r
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("hash inputs of %s: %w", in.dir, err)
		}
		fmt.Fprintf(h, "%d\x00", len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
