package errtest

import (
	"errors"
	"testing"
)

// recorder notes what Want asks of its test instead of stopping it.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(string, ...any) { r.failed = true }

func TestWant(t *testing.T) {
	check := func(name string, err error, want string, wantDone, wantFailed bool) {
		t.Helper()
		r := &recorder{TB: t}
		if done := Want(r, err, want); done != wantDone || r.failed != wantFailed {
			t.Errorf("%s: done = %v, failed = %v; want %v, %v", name, done, r.failed, wantDone, wantFailed)
		}
	}
	tooLong, empty := errors.New("tag is too long"), errors.New("tag is empty")
	check("no error wanted, none got", nil, "", false, false)
	check("no error wanted, one got", empty, "", false, true)
	check("the wanted error", tooLong, "too long", true, false)
	check("another error", empty, "too long", true, true)
	check("an error wanted, none got", nil, "too long", true, true)
}
