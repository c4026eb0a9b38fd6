package project

import (
	"fmt"
	"sort"
	"strings"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/runner/kustomize"
)

// Detect finds the projects a change touches, given the base and head
// trees, and notes about them: Terraform roots and the Kustomize leaf
// overlays affected by the change, including the roots and overlays the
// change deletes. A deleted root is a project with Deleted set.
func Detect(baseRoot, headRoot string, files []planbot.ChangedFile) ([]planbot.Project, []string, error) {
	paths := ChangedPaths(files)
	projects, notes, err := detectTerraformChange(baseRoot, headRoot, paths)
	if err != nil {
		return nil, nil, fmt.Errorf("detect projects: %w", err)
	}
	overlays, err := detectOverlays(baseRoot, headRoot, paths)
	if err != nil {
		return nil, nil, err
	}
	projects = append(projects, overlays...)
	sort.Slice(projects, func(i, j int) bool { return projects[i].Dir < projects[j].Dir })
	return projects, notes, nil
}

// detectTerraformChange returns the roots the change touches on head and
// the roots it deletes. A deleted root is planned as a destroy from the
// base's copy, unless another root of the head uses its state.
func detectTerraformChange(baseRoot, headRoot string, paths []string) ([]planbot.Project, []string, error) {
	det, err := DetectTerraform(headRoot, paths)
	if err != nil {
		return nil, nil, err
	}
	projects := det.Projects
	gone, err := DeletedRoots(baseRoot, det.Deleted)
	if err != nil {
		return nil, nil, err
	}
	// A root whose state another root of the head uses (it was moved, or
	// they always shared it) is not destroyed: that would destroy what
	// the other root manages.
	shared, err := SameState(baseRoot, gone, headRoot)
	if err != nil {
		return nil, nil, err
	}
	var notes []string
	for _, dir := range gone {
		if others := shared[dir]; len(others) > 0 {
			notes = append(notes, movedNote(dir, others))
			continue
		}
		projects = append(projects, planbot.Project{Name: dir, Dir: dir, Workspace: "default", Kind: planbot.KindTerraform, Deleted: true})
	}
	return projects, notes, nil
}

// movedNote explains why a deleted root that shares its state with others
// is not destroyed.
func movedNote(dir string, others []string) string {
	return fmt.Sprintf("⚠️ %s is deleted, but %s has the same backend configuration, so both point at the same state: this looks like a move. planbot does not plan a destroy of %s; the plan of %s shows what changes in that state. To destroy those resources instead, give %s a state of its own first.",
		quoted(dir), quotedList(others), quoted(dir), quotedList(others), quotedList(others))
}

// detectOverlays returns the Kustomize leaf overlays the change touches
// on head and those it deletes.
func detectOverlays(baseRoot, headRoot string, paths []string) ([]planbot.Project, error) {
	overlays, err := kustomize.Detect(headRoot, paths)
	if err != nil {
		return nil, err
	}
	deleted, err := kustomize.DetectDeleted(baseRoot, headRoot, paths)
	if err != nil {
		return nil, err
	}
	var projects []planbot.Project
	for _, dir := range append(overlays, deleted...) {
		projects = append(projects, planbot.Project{Name: dir, Dir: dir, Kind: planbot.KindKustomize})
	}
	return projects, nil
}

// ChangedPaths returns every path a change touches, renamed files' old
// paths included.
func ChangedPaths(files []planbot.ChangedFile) []string {
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
		if f.PreviousPath != "" {
			paths = append(paths, f.PreviousPath)
		}
	}
	return paths
}

func quoted(dir string) string { return "`" + dir + "`" }

func quotedList(dirs []string) string {
	q := make([]string, len(dirs))
	for i, d := range dirs {
		q[i] = quoted(d)
	}
	return strings.Join(q, " and ")
}
