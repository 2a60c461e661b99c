//go:build !guest

package jitdiff

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// otherTests sees a test binary that another process runs, and not this
// one: the check that the alone lane really is alone can fail.
func TestOtherTestsSeesAnotherTestBinary(t *testing.T) {
	before, err := otherTests()
	if err != nil {
		t.Fatal(err)
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep(1) to run as a fake test binary")
	}
	bin, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(t.TempDir(), "suite.test")
	if err := os.WriteFile(fake, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fake, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	after, err := otherTests()
	if err != nil {
		t.Fatal(err)
	}
	want := fake + " 30"
	if !slices.Contains(after, want) || slices.Contains(before, want) {
		t.Errorf("before starting it: %q; after: %q; want %q only after", before, after, want)
	}
	for _, o := range after {
		if strings.HasPrefix(o, os.Args[0]) {
			t.Errorf("otherTests lists this process: %q", o)
		}
	}
}
