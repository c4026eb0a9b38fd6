package runner

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/runner/terraform"
)

// engineVersions is a Terraform whose default engine is def, with a
// version per engine; an engine without one has no binary.
type engineVersions struct {
	def      planbot.Engine
	versions map[planbot.Engine]string
	asked    []planbot.Engine
}

func (f *engineVersions) EngineOf(e planbot.Engine) planbot.Engine { return e.Or(f.def) }

func (f *engineVersions) Version(ctx context.Context, opts ...terraform.RunOption) (string, error) {
	e := f.engine(opts)
	f.asked = append(f.asked, e)
	v, ok := f.versions[e]
	if !ok {
		return "", planbot.Errorf(planbot.ENOTFOUND, "no %s", e.Command())
	}
	return v, nil
}

// engine returns the engine that opts (terraform.UseEngine) name: the
// one a Runner with only that engine's binary does not refuse as
// missing.
func (f *engineVersions) engine(opts []terraform.RunOption) planbot.Engine {
	for _, e := range []planbot.Engine{planbot.EngineTerraform, planbot.EngineOpenTofu} {
		r := &terraform.Runner{Engine: e, Bin: "/x"}
		if _, err := r.Version(context.Background(), opts...); planbot.ErrorCode(err) != planbot.ENOTFOUND {
			return e
		}
	}
	return f.def
}

func TestEnginesAndVersions(t *testing.T) {
	tf := func(name string, e planbot.Engine) planbot.Project {
		return planbot.Project{Name: name, Dir: name, Kind: planbot.KindTerraform, Engine: e}
	}
	k := planbot.Project{Name: "k", Dir: "k", Kind: planbot.KindKustomize}
	tests := []struct {
		name       string
		constraint string
		versions   map[planbot.Engine]string
		wantCode   string
	}{
		{name: "no constraint", versions: map[planbot.Engine]string{}},
		{name: "both satisfy", constraint: ">= 1.5", versions: map[planbot.Engine]string{planbot.EngineTerraform: "1.5.7", planbot.EngineOpenTofu: "1.10.6"}},
		{name: "OpenTofu too old", constraint: ">= 1.6", versions: map[planbot.Engine]string{planbot.EngineTerraform: "1.9.0", planbot.EngineOpenTofu: "1.5.0"}, wantCode: planbot.EINVALID},
		{name: "a missing binary is left to its project", constraint: ">= 1.5", versions: map[planbot.Engine]string{planbot.EngineTerraform: "1.5.7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &engineVersions{def: planbot.EngineTerraform, versions: tt.versions}
			ps := []planbot.Project{tf("a", ""), tf("b", planbot.EngineOpenTofu), k, tf("c", "")}
			resolveEngines(f, ps)
			want := []planbot.Project{tf("a", planbot.EngineTerraform), tf("b", planbot.EngineOpenTofu), k, tf("c", planbot.EngineTerraform)}
			if diff := cmp.Diff(ps, want); diff != "" {
				t.Fatalf("resolveEngines (-got +want):\n%s", diff)
			}
			cfg := &config.Repo{Version: 1, TerraformVersion: tt.constraint}
			err := checkVersions(context.Background(), f, cfg, ps)
			if code := planbot.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("checkVersions = %v, want code %q", err, tt.wantCode)
			}
			if tt.constraint != "" && tt.wantCode == "" && len(f.asked) != 2 {
				t.Errorf("versions asked of %v, want each engine once", f.asked)
			}
		})
	}
}
