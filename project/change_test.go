package project

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/treetest"
)

// TestDetectDeletedRoots checks that a deleted root is a project planned
// as a destroy, unless another root now uses its state.
func TestDetectDeletedRoots(t *testing.T) {
	const backend = "terraform {\n  backend \"http\" {\n    address = \"http://127.0.0.1:1/state/old\"\n  }\n}\n"
	const data = "resource \"terraform_data\" \"a\" {}\n"
	base := treetest.New(t, map[string]string{
		"envs/old/main.tf":     backend + data,
		"envs/plain/main.tf":   data,
		"envs/dev/main.tf":     "module \"m\" {\n  source = \"../../modules/m\"\n}\nmodule \"g\" {\n  source = \"../../modules/gone\"\n}\n",
		"modules/m/main.tf":    data,
		"envs/dev/dev.tfvars":  "a = 1\n",
		"modules/gone/main.tf": data,
	})
	tests := []struct {
		name      string
		head      map[string]string
		files     []planbot.ChangedFile
		want      []planbot.Project
		wantNotes []string
	}{
		{
			name:  "deleted root",
			head:  map[string]string{"envs/dev/main.tf": "", "modules/m/main.tf": data},
			files: []planbot.ChangedFile{{Path: "envs/plain/main.tf", Status: "removed"}},
			want:  []planbot.Project{{Name: "envs/plain", Dir: "envs/plain", Workspace: "default", Kind: planbot.KindTerraform, Deleted: true}},
		},
		{
			name:  "deleted module",
			head:  map[string]string{"envs/dev/main.tf": "module \"m\" {\n  source = \"../../modules/m\"\n}\n", "modules/m/main.tf": data},
			files: []planbot.ChangedFile{{Path: "modules/gone/main.tf", Status: "removed"}, {Path: "envs/dev/main.tf", Status: "modified"}},
			want:  []planbot.Project{{Name: "envs/dev", Dir: "envs/dev", Workspace: "default", Kind: planbot.KindTerraform}},
		},
		{
			name: "moved root",
			head: map[string]string{"live/old/main.tf": backend + data},
			files: []planbot.ChangedFile{
				{Path: "live/old/main.tf", PreviousPath: "envs/old/main.tf", Status: "renamed"},
			},
			want:      []planbot.Project{{Name: "live/old", Dir: "live/old", Workspace: "default", Kind: planbot.KindTerraform}},
			wantNotes: []string{"`envs/old` is deleted, but `live/old` has the same backend configuration"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := treetest.New(t, tt.head)
			got, notes, err := Detect(base, head, tt.files)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("Detect projects (-got +want):\n%s", diff)
			}
			if len(notes) != len(tt.wantNotes) {
				t.Fatalf("Detect notes = %q, want %d", notes, len(tt.wantNotes))
			}
			for i, n := range tt.wantNotes {
				if !strings.Contains(notes[i], n) {
					t.Errorf("note %q lacks %q", notes[i], n)
				}
			}
		})
	}
}
