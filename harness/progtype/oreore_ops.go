package progtype

import "golang.org/x/sys/unix"

// OreoreOps is the example struct_ops type, registered by kmod/oreore_ops.c
// (6.12 on: a 6.1 module cannot register struct_ops). Its trigger,
// /sys/oreore_ops/run, calls the registered instance's run on the number
// written and returns what run returned.
var OreoreOps = StructOps{
	Name:   "oreore_ops",
	Module: "oreore_ops",
	Series: []string{"6.12"},
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
	Caps:       map[string]CapMatrix{"6.12": structOpsCaps612},
}

// structOpsCaps612 is what the core asks of any struct_ops type on 6.12
// (the module asks nothing more), in CapSets order: none, CAP_BPF,
// CAP_BPF+CAP_NET_ADMIN, CAP_BPF+CAP_PERFMON, CAP_SYS_ADMIN. The guest boots
// with kernel.unprivileged_bpf_disabled set, which 6.12 checks in
// bpf_prog_load and map_create only.
var structOpsCaps612 = CapMatrix{
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
}

// OreoreKfuncs are the kfuncs kmod/oreore_ops.c registers for its
// struct_ops programs and for BPF_PROG_TYPE_SYSCALL programs: an
// acquire/release pair over a refcounted object, a setter that takes a
// trusted pointer, a sleepable one and a destructive one.
var OreoreKfuncs = KfuncSet{
	Module:    "oreore_ops",
	Series:    []string{"6.12"},
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
