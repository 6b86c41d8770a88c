// Package testtool holds helpers shared by the tests of several packages.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Require returns the path of an external program the test compares with.
// Without it the test is skipped, unless CI is set: CI must have every tool.
func Require(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (CI is set, so this is a failure)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}
