package terraform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	tfjson "github.com/hashicorp/terraform-json"
)

// showArgs returns the arguments of `terraform show` of the saved plan
// planFile, as JSON when asJSON is set, else as text.
func showArgs(planFile string, asJSON bool) []string {
	args := []string{"show"}
	if asJSON {
		args = append(args, "-json")
	}
	return append(args, "-no-color", planFile)
}

// showJSON reads the saved plan planFile back as JSON, as tfexec's
// ShowPlanFile does, and validates it.
func (s *run) showJSON(ctx context.Context, planFile string) (*tfjson.Plan, error) {
	var out bytes.Buffer
	if err := s.runArgs(ctx, "show", showArgs(planFile, true), &out); err != nil {
		return nil, err
	}
	var plan tfjson.Plan
	if err := json.Unmarshal(out.Bytes(), &plan); err != nil {
		return nil, fmt.Errorf("terraform show: %w", err)
	}
	if err := plan.Validate(); err != nil {
		return nil, fmt.Errorf("terraform show: %w", err)
	}
	return &plan, nil
}

// showText reads the saved plan planFile back as text.
func (s *run) showText(ctx context.Context, planFile string) (string, error) {
	var out bytes.Buffer
	if err := s.runArgs(ctx, "show", showArgs(planFile, false), &out); err != nil {
		return "", err
	}
	return out.String(), nil
}
