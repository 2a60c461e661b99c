//go:build guest

package suite

import (
	"path/filepath"
	"testing"

	"oreore/harness/guest"
	"oreore/harness/object"
	"oreore/harness/oreore"
)

// loadObject loads a C program from the initramfs through the Go loader.
func loadObject(t *testing.T, file string) *object.Collection {
	t.Helper()
	u, err := oreore.Kernel()
	if err != nil {
		t.Fatal(err)
	}
	c, err := object.LoadFileWith(filepath.Join(guest.ProgramsDir, file), object.LoadOptions{
		Sections: map[string]object.ProgType{"oreore": {Type: u.ProgType, ExpectedAttachType: u.AttachType}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCAdd42ThroughSysfs(t *testing.T) {
	requireEmptySlot(t)
	attach(t, loadObject(t, "oreore_add42.bpf.o").Programs["add42"])
	for _, in := range add42Inputs {
		if got, err := oreore.Run(in); err != nil || got != in+42 {
			t.Errorf("input %#x: %#x, %v; want %#x", in, got, err, in+42)
		}
	}
}

// mix is oreore_call.bpf.c's callee, in Go.
func mix(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x45d9f3b
	return x ^ x>>16
}

func TestCBPFToBPFCall(t *testing.T) {
	requireEmptySlot(t)
	prog := loadObject(t, "oreore_call.bpf.o").Programs["call_mix"]
	attach(t, prog)
	for _, in := range inputs()[:100] {
		want := mix(in) + 1
		viaSysfs, err := oreore.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		viaTestRun, err := oreore.TestRun(prog, in)
		if err != nil {
			t.Fatal(err)
		}
		if viaSysfs != want || viaTestRun != want {
			t.Errorf("input %#x: sysfs %#x, test_run %#x, Go %#x", in, viaSysfs, viaTestRun, want)
		}
	}
}
