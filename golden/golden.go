// Package golden compares test output with golden files: the expected
// output is kept in a file under testdata, a mismatch is reported as a
// (-got +want) diff, and running the tests with -update rewrites the files
// from the current output. It is imported by tests only.
package golden

import (
	"flag"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// update is the -update flag of the test binaries that import the package.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Check compares got with the content of the file at path, first writing
// got there when the tests run with -update.
func Check(t testing.TB, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(got, string(want)); diff != "" {
		t.Errorf("%s mismatch (-got +want):\n%s", path, diff)
	}
}
