//go:build !linux

package sandbox

import (
	"errors"
	"os"

	"github.com/planbot/planbot"
)

// Supported returns an error: Landlock exists only on Linux.
func Supported() error {
	return planbot.Errorf(planbot.EINVALID, "Landlock needs Linux; start planbot with --sandbox=off and accept that plans can read what planbot's user can")
}

// RunHelper returns at once unless this process was started as the
// sandbox helper; then, since nothing can be confined here, it runs the
// program only when the policy does not ask for confinement.
func RunHelper() {
	value, ok := os.LookupEnv(EnvVar)
	if !ok {
		return
	}
	err := errors.New("landlock needs Linux")
	if p, perr := policyFromEnv(value); perr != nil {
		err = perr
	} else if !p.Landlock {
		err = execProgram(p)
	}
	os.Stderr.WriteString("planbot sandbox: " + err.Error() + "\n")
	os.Exit(126)
}

// SetNonDumpable does nothing outside Linux.
func SetNonDumpable() error { return nil }
