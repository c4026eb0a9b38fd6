//go:build !linux

package sandbox

import (
	"os"
	"os/exec"
)

// execProgram runs p's program with its environment and exits with its
// status: there is no exec(2) replacing the process on every platform.
func execProgram(p Policy) error {
	cmd := exec.Command(p.Program, os.Args[1:]...)
	cmd.Env = p.environ(os.Environ())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		return err
	}
	os.Exit(0)
	return nil
}
