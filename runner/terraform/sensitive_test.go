package terraform

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSensitiveVariables checks that the values of variables marked
// sensitive are reported for masking and that terraform itself hides them.
func TestSensitiveVariables(t *testing.T) {
	dir := t.TempDir()
	main := `variable "db_password" {
  type      = string
  sensitive = true
  default   = "pw-Zt7-sensitive"
}

variable "tags" {
  type      = map(string)
  sensitive = true
  default   = { owner = "team-Q4x" }
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

resource "terraform_data" "db" {
  input = "${var.region}:${var.db_password}"
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := realRunner(t).Plan(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(res.Sensitive, []string{"pw-Zt7-sensitive", "team-Q4x"}); diff != "" {
		t.Errorf("Sensitive (-got +want):\n%s", diff)
	}
	if strings.Contains(res.Output, "pw-Zt7-sensitive") {
		t.Errorf("terraform's plan output shows the sensitive value:\n%s", res.Output)
	}
}
