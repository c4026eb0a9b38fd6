package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/planbot/planbot"
)

// problems collects what is wrong with a set of options, so that all of
// them are reported at once. Only the first problem of each flag is kept:
// a value that did not parse is not also reported as missing.
type problems struct {
	list []string
	seen map[string]bool // flag names ("--workers") with a problem
}

// add records a problem. A message that starts with a flag name is
// skipped when that flag already has one.
func (p *problems) add(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if name, _, _ := strings.Cut(msg, " "); strings.HasPrefix(name, "--") {
		if p.seen[name] {
			return
		}
		if p.seen == nil {
			p.seen = map[string]bool{}
		}
		p.seen[name] = true
	}
	p.list = append(p.list, msg)
}

// check records a problem when bad is true.
func (p *problems) check(bad bool, format string, args ...any) {
	if bad {
		p.add(format, args...)
	}
}

// err returns the problems as one EINVALID error, one per line, or nil.
func (p *problems) err() error {
	switch len(p.list) {
	case 0:
		return nil
	case 1:
		return planbot.Errorf(planbot.EINVALID, "%s", p.list[0])
	}
	return planbot.Errorf(planbot.EINVALID, "%d problems with the options:\n  %s", len(p.list), strings.Join(p.list, "\n  "))
}

// lenient wraps a flag's value so that a value that does not parse is
// recorded as a problem, saying what the flag expects, instead of stopping
// the parse at the first one.
type lenient struct {
	flag.Value
	name string
	env  bool // the value came from the environment twin
	p    *problems
}

func (l *lenient) Set(s string) error {
	if err := l.Value.Set(s); err != nil {
		if l.env {
			l.p.add("--%s must be %s, not %s=%q", l.name, expects(l.Value), EnvName(l.name), s)
		} else {
			l.p.add("--%s must be %s, not %q", l.name, expects(l.Value), s)
		}
	}
	return nil
}

// IsBoolFlag lets a wrapped boolean flag be given without a value.
func (l *lenient) IsBoolFlag() bool {
	b, ok := l.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// expects names what a flag value accepts, for error messages.
func expects(v flag.Value) string {
	if e, ok := v.(interface{ Expects() string }); ok {
		return e.Expects()
	}
	g, ok := v.(flag.Getter)
	if !ok {
		return "valid"
	}
	switch g.Get().(type) {
	case bool:
		return "true or false"
	case int, int64, uint, uint64:
		return "a number"
	case float64:
		return "a number"
	case time.Duration:
		return "a duration such as 90s, 5m or 1h30m"
	}
	return "valid"
}

// parseLenient sets every flag not given in args from its environment twin,
// then parses args. Values that do not parse become problems in p. It
// returns flag.ErrHelp for -h, and an error for an unknown flag.
func parseLenient(fs *flag.FlagSet, args []string, getenv func(string) string, p *problems) error {
	wrappers := map[string]*lenient{}
	fs.VisitAll(func(f *flag.Flag) {
		w := &lenient{Value: f.Value, name: f.Name, p: p}
		wrappers[f.Name] = w
		f.Value = w
	})
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(EnvName(f.Name)); v != "" {
			w := wrappers[f.Name]
			w.env = true
			w.Set(v)
			w.env = false
		}
	})
	return parseArgs(fs, args)
}

// ParseFlags parses the flags of a subcommand: every flag not given in
// args takes its PLANBOT_* environment twin (see EnvName), read through
// getenv, when that is set, and then its default. It returns
// flag.ErrHelp for -h, and an EINVALID error for an unknown flag or a
// value that does not parse, naming the twin when the value came from
// it. Every subcommand but server and drift, which report all their
// problems at once, parses its flags with it; WriteUsage shows the twins.
func ParseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := EnvName(f.Name)
		if v := getenv(name); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = planbot.Errorf(planbot.EINVALID, "invalid %s=%q: %v", name, v, err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	return parseArgs(fs, args)
}

// parseArgs parses args into fs: flag.ErrHelp for -h, and an EINVALID
// error for an unknown flag or a value that does not parse.
func parseArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return planbot.Errorf(planbot.EINVALID, "%v", err)
	}
	return nil
}

// NewFlagSet returns the empty flag set of the subcommand name (such as
// "planbot owners"). It prints nothing: its parse errors are returned, and
// WriteUsage writes its help.
func NewFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// WriteUsage writes a command's help: its synopsis and description, then
// every flag with its default and, when envTwins is set, its PLANBOT_*
// environment twin. Every subcommand's -h uses it.
func WriteUsage(w io.Writer, synopsis, about string, fs *flag.FlagSet, envTwins bool) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n", synopsis, strings.TrimSpace(about))
	if envTwins {
		fmt.Fprint(w, "\nFlags, each with its environment twin (a flag on the command line wins):\n")
	} else {
		fmt.Fprint(w, "\nFlags:\n")
	}
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		if l, ok := f.Value.(*lenient); ok {
			kind, usage = flag.UnquoteUsage(&flag.Flag{Name: f.Name, Usage: f.Usage, Value: l.Value})
		}
		if kind == "value" {
			kind = "list"
		}
		head := "  --" + f.Name
		if kind != "" {
			head += " " + kind
		}
		if envTwins {
			head = fmt.Sprintf("%-36s %s", head, EnvName(f.Name))
		}
		fmt.Fprintln(w, head)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "      %s\n", usage)
	})
}
