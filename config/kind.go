package config

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/planbot/planbot"
)

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
			case planbot.IsConfigFile(n):
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
