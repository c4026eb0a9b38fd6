package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/planbot/planbot"
)

// ParseCommand parses the flags of a subcommand, named by fs (such as
// "planbot plan"), which takes no other arguments, after their PLANBOT_*
// twins from the environment (see ParseFlags). ok reports whether the
// subcommand goes on; when it does not, code is its exit status: 0 after
// -h, which writes usage to stdout, and 2 after a bad flag or argument,
// told on stderr.
func ParseCommand(fs *flag.FlagSet, args []string, usage func(io.Writer), stdout, stderr io.Writer) (code int, ok bool) {
	if err := ParseFlags(fs, args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0, false
		}
		fmt.Fprintf(stderr, "%s: %s\nRun \"%s -h\" for every flag.\n", fs.Name(), planbot.ErrorMessage(err), fs.Name())
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\nRun \"%s -h\" for every flag.\n", fs.Name(), fs.Args(), fs.Name())
		return 2, false
	}
	return 0, true
}
