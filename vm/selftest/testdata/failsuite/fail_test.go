// Package failsuite is an in-guest suite with one failing test, for the
// runner's self-test.
package failsuite

import "testing"

func TestPasses(t *testing.T) {}

func TestDeliberateFailure(t *testing.T) {
	t.Error("this test fails on purpose")
}
