//go:build unix

package workspaces

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts cmd in its own process group and makes cancelling
// its context kill the whole group, so that helpers git starts (such as
// git-remote-https) die with it.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
