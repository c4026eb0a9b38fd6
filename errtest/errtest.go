// Package errtest checks the error of a table-driven test case, for the
// tests of several packages.
package errtest

import (
	"strings"
	"testing"
)

// Want checks err against want, a part of the wanted error's text; ""
// wants no error. It stops the test when err is not the wanted one. It
// reports whether an error was wanted (and got): the case is then done.
func Want(t testing.TB, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("error = %v, want none", err)
		}
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want one containing %q", err, want)
	}
	return true
}
