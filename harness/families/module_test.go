//go:build guest

package families

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"oreore/harness/guest"
	"oreore/harness/progtype"
)

// The attach point lives in the kernel, the trigger in the type's module:
// the module can be removed and loaded again under an attached link. While
// it is out, the trigger is gone (ENOENT); once it is back, a run gives the
// linked program's answer.
func moduleReload(t *testing.T, k *progtype.Kernel) {
	insmod := func() {
		t.Helper()
		if err := guest.Insmod(k.Module); err != nil {
			t.Fatal(err)
		}
	}
	s := slot{t, k}
	link, err := s.link(addProg(t, k, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	cycles := 10
	if testing.Short() {
		cycles = 2
	}
	for i := 0; i < cycles; i++ {
		if err := unix.DeleteModule(k.Module, 0); err != nil {
			t.Fatalf("cycle %d: rmmod %s: %v", i, k.Module, err)
		}
		if _, err := k.Trigger.Run(1); !errors.Is(err, unix.ENOENT) {
			insmod()
			t.Fatalf("cycle %d: with %s out, a run gives %v; want ENOENT (no trigger)", i, k.Module, err)
		}
		insmod()
		s.runs("after the module came back", 3)
	}
}
