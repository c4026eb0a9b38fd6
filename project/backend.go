package project

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/planbot/planbot"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// SameState returns, for each of dirs (roots of the tree at baseRoot,
// usually the roots a change deletes), the roots of the tree at headRoot
// whose backend configuration is the same, sorted. A dir whose backend
// no head root shares is not in the map.
//
// planbot runs init the same way in every root, so two roots with the
// same backend block (type and arguments) read and write the same state:
// a root that is only moved to a new path keeps its state, and
// destroying the old path would destroy what the new one manages. Roots
// without a backend block, or with the local backend, keep their state
// next to their files and never share it.
func SameState(baseRoot string, dirs []string, headRoot string) (map[string][]string, error) {
	keys := map[string]string{}
	for _, dir := range dirs {
		k, err := backendKey(baseRoot, dir)
		if err != nil {
			return nil, err
		}
		if k != "" {
			keys[dir] = k
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	g, err := loadGraph(headRoot)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for dir := range g.modules {
		if len(g.users[dir]) > 0 {
			continue // a module: its backend block, if any, is ignored
		}
		k, err := backendKey(headRoot, dir)
		if err != nil || k == "" {
			continue
		}
		for gone, key := range keys {
			if key == k {
				out[gone] = append(out[gone], dir)
			}
		}
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out, nil
}

var (
	terraformSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "terraform"}}}
	backendSchema   = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "backend", LabelNames: []string{"type"}}}}
)

// backendKey returns a canonical text of the backend block of the root
// in dir (repo-relative) under root: its type and its arguments' values.
// It returns "" when the root has no backend block or uses the local
// backend, and when the block cannot be read; terraform reports those
// errors when the root is planned.
func backendKey(root, dir string) (string, error) {
	abs := filepath.Join(root, filepath.FromSlash(path.Clean(dir)))
	entries, err := os.ReadDir(abs)
	if err != nil {
		if os.IsNotExist(err) {
			return "", nil
		}
		return "", fmt.Errorf("read backend of %s: %w", dir, err)
	}
	parser := hclparse.NewParser()
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !planbot.IsConfigFile(name) {
			continue
		}
		content := partialContent(parser, filepath.Join(abs, name), terraformSchema)
		if content == nil {
			continue
		}
		for _, tb := range content.Blocks {
			inner, _, _ := tb.Body.PartialContent(backendSchema)
			if inner == nil || len(inner.Blocks) == 0 {
				continue
			}
			b := inner.Blocks[0]
			typ := b.Labels[0]
			if typ == "local" {
				return "", nil
			}
			attrs, diags := b.Body.JustAttributes()
			if diags.HasErrors() {
				return "", nil
			}
			var args []string
			for name, a := range attrs {
				v, diags := a.Expr.Value(nil)
				if diags.HasErrors() {
					return "", nil
				}
				j, err := ctyjson.SimpleJSONValue{Value: v}.MarshalJSON()
				if err != nil {
					return "", nil
				}
				args = append(args, name+"="+string(j))
			}
			slices.Sort(args)
			return typ + "\x00" + strings.Join(args, "\x00"), nil
		}
	}
	return "", nil
}
