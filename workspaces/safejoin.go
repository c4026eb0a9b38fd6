package workspaces

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/planbot/planbot"
)

// SafeJoin joins the slash-separated relative path rel to the directory
// root and returns the result with symlinks resolved, or an EINVALID error
// when rel is absolute, climbs out of root with "..", or passes through a
// symlink that leads outside root. Components of rel that do not exist yet
// are allowed and appended as they are. root must exist.
//
// SafeJoin is meant for paths that come from a pull request (project
// directories, kustomize resources): it checks the files as they are when it
// is called.
func SafeJoin(root, rel string) (string, error) {
	if rel == "" || strings.ContainsRune(rel, 0) {
		return "", planbot.Errorf(planbot.EINVALID, "invalid path %q", rel)
	}
	if strings.HasPrefix(rel, "/") || filepath.IsAbs(rel) {
		return "", planbot.Errorf(planbot.EINVALID, "path %q must be relative to the repository", rel)
	}
	cleaned := filepath.Clean(filepath.FromSlash(rel))
	if cleaned == ".." || strings.HasPrefix(cleaned, ".."+string(filepath.Separator)) {
		return "", planbot.Errorf(planbot.EINVALID, "path %q leaves the repository", rel)
	}
	base, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", &planbot.Error{Code: planbot.EINTERNAL, Message: "workspace root is not accessible", Err: err}
	}
	base, err = filepath.Abs(base)
	if err != nil {
		return "", &planbot.Error{Code: planbot.EINTERNAL, Message: "workspace root is not accessible", Err: err}
	}
	if cleaned == "." {
		return base, nil
	}
	parts := strings.Split(cleaned, string(filepath.Separator))
	cur := base
	for i, part := range parts {
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if err != nil {
			if os.IsNotExist(err) {
				// Nothing below a missing entry can be a symlink.
				return filepath.Join(append([]string{cur}, parts[i:]...)...), nil
			}
			return "", &planbot.Error{Code: planbot.EINVALID, Message: "path " + strconv.Quote(rel) + " is not accessible", Err: err}
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			resolved, err := filepath.EvalSymlinks(next)
			if err != nil {
				return "", &planbot.Error{Code: planbot.EINVALID, Message: "path " + strconv.Quote(rel) + " contains a broken symlink", Err: err}
			}
			if !within(base, resolved) {
				return "", planbot.Errorf(planbot.EINVALID, "path %q follows a symlink out of the repository", rel)
			}
			next = resolved
		}
		cur = next
	}
	return cur, nil
}

// within reports whether path is dir or inside it. Both are clean and
// absolute.
func within(dir, path string) bool {
	if path == dir {
		return true
	}
	return strings.HasPrefix(path, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}
