//go:build !guest

// clang and gcc are host tools: the guest build (-tags guest) leaves this out.

package object

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The same C built for a little-endian and a big-endian machine (clang's
// bpfel and bpfeb, as s390x's programs are) parses to the same object: the
// instructions, their calls and map references, the BTF types and the
// .BTF.ext records. The big-endian one re-encodes to clang's own bytes, so
// asm's encoder is right for both orders; and it is refused, with the flag
// to use, on a kernel of the other order. (Not xdp_ipv6_drop_core: its
// bpf_htons constant is another number in each order, as it must be.)
func TestBothByteOrdersParseAlike(t *testing.T) {
	for _, src := range []string{"oreore_call.bpf.c", "xdp_map_drop.bpf.c", "xdp_core_kinds.bpf.c"} {
		t.Run(src, func(t *testing.T) {
			objs := map[string]*Object{}
			for _, target := range []string{"bpfel", "bpfeb"} {
				out := filepath.Join(t.TempDir(), target+".o")
				cmd := exec.Command("clang", "-O2", "-g", "-Wall", "-target", target,
					"-I/usr/include/"+gccMachine(t), "-c", filepath.Join("../../programs/c", src), "-o", out)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("clang -target %s: %v\n%s", target, err, b)
				}
				o, err := Open(out)
				if err != nil {
					t.Fatalf("%s: %v", target, err)
				}
				objs[target] = o
				checkReencodes(t, out, o)
			}
			le, be := objs["bpfel"], objs["bpfeb"]
			if le.ByteOrder != binary.ByteOrder(binary.LittleEndian) || be.ByteOrder != binary.ByteOrder(binary.BigEndian) {
				t.Fatalf("byte orders %v and %v", le.ByteOrder, be.ByteOrder)
			}
			if got, want := describeObject(be), describeObject(le); got != want {
				t.Errorf("bpfeb parses to\n%s\nbpfel to\n%s", got, want)
			}
			other := be
			if bigEndian(binary.NativeEndian) {
				other = le
			}
			if _, err := other.Load(); err == nil || !strings.Contains(err.Error(), "clang -target") {
				t.Errorf("loading an object of the other byte order: %v; want a refusal naming clang's target", err)
			}
		})
	}
}

// checkReencodes re-encodes each program's instructions in the object's
// order and compares them, slot by slot, with the function's bytes in the
// ELF; only a bpf-to-bpf call's immediate, which the loader rewrites, may
// differ.
func checkReencodes(t *testing.T, path string, o *Object) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range o.Programs {
		var code []byte
		for _, sym := range syms {
			if sym.Name == p.Name && elf.ST_TYPE(sym.Info) == elf.STT_FUNC {
				data, err := f.Sections[sym.Section].Data()
				if err != nil {
					t.Fatal(err)
				}
				code = data[sym.Value : sym.Value+sym.Size]
			}
		}
		if code == nil {
			t.Fatalf("%s: no symbol %s", path, p.Name)
		}
		got, err := p.Insns.MarshalOrder(o.ByteOrder)
		if err != nil {
			t.Fatal(err)
		}
		compared := 0
		for off := 0; off+8 <= len(code) && off+8 <= len(got); off += 8 {
			want, have := code[off:off+8], got[off:off+8]
			if want[0] == 0x85 && srcReg(want[1], o.ByteOrder) == 1 {
				have, want = have[:4], want[:4] // a call's immediate is the loader's
			}
			if string(have) != string(want) {
				t.Errorf("%s: %s slot %d re-encodes to % x, clang wrote % x", path, p.Name, off/8, have, want)
			}
			compared++
		}
		if compared == 0 {
			t.Errorf("%s: %s: nothing compared", path, p.Name)
		}
	}
}

// describeObject is what an object holds, with nothing that depends on byte
// order left in: instructions as text, references, BTF types and records.
func describeObject(o *Object) string {
	var b strings.Builder
	for _, p := range o.Programs {
		fmt.Fprintf(&b, "program %s (%s):\n%v\nrefs %+v\ncore %d\nfuncs %+v\nlines %+v\n", p.Name, p.Section, p.Insns, p.Refs, len(p.CORE), p.FuncInfo, p.LineInfo)
	}
	for _, m := range o.Maps {
		c := *m
		c.Data = nil // a value, in the object's order
		fmt.Fprintf(&b, "map %+v, %d bytes of data\n", c, len(m.Data))
	}
	if o.BTF != nil {
		for _, ty := range o.BTF.Types {
			fmt.Fprintf(&b, "type %+v\n", *ty)
		}
	}
	return b.String()
}

func gccMachine(t *testing.T) string {
	out, err := exec.Command("gcc", "-dumpmachine").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
