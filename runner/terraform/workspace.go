package terraform

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// workspaceShowArgs returns the arguments of `terraform workspace show`.
func workspaceShowArgs() []string { return []string{"workspace", "show", "-no-color"} }

// currentWorkspace returns the workspace selected in the run's directory,
// as `terraform workspace show` prints it. Terraform reads it from the
// file "environment" in its data directory, "default" when the file is
// missing or empty (TF_WORKSPACE, which would override it, never reaches
// terraform). planbot reads that file itself, saving a process, unless
// TF_DATA_DIR is passed to terraform: then terraform is asked.
func (s *run) currentWorkspace(ctx context.Context) (string, error) {
	if !s.dataDir {
		b, err := os.ReadFile(filepath.Join(s.dir, ".terraform", "environment"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		if w := string(bytes.TrimSpace(b)); w != "" {
			return w, nil
		}
		return "default", nil
	}
	var out bytes.Buffer
	if err := s.runArgs(ctx, "workspace show", workspaceShowArgs(), &out); err != nil {
		return "", err
	}
	return strings.TrimSpace(out.String()), nil
}

// selectWorkspace selects workspace, creating it when it does not exist.
//
// The backend is asked for its workspaces only when workspace is not
// "default": backends without workspaces (http, for one) refuse to list
// them, and their only state is the default one. The current selection
// is what init left in the directory and never needs the backend.
func (s *run) selectWorkspace(ctx context.Context, workspace string) error {
	var current string
	if workspace == "default" {
		current, err := s.currentWorkspace(ctx)
		if err != nil {
			return err
		}
		if current == workspace {
			return nil
		}
		return s.do(ctx, "workspace select", func(ctx context.Context) error {
			return s.tf.WorkspaceSelect(ctx, workspace)
		})
	}
	var list []string
	if err := s.do(ctx, "workspace list", func(ctx context.Context) error {
		var err error
		list, current, err = s.tf.WorkspaceList(ctx)
		return err
	}); err != nil {
		return err
	}
	if current == workspace {
		return nil
	}
	for _, w := range list {
		if w == workspace {
			return s.do(ctx, "workspace select", func(ctx context.Context) error {
				return s.tf.WorkspaceSelect(ctx, workspace)
			})
		}
	}
	return s.do(ctx, "workspace new", func(ctx context.Context) error {
		return s.tf.WorkspaceNew(ctx, workspace, tfexec.LockTimeout(s.r.lockTimeout()))
	})
}
