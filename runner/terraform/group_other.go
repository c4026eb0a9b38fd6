//go:build unix && !linux

package terraform

import "syscall"

// sysProcAttr puts a process that planbot starts itself in its own
// process group.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// childGroups returns nil outside Linux: there, when a context ends,
// planbot relies on tfexec interrupting and then killing the terraform
// process.
func childGroups(home string) []int { return nil }
