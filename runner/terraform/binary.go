package terraform

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/planbot/planbot"
)

// The versions of each engine planbot supports, as version constraints.
const (
	SupportedVersions         = ">= 1.5.0, < 2.0.0"
	SupportedOpenTofuVersions = ">= 1.10.0, < 2.0.0"
)

// Supported returns the versions of engine e that planbot supports, as a
// version constraint.
func Supported(e planbot.Engine) string {
	if e == planbot.EngineOpenTofu {
		return SupportedOpenTofuVersions
	}
	return SupportedVersions
}

// InstallHint says which versions of engine e planbot supports and how to
// get one; it ends the error of a missing binary.
func InstallHint(e planbot.Engine) string {
	if e == planbot.EngineOpenTofu {
		return "planbot supports OpenTofu " + SupportedOpenTofuVersions + ": install it from https://opentofu.org/docs/intro/install/ (a single binary named tofu; put it on PATH), or name it with --terraform-bin (PLANBOT_TERRAFORM_BIN) to run every project with it"
	}
	return "planbot supports terraform " + SupportedVersions + ": install one from https://developer.hashicorp.com/terraform/install (a single binary; put it on PATH), or name another binary with --terraform-bin (PLANBOT_TERRAFORM_BIN), such as tofu for OpenTofu"
}

// Binary is the binary of one engine.
type Binary struct {
	// Path is absolute.
	Path   string
	Engine planbot.Engine
}

// FindBinary returns the binary that runs the projects whose
// configuration names no engine: explicit when it is set (a path, or a
// name such as "tofu" that is looked up on PATH), else terraform on PATH.
// Its Engine is what the binary says it is in the first line of
// `version`. FindBinary never downloads anything.
func FindBinary(ctx context.Context, explicit string) (Binary, error) {
	path, err := lookBinary(explicit, planbot.EngineTerraform)
	if err != nil {
		return Binary{}, err
	}
	e, err := identify(ctx, path)
	if err != nil {
		return Binary{}, err
	}
	return Binary{Path: path, Engine: e}, nil
}

// FindEngine returns the binary of engine e on PATH: terraform or tofu.
func FindEngine(ctx context.Context, e planbot.Engine) (Binary, error) {
	path, err := lookBinary("", e)
	if err != nil {
		return Binary{}, err
	}
	got, err := identify(ctx, path)
	if err != nil {
		return Binary{}, err
	}
	if got != e {
		return Binary{}, planbot.Errorf(planbot.EINVALID, "%s on PATH (%s) is %s, not %s", e.Command(), path, got.Name(), e.Name())
	}
	return Binary{Path: path, Engine: e}, nil
}

// FindBinaries returns the binaries of a Runner: FindBinary(explicit), and
// the binary of every other engine found on PATH, for the projects that
// name it. Only the first must exist.
func FindBinaries(ctx context.Context, explicit string) (Binary, map[planbot.Engine]string, error) {
	def, err := FindBinary(ctx, explicit)
	if err != nil {
		return Binary{}, nil, err
	}
	others := map[planbot.Engine]string{}
	for _, e := range []planbot.Engine{planbot.EngineTerraform, planbot.EngineOpenTofu} {
		if e == def.Engine {
			continue
		}
		if b, err := FindEngine(ctx, e); err == nil {
			others[e] = b.Path
		}
	}
	return def, others, nil
}

// lookBinary returns the absolute path of explicit, or of engine e's
// binary on PATH when explicit is empty.
func lookBinary(explicit string, e planbot.Engine) (string, error) {
	name := explicit
	if name == "" {
		name = e.Command()
	}
	path := name
	var err error
	if !strings.Contains(name, string(filepath.Separator)) {
		path, err = exec.LookPath(name)
	} else if path, err = filepath.Abs(name); err == nil && !executable(path) {
		err = os.ErrNotExist
	}
	if err == nil {
		path, err = filepath.Abs(path)
	}
	if err == nil {
		return path, nil
	}
	hint := InstallHint(e)
	if explicit != "" {
		if explicit == planbot.EngineOpenTofu.Command() {
			hint = InstallHint(planbot.EngineOpenTofu)
		}
		return "", &planbot.Error{Code: planbot.ENOTFOUND, Err: err,
			Message: fmt.Sprintf("terraform binary %q is missing or not executable. %s", explicit, hint)}
	}
	return "", &planbot.Error{Code: planbot.ENOTFOUND, Err: err,
		Message: fmt.Sprintf("no %s binary on PATH. %s", e.Command(), hint)}
}

// executable reports whether path is a regular file someone may execute.
func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// identify runs `bin version` in a minimal environment and returns the
// engine its first line names: "Terraform v1.5.7" or "OpenTofu v1.10.6".
func identify(ctx context.Context, bin string) (planbot.Engine, error) {
	out, err := runVersion(ctx, bin, "version")
	if err != nil {
		return "", err
	}
	first, _, _ := strings.Cut(string(out), "\n")
	switch {
	case strings.HasPrefix(first, "Terraform v"):
		return planbot.EngineTerraform, nil
	case strings.HasPrefix(first, "OpenTofu v"):
		return planbot.EngineOpenTofu, nil
	}
	return "", planbot.Errorf(planbot.EINVALID, "%s is neither terraform nor OpenTofu: its `version` printed %q", bin, limit(first, 200))
}

// runVersion runs bin with args in a fresh directory and the minimal
// environment of every other command, and returns its standard output.
func runVersion(ctx context.Context, bin string, args ...string) ([]byte, error) {
	home, err := os.MkdirTemp("", "planbot-tf-version-")
	if err != nil {
		return nil, fmt.Errorf("terraform version: %w", err)
	}
	defer os.RemoveAll(home)
	env, _ := Environ(os.Environ(), home, nil)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = commandEnv(env)
	cmd.Dir = home
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s version: %w: %s", filepath.Base(bin), err, limit(stderr.String(), 1000))
	}
	return out, nil
}
