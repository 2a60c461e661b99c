//go:build guest

// Package kore holds BPF_PROG_TYPE_KORE's own behaviour: what no family
// can know from the descriptor. The families (harness/families) check the
// rest: numbers, layout, access rules, test_run, the slot, the cookie and
// the CPU field. Its tests use kore's attach point, so they run in the
// slot lane, after the families.
package kore

import (
	"encoding/binary"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	. "oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/guest"
	"oreore/harness/progtype"
)

const outPath = "/sys/kore/out"

func kernel(t *testing.T) *progtype.Kernel {
	t.Helper()
	k, err := progtype.Running(progtype.Kore)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func load(t *testing.T, k *progtype.Kernel, insns Instructions) bpf.FD {
	t.Helper()
	fd, err := bpf.ProgLoad(bpf.ProgLoadAttr{Type: k.Numbers.ProgType, Insns: insns, License: "GPL", Name: "kore", ExpectedAttachType: k.Numbers.AttachType})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.Close() })
	return fd
}

func link(t *testing.T, k *progtype.Kernel, prog bpf.FD, cookie uint64) bpf.FD {
	t.Helper()
	a := bpf.LinkCreateAttr{Prog: prog, AttachType: k.Numbers.AttachType}
	binary.NativeEndian.PutUint64(a.Union[:8], cookie)
	l, err := bpf.LinkCreate(a)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func readOut(t *testing.T) uint32 {
	t.Helper()
	b, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	if err != nil {
		t.Fatalf("%s: %q: %v", outPath, b, err)
	}
	return uint32(v)
}

// byOrder is the expected code on this machine: le on a little-endian one,
// be on a big-endian one.
func byOrder(le, be Instructions) Instructions {
	if guest.BigEndian {
		return be
	}
	return le
}

// zeroExtended is a context rewrite as the verifier leaves it for a JIT
// that asks for zero-extensions: each of the rewrite's instructions that
// sets a register's low 32 bits is followed by wN = wN.
func zeroExtended(insns Instructions) Instructions {
	var out Instructions
	for _, ins := range insns {
		out = append(out, ins)
		class := ins.OpCode & 0x07
		loads32 := class == ClassLDX && Size(ins.OpCode&0x18) != DWord
		if loads32 || class == ClassALU {
			out = append(out, Mov.Reg32(ins.Dst, ins.Dst))
		}
	}
	return out
}

// The kernel lays the context out as struct bpf_kore_kern (cookie, in,
// out, cpu), not as the uapi struct bpf_kore (in, cpu, out): the xlated
// code loads and stores there, and a narrow load of in becomes a 4-byte
// load, a shift and a mask.
func TestContextRewrites(t *testing.T) {
	k := kernel(t)
	tests := []struct {
		name       string
		prog, want Instructions
	}{
		{"in", Instructions{LoadMem(R0, R1, 0, Word), Return()}, Instructions{LoadMem(R0, R1, 8, Word), Return()}},
		{"cpu", Instructions{LoadMem(R0, R1, 4, Word), Return()}, Instructions{LoadMem(R0, R1, 16, Word), Return()}},
		{"out read", Instructions{LoadMem(R0, R1, 8, Word), Return()}, Instructions{LoadMem(R0, R1, 12, Word), Return()}},
		{"out written", Instructions{Mov.Imm(R2, 3), StoreMem(R1, 8, R2, Word), Mov.Imm(R0, 0), Return()},
			Instructions{Mov.Imm(R2, 3), StoreMem(R1, 12, R2, Word), Mov.Imm(R0, 0), Return()}},
		// A narrow load's shift counts from the field's low byte, which is
		// its last on a big-endian machine.
		{"in's second byte", Instructions{LoadMem(R0, R1, 1, Byte), Return()},
			byOrder(Instructions{LoadMem(R0, R1, 8, Word), RSh.Imm32(R0, 8), And.Imm32(R0, 0xff), Return()},
				Instructions{LoadMem(R0, R1, 8, Word), RSh.Imm32(R0, 16), And.Imm32(R0, 0xff), Return()})},
		{"cpu's high half", Instructions{LoadMem(R0, R1, 6, Half), Return()},
			byOrder(Instructions{LoadMem(R0, R1, 16, Word), RSh.Imm32(R0, 16), And.Imm32(R0, 0xffff), Return()},
				Instructions{LoadMem(R0, R1, 16, Word), And.Imm32(R0, 0xffff), Return()})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := bpf.ProgXlated(load(t, k, tt.prog))
			if err != nil {
				t.Fatal(err)
			}
			if guest.VerifierZeroExtends {
				tt.want = zeroExtended(tt.want)
			}
			if got.String() != tt.want.String() {
				t.Errorf("xlated:\n%v\nwant:\n%v", got, tt.want)
			}
		})
	}
}

// A run through the module starts out at zero whatever the last run left,
// and /sys/kore/out gives what the program wrote there.
func TestTriggerReportsOut(t *testing.T) {
	k := kernel(t)
	// out += in * 3; return out
	prog := load(t, k, Instructions{
		LoadMem(R2, R1, 0, Word), Mul.Imm32(R2, 3),
		LoadMem(R3, R1, 8, Word), Add.Reg32(R3, R2),
		StoreMem(R1, 8, R3, Word), Mov.Reg32(R0, R3), Return(),
	})
	l := link(t, k, prog, 0)
	defer l.Close()
	for _, in := range []uint32{7, 7, 0xffffffff} {
		got, err := k.Trigger.Run(in)
		if err != nil || got != in*3 || readOut(t) != in*3 {
			t.Errorf("in %d: returns %d (%v), out %d; want %d for both (out starts at zero)", in, got, err, readOut(t), in*3)
		}
	}
}

// The link's info reports its attach type, whether it holds the slot, and
// its cookie.
func TestLinkInfo(t *testing.T) {
	k := kernel(t)
	const cookie = 0xfedcba9876543210
	prog := load(t, k, Instructions{Mov.Imm(R0, 0), Return()})
	l := link(t, k, prog, cookie)
	defer l.Close()
	check := func(what string, attached uint32) {
		t.Helper()
		info, err := bpf.LinkGetInfo(l)
		if err != nil {
			t.Fatal(err)
		}
		u := info.Union[:]
		if info.Type != k.Numbers.LinkType || binary.NativeEndian.Uint32(u[0:]) != k.Numbers.AttachType ||
			binary.NativeEndian.Uint32(u[4:]) != attached || binary.NativeEndian.Uint64(u[8:]) != cookie {
			t.Errorf("%s: link info type %d, kore {attach_type %d, attached %d, cookie %#x}; want %d, {%d, %d, %#x}", what,
				info.Type, binary.NativeEndian.Uint32(u[0:]), binary.NativeEndian.Uint32(u[4:]), binary.NativeEndian.Uint64(u[8:]),
				k.Numbers.LinkType, k.Numbers.AttachType, attached, uint64(cookie))
		}
	}
	check("attached", 1)
	if err := bpf.LinkDetach(l); err != nil {
		t.Fatal(err)
	}
	check("detached", 0)
}

// The results are root's: both files read 0600 and 0400, since a program
// loaded with CAP_PERFMON may leave pointer bits in either.
func TestFileModes(t *testing.T) {
	for path, want := range map[string]os.FileMode{"/sys/kore/bpf": 0o600, outPath: 0o400} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}

// With no link a run is ENODEV.
func TestNoLinkNoRun(t *testing.T) {
	if _, err := kernel(t).Trigger.Run(1); !errors.Is(err, unix.ENODEV) {
		t.Errorf("a run with no link: %v, want ENODEV", err)
	}
}

// /sys/kore/out is what the last successful run left in out: ENODATA
// before the first since the module was loaded, and kept by a write that
// fails (EINVAL, ERANGE, ENODEV), as kmod/kore.c promises. The trigger
// file's own rules are the families' (sysfs trigger).
func TestOutBeforeAndAfterFailedWrites(t *testing.T) {
	k := kernel(t)
	// out = in + 1; return 0
	prog := load(t, k, Instructions{
		LoadMem(R2, R1, 0, Word), Add.Imm32(R2, 1), StoreMem(R1, 8, R2, Word), Mov.Imm32(R0, 0), Return(),
	})
	l := link(t, k, prog, 0)
	defer l.Close()
	if err := unix.DeleteModule(k.Module, 0); err != nil {
		t.Fatalf("rmmod %s: %v", k.Module, err)
	}
	if err := guest.Insmod(k.Module); err != nil {
		t.Fatal(err)
	}
	write := func(s string) error {
		f, err := os.OpenFile("/sys/kore/bpf", os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.Write([]byte(s))
		return err
	}
	if _, err := os.ReadFile(outPath); !errors.Is(err, unix.ENODATA) {
		t.Errorf("out before any run: %v, want ENODATA", err)
	}
	if err := write("abc"); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("write(abc): %v, want EINVAL", err)
	}
	if _, err := os.ReadFile(outPath); !errors.Is(err, unix.ENODATA) {
		t.Errorf("out after a refused write: %v, want ENODATA still", err)
	}
	if err := write("41"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		input string
		errno unix.Errno
	}{{"abc", unix.EINVAL}, {"4294967296", unix.ERANGE}} {
		if err := write(bad.input); !errors.Is(err, bad.errno) {
			t.Errorf("write(%q): %v, want %s", bad.input, err, unix.ErrnoName(bad.errno))
		}
		if got := readOut(t); got != 42 {
			t.Errorf("out after write(%q): %d, want 42 kept", bad.input, got)
		}
	}
	l.Close()
	if err := write("7"); !errors.Is(err, unix.ENODEV) {
		t.Errorf("write with no link: %v, want ENODEV", err)
	}
	if got := readOut(t); got != 42 {
		t.Errorf("out after the ENODEV write: %d, want 42 kept", got)
	}
}
