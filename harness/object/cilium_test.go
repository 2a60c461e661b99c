package object_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	cbtf "github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/object"
)

// The loader against cilium/ebpf's, end to end: both load the same object
// into the host's kernel, each resolving its CO-RE relocations against the
// kernel's BTF, and the kernel's view of each program (its xlated
// instructions) must be the same, map references aside. A relocation that
// harness/object computes wrong, and that its own tests share with it,
// shows up here as another offset, size or constant. cilium/ebpf is a
// test-only dependency.
func TestLoaderAgreesWithCilium(t *testing.T) {
	if unix.Geteuid() != 0 {
		t.Fatal("loading programs needs root: run `make test` as root")
	}
	dir := os.Getenv("OREORE_PROGRAMS")
	if dir == "" {
		t.Fatal("OREORE_PROGRAMS is not set: run `make test`, which compiles programs/c first")
	}
	objs, _ := filepath.Glob(filepath.Join(dir, "xdp_*.bpf.o"))
	// vmlinux's types, which harness/object relocates against. Left to
	// itself cilium/ebpf (v0.21 on) also reads every module's BTF, and
	// fails when one goes away between its listing and its read: in the
	// guest the slot lane reloads the trigger modules meanwhile.
	vmlinux, err := cbtf.LoadKernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, obj := range objs {
		// Its program is refused by the verifier, on purpose.
		if strings.HasSuffix(obj, "xdp_bad_access.bpf.o") {
			continue
		}
		t.Run(filepath.Base(obj), func(t *testing.T) {
			ours, err := object.LoadFile(obj)
			if err != nil {
				t.Fatalf("harness/object: %v", err)
			}
			defer ours.Close()
			spec, err := ebpf.LoadCollectionSpec(obj)
			if err != nil {
				t.Fatalf("cilium/ebpf: %v", err)
			}
			theirs, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: vmlinux}})
			if err != nil {
				t.Fatalf("cilium/ebpf: %v", err)
			}
			defer theirs.Close()
			if len(ours.Programs) != len(theirs.Programs) {
				t.Errorf("%d programs, cilium/ebpf %d", len(ours.Programs), len(theirs.Programs))
			}
			for name, fd := range ours.Programs {
				p := theirs.Programs[name]
				if p == nil {
					t.Errorf("%s: cilium/ebpf has no such program", name)
					continue
				}
				a, err := xlated(fd)
				if err != nil {
					t.Fatal(err)
				}
				b, err := xlated(bpf.FD(p.FD()))
				if err != nil {
					t.Fatal(err)
				}
				if d := firstDifference(a, b); d != "" {
					t.Errorf("%s: %s\nharness/object:\n%v\ncilium/ebpf:\n%v", name, d, a, b)
				}
				compared++
			}
		})
	}
	if compared == 0 {
		t.Fatalf("no program compared among %v", objs)
	}
}

// xlated is a program as the kernel holds it, with the map each ld_imm64
// names blanked: both loaders create maps of their own.
func xlated(fd bpf.FD) (asm.Instructions, error) {
	insns, _, err := bpf.ProgXlated(fd)
	if err != nil {
		return nil, err
	}
	if len(insns) == 0 {
		return nil, fmt.Errorf("the kernel shows no xlated instructions (kptr_restrict?)")
	}
	for i := range insns {
		// src_reg 1 and 2: BPF_PSEUDO_MAP_FD and BPF_PSEUDO_MAP_VALUE,
		// which the dump gives as a map id (and an offset).
		if insns[i].IsLoadImm64() && (insns[i].Src == 1 || insns[i].Src == 2) {
			insns[i].Constant &= ^int64(0xffffffff)
		}
	}
	return insns, nil
}

func firstDifference(a, b asm.Instructions) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("instruction %d: %v, cilium/ebpf %v", i, a[i], b[i])
		}
	}
	if len(a) != len(b) {
		return fmt.Sprintf("%d instructions, cilium/ebpf %d", len(a), len(b))
	}
	return ""
}

// Each .struct_ops and .struct_ops.link variable as cilium/ebpf reads it
// (v0.21 on; it refuses .struct_ops, so those are compared by name only):
// the map per variable, its struct, BPF_F_LINK, the variable's bytes, and
// which program each member names (cilium's AttachTo "struct:member"), with
// struct_ops.s/ programs sleepable. No kernel is needed: both read the ELF.
func TestStructOpsAgreesWithCilium(t *testing.T) {
	dir := os.Getenv("OREORE_PROGRAMS")
	if dir == "" {
		t.Fatal("OREORE_PROGRAMS is not set: run `make test`, which compiles programs/c first")
	}
	objs, _ := filepath.Glob(filepath.Join(dir, "*.bpf.o"))
	compared := 0
	for _, obj := range objs {
		ours, err := object.Open(obj)
		if err != nil || len(ours.StructOps) == 0 {
			continue // the loader's own tests cover what it cannot open
		}
		t.Run(filepath.Base(obj), func(t *testing.T) {
			spec, err := ebpf.LoadCollectionSpec(obj)
			if err != nil {
				t.Fatalf("cilium/ebpf: %v", err)
			}
			for _, so := range ours.StructOps {
				m := spec.Maps[so.Name]
				if m == nil || m.Type != ebpf.StructOpsMap {
					t.Errorf("variable %s: cilium/ebpf has %v", so.Name, m)
					continue
				}
				compared++
				if st, ok := m.Value.(*cbtf.Struct); !ok || st.Name != so.Type {
					t.Errorf("%s: struct %s, cilium/ebpf %v", so.Name, so.Type, m.Value)
				}
				if link := m.Flags&unix.BPF_F_LINK != 0; link != so.Link {
					t.Errorf("%s: link %v, cilium/ebpf's flags %#x", so.Name, so.Link, m.Flags)
				}
				if len(m.Contents) != 1 || !bytes.Equal(m.Contents[0].Value.([]byte), so.Data) {
					t.Errorf("%s: bytes % x, cilium/ebpf %v", so.Name, so.Data, m.Contents)
				}
				// Members set to programs, as cilium/ebpf's programs name them.
				theirs := map[string]string{}
				for name, p := range spec.Programs {
					if typ, member, ok := strings.Cut(p.AttachTo, ":"); ok && typ == so.Type {
						theirs[member] = name
						if sleepable := p.Flags&unix.BPF_F_SLEEPABLE != 0; sleepable != strings.HasPrefix(p.SectionName, "struct_ops.s/") {
							t.Errorf("%s: program %s in %s, cilium/ebpf's flags %#x", so.Name, name, p.SectionName, p.Flags)
						}
					}
				}
				if fmt.Sprint(theirs) != fmt.Sprint(so.Progs) {
					t.Errorf("%s: members to programs %v, cilium/ebpf %v", so.Name, so.Progs, theirs)
				}
			}
		})
	}
	if compared == 0 {
		t.Fatalf("no struct_ops variable compared among the %d objects of %s", len(objs), dir)
	}
}
