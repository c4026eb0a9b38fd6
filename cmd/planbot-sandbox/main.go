// Command planbot-sandbox is planbot's sandbox helper on its own: a small
// program that confines itself as the policy planbot gives it says and
// then becomes terraform. planbot uses it when it lies next to planbot's
// executable, because it starts in a fraction of the time planbot's own
// binary takes; without it planbot starts itself as the helper. See
// package sandbox.
package main

import (
	"fmt"
	"os"

	"github.com/planbot/planbot/sandbox"
)

func main() {
	sandbox.RunHelper()
	fmt.Fprintln(os.Stderr, "planbot-sandbox: no policy; planbot starts this program itself, with a policy in "+sandbox.EnvVar)
	os.Exit(2)
}
