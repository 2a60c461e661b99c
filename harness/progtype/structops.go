package progtype

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/btf"
)

// StructOps is a struct_ops type that a module registers with
// register_bpf_struct_ops() (Linux 6.9 on): a struct of function pointers
// that BPF programs of BPF_PROG_TYPE_STRUCT_OPS implement, one per op, and
// that a map of BPF_MAP_TYPE_STRUCT_OPS registers. It is how upstream adds
// a hook now (sched_ext, HID-BPF, the BPF qdisc; the selftests'
// bpf_testmod), and, like a Type, it is data: the families
// (harness/families/structops_test.go) take it, and the running kernel's
// BTF has the final word on its layout.
type StructOps struct {
	// Name is the struct's name in the module's BTF ("oreore_ops"); the
	// kernel's value type is bpf_struct_ops_<Name>.
	Name string
	// Module registers it: kmod/<Module>.c, /sys/kernel/btf/<Module>.
	Module string
	// Series are the kernel series whose module can register it.
	Series []string
	// Ops, in the struct's order (a program's expected_attach_type is
	// its op's member index).
	Ops []Op
	// Single: one instance registered at a time; the module's reg()
	// refuses a second with EEXIST.
	Single bool
	// Trigger calls the registered instance's ops the way the module's
	// users do: a run of the op named Runs on one input.
	Trigger Trigger
	// Runs is the op the trigger calls and whose result it returns.
	Runs string
	// Refused is what the module's .validate refuses: an instance it
	// must not take, and the errno.
	Refused Refusal
	// GuestTests hold the module's own behaviour, as a Type's do; they
	// skip on the series that cannot register the type.
	GuestTests []GuestTest
	// Caps is, per series, what loading an op's program, creating the
	// map, the update that registers it and the link take.
	Caps map[string]CapMatrix
}

// Op is one function pointer of the struct.
type Op struct {
	Name string
	// Arg is the struct the op's one pointer argument points to ("" for
	// an op that takes a scalar), and ArgFields its members' rules.
	Arg       string
	ArgFields []Field
	// Returns: the op returns a value the kernel uses (false: void).
	Returns bool
	// Required: an instance without a program for it is refused.
	Required bool
	// Sleepable: a sleepable program may implement it; otherwise the
	// module's check_member refuses one at load.
	Sleepable bool
}

// Refusal is an instance the module's .validate refuses.
type Refusal struct {
	What  string // "an instance without run"
	Errno unix.Errno
}

// Available reports whether a module of series s can register the type.
func (o *StructOps) Available(s string) bool {
	for _, x := range o.Series {
		if x == s {
			return true
		}
	}
	return false
}

// Op returns the named op and its member index.
func (o *StructOps) Op(name string) (Op, int, error) {
	for i, op := range o.Ops {
		if op.Name == name {
			return op, i, nil
		}
	}
	return Op{}, 0, fmt.Errorf("%s has no op %s", o.Name, name)
}

// AllStructOps are the described struct_ops types: each descriptor file
// adds its own (init), in the order of the files' names.
var AllStructOps []*StructOps

// KernelStructOps is a described struct_ops type as the running kernel
// has it: the module's BTF (its object's fd and the types, split on top of
// vmlinux's) and, found there by name, the struct, its members and the
// kernel's value type.
type KernelStructOps struct {
	*StructOps
	Series string
	// ModuleBTF is the module's BTF object, which the struct_ops map
	// (value_type_btf_obj_fd) and program (attach_btf_obj_fd) name.
	ModuleBTF bpf.FD
	Spec      *btf.Spec
	// StructID is the struct's type ID: a program's attach_btf_id.
	StructID uint32
	// ValueID is bpf_struct_ops_<Name>'s, ValueSize its size, DataOff the
	// offset of its data member (the struct itself) within it.
	ValueID   uint32
	ValueSize uint32
	DataOff   uint32
	// OpOff is each op's byte offset in the struct, by name.
	OpOff map[string]uint32
	// ArgMembers is, per op with a struct argument, that struct's members
	// by name: byte offset and size.
	ArgMembers map[string]map[string][2]int
}

// RunningStructOps describes o on the running kernel. It fails when the
// kernel's series cannot register o, the module's BTF is missing, or that
// BTF lacks what o describes.
func RunningStructOps(o *StructOps, series string) (*KernelStructOps, error) {
	if !o.Available(series) {
		return nil, fmt.Errorf("%s: a %s module cannot register struct_ops (series %v can)", o.Name, series, o.Series)
	}
	base, err := readBTF("/sys/kernel/btf/vmlinux", nil)
	if err != nil {
		return nil, err
	}
	spec, err := readBTF(filepath.Join("/sys/kernel/btf", o.Module), base)
	if err != nil {
		return nil, fmt.Errorf("%s: the module's BTF: %w (is %s loaded?)", o.Name, err, o.Module)
	}
	k := &KernelStructOps{StructOps: o, Series: series, Spec: spec, OpOff: map[string]uint32{}, ArgMembers: map[string]map[string][2]int{}}
	st, err := one(spec, o.Name)
	if err != nil {
		return nil, err
	}
	k.StructID = st.ID
	for i, op := range o.Ops {
		if i >= len(st.Members) || st.Members[i].Name != op.Name {
			return nil, fmt.Errorf("struct %s: member %d is not %s in the module's BTF (%d members)", o.Name, i, op.Name, len(st.Members))
		}
		k.OpOff[op.Name] = st.Members[i].BitOffset / 8
		if op.Arg == "" {
			continue
		}
		arg, err := one(spec, op.Arg)
		if err != nil {
			return nil, err
		}
		members := map[string][2]int{}
		for _, m := range arg.Members {
			size, err := spec.Size(m.Type)
			if err != nil {
				return nil, err
			}
			members[m.Name] = [2]int{int(m.BitOffset / 8), int(size)}
		}
		k.ArgMembers[op.Name] = members
	}
	value, err := one(spec, "bpf_struct_ops_"+o.Name)
	if err != nil {
		return nil, fmt.Errorf("%w: the kernel makes it at register_bpf_struct_ops()", err)
	}
	k.ValueID, k.ValueSize = value.ID, value.Size
	for _, m := range value.Members {
		if m.Name == "data" && m.Type == st.ID {
			k.DataOff = m.BitOffset / 8
		}
	}
	if k.DataOff == 0 {
		return nil, fmt.Errorf("bpf_struct_ops_%s has no member data of struct %s", o.Name, o.Name)
	}
	if k.ModuleBTF, err = bpf.KernelBTF(o.Module); err != nil {
		return nil, err
	}
	return k, nil
}

// Value is a map value that registers progs (by op name); ops without a
// program stay NULL.
func (k *KernelStructOps) Value(progs map[string]bpf.FD) []byte {
	v := make([]byte, k.ValueSize)
	for name, fd := range progs {
		off := k.DataOff + k.OpOff[name]
		// The kernel reads each op's slot as an unsigned long.
		binary.NativeEndian.PutUint64(v[off:], uint64(fd))
	}
	return v
}

func readBTF(path string, base *btf.Spec) (*btf.Spec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if base == nil {
		return btf.Parse(raw)
	}
	return btf.ParseSplit(raw, base)
}

// one is the struct of that name, which must be unique.
func one(spec *btf.Spec, name string) (*btf.Type, error) {
	ts := spec.Named(name, btf.KindStruct)
	if len(ts) != 1 {
		return nil, fmt.Errorf("struct %s: %d in the module's BTF, want 1", name, len(ts))
	}
	return ts[0], nil
}

// LoadOp loads insns as a program for the named op (expected_attach_type
// is its member index); mod, when set, adjusts the attributes.
func (k *KernelStructOps) LoadOp(op string, insns asm.Instructions, mod func(*bpf.ProgLoadAttr)) (bpf.FD, error) {
	_, idx, err := k.Op(op)
	if err != nil {
		return -1, err
	}
	a := bpf.ProgLoadAttr{Type: unix.BPF_PROG_TYPE_STRUCT_OPS, Insns: insns, License: "GPL", Name: op,
		ExpectedAttachType: uint32(idx), AttachBTFID: k.StructID, AttachFD: uint32(k.ModuleBTF)}
	if mod != nil {
		mod(&a)
	}
	return bpf.ProgLoad(a)
}

// SeriesFor is the running series, and why a module of it cannot register
// the type ("" when it can), for the tests that then skip.
func (o *StructOps) SeriesFor() (series, unavailable string, err error) {
	s, err := RunningSeries()
	if err != nil || o.Available(s) {
		return s, "", err
	}
	return s, fmt.Sprintf("a %s module cannot register struct_ops (register_bpf_struct_ops() is Linux 6.9's); %s is tested on %v", s, o.Name, o.Series), nil
}

// ConstInstance loads a program for op that returns v, and a map (flags:
// BPF_F_LINK or 0) with the value that registers it; release closes both.
func (k *KernelStructOps) ConstInstance(op string, v int32, flags uint32) (m bpf.FD, value []byte, release func(), err error) {
	prog, err := k.LoadOp(op, asm.Instructions{asm.Mov.Imm32(asm.R0, v), asm.Return()}, nil)
	if err != nil {
		return -1, nil, nil, fmt.Errorf("loading %s: %w", op, err)
	}
	if m, err = k.NewMap(flags); err != nil {
		prog.Close()
		return -1, nil, nil, err
	}
	return m, k.Value(map[string]bpf.FD{op: prog}), func() { m.Close(); prog.Close() }, nil
}

// NewMap creates a struct_ops map of the type; flags is BPF_F_LINK or 0.
func (k *KernelStructOps) NewMap(flags uint32) (bpf.FD, error) {
	return bpf.StructOpsMapCreate(bpf.StructOpsMapAttr{Name: k.Name, ValueTypeID: k.ValueID, ValueSize: k.ValueSize,
		ModuleBTF: k.ModuleBTF, Flags: flags})
}

// Member returns the byte offset and size of a member of the struct
// (an op, or a field such as a name).
func (k *KernelStructOps) Member(name string) (off, size uint32, err error) {
	st, err := k.Spec.Type(k.StructID)
	if err != nil {
		return 0, 0, err
	}
	for _, m := range st.Members {
		if m.Name == name {
			size, err := k.Spec.Size(m.Type)
			return m.BitOffset / 8, size, err
		}
	}
	return 0, 0, fmt.Errorf("struct %s has no member %s", k.Name, name)
}

// CoreStructOpsCaps is what the core asks of any struct_ops type, per series
// (on 6.12; the module asks nothing more), in CapSets order: none, CAP_BPF,
// CAP_BPF+CAP_NET_ADMIN, CAP_BPF+CAP_PERFMON, CAP_SYS_ADMIN. The guest boots
// with kernel.unprivileged_bpf_disabled set, which 6.12 checks in
// bpf_prog_load and map_create only.
// 7.3 makes the checks 6.12 makes, in the same functions.
var CoreStructOpsCaps = SameChecks(map[string]CapMatrix{"6.12": {
	CmdLoad: {
		EPERM("bpf_prog_load: sysctl_unprivileged_bpf_disabled && !bpf_cap"),
		EPERM("bpf_prog_load: is_perfmon_prog_type(STRUCT_OPS) && !bpf_token_capable(CAP_PERFMON)"),
		EPERM("bpf_prog_load: is_perfmon_prog_type(STRUCT_OPS) && !bpf_token_capable(CAP_PERFMON)"),
		Allowed("bpf_prog_load: bpf_cap and bpf_token_capable(CAP_PERFMON)"),
		Allowed("bpf_prog_load: CAP_SYS_ADMIN stands for CAP_BPF and CAP_PERFMON"),
	},
	CmdMapCreate: {
		EPERM("map_create: sysctl_unprivileged_bpf_disabled && !bpf_token_capable(CAP_BPF) (bpf_btf_load: !CAP_BPF too)"),
		Allowed("map_create: BPF_MAP_TYPE_STRUCT_OPS needs bpf_token_capable(CAP_BPF), as bpf_btf_load does"),
		Allowed("map_create: bpf_token_capable(CAP_BPF)"),
		Allowed("map_create: bpf_token_capable(CAP_BPF)"),
		Allowed("map_create: CAP_SYS_ADMIN stands for CAP_BPF"),
	},
	CmdMapUpdate: {
		Allowed("map_update_elem and bpf_struct_ops_map_update_elem check none: the map's fd is the permission"),
		Allowed("map_update_elem: the map's fd"),
		Allowed("map_update_elem: the map's fd"),
		Allowed("map_update_elem: the map's fd"),
		Allowed("map_update_elem: the map's fd"),
	},
	CmdLinkCreate: {
		Allowed("link_create sends BPF_STRUCT_OPS to bpf_struct_ops_link_create, which checks none: the map's fd"),
		Allowed("bpf_struct_ops_link_create: the map's fd"),
		Allowed("bpf_struct_ops_link_create: the map's fd"),
		Allowed("bpf_struct_ops_link_create: the map's fd"),
		Allowed("bpf_struct_ops_link_create: the map's fd"),
	},
}}, "7.3", "6.12")
