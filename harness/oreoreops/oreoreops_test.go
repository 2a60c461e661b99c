//go:build guest

// Package oreoreops holds kmod/oreore_ops.c's own behaviour, what no family
// can know from the descriptors: its files (run's ENODATA, out, name, objs)
// and the CPU a run reports. The families (harness/families: TestStructOps,
// TestKfuncs) check the rest. It uses the type's single instance and the
// module, so it runs in the slot lane.
package oreoreops

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	. "oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/guest"
	"oreore/harness/object"
	"oreore/harness/progtype"
)

const dir = "/sys/oreore_ops"

func series(t *testing.T) string {
	t.Helper()
	s, why, err := progtype.OreoreOps.SeriesFor()
	if err != nil {
		t.Fatal(err)
	}
	if why != "" {
		t.Skip(why)
	}
	return s
}

func running(t *testing.T) *progtype.KernelStructOps {
	t.Helper()
	k, err := progtype.RunningStructOps(&progtype.OreoreOps, series(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.ModuleBTF.Close() })
	return k
}

// register registers an instance whose run is insns and whose name is
// name, and returns the map (its delete unregisters).
func register(t *testing.T, k *progtype.KernelStructOps, insns Instructions, name string) bpf.FD {
	t.Helper()
	prog, err := k.LoadOp("run", insns, nil)
	if err != nil {
		t.Fatalf("loading run: %v", err)
	}
	t.Cleanup(func() { prog.Close() })
	m, err := k.NewMap(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	value := k.Value(map[string]bpf.FD{"run": prog})
	off, size, err := k.Member("name")
	if err != nil {
		t.Fatal(err)
	}
	copy(value[k.DataOff+off:k.DataOff+off+size-1], name)
	if err := bpf.MapUpdateElem(m, []byte{0, 0, 0, 0}, value, 0); err != nil {
		t.Fatalf("registering: %v", err)
	}
	return m
}

func read(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	return strings.TrimSpace(string(b)), err
}

func write(s string) error {
	f, err := os.OpenFile(filepath.Join(dir, "run"), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write([]byte(s))
	return err
}

func reload(t *testing.T) {
	t.Helper()
	// Maps and programs of earlier tests hold the module until the kernel
	// frees them.
	if err := guest.RmmodWhenFree("oreore_ops", guest.ModuleFreeWait); err != nil {
		t.Fatalf("%v (an instance or a kfunc caller left behind?)", err)
	}
	if err := guest.Insmod("oreore_ops"); err != nil {
		t.Fatal(err)
	}
}

// run and out give ENODATA before the first run since the module was
// loaded; then what run returned and what it left in args->out; name is
// the registered instance's, ENODEV with none; the results stay after it is
// gone.
func TestOreoreOpsFiles(t *testing.T) {
	series(t)
	reload(t)
	k := running(t)
	for _, f := range []string{"run", "out"} {
		if _, err := read(f); !errors.Is(err, unix.ENODATA) {
			t.Errorf("%s before any run: %v, want ENODATA", f, err)
		}
	}
	if _, err := read("name"); !errors.Is(err, unix.ENODEV) {
		t.Errorf("name with nothing registered: %v, want ENODEV", err)
	}
	// out = in * 2; return in + 1
	m := register(t, k, Instructions{
		LoadMem(R2, R1, 0, DWord), LoadMem(R3, R2, 0, Word), Mov.Reg32(R0, R3), Add.Imm32(R0, 1),
		Add.Reg32(R3, R3), StoreMem(R2, 8, R3, Word), Return(),
	}, "hello")
	if got, err := read("name"); err != nil || got != "hello" {
		t.Errorf("name: %q, %v; want hello", got, err)
	}
	if err := write("21"); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{"run": "22", "out": "42"} {
		if got, err := read(f); err != nil || got != want {
			t.Errorf("%s after a run on 21: %q, %v; want %s", f, got, err, want)
		}
	}
	if err := bpf.MapDeleteElem(m, []byte{0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if err := write("5"); !errors.Is(err, unix.ENODEV) {
		t.Errorf("a run with nothing registered: %v, want ENODEV", err)
	}
	for f, want := range map[string]string{"run": "22", "out": "42"} {
		if got, err := read(f); err != nil || got != want {
			t.Errorf("%s after the ENODEV run: %q, %v; want %s kept", f, got, err, want)
		}
	}
	for f, want := range map[string]os.FileMode{"run": 0o600, "out": 0o400, "name": 0o444, "objs": 0o444} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v; want mode %v", f, err, want)
		}
	}
}

// args->cpu is the CPU run runs on: pinned to each CPU in turn, the writer
// reads its own.
func TestOreoreOpsCPUField(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Fatalf("the CPU field needs a guest with two CPUs or more to be told from 0; this one has %d", runtime.NumCPU())
	}
	k := running(t)
	m := register(t, k, Instructions{LoadMem(R2, R1, 0, DWord), LoadMem(R0, R2, 4, Word), Return()}, "cpu")
	defer bpf.MapDeleteElem(m, []byte{0, 0, 0, 0})
	for cpu := 0; cpu < runtime.NumCPU(); cpu++ {
		done := make(chan error)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var set unix.CPUSet
			set.Set(cpu)
			if err := unix.SchedSetaffinity(0, &set); err != nil {
				done <- err
				return
			}
			got, err := k.Trigger.Run(0)
			if err == nil && got != uint32(cpu) {
				err = fmt.Errorf("run reports CPU %d", got)
			}
			done <- err
		}()
		if err := <-done; err != nil {
			t.Errorf("on CPU %d: %v", cpu, err)
		}
	}
}

// objs shows each object's id, the references programs hold and the value
// bpf_oreore_obj_set() stored: a program that acquires, sets and releases
// leaves the value and no reference.
func TestOreoreOpsObjs(t *testing.T) {
	s := series(t)
	k, err := progtype.RunningKfuncs(&progtype.OreoreKfuncs, s)
	if err != nil {
		t.Fatal(err)
	}
	defer k.ModuleBTF.Close()
	acq, _ := k.Call("bpf_oreore_obj_acquire")
	set, _ := k.Call("bpf_oreore_obj_set")
	rel, _ := k.Call("bpf_oreore_obj_release")
	prog, err := k.LoadSyscall(Instructions{
		Mov.Imm(R1, int32(k.ValidID)), acq, JEq.Imm(R0, 0, 6),
		Mov.Reg(R6, R0), Mov.Reg(R1, R6), Mov.Imm(R2, 77), set, Mov.Reg(R1, R6), rel,
		Mov.Imm(R0, 0), Return(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if _, err := bpf.ProgTestRun(prog, bpf.TestRun{}); err != nil {
		t.Fatal(err)
	}
	objs, err := read("objs")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d 0 77", k.ValidID)
	found := false
	for sc := bufio.NewScanner(strings.NewReader(objs)); sc.Scan(); {
		found = found || sc.Text() == want
	}
	if !found {
		t.Errorf("objs:\n%s\nwant a line %q (id, no reference held, the value set)", objs, want)
	}
}

// programs/c/oreore_ops.bpf.c, an instance in C as libbpf would load it
// (.struct_ops.link), loads through harness/object, which finds the type in
// the module's BTF; its link registers it, and its close unregisters.
func TestOreoreOpsFromAnObjectFile(t *testing.T) {
	series(t)
	c, err := object.LoadFile(filepath.Join(guest.ProgramsDir, "oreore_ops.bpf.o"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inst, ok := c.StructOps["from_elf"]
	if !ok {
		t.Fatalf("no struct_ops instance from_elf in %v", c.StructOps)
	}
	l, err := inst.Register()
	if err != nil {
		t.Fatalf("registering from_elf: %v", err)
	}
	fromElfRuns(t, l.Close)
}

// The same object loaded and registered by cilium/ebpf, the differential
// for harness/object's lookup of the module's type, its map and its value:
// through the trigger it runs alike.
func TestOreoreOpsFromCilium(t *testing.T) {
	series(t)
	spec, err := ebpf.LoadCollectionSpec(filepath.Join(guest.ProgramsDir, "oreore_ops.bpf.o"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ebpf.NewCollection(spec)
	if err != nil {
		t.Fatalf("cilium/ebpf: %v", err)
	}
	defer c.Close()
	l, err := link.AttachStructOps(link.StructOpsOptions{Map: c.Maps["from_elf"]})
	if err != nil {
		t.Fatalf("cilium/ebpf: registering from_elf: %v", err)
	}
	fromElfRuns(t, l.Close)
}

// fromElfRuns checks what the registered from_elf does (run returns in +
// 100 and leaves in * 3 in out), and that unregister ends the runs.
func fromElfRuns(t *testing.T, unregister func() error) {
	t.Helper()
	if err := write("5"); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{"run": "105", "out": "15", "name": "from_elf"} {
		if got, err := read(f); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %s", f, got, err, want)
		}
	}
	if err := unregister(); err != nil {
		t.Fatal(err)
	}
	if err := write("5"); !errors.Is(err, unix.ENODEV) {
		t.Errorf("a run after the link's close: %v, want ENODEV", err)
	}
}
