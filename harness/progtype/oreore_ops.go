package progtype

import "golang.org/x/sys/unix"

// OreoreOps is the example struct_ops type, registered by kmod/oreore_ops.c
// (6.12 and 7.3: a 6.1 module cannot register struct_ops). Its trigger,
// /sys/oreore_ops/run, calls the registered instance's run on the number
// written and returns what run returned.
var OreoreOps = StructOps{
	Name:   "oreore_ops",
	Module: "oreore_ops",
	Series: []string{"6.12", "7.3"},
	Ops: []Op{
		{Name: "run", Arg: "oreore_ops_args", Returns: true, Required: true, ArgFields: []Field{
			{Name: "in", Off: 0, Size: 4, Read: true, Input: true},
			{Name: "cpu", Off: 4, Size: 4, Read: true, Filled: FilledCPU},
			{Name: "out", Off: 8, Size: 4, Read: true, Write: true, Output: true},
			{Name: "obj", Off: 16, Size: 8, Read: true},
		}},
		{Name: "note", Sleepable: true},
	},
	Single:     true,
	Trigger:    SysfsTrigger{Path: "/sys/oreore_ops/run"},
	Runs:       "run",
	Refused:    Refusal{What: "an instance without run", Errno: unix.EINVAL},
	GuestTests: []GuestTest{{Name: "oreoreops", Package: "./harness/oreoreops"}},
	Caps:       CoreStructOpsCaps,
}

// OreoreKfuncs are the kfuncs kmod/oreore_ops.c registers for its
// struct_ops programs and for BPF_PROG_TYPE_SYSCALL programs: an
// acquire/release pair over a refcounted object, a setter that takes a
// trusted pointer, a sleepable one and a destructive one.
var OreoreKfuncs = KfuncSet{
	Module:    "oreore_ops",
	Series:    []string{"6.12", "7.3"},
	ProgTypes: []uint32{unix.BPF_PROG_TYPE_STRUCT_OPS, unix.BPF_PROG_TYPE_SYSCALL},
	StructOps: &OreoreOps,
	Kfuncs: []Kfunc{
		{Name: "bpf_oreore_obj_acquire", Args: 1, Flags: KFAcquire | KFRetNull},
		{Name: "bpf_oreore_obj_release", Args: 1, Flags: KFRelease},
		{Name: "bpf_oreore_obj_set", Args: 2, Flags: KFTrustedArgs},
		{Name: "bpf_oreore_sleep", Args: 1, Flags: KFSleepable},
		{Name: "bpf_oreore_destructive", Args: 0, Flags: KFDestructive},
	},
	ValidID:   1,
	InvalidID: 100,
	Untrusted: &ArgPointer{Op: "run", Field: "obj"},
}

// The families and the build find the described types here: a descriptor
// file registers its own, so that a scaffolded one needs no other edit.
func init() {
	AllStructOps = append(AllStructOps, &OreoreOps)
	AllKfuncSets = append(AllKfuncSets, &OreoreKfuncs)
}
