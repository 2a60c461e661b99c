//go:build guest

package suite

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"oreore/harness/oreore"
)

// A Port's pwrite and pread at offset 0 work as the file's open, write and
// read do: each write runs the program, each read renders the last result
// afresh, including another writer's.
func TestPortRunsLikeTheFile(t *testing.T) {
	requireEmptySlot(t)
	port := openPort(t)
	if err := port.Write(1); !errors.Is(err, unix.ENODEV) {
		t.Errorf("port write with nothing attached: %v, want ENODEV", err)
	}
	attach(t, loadAdd42(t))
	for _, in := range []uint32{0, 1, 1000, 0xffffffff} {
		if got, err := port.Run(in); err != nil || got != in+42 {
			t.Errorf("port run %d: %d, %v; want %d", in, got, err, in+42)
		}
	}
	if err := oreore.Write(7); err != nil {
		t.Fatal(err)
	}
	if got, err := port.Read(); err != nil || got != 49 {
		t.Errorf("port read after another writer's 7: %d, %v; want 49", got, err)
	}
}
