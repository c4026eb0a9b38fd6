package terraform

import (
	"io"
	"strings"
)

// Output hands what terraform prints while it runs, on standard output
// and standard error, to w as it comes: the output of init, plan and
// apply, not the JSON planbot reads back. w must be safe for concurrent
// writes. The Result and the apply output are unchanged by it.
func Output(w io.Writer) RunOption {
	return func(o *runOptions) { o.output = w }
}

// streams reports whether the output of command goes to the run's Output.
func streams(command string) bool {
	return command == "init" || strings.HasPrefix(command, "plan") || command == "apply"
}

// tee returns w, and the run's Output as well when command streams.
func (s *run) tee(command string, w io.Writer) io.Writer {
	if s.output == nil || !streams(command) {
		return w
	}
	if w == nil {
		return s.output
	}
	return io.MultiWriter(w, s.output)
}
