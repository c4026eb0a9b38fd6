package terraform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
)

// SupportedVersions is the range of terraform versions planbot supports,
// as a version constraint.
const SupportedVersions = ">= 1.5.0, < 2.0.0"

// installHint says which terraform planbot needs and how to get one; it ends
// the error of a missing binary.
const installHint = "planbot supports terraform " + SupportedVersions + ": install one from https://developer.hashicorp.com/terraform/install (a single binary; put it on PATH), or name another binary with --terraform-bin (PLANBOT_TERRAFORM_BIN)"

// versionArgs are the arguments of the version query.
func versionArgs() []string { return []string{"version", "-json"} }

// Version returns the version of the terraform binary, such as "1.11.4".
// It runs in the same minimal environment as every other command.
func (r *Runner) Version(ctx context.Context) (string, error) {
	home, err := os.MkdirTemp("", "planbot-tf-version-")
	if err != nil {
		return "", fmt.Errorf("terraform version: %w", err)
	}
	defer os.RemoveAll(home)
	env, _ := Environ(os.Environ(), home, nil)
	cmd := exec.CommandContext(ctx, r.Bin, versionArgs()...)
	cmd.Env = commandEnv(env)
	cmd.Dir = home
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("terraform version: %w: %s", err, limit(stderr.String(), 1000))
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil || v.Version == "" {
		return "", fmt.Errorf("terraform version: unexpected output %q", limit(string(out), 200))
	}
	return v.Version, nil
}
