//go:build !unix

package workspaces

import "os/exec"

// setProcessGroup leaves cmd as is: process groups are a unix feature.
func setProcessGroup(cmd *exec.Cmd) {}
