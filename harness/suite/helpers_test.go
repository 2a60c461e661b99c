//go:build guest

package suite

import (
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/guest"
	"oreore/harness/oreore"
)

// load loads an oreore program and closes it when the test ends.
func load(t *testing.T, name string, insns asm.Instructions) bpf.FD {
	t.Helper()
	fd, err := oreore.Load(name, insns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.Close() })
	return fd
}

// constProg returns a program that ignores its input and returns v.
func constProg(v int32) asm.Instructions {
	return asm.Instructions{asm.Mov.Imm32(asm.R0, v), asm.Return()}
}

// requireEmptySlot fails the test when an earlier one left a program
// attached: every test starts from an empty slot.
func requireEmptySlot(t *testing.T) {
	t.Helper()
	if err := oreore.Write(0); !errors.Is(err, unix.ENODEV) {
		t.Fatalf("the oreore slot is not empty at the start of the test (write: %v)", err)
	}
}

// progIDs is the set of loaded programs' ids.
func progIDs(t *testing.T) map[uint32]bool {
	t.Helper()
	ids, err := bpf.ProgIDs()
	if err != nil {
		t.Fatal(err)
	}
	set := map[uint32]bool{}
	for _, id := range ids {
		set[id] = true
	}
	return set
}

func progID(t *testing.T, fd bpf.FD) uint32 {
	t.Helper()
	info, err := bpf.ProgGetInfo(fd)
	if err != nil {
		t.Fatal(err)
	}
	return info.ID
}

// rawWrite is one write(2) of b to the module's file: its byte count and
// errno, exactly as the kernel returned them.
func rawWrite(b []byte) (int, error) {
	fd, err := unix.Open(oreore.SysfsPath, unix.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	return unix.Write(fd, b)
}

// moduleCycles scales a count of module reloads to the kernel: the debug
// flavor (the only one with kmemleak) has CONFIG_DEBUG_KOBJECT_RELEASE,
// which holds every rmmod for the module kobject's delayed release, 1-4 s.
// -test.short (make vm-test SHORT=1, the loop) takes the smaller count too.
func moduleCycles(t *testing.T, normal, debug int) int {
	t.Helper()
	switch {
	case guest.DebugFlavor():
		t.Logf("%d cycles instead of %d: rmmod waits for the delayed kobject release (debug flavor)", debug, normal)
		return debug
	case testing.Short():
		t.Logf("%d cycles instead of %d (-test.short)", debug, normal)
		return debug
	}
	return normal
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// uapi returns the running kernel's oreore numbers (they differ between
// kernel series).
func uapi(t testing.TB) oreore.UAPI {
	t.Helper()
	u, err := oreore.Kernel()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// waitGone waits for a program id to disappear: frees go through RCU.
func waitGone(t *testing.T, id uint32, why string) {
	t.Helper()
	wait := guest.Patience(2 * time.Second)
	deadline := time.Now().Add(wait)
	for progIDs(t)[id] {
		if time.Now().After(deadline) {
			t.Fatalf("program id %d is still loaded %v %s: a leaked reference", id, wait, why)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// loadSocketFilter loads a program of another type, for the cases that
// must refuse it.
func loadSocketFilter(t *testing.T) bpf.FD {
	t.Helper()
	fd, err := bpf.ProgLoad(bpf.ProgLoadAttr{Type: unix.BPF_PROG_TYPE_SOCKET_FILTER, Insns: constProg(1), License: "GPL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.Close() })
	return fd
}

// openPort opens the module's file for a test's run loop; the test closes it.
func openPort(t testing.TB) *oreore.Port {
	t.Helper()
	port, err := oreore.OpenPort()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { port.Close() })
	return port
}
