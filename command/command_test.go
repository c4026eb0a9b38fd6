package command

import (
	"path"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Command
		ok   bool
		// wantErr is a substring of the error message; "" means no error.
		wantErr string
	}{
		{name: "plan", body: "/plan", want: Command{Name: Plan}, ok: true},
		{name: "apply", body: "/apply", want: Command{Name: Apply}, ok: true},
		{name: "unlock", body: "/unlock", want: Command{Name: Unlock}, ok: true},
		{name: "help", body: "/help", want: Command{Name: Help}, ok: true},
		{name: "promote", body: "/promote production", want: Command{Name: Promote, Env: "production"}, ok: true},
		{name: "promote without env", body: "/promote", wantErr: "needs the environment"},
		{name: "promote two envs", body: "/promote a b", wantErr: "takes one environment"},
		{name: "promote flag", body: "/promote -x", wantErr: "is not an environment name"},
		{name: "promote path", body: "/promote ../x", wantErr: "is not an environment name"},
		{name: "promote odd characters", body: "/promote prod;rm", wantErr: "may only contain"},
		{name: "typo promte", body: "/promte production", wantErr: "did you mean `/promote`"},
		{name: "leading whitespace", body: "  \t/plan", want: Command{Name: Plan}, ok: true},
		{name: "leading blank lines", body: "\r\n\n  /apply\r\n", want: Command{Name: Apply}, ok: true},
		{name: "trailing whitespace and CRLF", body: "/plan  \r\nthanks!", want: Command{Name: Plan}, ok: true},
		{name: "later lines ignored", body: "/apply -p prod\n/plan -d ../../etc --force", want: Command{Name: Apply, Project: "prod"}, ok: true},
		{name: "project short", body: "/plan -p envs-prod", want: Command{Name: Plan, Project: "envs-prod"}, ok: true},
		{name: "project long", body: "/apply --project envs/prod", want: Command{Name: Apply, Project: "envs/prod"}, ok: true},
		{name: "dir short", body: "/plan -d envs/dev", want: Command{Name: Plan, Dir: "envs/dev"}, ok: true},
		{name: "dir long", body: "/unlock --dir envs/dev", want: Command{Name: Unlock, Dir: "envs/dev"}, ok: true},
		{name: "dir cleaned", body: "/plan -d ./envs/dev/", want: Command{Name: Plan, Dir: "envs/dev"}, ok: true},
		{name: "dir double slash cleaned", body: "/plan -d envs//dev/./", want: Command{Name: Plan, Dir: "envs/dev"}, ok: true},
		{name: "dir root", body: "/plan -d .", want: Command{Name: Plan, Dir: "."}, ok: true},
		{name: "dir root slash", body: "/plan -d ./", want: Command{Name: Plan, Dir: "."}, ok: true},
		{name: "tabs between args", body: "/plan\t-d\tenvs/dev", want: Command{Name: Plan, Dir: "envs/dev"}, ok: true},

		{name: "plain conversation", body: "LGTM, please apply", ok: false},
		{name: "empty", body: "", ok: false},
		{name: "only whitespace", body: " \n\t ", ok: false},
		{name: "command not at start", body: "please /apply", ok: false},
		{name: "command on second line", body: "hello\n/apply", ok: false},
		{name: "quoted in code", body: "`/apply`", ok: false},
		{name: "quote reply", body: "> /apply\nno", ok: false},
		{name: "unrelated slash word", body: "/cc @alice", ok: false},
		{name: "path", body: "/usr/bin/terraform is old", ok: false},
		{name: "slash alone", body: "/ nothing", ok: false},
		{name: "longer word", body: "/planning meeting at 3pm", ok: false},

		{name: "typo aply", body: "/aply", wantErr: "did you mean `/apply`"},
		{name: "typo transposed", body: "/hlep", wantErr: "did you mean `/help`"},
		{name: "typo unlok", body: "/unlok -p x", wantErr: "did you mean `/unlock`"},
		{name: "typo plna", body: "/plna", wantErr: "did you mean `/plan`"},
		{name: "wrong case", body: "/Apply", wantErr: "did you mean `/apply`"},
		{name: "suffix", body: "/apply-all", wantErr: "did you mean `/apply`"},
		{name: "punctuation", body: "/apply!", wantErr: "did you mean `/apply`"},
		{name: "unknown flag", body: "/apply -auto-approve", wantErr: "unknown flag `-auto-approve`"},
		{name: "terraform flag smuggled", body: "/plan -d envs/dev -var x=1", wantErr: "unknown flag `-var`"},
		{name: "equals form", body: "/plan --dir=envs/dev", wantErr: "unknown flag"},
		{name: "extra argument", body: "/apply now", wantErr: "unexpected argument `now`"},
		{name: "both selectors", body: "/plan -p a -d b", wantErr: "at most one"},
		{name: "repeated selector", body: "/plan -p a -p b", wantErr: "at most one"},
		{name: "help with args", body: "/help -p x", wantErr: "takes no arguments"},
		{name: "missing value", body: "/plan -p", wantErr: "needs a value"},
		{name: "value is flag", body: "/plan -p -d", wantErr: "not a flag"},
		{name: "value starts with dash", body: "/plan -d -rf", wantErr: "not a flag"},
		{name: "dir cleans to dash", body: "/plan -d ./-rf", wantErr: "not a flag"},
		{name: "dotdot", body: "/plan -d ../secrets", wantErr: "`..`"},
		{name: "dotdot inside", body: "/plan -d envs/../../x", wantErr: "`..`"},
		{name: "dotdot in name", body: "/plan -p a/../b", wantErr: "`..`"},
		{name: "absolute", body: "/plan -d /etc", wantErr: "not absolute"},
		{name: "backslash", body: `/plan -d envs\dev`, wantErr: "may only contain"},
		{name: "shell chars", body: "/plan -p $(id)", wantErr: "may only contain"},
		{name: "unicode", body: "/plan -p prød", wantErr: "may only contain"},
		{name: "control char", body: "/plan -p a\x00b", wantErr: "may only contain"},
		{name: "too long", body: "/plan -p " + strings.Repeat("a", maxValueLen+1), wantErr: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := Parse(tt.body)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Parse(%q) = %+v, %v, nil; want error containing %q", tt.body, got, ok, tt.wantErr)
				}
				if code := planbot.ErrorCode(err); code != planbot.EINVALID {
					t.Errorf("error code = %q, want %q", code, planbot.EINVALID)
				}
				msg := planbot.ErrorMessage(err)
				if !strings.Contains(msg, tt.wantErr) {
					t.Errorf("error message %q does not contain %q", msg, tt.wantErr)
				}
				if !strings.Contains(msg, "Usage:") {
					t.Errorf("error message %q has no usage text", msg)
				}
				if ok {
					t.Errorf("ok = true with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.body, err)
			}
			if ok != tt.ok {
				t.Errorf("ok = %v, want %v", ok, tt.ok)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("Parse(%q) mismatch (-got +want):\n%s", tt.body, diff)
			}
		})
	}
}

func TestCommandString(t *testing.T) {
	tests := []struct {
		name string
		cmd  Command
		want string
	}{
		{name: "bare", cmd: Command{Name: Apply}, want: "/apply"},
		{name: "project", cmd: Command{Name: Plan, Project: "prod"}, want: "/plan -p prod"},
		{name: "dir", cmd: Command{Name: Unlock, Dir: "envs/dev"}, want: "/unlock -d envs/dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.cmd.String(), tt.want); diff != "" {
				t.Errorf("String mismatch (-got +want):\n%s", diff)
			}
			// String output parses back to the same command.
			back, ok, err := Parse(tt.cmd.String())
			if err != nil || !ok {
				t.Fatalf("Parse(%q) = %v, %v", tt.cmd.String(), ok, err)
			}
			if diff := cmp.Diff(back, tt.cmd); diff != "" {
				t.Errorf("round trip mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	u := Usage()
	for _, want := range []string{"/plan", "/apply", "/unlock", "/help", "-p NAME", "-d DIR"} {
		if !strings.Contains(u, want) {
			t.Errorf("Usage() does not mention %q", want)
		}
	}
}

func TestErrorEchoIsSanitized(t *testing.T) {
	_, _, err := Parse("/apply `@everyone`\x01")
	if err == nil {
		t.Fatal("want error")
	}
	msg := planbot.ErrorMessage(err)
	// The echoed argument must not close the inline code span early.
	if strings.Contains(msg, "``") || strings.ContainsRune(msg, '\x01') {
		t.Errorf("message echoes unsafe text: %q", msg)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"/plan", "/apply -p prod", "/unlock -d ./envs/dev/", "/help",
		"/plan -d ../x", "/plan -d /etc", "/plan -d ./-rf", "/aply",
		"/plan -p a -d b", " /apply\n/plan", "/plan -d .", "hello",
		"/plan -d envs/..", "/plan -d a/./../..", "/plan\t--dir\t.//x//",
		"/plan -p \u00a0x", "/apply\u2028-p x", "/plan -d \x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmd, ok, err := Parse(body)
		if err != nil {
			if ok {
				t.Fatalf("ok with error %v", err)
			}
			if planbot.ErrorCode(err) != planbot.EINVALID {
				t.Fatalf("error code %q, want invalid", planbot.ErrorCode(err))
			}
			return
		}
		if !ok {
			if cmd != (Command{}) {
				t.Fatalf("not a command but got %+v", cmd)
			}
			return
		}
		switch cmd.Name {
		case Plan, Apply, Unlock, Help:
		default:
			t.Fatalf("unknown name %q", cmd.Name)
		}
		if cmd.Project != "" && cmd.Dir != "" {
			t.Fatalf("both selectors set: %+v", cmd)
		}
		for _, v := range []string{cmd.Project, cmd.Dir} {
			if strings.HasPrefix(v, "-") {
				t.Fatalf("value starts with '-': %q", v)
			}
			for _, r := range v {
				if unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII {
					t.Fatalf("value contains unsafe rune %q: %q", r, v)
				}
			}
			for _, seg := range strings.Split(v, "/") {
				if seg == ".." {
					t.Fatalf("value contains '..': %q", v)
				}
			}
		}
		if d := cmd.Dir; d != "" {
			if path.IsAbs(d) || strings.HasPrefix(d, `\`) {
				t.Fatalf("absolute dir %q", d)
			}
			if path.Clean(d) != d {
				t.Fatalf("dir %q is not clean", d)
			}
		}
		// A parsed command survives a round trip through String.
		back, ok2, err2 := Parse(cmd.String())
		if err2 != nil || !ok2 || back != cmd {
			t.Fatalf("round trip of %+v: %+v, %v, %v", cmd, back, ok2, err2)
		}
	})
}
