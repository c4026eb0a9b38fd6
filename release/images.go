package release

import (
	"bytes"
	"fmt"
	"regexp"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Image is an image reference a release sets: Name and either Tag or
// Digest.
type Image struct {
	Name   string `json:"name"`
	Tag    string `json:"tag,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// To returns what the release sets: the tag, or the digest.
func (i Image) To() string {
	if i.Digest != "" {
		return i.Digest
	}
	return i.Tag
}

// Ref returns the image reference, "name:tag" or "name@digest".
func (i Image) Ref() string {
	if i.Digest != "" {
		return i.Name + "@" + i.Digest
	}
	return i.Name + ":" + i.Tag
}

var (
	tagRE    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	digestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

// Check returns what is wrong with the reference, or nil: exactly one of
// Tag and Digest, each well formed.
func (i Image) Check() error {
	switch {
	case i.Name == "":
		return fmt.Errorf("image name is empty")
	case i.Tag != "" && i.Digest != "":
		return fmt.Errorf("image %s: set tag or digest, not both", i.Name)
	case i.Tag == "" && i.Digest == "":
		return fmt.Errorf("image %s: set a tag or a digest", i.Name)
	case i.Tag != "" && !tagRE.MatchString(i.Tag):
		return fmt.Errorf("image %s: %q is not a valid tag", i.Name, i.Tag)
	case i.Digest != "" && !digestRE.MatchString(i.Digest):
		return fmt.Errorf("image %s: %q is not a sha256 digest (sha256: and 64 hex digits)", i.Name, i.Digest)
	}
	return nil
}

// Change is what a release did to one image of one kustomization.
type Change struct {
	Image string
	// From is the tag or digest the entry had, "" when it had neither
	// or was added.
	From string
	To   string
	// Added reports whether the kustomization had no entry for the image.
	Added bool
}

// SetImages sets the images: entries of a kustomization file's content
// (see SetImage) and returns the new content and the changes, one per
// image whose entry changed. No changes means the content is returned
// unchanged.
//
// The file is edited as a tree of YAML nodes, with kyaml: only the
// touched entries' values change, comments, key order, quoting and the
// file's sequence indentation are kept.
func SetImages(data []byte, images []Image) ([]byte, []Change, error) {
	r := &kio.ByteReader{Reader: bytes.NewReader(data), PreserveSeqIndent: true}
	nodes, err := r.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("parse kustomization: %w", err)
	}
	if len(nodes) != 1 || nodes[0].YNode().Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("parse kustomization: want one YAML mapping, found %d documents", len(nodes))
	}
	var changes []Change
	for _, img := range images {
		c, err := setImage(nodes[0], img)
		if err != nil {
			return nil, nil, err
		}
		if c != nil {
			changes = append(changes, *c)
		}
	}
	if len(changes) == 0 {
		return data, nil, nil
	}
	var b bytes.Buffer
	if err := (kio.ByteWriter{Writer: &b, ClearAnnotations: []string{kioutil.IndexAnnotation, kioutil.LegacyIndexAnnotation, kioutil.SeqIndentAnnotation}}).Write(nodes); err != nil {
		return nil, nil, fmt.Errorf("write kustomization: %w", err)
	}
	return b.Bytes(), changes, nil
}

// setImage sets one image in the kustomization node: newTag with digest
// removed, or digest with newTag removed, on the entry whose name is the
// image's, added at the end of images: when there is none. It returns nil
// when the entry already says so.
func setImage(kust *yaml.RNode, img Image) (*Change, error) {
	if err := img.Check(); err != nil {
		return nil, err
	}
	images, err := kust.Pipe(yaml.LookupCreate(yaml.SequenceNode, "images"))
	if err != nil {
		return nil, fmt.Errorf("kustomization images: %w", err)
	}
	if images.YNode().Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("kustomization images: must be a list")
	}
	entry, err := images.Pipe(yaml.MatchElement("name", img.Name))
	if err != nil {
		return nil, fmt.Errorf("kustomization images: %w", err)
	}
	set, drop := "newTag", "digest"
	if img.Digest != "" {
		set, drop = "digest", "newTag"
	}
	if entry == nil {
		entry = yaml.NewMapRNode(nil)
		for _, f := range []yaml.Filter{yaml.SetField("name", stringNode(img.Name, nil)), yaml.SetField(set, stringNode(img.To(), nil))} {
			if err := entry.PipeE(f); err != nil {
				return nil, fmt.Errorf("kustomization images: %w", err)
			}
		}
		if err := images.PipeE(yaml.Append(entry.YNode())); err != nil {
			return nil, fmt.Errorf("kustomization images: %w", err)
		}
		return &Change{Image: img.Name, To: img.To(), Added: true}, nil
	}
	from := fieldValue(entry, "newTag")
	if d := fieldValue(entry, "digest"); d != "" {
		from = d
	}
	old := entry.Field(set)
	if old != nil && old.Value.YNode().Value == img.To() && entry.Field(drop) == nil {
		return nil, nil
	}
	var prev *yaml.Node
	if old != nil {
		prev = old.Value.YNode()
	} else if renameKey(entry.YNode(), drop, set, stringNode(img.To(), nil).YNode()) {
		return &Change{Image: img.Name, From: from, To: img.To()}, nil
	}
	for _, f := range []yaml.Filter{yaml.SetField(set, stringNode(img.To(), prev)), yaml.Clear(drop)} {
		if err := entry.PipeE(f); err != nil {
			return nil, fmt.Errorf("kustomization images: %w", err)
		}
	}
	return &Change{Image: img.Name, From: from, To: img.To()}, nil
}

// renameKey replaces the key from of the mapping m, and its value, by the
// key to and value, in place, so that a digest takes the place of the tag
// it replaces (or the reverse). It reports false when m has no key from.
func renameKey(m *yaml.Node, from, to string, value *yaml.Node) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == from {
			m.Content[i].Value = to
			m.Content[i+1] = value
			return true
		}
	}
	return false
}

// fieldValue returns the scalar value of a field of a mapping, or "".
func fieldValue(m *yaml.RNode, field string) string {
	f := m.Field(field)
	if f == nil || f.Value.YNode().Kind != yaml.ScalarNode {
		return ""
	}
	return f.Value.YNode().Value
}

// stringNode returns a string scalar of value that keeps the style and
// comments of prev, the node it replaces, if any. A value YAML would read
// as another type (1.0, true) is quoted.
func stringNode(value string, prev *yaml.Node) *yaml.RNode {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: value}
	if prev != nil {
		n.Style = prev.Style
		n.HeadComment, n.LineComment, n.FootComment = prev.HeadComment, prev.LineComment, prev.FootComment
	}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 && !plainString(value) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return yaml.NewRNode(n)
}

// plainString reports whether value, written plain, reads back as the
// same string.
func plainString(value string) bool {
	var v any
	if err := yaml.Unmarshal([]byte("v: "+value), &v); err != nil {
		return false
	}
	m, ok := v.(map[string]any)
	s, isString := m["v"].(string)
	return ok && isString && s == value
}
