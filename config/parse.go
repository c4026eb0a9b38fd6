package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxRepoFileSize bounds the size of RepoFile.
const maxRepoFileSize = 256 << 10

// ParseRepo parses and validates the contents of RepoFile. An empty file
// is an error (version is required); a missing file is not parsed at all
// and means DefaultRepo. The error, if any, is a RepoErrors that lists
// every problem with its line.
//
// yaml decodes the file into Repo and rejects unknown keys, duplicate keys
// and values of the wrong shape. ParseRepo walks the file's nodes as well,
// to learn the line of every key and to reject what yaml would convert
// silently (a null, a number where a string belongs, "yes" for true);
// then it checks the values (see validate).
func ParseRepo(data []byte) (*Repo, error) {
	if len(data) > maxRepoFileSize {
		return nil, RepoErrors{{Msg: fmt.Sprintf("the file is larger than %d bytes", maxRepoFileSize)}}
	}
	root, errs := parseNode(data)
	if errs != nil {
		return nil, errs
	}
	r := DefaultRepo()
	r.Version = 0
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(r)
	var typeErr *yaml.TypeError
	if err != nil && !errors.As(err, &typeErr) {
		return nil, RepoErrors{yamlError(err)}
	}
	d := &decoder{lines: map[string]int{"": root.Line}, cols: map[*RepoError]int{}, budget: len(data) + 1024}
	if !d.walk(root, "") {
		return nil, RepoErrors{{Msg: "invalid YAML: document contains excessive aliasing"}}
	}
	if typeErr != nil {
		for _, msg := range typeErr.Errors {
			d.typeError(msg)
		}
	}
	if len(d.errs) == 0 {
		d.setLines(r)
		d.validate(r)
	}
	if len(d.errs) > 0 {
		return nil, d.sorted()
	}
	return r, nil
}

// parseNode parses data as a single YAML document and returns its root
// node, which is not empty.
func parseNode(data []byte) (*yaml.Node, RepoErrors) {
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
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == 0 || root.Kind == yaml.DocumentNode {
		return nil, RepoErrors{{Line: 1, Msg: "version: is required"}}
	}
	return root, nil
}

// yamlLineRE finds the line in a yaml syntax error.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a yaml syntax error into a RepoError.
func yamlError(err error) *RepoError {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &RepoError{Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &RepoError{Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// decoder holds what ParseRepo learns from the nodes of the file.
type decoder struct {
	// lines maps a key path ("projects[1].dir") to its line.
	lines map[string]int
	// keys and values are the file's key and value nodes in document
	// order, with their paths; typeError finds yaml's errors in them.
	keys, values []placed
	// budget is how many more nodes walk may visit, so that aliases
	// cannot make it loop or explode.
	budget int
	errs   RepoErrors
	// cols holds the column of each error in errs that has one, so
	// that errors on one line read from left to right.
	cols map[*RepoError]int
}

// placed is a node and the key path it sits at; parent is the path of the
// mapping that holds a key, and badKey reports whether the key is not a
// string.
type placed struct {
	node         *yaml.Node
	path, parent string
	badKey       bool
}

func (d *decoder) errorf(line int, keyPath, format string, args ...any) {
	if keyPath == "" {
		keyPath = "top level"
	}
	d.errs = append(d.errs, &RepoError{Line: line, Msg: keyPath + ": " + fmt.Sprintf(format, args...)})
}

// errorAt adds an error about the node n at keyPath.
func (d *decoder) errorAt(n *yaml.Node, keyPath, format string, args ...any) {
	d.errorf(n.Line, keyPath, format, args...)
	d.cols[d.errs[len(d.errs)-1]] = n.Column
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

// has reports whether the file sets keyPath.
func (d *decoder) has(keyPath string) bool {
	_, ok := d.lines[keyPath]
	return ok
}

// sorted returns the errors in line order, each once.
func (d *decoder) sorted() RepoErrors {
	slices.SortStableFunc(d.errs, func(a, b *RepoError) int {
		return cmp.Or(a.Line-b.Line, d.cols[a]-d.cols[b])
	})
	return slices.CompactFunc(d.errs, func(a, b *RepoError) bool { return *a == *b })
}

func joinKey(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// walk records the line of every key and list item under n, which sits
// at keyPath, and checks its scalars. It returns false when it runs out
// of budget.
func (d *decoder) walk(n *yaml.Node, keyPath string) bool {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if d.budget--; d.budget < 0 {
		return false
	}
	d.values = append(d.values, placed{node: n, path: keyPath})
	switch n.Kind {
	case yaml.ScalarNode:
		d.checkScalar(n, keyPath)
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			if kn.Kind != yaml.ScalarNode || kn.Tag != "!!str" {
				d.keys = append(d.keys, placed{node: kn, badKey: true})
				d.errorAt(kn, keyPath, "keys must be strings")
				continue
			}
			sub := joinKey(keyPath, kn.Value)
			d.keys = append(d.keys, placed{node: kn, path: sub, parent: keyPath})
			if !d.has(sub) {
				d.lines[sub] = kn.Line
			}
			if !d.walk(vn, sub) {
				return false
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			sub := fmt.Sprintf("%s[%d]", keyPath, i)
			d.lines[sub] = item.Line
			if !d.walk(item, sub) {
				return false
			}
		}
	}
	return true
}

// scalarRules are the YAML tag a scalar field needs, by its Go kind, and
// what to say when it has another. yaml would turn any scalar into a
// string and "yes" or 1.5 into a bool or an int.
var scalarRules = map[reflect.Kind]struct{ tag, msg string }{
	reflect.String: {"!!str", "must be a string"},
	reflect.Bool:   {"!!bool", "must be true or false"},
	reflect.Int:    {"!!int", "must be an integer"},
}

// checkScalar checks the scalar n at keyPath. Scalars where a mapping or a
// list belongs, and unknown keys, are left to yaml.
func (d *decoder) checkScalar(n *yaml.Node, keyPath string) {
	if n.Tag == "!!null" {
		d.errorAt(n, keyPath, "must not be empty")
		return
	}
	t, ok := typeAt(keyPath)
	if !ok {
		return
	}
	if rule, ok := scalarRules[t.Kind()]; ok && n.Tag != rule.tag {
		d.errorAt(n, keyPath, "%s", rule.msg)
	}
}

var (
	unknownKeyRE   = regexp.MustCompile(`^line (\d+): field (.*) not found in type `)
	duplicateKeyRE = regexp.MustCompile(`^line (\d+): (?:mapping key (".*") already defined|field (.*) already set)`)
	wrongShapeRE   = regexp.MustCompile(`^line (\d+): cannot unmarshal (!!\w+).* into (\S+)$`)
)

// typeError turns one of the messages of a *yaml.TypeError into a
// RepoError about the key path it concerns.
func (d *decoder) typeError(msg string) {
	if m := unknownKeyRE.FindStringSubmatch(msg); m != nil {
		if k, ok := d.take(&d.keys, m[1], func(p placed) bool { return p.node.Value == m[2] }); ok {
			if k.badKey {
				return // walk reported it
			}
			t, _ := typeAt(k.parent)
			if keys := yamlKeys(t); len(keys) > 0 {
				d.errorAt(k.node, k.path, "unknown key (want one of %s)", strings.Join(keys, ", "))
			} else {
				// A key met through an alias has no known parent type.
				d.errorAt(k.node, k.path, "unknown key")
			}
			return
		}
	} else if m := duplicateKeyRE.FindStringSubmatch(msg); m != nil {
		name := m[3]
		if m[2] != "" {
			name, _ = strconv.Unquote(m[2])
		}
		if k, ok := d.take(&d.keys, m[1], func(p placed) bool { return p.node.Value == name }); ok {
			d.errorAt(k.node, k.path, "duplicate key")
			return
		}
	} else if m := wrongShapeRE.FindStringSubmatch(msg); m != nil {
		if v, ok := d.take(&d.values, m[1], func(p placed) bool { return p.node.ShortTag() == m[2] && typeName(p.path) == m[3] }); ok {
			d.errorAt(v.node, v.path, "%s", shapeMessage(v.path))
			return
		}
	}
	// A message this does not know keeps yaml's words, and its line.
	e := &RepoError{Msg: msg}
	if line, rest, ok := strings.Cut(strings.TrimPrefix(msg, "line "), ": "); ok {
		if n, err := strconv.Atoi(line); err == nil {
			e.Line, e.Msg = n, rest
		}
	}
	d.errs = append(d.errs, e)
}

// take removes from nodes, and returns, the first node on the given line
// for which ok holds. yaml reports its errors in document order, so each
// error finds its own node even when a line holds several.
func (d *decoder) take(nodes *[]placed, line string, ok func(placed) bool) (placed, bool) {
	l, _ := strconv.Atoi(line)
	i := slices.IndexFunc(*nodes, func(p placed) bool { return p.node.Line == l && ok(p) })
	if i < 0 {
		return placed{}, false
	}
	p := (*nodes)[i]
	*nodes = slices.Delete(*nodes, i, i+1)
	return p, true
}

// shapeMessage says what the value at keyPath must be.
func shapeMessage(keyPath string) string {
	t, _ := typeAt(keyPath)
	switch t.Kind() {
	case reflect.Struct:
		return "must be a mapping"
	case reflect.Slice:
		return "must be a list"
	}
	if rule, ok := scalarRules[t.Kind()]; ok {
		return rule.msg
	}
	return "cannot decode into " + t.String()
}

// typeName returns the name of the Go type that the value at keyPath
// decodes into, as yaml's errors spell it, or "".
func typeName(keyPath string) string {
	if t, ok := typeAt(keyPath); ok {
		return t.String()
	}
	return ""
}

// typeAt returns the Go type that the value at keyPath decodes into, and
// false when keyPath names no field of Repo.
func typeAt(keyPath string) (reflect.Type, bool) {
	t := reflect.TypeFor[Repo]()
	for keyPath != "" {
		if rest, ok := strings.CutPrefix(keyPath, "["); ok {
			if t.Kind() != reflect.Slice {
				return nil, false
			}
			_, keyPath, _ = strings.Cut(rest, "]")
			t = t.Elem()
			continue
		}
		keyPath = strings.TrimPrefix(keyPath, ".")
		i := strings.IndexAny(keyPath, ".[")
		if i < 0 {
			i = len(keyPath)
		}
		if t.Kind() != reflect.Struct {
			return nil, false
		}
		f, ok := fieldByKey(t, keyPath[:i])
		if !ok {
			return nil, false
		}
		t, keyPath = f.Type, keyPath[i:]
	}
	return t, true
}

// setLines records in every project the line of its entry.
func (d *decoder) setLines(r *Repo) {
	for i := range r.Projects {
		r.Projects[i].Line = d.line(fmt.Sprintf("projects[%d]", i))
	}
}

// yamlKeys returns the keys a YAML mapping decoded into a value of type t
// may hold, in field order, read from the yaml struct tags.
func yamlKeys(t reflect.Type) []string {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	for f := range t.Fields() {
		if k := yamlKey(f); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// fieldByKey returns the field of the struct type t that the YAML key
// decodes into.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for f := range t.Fields() {
		if yamlKey(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func yamlKey(f reflect.StructField) string {
	k, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if k == "-" {
		return ""
	}
	return k
}
