package config

import (
	"bytes"
	"flag"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name           string
		args           []string
		wantCode       int
		wantOK         bool
		stdout, stderr string
	}{
		{name: "flags", args: []string{"--n", "3"}, wantOK: true},
		{name: "help", args: []string{"-h"}, stdout: "usage\n"},
		{name: "unknown flag", args: []string{"--bogus"}, wantCode: 2,
			stderr: "planbot thing: flag provided but not defined: -bogus\nRun \"planbot thing -h\" for every flag.\n"},
		{name: "argument", args: []string{"--n", "3", "extra"}, wantCode: 2,
			stderr: "planbot thing: unexpected arguments [\"extra\"]\nRun \"planbot thing -h\" for every flag.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("planbot thing", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			n := fs.Int("n", 0, "a number")
			var stdout, stderr bytes.Buffer
			code, ok := ParseCommand(fs, tt.args, func(w io.Writer) { io.WriteString(w, "usage\n") }, &stdout, &stderr)
			if code != tt.wantCode || ok != tt.wantOK {
				t.Errorf("ParseCommand = %d, %v; want %d, %v", code, ok, tt.wantCode, tt.wantOK)
			}
			if diff := cmp.Diff(stdout.String(), tt.stdout); diff != "" {
				t.Errorf("stdout (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(stderr.String(), tt.stderr); diff != "" {
				t.Errorf("stderr (-got +want):\n%s", diff)
			}
			if ok && *n != 3 {
				t.Errorf("--n = %d, want 3", *n)
			}
		})
	}
}
