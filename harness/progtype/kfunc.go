package progtype

import (
	"fmt"

	"golang.org/x/sys/unix"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/btf"
)

// KfuncFlags are a kfunc's BTF_ID_FLAGS (include/linux/btf.h): its
// contract, which the verifier enforces on every program that calls it.
type KfuncFlags uint32

const (
	KFAcquire     KfuncFlags = 1 << 0 // returns a reference the program must release
	KFRelease     KfuncFlags = 1 << 1 // releases the reference its first argument holds
	KFRetNull     KfuncFlags = 1 << 2 // may return NULL: checked before any use
	KFTrustedArgs KfuncFlags = 1 << 4 // pointer arguments must be trusted (a flag up to 6.x; every kfunc's rule on 7.x)
	KFSleepable   KfuncFlags = 1 << 5 // only a sleepable program may call it
	KFDestructive KfuncFlags = 1 << 6 // loading a caller needs CAP_SYS_BOOT
	KFRCU         KfuncFlags = 1 << 7 // takes RCU-protected or trusted pointers
)

// KfuncSet is a set of kernel functions that a module registers for some
// program types with register_btf_kfunc_id_set() (BTF_KFUNCS_START, one
// BTF_ID_FLAGS line per kfunc): since the uapi's helper list is frozen,
// what a hook offers programs. The families (harness/families/kfunc_test.go)
// derive from the flags alone the programs that must load and those the
// verifier must refuse, with its message.
type KfuncSet struct {
	Module string
	Series []string
	// ProgTypes may call the set (BPF_PROG_TYPE_*); StructOps, when one of
	// them is BPF_PROG_TYPE_STRUCT_OPS, is the struct_ops type whose
	// programs may (the module's filter keeps the others out).
	ProgTypes []uint32
	StructOps *StructOps
	Kfuncs    []Kfunc
	// ValidID is an argument the acquiring kfunc returns an object for,
	// InvalidID one it returns NULL for.
	ValidID, InvalidID uint32
	// Untrusted, when set, is where a program finds a pointer to the
	// set's object that the verifier does not trust: a pointer field of a
	// struct_ops op's argument (a pointer loaded from a trusted one is
	// untrusted), which a KF_TRUSTED_ARGS kfunc must refuse.
	Untrusted *ArgPointer
}

// ArgPointer is a pointer field of a struct_ops op's argument.
type ArgPointer struct {
	Op, Field string
}

// Kfunc is one kernel function of a set.
type Kfunc struct {
	Name  string
	Args  int // its arguments' count
	Flags KfuncFlags
}

// Available reports whether a module of series s registers the set.
func (s *KfuncSet) Available(series string) bool {
	for _, x := range s.Series {
		if x == series {
			return true
		}
	}
	return false
}

// With returns the set's first kfunc whose flags include all of f.
func (s *KfuncSet) With(f KfuncFlags) (Kfunc, bool) {
	for _, k := range s.Kfuncs {
		if k.Flags&f == f {
			return k, true
		}
	}
	return Kfunc{}, false
}

// AllKfuncSets are the described kfunc sets: each descriptor file adds its
// own (init).
var AllKfuncSets []*KfuncSet

// KernelKfuncs is a described set as the running kernel has it: each
// kfunc's BTF ID in the module's BTF, and that BTF object, which a
// program's fd_array names.
type KernelKfuncs struct {
	*KfuncSet
	ModuleBTF bpf.FD
	IDs       map[string]int32
}

// RunningKfuncs finds the set's kfuncs in the module's BTF by name.
func RunningKfuncs(s *KfuncSet, series string) (*KernelKfuncs, error) {
	if !s.Available(series) {
		return nil, fmt.Errorf("%s's kfuncs: not registered on %s (series %v)", s.Module, series, s.Series)
	}
	base, err := readBTF("/sys/kernel/btf/vmlinux", nil)
	if err != nil {
		return nil, err
	}
	spec, err := readBTF("/sys/kernel/btf/"+s.Module, base)
	if err != nil {
		return nil, fmt.Errorf("%s: the module's BTF: %w", s.Module, err)
	}
	k := &KernelKfuncs{KfuncSet: s, IDs: map[string]int32{}}
	for _, f := range s.Kfuncs {
		fns := spec.Named(f.Name, btf.KindFunc)
		if len(fns) != 1 || int(fns[0].ID) < len(base.Types) {
			return nil, fmt.Errorf("kfunc %s: %d functions of that name in %s's BTF, want 1", f.Name, len(fns), s.Module)
		}
		proto, err := spec.Type(fns[0].Ref)
		if err != nil {
			return nil, err
		}
		if len(proto.Params) != f.Args {
			return nil, fmt.Errorf("kfunc %s: %d arguments in BTF, the descriptor says %d", f.Name, len(proto.Params), f.Args)
		}
		k.IDs[f.Name] = int32(fns[0].ID)
	}
	if k.ModuleBTF, err = bpf.KernelBTF(s.Module); err != nil {
		return nil, err
	}
	return k, nil
}

// Call is a call of the set's kfunc name, whose BTF object a program
// loaded with LoadSyscall or FDArray finds at fd_array[1].
func (k *KernelKfuncs) Call(name string) (asm.Instruction, error) {
	id, ok := k.IDs[name]
	if !ok {
		return asm.Instruction{}, fmt.Errorf("no kfunc %s in %s's set", name, k.Module)
	}
	return asm.CallKfunc(id, 1), nil
}

// FDArray is the fd_array of a program that calls the set's kfuncs.
func (k *KernelKfuncs) FDArray() []int32 { return []int32{-1, int32(k.ModuleBTF)} }

// LoadSyscall loads insns as a BPF_PROG_TYPE_SYSCALL program (always
// sleepable), which may call the set when it is registered for syscall
// programs, and runs through BPF_PROG_TEST_RUN.
func (k *KernelKfuncs) LoadSyscall(insns asm.Instructions) (bpf.FD, error) {
	return bpf.ProgLoad(bpf.ProgLoadAttr{Type: unix.BPF_PROG_TYPE_SYSCALL, Flags: unix.BPF_F_SLEEPABLE, Insns: insns,
		License: "GPL", Name: "kfunc", FDArray: k.FDArray()})
}
