package terraform

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// initInputs are what `terraform init` reads of a root, apart from the
// terraform binary, its CLI configuration and its environment: the blocks
// that choose the backend, the providers and the modules, in the root and
// in every local module it calls, and the dependency lock file.
type initInputs struct {
	h io.Writer
	// root is the checkout; local modules outside it are not followed.
	root string
	seen map[string]bool
}

// errUnpinned says that a fresh init could install something other than
// what an earlier init of the same inputs installed.
var errUnpinned = errors.New("not pinned")

// initKey returns a digest of the inputs of `terraform init` in dir (see
// initInputs) and of extra (the binary, the scope, the environment). It
// fails with errUnpinned when a module source can change without the
// configuration changing: a registry module without an exact version, a
// git or Mercurial source without a full commit id as ref, or any other
// remote source (archives over HTTP, buckets). A cached .terraform is only
// equivalent to a fresh init when every source is pinned.
func initKey(root, dir string, extra ...string) (string, error) {
	h := sha256.New()
	for _, e := range extra {
		fmt.Fprintf(h, "%d:%s\n", len(e), e)
	}
	lock, err := os.ReadFile(filepath.Join(dir, ".terraform.lock.hcl"))
	switch {
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(h, "lock:none\n")
	case err != nil:
		return "", err
	default:
		fmt.Fprintf(h, "lock:%d:%s\n", len(lock), lock)
	}
	in := &initInputs{h: h, root: root, seen: map[string]bool{}}
	if err := in.module(dir, "."); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// module writes the init inputs of the module in dir, called with source
// (the root is "."), and follows its local module calls.
func (in *initInputs) module(dir, source string) error {
	fmt.Fprintf(in.h, "module:%q\n", source)
	if in.seen[dir] {
		return nil
	}
	in.seen[dir] = true
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var calls []string
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir():
			continue
		case strings.HasSuffix(name, ".tf.json"):
			// Rare; the whole file counts.
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return err
			}
			fmt.Fprintf(in.h, "json:%q:%d:%s\n", name, len(b), b)
		case strings.HasSuffix(name, ".tf"):
			c, err := in.file(filepath.Join(dir, name))
			if err != nil {
				return err
			}
			calls = append(calls, c...)
		}
	}
	slices.Sort(calls)
	for _, src := range slices.Compact(calls) {
		sub := filepath.Join(dir, filepath.FromSlash(src))
		if !within(in.root, sub) {
			return fmt.Errorf("module %q is outside the checkout: %w", src, errUnpinned)
		}
		if err := in.module(sub, src); err != nil {
			return err
		}
	}
	return nil
}

// file writes the init inputs of one .tf file and returns its local
// module sources.
func (in *initInputs) file(path string) ([]string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, diags := hclsyntax.ParseConfig(src, filepath.Base(path), hcl.InitialPos)
	if diags.HasErrors() {
		// terraform reports it; nothing is cached for a root it rejects.
		return nil, fmt.Errorf("%s: %s: %w", path, diags.Error(), errUnpinned)
	}
	fmt.Fprintf(in.h, "file:%q\n", filepath.Base(path))
	raw := func(r hcl.Range) []byte { return src[r.Start.Byte:r.End.Byte] }
	var local []string
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		switch b.Type {
		case "terraform":
			for _, nb := range b.Body.Blocks {
				switch nb.Type {
				case "backend", "cloud", "required_providers", "provider_meta":
					fmt.Fprintf(in.h, "terraform:%s\n", raw(nb.Range()))
				}
			}
		case "module":
			l, err := in.call(b, raw)
			if err != nil {
				return nil, fmt.Errorf("%s: module %q: %w", path, strings.Join(b.Labels, "."), err)
			}
			if l != "" {
				local = append(local, l)
			}
		}
	}
	return local, nil
}

// call writes a module call's source and version and returns the source
// when it is a local path.
func (in *initInputs) call(b *hclsyntax.Block, raw func(hcl.Range) []byte) (string, error) {
	source, err := literal(b, "source")
	if err != nil {
		return "", err
	}
	version, err := literal(b, "version")
	if err != nil {
		return "", err
	}
	fmt.Fprintf(in.h, "call:%q:%q:%q\n", strings.Join(b.Labels, "."), source, version)
	switch {
	case strings.HasPrefix(source, "./") || strings.HasPrefix(source, "../"):
		return source, nil
	case pinned(source, version):
		return "", nil
	}
	return "", errUnpinned
}

// literal returns the string value of a block's attribute, "" when it is
// absent; an attribute that is not a constant string is an error.
func literal(b *hclsyntax.Block, name string) (string, error) {
	a, ok := b.Body.Attributes[name]
	if !ok {
		return "", nil
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return "", fmt.Errorf("%s is not a constant string: %w", name, errUnpinned)
	}
	return v.AsString(), nil
}

var (
	exactVersion = regexp.MustCompile(`^\s*=?\s*v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?\s*$`)
	commitRef    = regexp.MustCompile(`[?&]ref=[0-9a-f]{40}(&|$)`)
	registryAddr = regexp.MustCompile(`^([a-z0-9.-]+\.[a-z]+/)?[0-9A-Za-z_-]+/[0-9A-Za-z_-]+/[0-9a-z]+(//.*)?$`)
)

// pinned reports whether a remote module source always names the same
// content: a registry module with an exact version, or a git or Mercurial
// source whose ref is a full commit id.
func pinned(source, version string) bool {
	switch {
	case strings.HasPrefix(source, "git::") || strings.HasPrefix(source, "hg::") ||
		strings.HasPrefix(source, "github.com/") || strings.HasPrefix(source, "bitbucket.org/") ||
		strings.HasPrefix(source, "git@"):
		return commitRef.MatchString(source)
	case strings.Contains(source, "::") || strings.Contains(source, "://"):
		return false // archives over HTTP, buckets, and other getters
	case registryAddr.MatchString(source):
		return exactVersion.MatchString(version)
	}
	return false
}

// within reports whether path is dir or lies under it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
