package planbot

import "testing"

func TestEngine(t *testing.T) {
	tests := []struct {
		name          string
		engine        Engine
		wantName      string
		wantCommand   string
		wantOrDefault Engine
	}{
		{name: "terraform", engine: EngineTerraform, wantName: "Terraform", wantCommand: "terraform", wantOrDefault: EngineTerraform},
		{name: "OpenTofu", engine: EngineOpenTofu, wantName: "OpenTofu", wantCommand: "tofu", wantOrDefault: EngineOpenTofu},
		{name: "unset is terraform", engine: "", wantName: "Terraform", wantCommand: "terraform", wantOrDefault: EngineOpenTofu},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.engine.Name(); got != tt.wantName {
				t.Errorf("Name() = %q, want %q", got, tt.wantName)
			}
			if got := tt.engine.Command(); got != tt.wantCommand {
				t.Errorf("Command() = %q, want %q", got, tt.wantCommand)
			}
			if got := tt.engine.Or(EngineOpenTofu); got != tt.wantOrDefault {
				t.Errorf("Or(tofu) = %q, want %q", got, tt.wantOrDefault)
			}
		})
	}
	for _, s := range []string{"terraform", "tofu"} {
		if e, ok := ParseEngine(s); !ok || string(e) != s {
			t.Errorf("ParseEngine(%q) = %q, %v", s, e, ok)
		}
	}
	for _, s := range []string{"", "opentofu", "Terraform", "pulumi"} {
		if e, ok := ParseEngine(s); ok {
			t.Errorf("ParseEngine(%q) = %q, want refused", s, e)
		}
	}
}
